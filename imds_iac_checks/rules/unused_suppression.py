"""IMDS005 unused-suppression: an ``imds-iac: ignore`` that suppresses nothing — a code that
names no rule (a typo), or a rule that is enabled but has no finding there — as ruff's RUF100
reports an unused ``noqa``. ``imds-iac fix`` removes the dead code (safe).

The rule judges suppressions, not targets: :mod:`imds_iac_checks.suppress` calls its ``audit``
with every code of every ``imds-iac: ignore`` of the files scanned. A code naming only rules that
are not enabled for the file is not reported (the rule may be turned on again). It is not a rule
of the checkov and cfn-lint plugins: those tools judge their own suppressions.
"""

from collections.abc import Iterator

from imds_iac_checks.model import Finding, Target
from imds_iac_checks.rules.base import Context, Fix, Rule, Suppression, suppression_finding


def check(target: Target, ctx: Context) -> Iterator[Finding]:
    """Nothing on a target: this rule judges suppressions (``audit``)."""
    return iter(())


def audit(s: Suppression) -> Iterator[Finding]:
    if s.code is not None and not s.rules:
        yield suppression_finding(RULE, s, f"unknown rule code {s.code} in suppression")
        return
    if s.used or not s.enabled:
        return
    if s.code is None:
        message = "unused suppression: this ignore (every rule) suppresses no finding here"
    else:
        named = [r for r in s.rules if r != RULE.id] or list(s.rules)
        shown = ", ".join(named[:-1]) + " or " + named[-1] if len(named) > 1 else named[0]
        message = f"unused suppression {s.code}: no {shown} finding here"
    yield suppression_finding(RULE, s, message)


RULE = Rule(
    id="IMDS005",
    name="unused-suppression",
    title="A suppression names no rule or suppresses no finding",
    severity="warning",
    reads=(),
    check=check,
    fix=Fix(),
    security_severity="1.0",
    audit=audit,
)
