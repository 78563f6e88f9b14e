# An EKS managed node group launches from a launch template with hop limit 2 (pods behind the
# VPC CNI need it to reach IMDSv2). With the default threshold of 1 that is a finding, on the
# template; tf-eks-node-group-hop-limit-2 is the same code scanned with --hop-limit 2.

resource "aws_launch_template" "nodes" {
  name_prefix = "eks-nodes-"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2 # imds-expect: IMDS003@35
  }
}

resource "aws_eks_node_group" "default" {
  cluster_name    = "platform"
  node_group_name = "default"
  node_role_arn   = "arn:aws:iam::123456789012:role/eks-node"
  subnet_ids      = ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"]

  scaling_config {
    desired_size = 3
    max_size     = 6
    min_size     = 1
  }

  launch_template {
    id      = aws_launch_template.nodes.id
    version = aws_launch_template.nodes.latest_version
  }
}
