# An instance that names a launch template and sets no options of its own runs with the
# template's options: no IMDS001 on the instance, whatever the template holds.

resource "aws_instance" "by_id" {
  launch_template {
    id      = aws_launch_template.secure.id
    version = "$Latest"
  }
}

resource "aws_instance" "by_name" {
  launch_template {
    name = "secure-lt"
  }
}

resource "aws_spot_instance_request" "on_weak" {
  spot_price = "0.05"

  launch_template {
    id = aws_launch_template.weak.id
  }
}

resource "aws_instance" "on_weak" {
  launch_template {
    name = aws_launch_template.weak.name
  }
}

# A template imds-iac cannot find is IMDS004 on the instance, not IMDS001.
variable "launch_template_id" {
  type = string
}

resource "aws_instance" "from_variable" {
  launch_template {
    id = var.launch_template_id
  }
}

resource "aws_autoscaling_group" "workers" {
  min_size            = 1
  max_size            = 4
  vpc_zone_identifier = ["subnet-0a1b2c3d4e5f60718"]

  launch_template {
    id      = aws_launch_template.weak.id
    version = "$Latest"
  }
}

resource "aws_eks_node_group" "workers" {
  cluster_name    = "platform"
  node_group_name = "workers"
  node_role_arn   = "arn:aws:iam::123456789012:role/eks-node"
  subnet_ids      = ["subnet-0a1b2c3d4e5f60718"]

  scaling_config {
    desired_size = 2
    max_size     = 4
    min_size     = 1
  }

  launch_template {
    id      = aws_launch_template.weak.id
    version = aws_launch_template.weak.latest_version
  }
}
