# A bastion that still allows IMDSv1: its user data works today, and requiring tokens would
# break the hostname call.
resource "aws_instance" "bastion" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"
  subnet_id     = "subnet-0a1b2c3d"

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "optional"
  }

  user_data = <<EOF
#!/bin/bash
yum install -y amazon-ssm-agent
PUBLIC_HOSTNAME=$(curl -s http://169.254.169.254/latest/meta-data/public-hostname) # imds-expect: IMDS007@19
echo "bastion: $PUBLIC_HOSTNAME" > /etc/motd
EOF
}
