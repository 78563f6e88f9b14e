# EKS self-managed nodes: an AL2 group calls /etc/eks/bootstrap.sh, an AL2023 group gives
# nodeadm its NodeConfig. Neither user data makes a metadata request of its own.
resource "aws_launch_template" "al2_nodes" {
  name_prefix   = "eks-al2-"
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "m6i.large"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }

  user_data = base64encode(<<-EOT
    #!/bin/bash
    set -o xtrace
    /etc/eks/bootstrap.sh orders-cluster \
      --b64-cluster-ca 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t' \
      --apiserver-endpoint 'https://ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com' \
      --kubelet-extra-args '--node-labels=nodegroup=al2'
  EOT
  )
}

resource "aws_launch_template" "al2023_nodes" {
  name_prefix   = "eks-al2023-"
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "m6i.large"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }

  user_data = base64encode(<<-EOT
    MIME-Version: 1.0
    Content-Type: multipart/mixed; boundary="//"

    --//
    Content-Type: application/node.eks.aws

    ---
    apiVersion: node.eks.aws/v1alpha1
    kind: NodeConfig
    spec:
      cluster:
        name: orders-cluster
        apiServerEndpoint: https://ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com
        certificateAuthority: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t
        cidr: 10.100.0.0/16

    --//
    Content-Type: text/x-shellscript; charset="us-ascii"

    #!/bin/bash
    echo "vm.max_map_count=262144" > /etc/sysctl.d/90-max-map-count.conf
    sysctl --system

    --//--
  EOT
  )
}
