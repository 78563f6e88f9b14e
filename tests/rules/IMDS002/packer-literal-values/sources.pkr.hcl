source "amazon-ebs" "optional" {
  ami_name      = "optional-{{timestamp}}"
  instance_type = "t3.micro"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ec2-user"
  imds_support  = "v2.0"

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "optional" # imds-expect: IMDS002@21
  }
}

source "amazon-ebsvolume" "unset" {
  instance_type = "t3.micro"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ec2-user"

  metadata_options { # imds-expect: IMDS002@3
    http_put_response_hop_limit = 1
  }
}
