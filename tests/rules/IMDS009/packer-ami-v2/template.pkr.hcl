locals {
  imds_support = "v2.0"
}

source "amazon-ebs" "app" {
  ami_name      = "app-{{timestamp}}"
  instance_type = "t3.micro"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ec2-user"
  imds_support  = local.imds_support

  metadata_options {
    http_tokens = "required"
  }
}

# makes EBS volumes, no AMI
source "amazon-ebsvolume" "data" {
  instance_type = "t3.micro"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ec2-user"

  metadata_options {
    http_tokens = "required"
  }

  ebs_volumes {
    volume_type = "gp3"
    device_name = "/dev/xvdf"
    volume_size = 10
  }
}

build {
  sources = ["source.amazon-ebs.app", "source.amazon-ebsvolume.data"]
}
