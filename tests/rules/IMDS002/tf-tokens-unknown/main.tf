# Values imds-iac cannot resolve get IMDS004, never an IMDS002 guess.

variable "http_tokens" {
  type = string
}

data "aws_ssm_parameter" "tokens" {
  name = "/platform/imds/http_tokens"
}

resource "aws_instance" "from_variable_without_default" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = var.http_tokens
  }
}

resource "aws_instance" "from_data_source" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = data.aws_ssm_parameter.tokens.value
  }
}
