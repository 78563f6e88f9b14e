"""An application helper that reads the instance's identity at start-up (IMDSv1)."""

import http.client
import json
import urllib.request

import requests

INSTANCE_ID_URL = "http://169.254.169.254/latest/meta-data/instance-id"
DOC = "http://169.254.169.254/latest/dynamic/instance-identity/document"


def instance_id() -> str:
    reply = urllib.request.urlopen(INSTANCE_ID_URL, timeout=2)  # imds-expect: IMDS007@13
    return reply.read().decode()


def region() -> str:
    doc = requests.get(DOC, timeout=2)  # imds-expect: IMDS007@11
    return json.loads(doc.text)["region"]


def role_name() -> str:
    conn = http.client.HTTPConnection("169.254.169.254", timeout=2)
    conn.request("GET", "/latest/meta-data/iam/security-credentials/")  # imds-expect: IMDS007@5
    return conn.getresponse().read().decode().strip()
