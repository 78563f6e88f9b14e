"""The rule registry: every rule imds-iac runs, one module per rule.

Each module of this package other than :mod:`~imds_iac_checks.rules.base` declares one
:class:`~imds_iac_checks.rules.base.Rule` as ``RULE``; the modules are found by listing the
package (a new rule is a new module: nothing here names it), and :data:`BUILTIN` holds their
rules in id order. :data:`REGISTRY` maps each id to its rule. The engine, ``imds-iac fix``, every
report writer, suppressions, the ``rules`` command and both plugins iterate over
:data:`REGISTRY`, so a rule registered with :func:`register` (a built-in one, or one added at run
time) appears in all of them with no other change.
"""

import os
from importlib import import_module

from imds_iac_checks.model import Finding, Span
from imds_iac_checks.rules.base import (
    DEFAULT_HOP_LIMIT,
    OPTIONS_BLOCK,
    CfnLintRule,
    Context,
    Fix,
    Option,
    Rule,
    Suppression,
)

__all__ = [
    "BUILTIN",
    "DEFAULT_HOP_LIMIT",
    "OPTIONS_BLOCK",
    "REGISTRY",
    "CfnLintRule",
    "Context",
    "Fix",
    "Option",
    "Rule",
    "Suppression",
    "auditors",
    "by_name",
    "example_id",
    "internal_error",
    "matching",
    "peers",
    "register",
    "unevaluable",
    "unregister",
]


def _builtin() -> tuple[Rule, ...]:
    """The ``RULE`` of every module in this directory but ``base`` (a listing, not
    :mod:`pkgutil`, which imports :mod:`inspect`: milliseconds on every run of a hook)."""
    found = []
    for name in sorted(os.listdir(__path__[0])):
        stem, ext = os.path.splitext(name)
        if ext == ".py" and stem != "base" and not stem.startswith("_"):
            found.append(import_module(f"{__name__}.{stem}").RULE)
    return tuple(sorted(found, key=lambda rule: rule.id))


BUILTIN: tuple[Rule, ...] = _builtin()
REGISTRY: dict[str, Rule] = {}
_peers: dict[str, tuple[str, ...]] | None = None


def register(rule: Rule) -> Rule:
    """Add ``rule`` to the registry (after the rules already there). Its id, name, checkov id
    and cfn-lint id must be new, and only one rule may report what could not be evaluated."""
    if rule.severity not in ("error", "warning"):
        raise ValueError(f"{rule.id}: severity must be 'error' or 'warning', not {rule.severity!r}")
    for other in REGISTRY.values():
        clash = (
            other.id == rule.id
            or other.name == rule.name
            or (rule.checkov is not None and other.checkov == rule.checkov)
            or (
                rule.cfn_lint is not None
                and other.cfn_lint is not None
                and other.cfn_lint.id == rule.cfn_lint.id
            )
            or (rule.unevaluable and other.unevaluable)
        )
        if clash:
            raise ValueError(f"{rule.id} ({rule.name}) clashes with {other.id} ({other.name})")
    REGISTRY[rule.id] = rule
    _forget()
    return rule


def unregister(rule_id: str) -> None:
    """Remove a rule added with :func:`register` (tests)."""
    del REGISTRY[rule_id]
    _forget()


def _forget() -> None:
    global _peers
    _peers = None


def by_name(name: str) -> Rule | None:
    """The rule with this name (its kebab-case ``Rule.name``), or None."""
    for rule in REGISTRY.values():
        if rule.name == name:
            return rule
    return None


def matching(code: str) -> tuple[str, ...]:
    """The ids of the rules a code in a suppression names: a rule's id, its name, or a prefix
    of ids (``IMDS00``), in any case; () for a code that names no rule."""
    text = code.strip()
    named = by_name(text.lower())
    if named is not None:
        return (named.id,)
    upper = text.upper()
    if not upper:
        return ()
    return tuple(rule_id for rule_id in REGISTRY if rule_id.startswith(upper))


def auditors() -> tuple[Rule, ...]:
    """The rules that judge suppressions (``Rule.audit``) rather than targets."""
    return tuple(rule for rule in REGISTRY.values() if rule.audit is not None)


def example_id() -> str:
    """A rule id for help texts and messages ("a rule id such as ..."): the second rule, which
    the documentation's examples use."""
    ids = list(REGISTRY)
    return ids[1] if len(ids) > 1 else ids[0]


def unevaluable() -> Rule:
    """The rule that reports what could not be evaluated (and rules that failed on a target)."""
    for rule in REGISTRY.values():
        if rule.unevaluable:
            return rule
    raise LookupError("no rule reports what could not be evaluated")


def internal_error(
    rule_id: str,
    exc: Exception,
    *,
    label: str | None,
    path: str,
    span: Span,
    resource: str,
    kind: str,
) -> Finding:
    """The finding that stands for a rule that failed on one target, hazard or policy (a defect
    costs that, not the scan): the unevaluable rule's, saying which rule failed and how."""
    rule = unevaluable()
    body = f"could not be evaluated: internal error in {rule_id}: {type(exc).__name__}: {exc}"
    return Finding(
        rule_id=rule.id,
        severity=rule.severity,
        message=f"[{label}] {body}" if label else body,
        path=path,
        span=span,
        resource=resource,
        kind=kind,
        fixable=False,
        label=label,
        body=body,
    )


def peers() -> dict[str, tuple[str, ...]]:
    """Check ids of other tools, and of imds-iac's own plugins, mapped to the rules whose
    findings their suppressions cover (``CKV_AWS_79`` -> the rules listing it as a checkov peer;
    ``E9002`` -> the rule the cfn-lint plugin reports as E9002)."""
    global _peers
    if _peers is None:
        table: dict[str, list[str]] = {}
        for rule in REGISTRY.values():
            ids = list(rule.peers.get("checkov", ()))  # the peers whose skips we read
            ids += [rule.checkov] if rule.checkov else []
            ids += [rule.cfn_lint.id] if rule.cfn_lint else []
            for check_id in ids:
                table.setdefault(check_id, []).append(rule.id)
        _peers = {k: tuple(v) for k, v in table.items()}
    return _peers


for _rule in BUILTIN:
    register(_rule)
del _rule
