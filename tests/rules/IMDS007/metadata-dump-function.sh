#!/bin/bash -e
# Dumps instance metadata through a helper function: the only call is inside the function,
# and it sends no token.
function get {
  curl -sf "http://169.254.169.254/2016-09-02/$1"  # imds-expect: IMDS007@3
}

>&2 echo "Fetching metadata..."
AZ=$(get meta-data/placement/availability-zone)
INSTANCE_ID=$(get meta-data/instance-id)
INSTANCE_TYPE=$(get meta-data/instance-type)
AMI_ID=$(get meta-data/ami-id)
echo "$INSTANCE_ID ($INSTANCE_TYPE, $AMI_ID) in $AZ"
