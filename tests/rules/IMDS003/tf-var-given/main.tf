# imds-args: --var hop_limit=3
# A number variable given with --var: the text is converted to the number, as Terraform does.

variable "hop_limit" {
  type    = number
  default = 1
}

resource "aws_launch_template" "nodes" {
  name_prefix = "nodes-"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = var.hop_limit # imds-expect: IMDS003@35
  }
}
