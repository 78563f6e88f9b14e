# Expressions imds-iac evaluates: variables set by terraform.tfvars, locals, functions,
# conditionals, for_each over a typed map, count.index, for expressions, a dynamic block over a
# literal list. All resolve, so no IMDS004.

locals {
  environment = "prod"
  defaults = {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }
  options = merge(local.defaults, { http_put_response_hop_limit = 1 })
}

resource "aws_instance" "from_tfvars" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = var.http_tokens
  }
}

resource "aws_launch_template" "from_locals" {
  name_prefix = "app-"

  metadata_options {
    http_endpoint               = local.options.http_endpoint
    http_tokens                 = lookup(local.options, "http_tokens", "optional")
    http_put_response_hop_limit = local.options["http_put_response_hop_limit"]
  }
}

resource "aws_launch_template" "pool" {
  for_each    = var.pools
  name_prefix = "${each.key}-"

  metadata_options {
    http_tokens                 = local.environment == "prod" ? "required" : "optional"
    http_put_response_hop_limit = each.value.hop_limit
  }
}

resource "aws_instance" "replica" {
  count = 2
  ami   = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens                 = upper("required") == "REQUIRED" ? "required" : "optional"
    http_put_response_hop_limit = count.index < 5 ? tonumber("1") : 2
  }
}

resource "aws_launch_template" "dynamic_literal" {
  name_prefix = "dyn-"

  dynamic "metadata_options" {
    for_each = [for t in ["required"] : { tokens = t }]
    content {
      http_tokens = metadata_options.value.tokens
    }
  }
}
