#!/bin/bash -x
# An AMI build script: the metadata base URL is kept in a variable, the calls send no token.
instance_data_url=http://169.254.169.254/latest
AMI_ID=$(curl $instance_data_url/meta-data/ami-id)  # imds-expect: IMDS007@10
PUBLIC_HOSTNAME=$(curl --silent "${instance_data_url}/meta-data/public-hostname")  # imds-expect: IMDS007@19

apt-get update
apt-get install -y nginx
echo "built from $AMI_ID on $PUBLIC_HOSTNAME" > /etc/ami-build-info
