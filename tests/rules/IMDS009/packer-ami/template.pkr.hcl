variable "imds_support" {
  type    = string
  default = "" # imds-expect: IMDS009@13
}

source "amazon-ebs" "missing" { # imds-expect: IMDS009@1
  ami_name      = "missing-{{timestamp}}"
  instance_type = "t3.micro"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ec2-user"

  metadata_options {
    http_tokens = "required"
  }
}

source "amazon-chroot" "from_variable" {
  ami_name     = "chroot-{{timestamp}}"
  source_ami   = "ami-0123456789abcdef0"
  imds_support = var.imds_support
}

# only tests the build: no AMI is registered
source "amazon-ebs" "check_only" {
  instance_type   = "t3.micro"
  source_ami      = "ami-0123456789abcdef0"
  ssh_username    = "ec2-user"
  skip_create_ami = true

  metadata_options {
    http_tokens = "required"
  }
}

build {
  sources = [
    "source.amazon-ebs.missing",
    "source.amazon-chroot.from_variable",
    "source.amazon-ebs.check_only",
  ]
}
