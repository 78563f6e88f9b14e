#!/bin/bash
# An IPv6-only subnet: the metadata service at [fd00:ec2::254]. The token is fetched and sent
# on the first request, but the second request forgets the header.
TOKEN=$(curl -s -X PUT "http://[fd00:ec2::254]/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 21600")
ID=$(curl -s -H "X-aws-ec2-metadata-token: $TOKEN" "http://[fd00:ec2::254]/latest/meta-data/instance-id")
MAC=$(curl -s "http://[fd00:ec2::254]/latest/meta-data/mac")  # imds-expect: IMDS007@7
echo "$ID $MAC" > /etc/instance-ident
