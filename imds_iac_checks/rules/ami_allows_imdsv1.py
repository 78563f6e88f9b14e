"""IMDS009 ami-allows-imdsv1: an AMI that is not marked IMDSv2-only (``imds_support = "v2.0"``),
so instances launched from it allow IMDSv1 unless their own metadata options require tokens.

Judges every target whose kind carries the AMI setting (``IMDS_SUPPORT`` in its
``KindSpec.fields``): Packer sources (the AMI a build produces), Terraform ``aws_ami``, EC2 API
``register-image`` input, and ``describe-images`` output (recorded state). A kind that produces
an AMI but cannot set it where it is declared (``KindSpec.remedy``: ``aws_ami_copy`` keeps its
source AMI's setting, ``aws_ami_from_instance`` that of its instance's AMI; ``default_note`` says
which) is reported without a fix, with the remedy; so is a recorded AMI (``ec2:Image``), which
``modify-image-attribute`` marks. A warning by default (``severity = { IMDS009 = "error" }`` or
``--severity IMDS009=error`` makes it an error): marking an AMI ``v2.0`` is defence in depth
(the launch settings are judged by IMDS001-003), and it breaks software on the image that still
calls IMDSv1 (IMDS007 finds it in the build's provisioners, which then make the fix unsafe).
"""

from collections.abc import Iterator

from imds_iac_checks.model import IMDS_SUPPORT, V2_0, Finding, Target, show
from imds_iac_checks.rules.base import Context, Fix, Rule, finding, recorded, remedy, where

_WHY = (
    "so instances launched from the AMI allow IMDSv1 unless their own metadata options "
    "require tokens"
)


def _remedy(target: Target) -> str:
    """The kind's remedy, with the AMI's id where the target is an AMI that exists."""
    image = target.address.split(" ", 1)[0]
    if image.startswith("ami-"):
        return target.spec.remedy.replace("<id>", image)
    return target.spec.remedy


def check(target: Target, ctx: Context) -> Iterator[Finding]:
    if IMDS_SUPPORT not in target.spec.fields or target.unknown_block is not None:
        return
    field = target.field(IMDS_SUPPORT)
    if target.spec.remedy and not target.recorded_state:
        # An AMI made here without a setting of its own (a copy, an image of an instance): it
        # keeps its source's, which is not read. What is written for the field is not sent
        # (the provider only reads it).
        todo = _remedy(target)
        yield finding(
            RULE,
            target,
            target.header,
            f"the AMI it makes is not known to be IMDSv2-only ({target.spec.default_note}); "
            "if that is not v2.0, instances launched from the AMI allow IMDSv1 unless their own "
            f"metadata options require tokens; {todo}",
            fixable=False,
            setting=IMDS_SUPPORT,
            help=todo,
        )
        return
    good = target.spec.suggest.get(IMDS_SUPPORT, show(V2_0))
    values = target.settings.get(IMDS_SUPPORT, ())
    if not values:
        if target.spec.remedy:  # an AMI that exists (recorded state): marked by an API call
            todo = _remedy(target)
            yield finding(
                RULE,
                target,
                target.header,
                f"the AMI is not marked IMDSv2-only ({field} is not recorded), {_WHY}; {todo}",
                fixable=False,
                setting=IMDS_SUPPORT,
                help=todo,
            )
            return
        todo = f"set {field} to {good}"
        yield finding(
            RULE,
            target,
            target.header,
            f"{field} is not set, {_WHY}; {todo}{recorded(target)}",
            fixable=True,
            setting=IMDS_SUPPORT,
            help=todo,
        )
        return
    for value in values:
        if not value.known or value.value == V2_0:
            continue  # unknown: IMDS004
        if value.value is None:
            what = f"{field} is not set{where(value)}"
        else:
            what = f"{field} is {show(value.raw)}{where(value)}"
        if target.spec.remedy:  # recorded state of an AMI that exists
            todo = _remedy(target)
            yield finding(
                RULE,
                target,
                value.span,
                f"{what}, {_WHY}; {todo}",
                fixable=False,
                setting=IMDS_SUPPORT,
                value=value,
                help=todo,
            )
            continue
        todo = remedy(value, field, good)
        yield finding(
            RULE,
            target,
            value.span,
            f"{what}, {_WHY}; {todo.replace(f'set {field} to', 'set it to')}{recorded(target)}",
            fixable=True,
            setting=IMDS_SUPPORT,
            value=value,
            help=todo,
        )


RULE = Rule(
    id="IMDS009",
    name="ami-allows-imdsv1",
    title="An AMI is not marked IMDSv2-only",
    severity="warning",
    reads=(IMDS_SUPPORT,),
    check=check,
    fix=Fix(),
    security_severity="5.3",
    precision="high",
    checkov="CKV_IMDS_9",
)
