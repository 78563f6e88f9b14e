"""Ansible ``uri``/``get_url`` tasks that call the metadata service (payloads of language
``ansible-uri`` from :mod:`imds_iac_checks.formats.playbooks`: the task's URL, given only for
tasks that send no ``X-aws-ec2-metadata-token`` header and are not the token request)."""

from collections.abc import Iterator
from urllib.parse import urlsplit

from imds_iac_checks.hazards import mentions_imds
from imds_iac_checks.model import METADATA_CALL as KIND
from imds_iac_checks.model import Found, Payload

NO_FIX = (
    "fetch a token in a uri task before it (method: PUT, url: "
    "http://169.254.169.254/latest/api/token, headers: X-aws-ec2-metadata-token-ttl-seconds: "
    "21600, register: imds_token) and add headers: X-aws-ec2-metadata-token: "
    '"{{ imds_token.content }}" to this task, by hand'
)


def find(payload: Payload) -> Iterator[Found]:
    url = payload.text.strip()
    if not mentions_imds(url):
        return
    try:
        host = urlsplit(url if "://" in url else f"http://{url}").hostname or ""
    except ValueError:
        host = ""
    if host and host not in ("169.254.169.254", "fd00:ec2::254", "instance-data"):
        return  # the metadata address is elsewhere in the URL (a query parameter)
    module = payload.what.removeprefix("Ansible ").removesuffix(" task")
    what = f"Ansible {module} GET {url} without a session token"
    details = (("tool", module), ("url", url))
    yield Found(KIND, 0, len(payload.text), what, no_fix=NO_FIX, details=details)
