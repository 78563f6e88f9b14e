"""The same helper with IMDSv2: a token from PUT /latest/api/token, sent on every request."""

import json

import requests

BASE = "http://169.254.169.254/latest"


def token() -> str:
    response = requests.put(
        f"{BASE}/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"}, timeout=2
    )
    return response.text


def region() -> str:
    headers = {"X-aws-ec2-metadata-token": token()}
    doc = requests.get(f"{BASE}/dynamic/instance-identity/document", headers=headers, timeout=2)
    return json.loads(doc.text)["region"]
