#!/bin/bash
# Amazon Linux 2 user data that installs the CodeDeploy agent. The bucket name needs the
# region, read from the availability zone without a session token (and without http://).
REGION=$(curl 169.254.169.254/latest/meta-data/placement/availability-zone/ | sed 's/[a-z]$//')  # imds-expect: IMDS007@10
yum update -y
yum install -y ruby wget
cd /home/ec2-user || exit 1
curl -O "https://aws-codedeploy-${REGION}.s3.${REGION}.amazonaws.com/latest/install"
chmod +x ./install
./install auto
systemctl status codedeploy-agent
