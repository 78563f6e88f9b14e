"""IMDS001 metadata-options-missing: the resource sets no metadata options, so IMDSv1 stays
allowed."""

from collections.abc import Iterator

from imds_iac_checks.model import REQUIRED, TOKENS, Finding, Target, default_setting
from imds_iac_checks.rules import tokens_not_required
from imds_iac_checks.rules.base import (
    OPTIONS_BLOCK,
    CfnLintRule,
    Context,
    Fix,
    Rule,
    finding,
    recorded,
)


def check(target: Target, ctx: Context) -> Iterator[Finding]:
    if not target.spec.needs_block or target.block_span is not None:
        return
    if TOKENS not in target.spec.fields:
        return  # a kind without the setting (no metadata options of its own)
    if target.template_ref is not None:
        return  # the options come from a launch template: see there, or IMDS004
    if default_setting(target, TOKENS) == REQUIRED:
        return  # the tool that deploys it requires tokens when nothing is written (Karpenter)
    tokens = target.spec.suggest[TOKENS]
    note = f" ({target.spec.default_note})" if target.spec.default_note else ""
    yield finding(
        RULE,
        target,
        target.header,
        f"no {target.spec.label}, so IMDSv1 stays allowed{note}; add one with "
        f"{target.field(TOKENS)} set to {tokens}{recorded(target)}",
        fixable=not target.spec.block_in_json,  # not a key added to a JSON string
        setting=TOKENS,
        help=f"add {target.spec.label} with {target.field(TOKENS)} set to {tokens}",
    )


RULE = Rule(
    id="IMDS001",
    name="metadata-options-missing",
    title="Instance metadata options are missing",
    severity="error",
    reads=(OPTIONS_BLOCK,),
    check=check,
    fix=Fix(adds_block=True),
    security_severity="7.5",
    # The peers' "IMDSv1 is allowed" checks fire on a missing block as on optional tokens.
    peers=tokens_not_required.PEERS,
    checkov="CKV_IMDS_1",
    cfn_lint=CfnLintRule(
        "E9001",
        "imds-iac IMDS001 (metadata-options-missing): a resource that launches EC2 instances "
        "(AWS::EC2::Instance, AWS::EC2::LaunchTemplate, AWS::AutoScaling::LaunchConfiguration, "
        "Image Builder, SageMaker notebooks, WorkSpaces instances, EMR security configurations) "
        "sets no metadata options, so IMDSv1 stays allowed. Add MetadataOptions with "
        "HttpTokens: required.",
    ),
)
