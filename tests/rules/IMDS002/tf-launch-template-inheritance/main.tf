# Instances that launch from a template in this module: a weak template is reported once, on the
# template; an instance's own settings override the template's and are checked on the instance.

resource "aws_launch_template" "legacy" {
  name = "legacy"

  metadata_options {
    http_tokens = "optional" # imds-expect: IMDS002@19
  }
}

resource "aws_launch_template" "secure" {
  name = "secure"

  metadata_options {
    http_tokens = "required"
  }
}

resource "aws_instance" "on_legacy" {
  launch_template {
    id = aws_launch_template.legacy.id
  }
}

# Sets a hop limit of its own and takes http_tokens from the template: not "missing" here.
resource "aws_instance" "own_hop_limit" {
  launch_template {
    name = "secure"
  }

  metadata_options {
    http_put_response_hop_limit = 1
  }
}

resource "aws_instance" "own_tokens" {
  launch_template {
    id = aws_launch_template.secure.id
  }

  metadata_options {
    http_tokens = "optional" # imds-expect: IMDS002@19
  }
}

resource "aws_eks_node_group" "workers" {
  cluster_name  = "platform"
  node_role_arn = "arn:aws:iam::123456789012:role/eks-node"
  subnet_ids    = ["subnet-0a1b2c3d4e5f60718"]

  scaling_config {
    desired_size = 2
    max_size     = 4
    min_size     = 1
  }

  launch_template {
    id      = aws_launch_template.legacy.id
    version = aws_launch_template.legacy.latest_version
  }
}
