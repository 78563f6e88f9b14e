# Conditionals: a condition imds-iac can decide picks its branch; one it cannot decide (a variable
# without a default) has both branches checked, and an insecure branch is a finding at its literal.

variable "environment" {
  type    = string
  default = "prod"
}

variable "legacy_agent" {
  type        = bool
  description = "Set per workspace; no default."
}

locals {
  is_prod = var.environment == "prod"
  tokens  = local.is_prod ? "required" : "optional"
}

resource "aws_instance" "decided" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = local.tokens
  }
}

resource "aws_instance" "undecided" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = var.legacy_agent ? "optional" : "required" # imds-expect: IMDS002@38
  }
}

resource "aws_instance" "coalesced" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = coalesce(null, "optional") # imds-expect: IMDS002@34
  }
}

resource "aws_instance" "picked_by_lookup" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = lookup({ prod = "required", dev = "optional" }, var.environment, "optional")
  }
}
