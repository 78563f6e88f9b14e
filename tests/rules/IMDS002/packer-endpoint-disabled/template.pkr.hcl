# packer-plugin-amazon sends no metadata options when http_endpoint is "disabled": the build
# instance gets AWS's defaults, so tokens stay optional whatever http_tokens says.
source "amazon-ebs" "off" {
  ami_name      = "off-{{timestamp}}"
  instance_type = "t3.micro"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ec2-user"
  imds_support  = "v2.0"

  metadata_options {
    http_endpoint = "disabled" # imds-expect: IMDS002@21
    http_tokens   = "required"
  }
}

source "amazon-ebs" "on" {
  ami_name      = "on-{{timestamp}}"
  instance_type = "t3.micro"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ec2-user"
  imds_support  = "v2.0"

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }
}
