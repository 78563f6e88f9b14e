# A hop limit imds-iac cannot evaluate, or a literal that is not a number, is IMDS004's: no
# IMDS003 guess.

variable "hop_limit" {
  type = number
}

resource "aws_launch_template" "from_variable" {
  name_prefix = "var-"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = var.hop_limit
  }
}

resource "aws_instance" "not_a_number" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = "two"
  }
}
