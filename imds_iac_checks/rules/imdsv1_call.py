"""IMDS007 imdsv1-call: code that runs on instances calls the metadata service without a session
token (``curl http://169.254.169.254/...``, PowerShell ``Invoke-RestMethod``, Python
``requests``, ...): it fails wherever tokens are required.

The analysers (:mod:`imds_iac_checks.hazards`) find the calls in user data and in the files of
the tree; the scan ties each call to the instances it runs on (``Hazard.hosts``).
The finding is an error where an instance already requires tokens (or has the endpoint off: the
call fails there today), and a warning — a migration blocker — where instances still allow IMDSv1
or where the code is tied to no instance (a script on its own). Its fix rewrites a shell or
PowerShell call to the token flow; it is unsafe: it changes what the script does.
"""

from collections.abc import Iterator

from imds_iac_checks.model import METADATA_CALL, Finding, Hazard, Host, Target
from imds_iac_checks.rules.base import Context, Fix, Rule, hazard_finding

KIND = METADATA_CALL

_HELP = (
    "fetch a session token first (PUT http://169.254.169.254/latest/api/token with the header "
    "X-aws-ec2-metadata-token-ttl-seconds) and send it in the X-aws-ec2-metadata-token header"
)

# How a host's state reads in the message, and whether the call fails there today.
_STATES = {
    "required": ("which requires tokens", True),
    "disabled": ("which has the metadata endpoint disabled", True),
    "allowed": ("which still allows IMDSv1", False),
    "unknown": ("whose token setting could not be evaluated", False),
}


def _where(host: Host) -> str:
    return f"{host.address} ({host.span.path}:{host.span.line})"


def describe_hosts(hazard: Hazard) -> tuple[str, bool]:
    """``runs on X (main.tf:12), which requires tokens, and on Y (...), which still allows
    IMDSv1``, and whether the code fails on one of them today."""
    by_state: dict[str, list[Host]] = {}
    for host in hazard.hosts:
        by_state.setdefault(host.state, []).append(host)
    parts = []
    fails = False
    for state in ("required", "disabled", "allowed", "unknown"):
        hosts = by_state.get(state)
        if not hosts:
            continue
        said, failing = _STATES[state]
        fails = fails or failing
        names = ", ".join(_where(h) for h in hosts[:5])
        if len(hosts) > 5:
            names += f" and {len(hosts) - 5:,} more"
        parts.append(f"{names}, {said}")
    return "; and on ".join(parts), fails


def check_hazard(hazard: Hazard, ctx: Context) -> Iterator[Finding]:
    if not hazard.hosts:
        yield hazard_finding(
            RULE,
            hazard,
            f"{hazard.what}: it fails on instances that require IMDSv2 (tokens); this "
            f"{hazard.payload} is tied to no instance in the files scanned",
            help=dict(hazard.details).get("help", _HELP),
        )
        return
    hosts, fails = describe_hosts(hazard)
    if fails:
        tail = "this call fails there"
        severity = "error"
    else:
        tail = "requiring tokens will break this call"
        severity = "warning"
    yield hazard_finding(
        RULE,
        hazard,
        f"{hazard.what}; this {hazard.payload} runs on {hosts}: {tail}",
        severity=severity,
        help=dict(hazard.details).get("help", _HELP),
    )


def check(target: Target, ctx: Context) -> Iterator[Finding]:
    """Nothing on a target: this rule judges hazards (``hazard``)."""
    return iter(())


RULE = Rule(
    id="IMDS007",
    name="imdsv1-call",
    title="Code that runs on instances calls the metadata service without a session token",
    severity="warning",
    reads=(),
    check=check,
    fix=Fix(),
    security_severity="6.5",
    precision="high",
    hazard=check_hazard,
    kinds=(KIND,),
    noun=("IMDSv1 call", "IMDSv1 calls"),
)
