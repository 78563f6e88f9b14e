# Packer's own default hop limit (1) when the block does not write one
source "amazon-ebs" "app" {
  ami_name      = "app-{{timestamp}}"
  instance_type = "t3.micro"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ec2-user"
  imds_support  = "v2.0"

  metadata_options {
    http_tokens = "required"
  }
}
