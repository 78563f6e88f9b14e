source "amazon-ebs" "app" {
  ami_name      = "app-{{timestamp}}"
  instance_type = "t3.micro"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ec2-user"
  imds_support  = "v2.0"
}

build {
  name = "strict"
  source "source.amazon-ebs.app" {
    name = "strict"
    metadata_options {
      http_tokens = "required"
    }
  }
}

build {
  name = "lax"
  source "source.amazon-ebs.app" {
    name = "lax"
    metadata_options {
      http_tokens = "optional" # imds-expect: IMDS002@21
    }
  }
}
