# Managed node groups that do not run on an AMI allowing IMDSv1 through EKS's own launch
# template: AL2023 AMIs are registered with ImdsSupport v2.0 (tokens required), and a launch
# template given in a dynamic block (as terraform-aws-modules/eks writes it) is judged itself.

resource "aws_eks_node_group" "al2023" {
  cluster_name    = "prod"
  node_group_name = "al2023"
  node_role_arn   = "arn:aws:iam::123456789012:role/eks-node"
  subnet_ids      = ["subnet-0a1b2c3d", "subnet-0e1f2a3b"]
  ami_type        = "AL2023_x86_64_STANDARD"

  scaling_config {
    desired_size = 2
    max_size     = 4
    min_size     = 1
  }
}

resource "aws_launch_template" "this" {
  name_prefix = "workers-"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}

resource "aws_eks_node_group" "custom" {
  cluster_name    = "prod"
  node_group_name = "custom"
  node_role_arn   = "arn:aws:iam::123456789012:role/eks-node"
  subnet_ids      = ["subnet-0a1b2c3d", "subnet-0e1f2a3b"]

  scaling_config {
    desired_size = 2
    max_size     = 4
    min_size     = 1
  }

  dynamic "launch_template" {
    for_each = [1]
    content {
      id      = aws_launch_template.this.id
      version = aws_launch_template.this.latest_version
    }
  }
}
