#!/bin/bash
# Starts the CloudWatch agent early in boot. It tries IMDSv1 first and falls back to a token:
# the first request is still a token-less call, refused once tokens are required.
set -e
CONFIG_TEMPLATE=/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json.template
CONFIG_FILE=/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json

INSTANCE_ID=$(curl -s --max-time 5 --connect-timeout 2 http://169.254.169.254/latest/meta-data/instance-id || true)  # imds-expect: IMDS007@15
if [ -z "$INSTANCE_ID" ]; then
  TOKEN=$(curl -s -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60")
  INSTANCE_ID=$(curl -s -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/instance-id)
fi

sed "s/{instance_id}/${INSTANCE_ID}/g" "$CONFIG_TEMPLATE" > "$CONFIG_FILE"
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c "file:$CONFIG_FILE"
