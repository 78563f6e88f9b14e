# A managed node group written as terraform-aws-modules/eks's eks-managed-node-group writes it:
# the launch template is given in a dynamic block whose for_each is decided by
# use_custom_launch_template. Turned off, the group has no launch template at all and runs on
# EKS's own, which leaves IMDSv1 allowed on an AL2 AMI: not a template that cannot be resolved.
# imds-args: --hop-limit 2

variable "create_launch_template" {
  type    = bool
  default = true
}

variable "use_custom_launch_template" {
  type    = bool
  default = false
}

variable "launch_template_id" {
  type    = string
  default = ""
}

variable "ami_type" {
  type    = string
  default = "AL2_x86_64"
}

locals {
  launch_template_id = var.create_launch_template ? try(aws_launch_template.this[0].id, null) : var.launch_template_id
}

resource "aws_launch_template" "this" {
  count = var.create_launch_template && var.use_custom_launch_template ? 1 : 0

  name_prefix = "workers-"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }
}

resource "aws_eks_node_group" "this" { # imds-expect: IMDS006@1
  cluster_name    = "prod"
  node_group_name = "workers"
  node_role_arn   = "arn:aws:iam::123456789012:role/eks-node"
  subnet_ids      = ["subnet-0a1b2c3d", "subnet-0e1f2a3b"]
  ami_type        = var.ami_type
  instance_types  = ["m6i.large"]

  scaling_config {
    desired_size = 2
    max_size     = 4
    min_size     = 1
  }

  dynamic "launch_template" {
    for_each = var.use_custom_launch_template ? [1] : []

    content {
      id      = local.launch_template_id
      version = "$Latest"
    }
  }
}
