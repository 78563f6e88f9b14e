# An endpoint imds-iac cannot evaluate is assumed enabled (AWS's default): optional tokens are
# still reported (next to an IMDS004 for the endpoint).

variable "imds_endpoint" {
  type = string
}

resource "aws_instance" "reporting" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_endpoint = var.imds_endpoint
    http_tokens   = "optional" # imds-expect: IMDS002@21
  }
}

resource "aws_instance" "flagged" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_endpoint = var.imds_endpoint == "off" ? "disabled" : "enabled"
    http_tokens   = "required"
  }
}
