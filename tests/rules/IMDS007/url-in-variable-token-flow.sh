#!/bin/bash -x
# The same script after its migration: the URL is still in a variable, the token in another.
instance_data_url=http://169.254.169.254/latest
token=$(curl -s -X PUT "$instance_data_url/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
auth="X-aws-ec2-metadata-token: $token"
AMI_ID=$(curl -s -H "$auth" $instance_data_url/meta-data/ami-id)
PUBLIC_HOSTNAME=$(curl --silent --header "$auth" "${instance_data_url}/meta-data/public-hostname")

apt-get update
apt-get install -y nginx
echo "built from $AMI_ID on $PUBLIC_HOSTNAME" > /etc/ami-build-info
