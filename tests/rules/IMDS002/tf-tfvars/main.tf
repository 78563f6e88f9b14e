# terraform.tfvars and *.auto.tfvars override the defaults, as terraform plan reads them.

resource "aws_instance" "legacy" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = var.legacy_tokens
  }
}

resource "aws_instance" "web" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = var.web_tokens
  }
}
