"""A rule that exists only in tests, registered at run time: it proves that a new rule needs its
module and nothing else to appear in every output, suppression, fix and plugin.

IMDS900 endpoint-not-explicit (warning): an options block that does not set the endpoint
explicitly. Fixable: the fix adds the endpoint setting with its secure literal.
"""

from __future__ import annotations

from collections.abc import Iterator

from imds_iac_checks import rules
from imds_iac_checks.model import ENDPOINT, Finding, Target
from imds_iac_checks.rules.base import CfnLintRule, Context, Fix, Rule, finding


def check(target: Target, ctx: Context) -> Iterator[Finding]:
    if target.block_span is None or target.unknown_block is not None:
        return
    if ENDPOINT not in target.spec.fields or target.settings.get(ENDPOINT):
        return
    yield finding(
        RULE,
        target,
        target.header,
        f"{target.spec.label} does not set {target.field(ENDPOINT)} explicitly",
        fixable=True,
        setting=ENDPOINT,
    )


RULE = Rule(
    id="IMDS900",
    name="endpoint-not-explicit",
    title="The metadata endpoint is not set explicitly",
    severity="warning",
    reads=(ENDPOINT,),
    check=check,
    fix=Fix(),
    security_severity="1.0",
    peers={"checkov": ("CKV_DUMMY_900",)},
    checkov="CKV_IMDS_900",
    cfn_lint=CfnLintRule("W9900", "imds-iac IMDS900 (endpoint-not-explicit): a test rule."),
)


def register() -> None:
    rules.register(RULE)


def unregister() -> None:
    rules.unregister(RULE.id)
