# http_tokens = "required" however it is written: no finding.

variable "http_tokens" {
  type    = string
  default = "required"

  validation {
    condition     = var.http_tokens == "required"
    error_message = "IMDSv2 is mandatory."
  }
}

locals {
  metadata = {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }
}

resource "aws_instance" "literal" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "enabled"
  }
}

resource "aws_instance" "from_variable" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = var.http_tokens
  }
}

resource "aws_launch_template" "from_local" {
  name_prefix = "app-"

  metadata_options {
    http_endpoint = local.metadata.http_endpoint
    http_tokens   = local.metadata["http_tokens"]
  }
}

resource "aws_launch_template" "interpolated" {
  name_prefix = "interp-"

  metadata_options {
    http_tokens = "${"requi"}red"
  }
}

resource "aws_ec2_instance_metadata_defaults" "enforced" {
  http_tokens                 = "required"
  http_put_response_hop_limit = 1
}

resource "aws_sagemaker_notebook_instance" "research" {
  name          = "research"
  role_arn      = "arn:aws:iam::123456789012:role/sagemaker"
  instance_type = "ml.t3.medium"

  instance_metadata_service_configuration {
    minimum_instance_metadata_service_version = "2"
  }
}
