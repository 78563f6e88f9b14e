#!/bin/bash -xe
# The usual CloudWatch agent bootstrap: the agent reads the metadata itself (it speaks IMDSv2),
# the script makes no metadata request.
exec > >(tee /var/log/user-data.log | logger -t user-data -s 2>/dev/console) 2>&1
wget https://s3.amazonaws.com/amazoncloudwatch-agent/amazon_linux/amd64/latest/amazon-cloudwatch-agent.rpm
rpm -U ./amazon-cloudwatch-agent.rpm
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -c ssm:/platform/cloudwatch-agent -s
