"""IMDS008 old-sdk: a dependency manifest, lock file or install command pins an AWS SDK older
than its first release that fetches IMDSv2 session tokens (``boto3==1.9.0``, ``aws-sdk``
2.400.0 in package-lock.json, ``github.com/aws/aws-sdk-go v1.20.0`` in go.mod): code built on
it finds no credentials on instances that require tokens.

The analyser (:mod:`imds_iac_checks.hazards.sdk`) reads the manifests of the tree
(:mod:`imds_iac_checks.formats.manifests`) and the install commands in user data and scripts.
A pin in user data is tied to the instances it runs on: an error where one requires tokens (the
SDK fails there today), a warning elsewhere, and for a manifest on its own. The fix bumps an
exact pin to the first version that fetches tokens; it is unsafe: it changes what is installed.
"""

from collections.abc import Iterator

from imds_iac_checks.model import OLD_SDK, Finding, Hazard, Target
from imds_iac_checks.rules.base import Context, Fix, Rule, hazard_finding
from imds_iac_checks.rules.imdsv1_call import describe_hosts

KIND = OLD_SDK

_HELP = (
    "upgrade the SDK to a release that fetches IMDSv2 session tokens (docs/rules/IMDS008.md "
    "lists the first one of each SDK)"
)


def check_hazard(hazard: Hazard, ctx: Context) -> Iterator[Finding]:
    if not hazard.hosts:
        yield hazard_finding(
            RULE,
            hazard,
            f"{hazard.what}: it finds no credentials on instances that require IMDSv2 (tokens)",
            help=_HELP,
        )
        return
    hosts, fails = describe_hosts(hazard)
    if fails:
        tail = "it finds no credentials there"
        severity = "error"
    else:
        tail = "requiring tokens will leave it without credentials"
        severity = "warning"
    yield hazard_finding(
        RULE,
        hazard,
        f"{hazard.what}; this {hazard.payload} runs on {hosts}: {tail}",
        severity=severity,
        help=_HELP,
    )


def check(target: Target, ctx: Context) -> Iterator[Finding]:
    """Nothing on a target: this rule judges hazards (``hazard``)."""
    return iter(())


RULE = Rule(
    id="IMDS008",
    name="old-sdk",
    title="An AWS SDK pinned older than its first release that supports IMDSv2",
    severity="warning",
    reads=(),
    check=check,
    fix=Fix(),
    security_severity="5.3",
    precision="high",
    hazard=check_hazard,
    kinds=(KIND,),
    noun=("SDK pin too old for IMDSv2", "SDK pins too old for IMDSv2"),
)
