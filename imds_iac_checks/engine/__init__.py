"""The rule engine: runs the registered rules (:mod:`imds_iac_checks.rules`) on Targets.

Rules never see syntax: they read a Target's canonical settings and its
:class:`~imds_iac_checks.model.KindSpec`. The engine knows no rule by id: it iterates over
:data:`~imds_iac_checks.rules.REGISTRY`, and a rule that fails on a target (a defect) gives that
target a finding of the rule that reports what could not be evaluated, instead of ending the scan.
"""

from collections.abc import Iterable

from imds_iac_checks.model import Finding, Target
from imds_iac_checks.rules import REGISTRY, internal_error
from imds_iac_checks.rules.base import DEFAULT_HOP_LIMIT, Context

__all__ = ["DEFAULT_HOP_LIMIT", "RULES", "Context", "evaluate"]

# Every rule by id, in id order (the registry itself: rules registered later appear here too).
RULES = REGISTRY


def evaluate(target: Target, ctx: Context, rules: Iterable[str] | None = None) -> list[Finding]:
    """Every finding of ``rules`` (default: all) on one target, in rule order."""
    found: list[Finding] = []
    for rule in REGISTRY.values() if rules is None else (REGISTRY[r] for r in rules):
        try:
            found.extend(rule.check(target, ctx))
        except Exception as exc:
            found.append(_failed(target, rule.id, exc))
    return found


def _failed(target: Target, rule_id: str, exc: Exception) -> Finding:
    return internal_error(
        rule_id,
        exc,
        label=target.address,
        path=target.path,
        span=target.header,
        resource=target.address,
        kind=target.kind,
    )
