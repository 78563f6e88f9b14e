source "amazon-ebs" "web" { # imds-expect: IMDS001@1
  ami_name      = "web-{{timestamp}}"
  instance_type = "t3.micro"
  region        = "us-east-1"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ec2-user"
  imds_support  = "v2.0"
}

source "amazon-ebssurrogate" "root" { # imds-expect: IMDS001@1
  instance_type = "t3.micro"
  region        = "us-east-1"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ec2-user"
  imds_support  = "v2.0"

  launch_block_device_mappings {
    device_name           = "/dev/xvdf"
    volume_size           = 8
    volume_type           = "gp3"
    delete_on_termination = true
  }

  ami_virtualization_type = "hvm"
  ami_root_device {
    source_device_name    = "/dev/xvdf"
    device_name           = "/dev/xvda"
    delete_on_termination = true
    volume_size           = 8
    volume_type           = "gp3"
  }
}

# metadata_options only in the build that uses the source: merged into it by Packer
source "amazon-ebs" "merged" {
  ami_name      = "merged-{{timestamp}}"
  instance_type = "t3.micro"
  region        = "us-east-1"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ec2-user"
  imds_support  = "v2.0"
}

build {
  sources = ["source.amazon-ebs.web", "source.amazon-ebssurrogate.root"]
}

build {
  source "amazon-ebs.merged" {
    metadata_options {
      http_tokens = "required"
    }
  }
}
