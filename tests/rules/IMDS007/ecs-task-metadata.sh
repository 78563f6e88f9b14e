#!/bin/sh
# A container entrypoint on ECS: the task metadata endpoint (169.254.170.2 and the URI the
# agent injects) is not the instance metadata service, and needs no IMDS token.
set -e
curl -s "${ECS_CONTAINER_METADATA_URI_V4}/task" > /tmp/task.json
HOST_IP=$(curl --retry 5 --connect-timeout 3 -s 169.254.170.2/v2/metadata | jq -r '.Containers[0].Networks[0].IPv4Addresses[0]')
export HOST_IP
exec "$@"
