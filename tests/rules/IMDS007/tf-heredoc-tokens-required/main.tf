# An Amazon Linux 2 web tier: the launch template already requires tokens, but its user data
# still reads the region and instance id with IMDSv1. The calls fail at boot today.
resource "aws_launch_template" "web" {
  name_prefix   = "web-"
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.small"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  user_data = base64encode(<<-EOT
    #!/bin/bash
    yum update -y
    yum install -y httpd jq
    REGION=$(curl -s http://169.254.169.254/latest/dynamic/instance-identity/document | jq -r .region) # imds-expect: IMDS007@14
    INSTANCE_ID=$(curl -s http://169.254.169.254/latest/meta-data/instance-id) # imds-expect: IMDS007@19
    echo "<h1>$${INSTANCE_ID} in $${REGION}</h1>" > /var/www/html/index.html
    systemctl enable --now httpd
  EOT
  )
}

resource "aws_autoscaling_group" "web" {
  name_prefix         = "web-"
  min_size            = 2
  max_size            = 4
  vpc_zone_identifier = ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]

  launch_template {
    id      = aws_launch_template.web.id
    version = "$Latest"
  }
}
