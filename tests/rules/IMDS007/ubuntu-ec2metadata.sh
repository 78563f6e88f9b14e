#!/bin/bash
# Ubuntu 20.04 user data: apt, and Ubuntu's ec2metadata tool (cloud-guest-utils). Before
# cloud-utils 0.32 the tool sends no session token.
apt-get update
apt-get install -y nginx cloud-guest-utils
INSTANCE_ID=$(ec2metadata --instance-id)  # imds-expect: IMDS007@15
PUBLIC_IP=$(curl -s -H "X-aws-ec2-metadata-token: $(curl -s -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')" http://169.254.169.254/latest/meta-data/public-ipv4)
echo "$INSTANCE_ID $PUBLIC_IP" > /var/www/html/index.html
