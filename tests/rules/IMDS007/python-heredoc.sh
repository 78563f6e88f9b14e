#!/bin/bash
# User data that hands the work to Python in a heredoc: the metadata request is Python's.
yum install -y python3
python3 - <<'PY'
import json
import urllib.request

doc = urllib.request.urlopen("http://169.254.169.254/latest/dynamic/instance-identity/document").read()  # imds-expect: IMDS007@7
identity = json.loads(doc)
with open("/etc/app/region", "w") as out:
    out.write(identity["region"])
PY
systemctl restart app
