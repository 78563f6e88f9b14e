"""IMDS004 not-statically-evaluable: a setting whose value cannot be resolved statically is
reported, never passed silently."""

from collections.abc import Iterator

from imds_iac_checks.model import Finding, Target
from imds_iac_checks.rules.base import CfnLintRule, Context, Rule, finding, not_evaluated


def check(target: Target, ctx: Context) -> Iterator[Finding]:
    ref = target.template_ref
    missing = (ref,) if ref is not None and target.inherits_from is None else ()
    for ref in (*missing, *target.unlinked):
        shown = ref.expression
        if ref.known:
            shown += " (not in this module or stack)"
        yield finding(
            RULE,
            target,
            ref.span,
            f"takes its metadata options from {target.spec.template_noun} {shown}, "
            "which could not be resolved statically",
            fixable=False,
        )
    if target.block_span is None:
        return
    if target.unknown_block is not None:
        yield finding(
            RULE,
            target,
            target.unknown_block.span,
            not_evaluated(target.spec.label, target.unknown_block),
            fixable=False,
        )
        return
    for key, field in target.spec.fields.items():
        for value in target.settings.get(key, ()):
            if not value.known:
                yield finding(
                    RULE,
                    target,
                    value.span,
                    not_evaluated(field, value),
                    fixable=False,
                    setting=key,
                )
            elif value.problem and value.value is None:  # a literal that is no valid value
                yield finding(
                    RULE,
                    target,
                    value.span,
                    f"{field} could not be evaluated: {value.problem}",
                    fixable=False,
                    setting=key,
                )


RULE = Rule(
    id="IMDS004",
    name="not-statically-evaluable",
    title="A metadata setting could not be evaluated statically",
    severity="warning",
    reads=(),
    check=check,
    no_fix="the value is not known statically; set a literal",
    security_severity="3.1",
    precision="medium",
    cfn_lint=CfnLintRule(
        "W9004",
        "imds-iac IMDS004 (not-statically-evaluable): a metadata setting (or the options block, "
        "or the launch template an instance names) comes from an expression imds-iac cannot "
        "resolve — a parameter without a default, Fn::Sub, Fn::GetAtt, Fn::ImportValue — so it "
        "is reported instead of passing silently.",
    ),
    unevaluable=True,
)
