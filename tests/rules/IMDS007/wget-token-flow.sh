#!/bin/sh
# The ip-detect script with wget and a session token (GNU wget's --method and --header).
set -o nounset -o errexit

get_private_ip_from_metaserver()
{
    token=$(wget -q -O - --method=PUT --header="X-aws-ec2-metadata-token-ttl-seconds: 60" \
        http://169.254.169.254/latest/api/token)
    wget -q -O - --header="X-aws-ec2-metadata-token: $token" \
        http://169.254.169.254/latest/meta-data/local-ipv4
}

echo "${COREOS_PRIVATE_IPV4:-$(get_private_ip_from_metaserver)}"
