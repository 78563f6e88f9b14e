variable "http_tokens" {
  type    = string
  default = "required"
}

resource "aws_instance" "this" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = var.http_tokens
  }
}
