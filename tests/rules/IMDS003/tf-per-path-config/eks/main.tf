# Hop limit 2 is within this directory's threshold (.imds-iac.toml); 3 is not.

resource "aws_launch_template" "nodes" {
  name_prefix = "eks-nodes-"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }
}

resource "aws_launch_template" "dind_runners" {
  name_prefix = "dind-"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 3 # imds-expect: IMDS003@35
  }
}
