source "amazon-ebs" "web" {
  ami_name      = "web-{{timestamp}}"
  instance_type = "t3.micro"
  region        = "us-east-1"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ec2-user"
  imds_support  = "v2.0"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}

# no build instance: only the AMI
source "amazon-chroot" "base" {
  ami_name     = "chroot-{{timestamp}}"
  source_ami   = "ami-0123456789abcdef0"
  imds_support = "v2.0"
}

build {
  sources = ["source.amazon-ebs.web", "source.amazon-chroot.base"]
}
