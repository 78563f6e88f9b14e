#!/bin/sh
# A cluster ip-detect script: the private address from the metadata service with wget.
set -o nounset -o errexit

get_private_ip_from_metaserver()
{
    wget -q -O - http://169.254.169.254/latest/meta-data/local-ipv4  # imds-expect: IMDS007@5
}

echo "${COREOS_PRIVATE_IPV4:-$(get_private_ip_from_metaserver)}"
