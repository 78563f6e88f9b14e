# imds-args: --var hop_limit=1
# A variable without a default, given with --var as terraform plan -var would: resolved.

variable "hop_limit" {
  type = number
}

resource "aws_launch_template" "nodes" {
  name_prefix = "nodes-"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = var.hop_limit
  }
}
