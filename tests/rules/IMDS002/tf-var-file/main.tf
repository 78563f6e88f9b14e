# imds-args: --var-file tf-var-file/envs/legacy.tfvars
# A variables file named with --var-file (not read unless named).

variable "http_tokens" {
  type    = string
  default = "required"
}

resource "aws_instance" "app" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = var.http_tokens
  }
}
