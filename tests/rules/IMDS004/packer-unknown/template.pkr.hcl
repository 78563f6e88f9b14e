variable "tokens" {
  type    = string
  default = env("PACKER_HTTP_TOKENS") # imds-expect: IMDS004@13
}

variable "hop_limit" {
  type = number
}

source "amazon-ebs" "app" {
  ami_name      = "app-{{timestamp}}"
  instance_type = "t3.micro"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ec2-user"
  imds_support  = data.amazon-parameterstore.imds.value # imds-expect: IMDS004@19

  metadata_options {
    http_tokens                 = var.tokens
    http_put_response_hop_limit = var.hop_limit # imds-expect: IMDS004@35
  }
}
