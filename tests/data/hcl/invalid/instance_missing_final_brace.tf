variable "tokens" {
  default = "required"
}

resource "aws_instance" "web" {
  ami = "ami-1"
  metadata_options {
    http_tokens = var.tokens
  }
