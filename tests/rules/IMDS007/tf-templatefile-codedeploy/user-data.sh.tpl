#!/bin/bash
# CodeDeploy agent for ${app_name}: the bucket is per region.
set -euxo pipefail
yum install -y ruby wget
REGION=$(curl -s http://169.254.169.254/latest/meta-data/placement/availability-zone | sed 's/.$//') # imds-expect: IMDS007@10
cd /home/ec2-user
wget "https://aws-codedeploy-$${REGION}.s3.$${REGION}.amazonaws.com/latest/install"
chmod +x ./install
./install auto
echo "APP=${app_name}" >> /etc/environment
