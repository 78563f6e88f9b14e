# Ubuntu nodes built from a cloudinit_config data source: a #cloud-config part whose runcmd
# reads the local address, and a shell part that already uses the token flow.
data "cloudinit_config" "node" {
  gzip          = false
  base64_encode = true

  part {
    content_type = "text/cloud-config"
    content      = <<-EOT
      #cloud-config
      package_update: true
      packages:
        - nginx
      runcmd:
        - [ sh, -c, 'echo "listen $(curl -s http://169.254.169.254/latest/meta-data/local-ipv4):80;" > /etc/nginx/conf.d/listen.inc' ] # imds-expect: IMDS007@37
        - systemctl restart nginx
    EOT
  }

  part {
    content_type = "text/x-shellscript"
    content      = <<-EOT
      #!/bin/bash
      TOKEN=$(curl -s -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60")
      curl -s -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/instance-id > /etc/instance-id
    EOT
  }
}

resource "aws_instance" "node" {
  ami           = "ami-0a1b2c3d4e5f60718"
  instance_type = "t3.small"

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }

  user_data_base64 = data.cloudinit_config.node.rendered
}
