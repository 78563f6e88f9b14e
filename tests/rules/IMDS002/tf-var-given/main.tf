# imds-args: --var http_tokens=optional
# A string variable given with --var: Terraform takes the text as the string (no quotes needed).
# The value is in no file: the finding is where a file uses it, and it has no fix.

variable "http_tokens" {
  type    = string
  default = "required"
}

resource "aws_instance" "web" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"

  metadata_options {
    http_tokens = var.http_tokens # imds-expect: IMDS002@19
  }
}
