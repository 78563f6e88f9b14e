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

# As terraform-aws-modules/eks (21.x) writes it: the AMI type comes from a variable whose default
# is an AL2023 type, and the group runs on EKS's own template.
variable "ami_type" {
  type    = string
  default = "AL2023_x86_64_STANDARD"
}

resource "aws_eks_node_group" "default_template" {
  cluster_name    = "prod"
  node_group_name = "default-template"
  node_role_arn   = "arn:aws:iam::123456789012:role/eks-node"
  subnet_ids      = ["subnet-0a1b2c3d"]
  ami_type        = var.ami_type

  scaling_config {
    desired_size = 1
    max_size     = 1
    min_size     = 1
  }
}

variable "legacy_ami_type" {
  type    = string
  default = "AL2_x86_64"
}

resource "aws_eks_node_group" "legacy" { # imds-expect: IMDS006@1
  cluster_name    = "prod"
  node_group_name = "legacy"
  node_role_arn   = "arn:aws:iam::123456789012:role/eks-node"
  subnet_ids      = ["subnet-0a1b2c3d"]
  ami_type        = var.legacy_ami_type

  scaling_config {
    desired_size = 1
    max_size     = 1
    min_size     = 1
  }
}
