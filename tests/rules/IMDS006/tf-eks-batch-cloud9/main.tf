# Services that launch instances for you. Without a launch template they use AWS's own (EKS
# managed node groups, Batch EC2 compute environments): IMDSv1 stays allowed. Fargate and
# unmanaged compute environments launch no EC2 instance; Cloud9 cannot set metadata options.

resource "aws_eks_node_group" "default" { # imds-expect: IMDS006@1
  cluster_name    = "prod"
  node_group_name = "default"
  node_role_arn   = "arn:aws:iam::123456789012:role/eks-node"
  subnet_ids      = ["subnet-0a1b2c3d", "subnet-0e1f2a3b"]
  instance_types  = ["m6i.large"]
  ami_type        = "AL2_x86_64"

  scaling_config {
    desired_size = 2
    max_size     = 4
    min_size     = 1
  }

  update_config {
    max_unavailable = 1
  }
}

resource "aws_launch_template" "nodes" {
  name_prefix = "nodes-"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2 # pods on the nodes need 2
  }
}

resource "aws_eks_node_group" "custom" {
  cluster_name    = "prod"
  node_group_name = "custom"
  node_role_arn   = "arn:aws:iam::123456789012:role/eks-node"
  subnet_ids      = ["subnet-0a1b2c3d"]

  scaling_config {
    desired_size = 2
    max_size     = 4
    min_size     = 1
  }

  launch_template {
    id      = aws_launch_template.nodes.id
    version = aws_launch_template.nodes.latest_version
  }
}

resource "aws_batch_compute_environment" "ec2" { # imds-expect: IMDS006@1
  compute_environment_name = "nightly"
  type                     = "MANAGED"
  service_role             = "arn:aws:iam::123456789012:role/batch"

  compute_resources {
    type               = "EC2"
    instance_role      = "arn:aws:iam::123456789012:instance-profile/ecsInstanceRole"
    instance_type      = ["c6i.large"]
    max_vcpus          = 16
    min_vcpus          = 0
    security_group_ids = ["sg-0a1b2c3d"]
    subnets            = ["subnet-0a1b2c3d"]
  }
}

resource "aws_batch_compute_environment" "spot_templated" {
  compute_environment_name = "spot"
  type                     = "MANAGED"

  compute_resources {
    type                = "SPOT"
    allocation_strategy = "SPOT_CAPACITY_OPTIMIZED"
    instance_role       = "arn:aws:iam::123456789012:instance-profile/ecsInstanceRole"
    instance_type       = ["optimal"]
    max_vcpus           = 16
    security_group_ids  = ["sg-0a1b2c3d"]
    subnets             = ["subnet-0a1b2c3d"]

    launch_template {
      launch_template_id = aws_launch_template.nodes.id
    }
  }
}

resource "aws_batch_compute_environment" "fargate" {
  compute_environment_name = "fargate"
  type                     = "MANAGED"

  compute_resources {
    type               = "FARGATE"
    max_vcpus          = 16
    security_group_ids = ["sg-0a1b2c3d"]
    subnets            = ["subnet-0a1b2c3d"]
  }
}

resource "aws_batch_compute_environment" "unmanaged" {
  compute_environment_name = "byo"
  type                     = "UNMANAGED"
}

resource "aws_cloud9_environment_ec2" "ide" { # imds-expect: IMDS006@1
  name          = "team-ide"
  instance_type = "t3.small"
  image_id      = "amazonlinux-2023-x86_64"
}
