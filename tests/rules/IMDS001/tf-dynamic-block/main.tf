# terraform-aws-modules style: the options block is a `dynamic` block over a variable. Over an
# empty collection it writes no block at all, so the resource has no metadata options.

variable "metadata_options" {
  type    = map(string)
  default = {}
}

variable "hardened_metadata_options" {
  type = map(string)
  default = {
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}

resource "aws_launch_template" "default_inputs" { # imds-expect: IMDS001@1
  name_prefix = "workers-"
  image_id    = "ami-0c55b159cbfafe1f0"

  dynamic "metadata_options" {
    for_each = length(var.metadata_options) > 0 ? [var.metadata_options] : []
    content {
      http_endpoint               = try(metadata_options.value.http_endpoint, null)
      http_tokens                 = try(metadata_options.value.http_tokens, null)
      http_put_response_hop_limit = try(metadata_options.value.http_put_response_hop_limit, null)
    }
  }
}

resource "aws_launch_template" "hardened" {
  name_prefix = "hardened-"
  image_id    = "ami-0c55b159cbfafe1f0"

  dynamic "metadata_options" {
    for_each = length(var.hardened_metadata_options) > 0 ? [var.hardened_metadata_options] : []
    content {
      http_endpoint               = try(metadata_options.value.http_endpoint, null)
      http_tokens                 = try(metadata_options.value.http_tokens, null)
      http_put_response_hop_limit = try(metadata_options.value.http_put_response_hop_limit, null)
    }
  }
}
