#!/bin/bash
# Older Ubuntu images resolve the name instance-data to the metadata service; scripts of that
# time use it instead of the address.
export INSTANCE_ID=$(wget -qO- http://instance-data/latest/meta-data/instance-id)  # imds-expect: IMDS007@22
ZONE=$(curl -fs instance-data/latest/meta-data/placement/availability-zone)  # imds-expect: IMDS007@8
echo "$INSTANCE_ID $ZONE" >> /etc/motd
