# With the metadata endpoint disabled there is no IMDSv1 to allow: optional or missing tokens are
# not reported, whether "disabled" is a literal, a variable default or a local.

variable "imds_endpoint" {
  type    = string
  default = "disabled"
}

locals {
  endpoint = "disabled"
}

resource "aws_instance" "air_gapped" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_endpoint = "disabled"
    http_tokens   = "optional"
  }
}

resource "aws_launch_configuration" "jenkins" {
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "m5.large"

  metadata_options {
    http_endpoint = var.imds_endpoint
  }
}

resource "aws_launch_template" "kiosk" {
  name_prefix = "kiosk-"

  metadata_options {
    http_endpoint = local.endpoint
    http_tokens   = "optional"
  }
}
