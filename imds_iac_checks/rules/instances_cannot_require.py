"""IMDS006 instances-cannot-require-imdsv2: a resource launches EC2 instances but has no metadata
options of its own (a spot fleet's launch specifications, an EKS node group or Batch compute
environment without a launch template, a Cloud9 environment), so its instances allow IMDSv1
unless the AMI or the account default requires IMDSv2.

The way out is a launch template that requires tokens, named by the resource (the kind's
``KindSpec.remedy`` says how): the resource then inherits the template's options, as an instance
does (:mod:`imds_iac_checks.link`), and the template is judged where it is declared; a template
that cannot be found gives IMDS004. There is no automatic fix: the remedy is a new resource, or a
setting of the account. Not a rule of the checkov and cfn-lint plugins (their checks judge the
kinds that carry metadata options).
"""

from collections.abc import Iterator

from imds_iac_checks.model import Finding, Target
from imds_iac_checks.rules.base import Context, Rule, finding


def check(target: Target, ctx: Context) -> Iterator[Finding]:
    remedy = target.spec.remedy
    if target.spec.fields:
        return  # a kind with settings of its own (an AMI's remedy is IMDS009's)
    if not remedy or target.template_ref is not None or target.unknown_block is not None:
        # options of its own, or a launch template's (judged there, or IMDS004); or the
        # resource could not be judged (IMDS004 says why): no guessed error
        return
    yield finding(
        RULE,
        target,
        target.header,
        "launches instances that have no metadata options of their own, so IMDSv1 stays "
        f"allowed unless the AMI requires IMDSv2; {remedy}",
        fixable=False,
        help=remedy,
    )


RULE = Rule(
    id="IMDS006",
    name="instances-cannot-require-imdsv2",
    title="Instances are launched without a way to require IMDSv2 where they are declared",
    severity="error",
    reads=(),
    check=check,
    no_fix="the remedy is a launch template (a new resource) or an account setting",
    security_severity="7.5",
    precision="high",
)
