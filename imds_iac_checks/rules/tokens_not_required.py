"""IMDS002 tokens-not-required: tokens are optional (or not set) while the metadata endpoint may
be enabled."""

from collections.abc import Iterator

from imds_iac_checks.model import (
    ENDPOINT,
    REQUIRED,
    TOKENS,
    Finding,
    Target,
    default_setting,
    show,
)
from imds_iac_checks.rules.base import (
    CfnLintRule,
    Context,
    Fix,
    Rule,
    endpoint_may_be_enabled,
    finding,
    recorded,
    remedy,
    where,
)


def check(target: Target, ctx: Context) -> Iterator[Finding]:
    if target.block_span is None or target.unknown_block is not None:
        return
    if TOKENS not in target.spec.fields:
        return  # a kind without the setting (no metadata options of its own)
    if not endpoint_may_be_enabled(target):
        return
    field, good = target.field(TOKENS), target.spec.suggest[TOKENS]
    values = target.settings.get(TOKENS, ())
    if not values:
        if target.spec.absent_ok or target.template_ref is not None:
            return  # not set here: unchanged, or taken from the launch template
        if default_setting(target, TOKENS) == REQUIRED:
            return  # the tool that deploys it requires tokens when they are not written
        if target.spec.option is not None:
            namespace, option = target.spec.option
            said = (
                f"no {namespace} option {option} is set: Elastic Beanstalk's documented default "
                "(false) keeps IMDSv1 allowed on the environment's instances (the console and "
                "some platform versions choose their own)"
            )
            todo = f"add option {option} = {good} in namespace {namespace}"
        else:
            said = f"{target.spec.label} does not set {field}, so IMDSv1 stays allowed"
            if target.spec.default_note:
                said += f" ({target.spec.default_note})"
            todo = f"set {field} to {good}"
        yield finding(
            RULE,
            target,
            target.block_key or target.header,  # the block that lacks it
            f"{said}; {todo}{recorded(target)}",
            fixable=not target.spec.block_in_json,
            setting=TOKENS,
            help=todo,
        )
        return
    for value in values:
        if not value.known or value.value == REQUIRED:
            continue
        todo = remedy(value, field, good)
        if value.problem and ENDPOINT in target.spec.fields:
            # Another setting decides the tokens (Packer's "disabled" endpoint sends none).
            what = f"{value.problem}{where(value)}"
            endpoint = target.field(ENDPOINT)
            todo = f"set {endpoint} to {target.spec.suggest[ENDPOINT]} and {field} to {good}"
        elif value.value is None:
            what = f"{field} is not set{where(value)}, so IMDSv1 stays allowed"
        else:
            what = f"{field} is {show(value.raw)}{where(value)}"
        yield finding(
            RULE,
            target,
            value.span,
            f"{what}; {todo.replace(f'set {field} to', 'set it to')}{recorded(target)}",
            fixable=True,
            setting=TOKENS,
            value=value,
            help=todo,
        )


# Equivalent checks of other tools (their suppressions also suppress this rule).
PEERS: dict[str, tuple[str, ...]] = {
    "checkov": ("CKV_AWS_79", "CKV_AWS_371"),
    "trivy": ("AVD-AWS-0028", "AVD-AWS-0130"),
    "kics": ("Instance Uses Metadata Service IMDSv1 (c306ac53-ee5b-41d3-86a9-0fd2722b4e67)",),
    "semgrep": (
        "aws-ec2-instance-metadata-service-v1-enabled",
        "aws-ec2-launch-template-metadata-service-v1-enabled",
    ),
}

RULE = Rule(
    id="IMDS002",
    name="tokens-not-required",
    title="IMDSv2 session tokens are not required",
    severity="error",
    reads=(TOKENS,),
    check=check,
    fix=Fix(),
    silenced_by=(ENDPOINT,),
    security_severity="7.5",
    peers=PEERS,
    checkov="CKV_IMDS_2",
    cfn_lint=CfnLintRule(
        "E9002",
        "imds-iac IMDS002 (tokens-not-required): HttpTokens is not 'required' (or metadata "
        "options leave it unset) while the metadata endpoint may be enabled, so IMDSv1 stays "
        "allowed; also SageMaker MinimumInstanceMetadataServiceVersion '1' and AppStream "
        "DisableIMDSV1 false. Values from parameter defaults, mappings and both branches of "
        "Fn::If are checked.",
    ),
)
