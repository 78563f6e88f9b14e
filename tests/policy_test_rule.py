"""A rule that judges guardrail policies and exists only in tests, registered at run time: the
readiness report must list what any such rule says of a policy without naming a rule id.

IMDS910 guardrail-tokens-operator (error): a ``Deny`` statement that compares
``ec2:MetadataHttpTokens`` with ``StringEquals`` denies the launches that *do* require tokens and
lets every other launch through — the guide's statement uses ``StringNotEquals``. One of the
weakenings the real rule reports, kept small so the report's tests do not depend on it.
"""

from __future__ import annotations

from collections.abc import Iterator

from imds_iac_checks import rules
from imds_iac_checks.model import Finding, Policy, Target
from imds_iac_checks.rules.base import Context, Rule, policy_finding


def _nothing(target: Target, ctx: Context) -> Iterator[Finding]:
    return iter(())


def check_policy(policy: Policy, ctx: Context) -> Iterator[Finding]:
    for statement in policy.statements:
        effect = statement.effect.value if statement.effect else statement.default_effect
        if effect != "Deny":
            continue
        for condition in statement.conditions:
            if (condition.key.value or "").lower() != "ec2:metadatahttptokens":
                continue
            if condition.operator.value == "StringEquals":
                yield policy_finding(
                    RULE,
                    policy,
                    statement,
                    condition.operator.span,
                    "StringEquals denies the launches that require tokens and lets every other "
                    "launch through; use StringNotEquals",
                )


RULE = Rule(
    id="IMDS910",
    name="guardrail-tokens-operator",
    title="A guardrail compares the tokens key with StringEquals",
    severity="error",
    reads=(),
    check=_nothing,
    policy=check_policy,
)


def register() -> None:
    rules.register(RULE)


def unregister() -> None:
    rules.unregister(RULE.id)
