# A variable's default reaches the resource: the finding is at the default, in variables.tf.

resource "aws_launch_template" "workers" {
  name_prefix = "workers-"

  metadata_options {
    http_tokens = var.http_tokens
  }
}

locals {
  tokens = var.secure_tokens
}

resource "aws_launch_template" "api" {
  name_prefix = "api-"

  metadata_options {
    http_tokens = local.tokens
  }
}
