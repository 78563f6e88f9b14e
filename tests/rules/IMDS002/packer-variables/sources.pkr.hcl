locals {
  settings = var.imds
}

local "tokens" {
  expression = var.tokens
  sensitive  = false
}

source "amazon-ebs" "from_local" {
  ami_name      = "a-{{timestamp}}"
  instance_type = "t3.micro"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ec2-user"
  imds_support  = "v2.0"

  metadata_options {
    http_tokens                 = local.settings.tokens
    http_put_response_hop_limit = local.settings.hops
  }
}

source "amazon-ebs" "from_pkrvars" {
  ami_name      = "b-{{timestamp}}"
  instance_type = "t3.micro"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ec2-user"
  imds_support  = "v2.0"

  metadata_options {
    http_tokens = local.tokens
  }
}
