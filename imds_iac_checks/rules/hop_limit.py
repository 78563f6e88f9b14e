"""IMDS003 hop-limit-above-threshold: the PUT response hop limit lets the session token travel
further than the threshold (option ``hop-limit``, default 1; containers need 2)."""

from collections.abc import Iterator

from imds_iac_checks.model import ENDPOINT, HOP_LIMIT, Finding, Target, show
from imds_iac_checks.rules.base import (
    DEFAULT_HOP_LIMIT,
    CfnLintRule,
    Context,
    Fix,
    Option,
    Rule,
    endpoint_may_be_enabled,
    finding,
    recorded,
    remedy,
    where,
)


def check(target: Target, ctx: Context) -> Iterator[Finding]:
    if target.block_span is None or HOP_LIMIT not in target.spec.fields:
        return
    if target.unknown_block is not None:
        return
    if not endpoint_may_be_enabled(target):
        return
    field = target.field(HOP_LIMIT)
    for value in target.settings.get(HOP_LIMIT, ()):
        if not value.known or value.problem or not isinstance(value.value, (int, float)):
            continue
        if value.value > ctx.hop_limit:
            todo = remedy(value, field, ctx.hop_limit)
            said = todo.replace(f"set {field} to", "set it to")
            yield finding(
                RULE,
                target,
                value.span,
                f"{field} is {show(value.raw)}{where(value)}, above the limit of "
                f"{ctx.hop_limit}; {said}{recorded(target)}",
                fixable=True,
                setting=HOP_LIMIT,
                value=value,
                help=todo,
            )


RULE = Rule(
    id="IMDS003",
    name="hop-limit-above-threshold",
    title="Metadata response hop limit is above the threshold",
    severity="error",
    reads=(HOP_LIMIT,),
    check=check,
    fix=Fix(),
    silenced_by=(ENDPOINT,),
    security_severity="5.3",
    peers={"checkov": ("CKV_AWS_341",)},
    checkov="CKV_IMDS_3",
    cfn_lint=CfnLintRule(
        "E9003",
        "imds-iac IMDS003 (hop-limit-above-threshold): HttpPutResponseHopLimit is above the "
        "threshold (option hop_limit, default 1; containers need 2), so the IMDSv2 session "
        "token can travel beyond the instance.",
    ),
    options=(Option("hop_limit", DEFAULT_HOP_LIMIT),),
)
