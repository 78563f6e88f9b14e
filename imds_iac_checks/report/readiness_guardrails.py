"""The readiness report's "Account defaults and guardrails": does the repository set the
account's instance metadata defaults, or write the organisation's guardrail policies, at all?

Code scanning makes each resource require IMDSv2; what a resource does not set itself comes
from the account's defaults (``aws_ec2_instance_metadata_defaults``, the
``modify-instance-metadata-defaults`` request, an EC2 declarative policy: targets whose kind
declares ``account_default``), and what nobody may do is denied by service control policies
(:class:`~imds_iac_checks.model.Policy`, read by formats/policy*.py). This section lists both:

- each account-default target with what it does to tokens: **requires tokens**, **allows
  IMDSv1** (tokens optional, or not set: then the account keeps whatever default it had, and
  AWS's own allows IMDSv1), or **unknown** (a value that could not be evaluated);
- each policy with the guardrail statements it covers (:data:`imds_iac_checks.guardrails.
  STATEMENTS`), told by the condition keys and actions its statements name, and what the rules
  that judge policies (``Rule.policy``, from the registry: no rule id is named here) say makes
  it weaker than intended. A statement is **covered** only by a ``Deny`` statement that no such
  finding points into; one they point into (or that allows, or whose effect could not be read)
  is **weak**; one that could not be read at all, **unknown**.

The section never calls a repository protected: it says what the code writes. Whether a policy
is attached to the accounts it should govern, or the defaults applied in every account and
Region, no scan of code can see — the section says so whenever it lists something, and says
plainly when it found nothing.
"""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any, NamedTuple

from imds_iac_checks.model import REQUIRED, TOKENS, Finding, Policy, Statement, Target, show

if TYPE_CHECKING:
    from imds_iac_checks.scan import ScanResult

# What an account-default target does to tokens.
REQUIRES, ALLOWS, UNKNOWN = "requires tokens", "allows IMDSv1", "unknown"
# What a policy does for one guardrail statement.
COVERED, WEAK, NOT_READ, MISSING = "covered", "weaker than intended", "unknown", "not found"
# No rule that judges policies is enabled for the policy's file (or none is registered): a
# statement that names the right key may still compare it the wrong way; nothing checked it.
UNCHECKED = "not checked"

GUARDRAILS_DOC = "docs/guardrails.md"
GUARDRAILS_URL = "https://github.com/imds-iac/imds-iac/blob/main/docs/guardrails.md"

NOTHING = (
    "No account defaults or guardrail policies found: instances launched without settings of "
    "their own allow IMDSv1 unless the account's defaults (set outside this repository) "
    f"require tokens. See {GUARDRAILS_DOC}."
)
NO_DEFAULTS = (
    "No account defaults found: instances launched without settings of their own allow IMDSv1 "
    "unless the account's defaults (set outside this repository) require tokens."
)
NO_POLICIES = (
    "No guardrail policy found: nothing written here denies launches that allow IMDSv1, or "
    "role credentials delivered by IMDSv1, in the accounts these files deploy to."
)
CAVEAT = (
    "This lists what the code writes: whether each policy is attached to the accounts and OUs it "
    "should govern, and whether the defaults are applied in every account and Region, is not "
    f"something a scan of code can see. See {GUARDRAILS_DOC}."
)

# The condition keys (lower case: IAM keys are case-insensitive) that tell a statement's
# guardrail, checked in this order; a statement that names none of them but denies
# ec2:ModifyInstanceMetadataOptions is the no-modify statement.
_KEYS = (
    ("ec2:roledelivery", "role-delivery"),
    ("ec2:metadatahttptokens", "require-tokens"),
    ("ec2:metadatahttpputresponsehoplimit", "hop-limit"),
    ("ec2:attribute/httptokens", "no-opt-out"),
)
_MODIFY = "ec2:modifyinstancemetadataoptions"
_RUN = "ec2:runinstances"
# The guardrail that another one stands in for in the overall table: no-opt-out is the
# no-modify statement that still lets the migration run (docs/guardrails.md).
_STANDS_FOR = {"no-opt-out": "no-modify"}
_RANK = {COVERED: 0, UNCHECKED: 1, NOT_READ: 2, WEAK: 3}


class DefaultRow(NamedTuple):
    """An account-default target: what instances launched without settings of their own get."""

    address: str
    path: str
    line: int
    column: int
    kind: str
    format: str
    state: str  # REQUIRES | ALLOWS | UNKNOWN
    detail: str  # why, in words ("http_tokens is \"optional\"")


class PolicyFinding(NamedTuple):
    """A finding of a rule that judges policies (or one that could not judge it)."""

    rule_id: str
    message: str
    path: str
    line: int
    column: int
    suppressed: bool


class Coverage(NamedTuple):
    """One guardrail statement a policy covers: its name (guardrails.STATEMENTS), the best
    state of the policy's statements for it, and their labels (``statement RequireImdsV2``)."""

    name: str
    state: str  # COVERED | UNCHECKED | NOT_READ | WEAK
    statements: tuple[str, ...]


class PolicyRow(NamedTuple):
    address: str
    path: str
    line: int
    column: int
    what: str  # "service control policy", "policy document"
    type: str  # SERVICE_CONTROL_POLICY, ... ("" when not said)
    format: str
    covers: tuple[Coverage, ...]
    findings: tuple[PolicyFinding, ...]


class Guardrails(NamedTuple):
    defaults: tuple[DefaultRow, ...]
    policies: tuple[PolicyRow, ...]
    # For each guardrail statement of the default set: its best state over every policy
    # (MISSING when none covers it), and the guardrail that stands for it ("" itself).
    statements: tuple[tuple[str, str, str], ...]
    summary: tuple[str, ...]  # the paragraphs the reports print above the tables


def build(result: ScanResult) -> Guardrails:
    """The account defaults and guardrail policies ``result`` read."""
    from imds_iac_checks.guardrails import DEFAULT_STATEMENTS
    from imds_iac_checks.rules import REGISTRY

    rows: dict[tuple[str, int, str], DefaultRow] = {}
    for target in result.targets_seen:
        if target.spec.account_default:
            key = (target.path, target.span.start_byte, target.generic(target.address))
            row = _default_row(target)
            old = rows.get(key)
            # Instances of one block (or roots reaching one module) are one row, at its worst.
            if old is None or _STATE_RANK[row.state] > _STATE_RANK[old.state]:
                rows[key] = row
    defaults = tuple(sorted(rows.values(), key=lambda r: (r.path, r.line, r.column, r.address)))
    # The findings of the rules that judge policies, and of the rule that reports what could
    # not be evaluated (a rule that failed on a policy).
    judges = {rule.id for rule in REGISTRY.values() if rule.policy is not None or rule.unevaluable}
    policy_findings = [f for f in result.findings if f.rule_id in judges]
    policies = tuple(
        _policy_row(p, policy_findings, p.path not in result.unjudged) for p in result.policies
    )
    best: dict[str, tuple[str, str]] = {}
    for policy in policies:
        for cover in policy.covers:
            name = _STANDS_FOR.get(cover.name, cover.name)
            had = best.get(name)
            if had is None or _RANK[cover.state] < _RANK[had[0]]:
                best[name] = (cover.state, "" if name == cover.name else cover.name)
    statements = tuple((name, *best.get(name, (MISSING, ""))) for name in DEFAULT_STATEMENTS)
    return Guardrails(defaults, policies, statements, _summary(defaults, policies, statements))


_STATE_RANK = {REQUIRES: 0, UNKNOWN: 1, ALLOWS: 2}


def _default_row(target: Target) -> DefaultRow:
    field = target.spec.fields.get(TOKENS, TOKENS)
    values = target.settings.get(TOKENS, ())
    state, detail = REQUIRES, f'{field} is "required"'
    if not values:
        state = ALLOWS
        detail = f"{field} is not set: the account keeps the default it had (AWS's allows IMDSv1)"
    else:
        loose = [v for v in values if v.known and v.value != REQUIRED]
        unknown = [v for v in values if not v.known]
        if loose:
            state = ALLOWS
            first = loose[0]
            detail = f"{field} is " + ("not set" if first.value is None else show(first.raw))
            if loose[0].condition:
                detail += f" (when {loose[0].condition})"
        elif unknown:
            state = UNKNOWN
            detail = f"{field} could not be evaluated: {unknown[0].expression or 'an expression'}"
    address = target.generic(target.address)
    return DefaultRow(
        address=address,
        path=target.path,
        line=target.span.line,
        column=target.span.column,
        kind=target.kind,
        format=target.format,
        state=state,
        detail=detail,
    )


def _inside(finding: Finding, statement: Statement) -> bool:
    span = statement.span
    return (
        finding.path == span.path
        and span.start_byte <= finding.span.start_byte
        and finding.span.end_byte <= span.end_byte
    )


def _mine(finding: Finding, policy: Policy) -> bool:
    """A finding on ``policy``: one naming it (``resource``, ``kind``: what policy_finding
    writes) that points into one of its statements (which may be written in another file: a
    ``data.aws_iam_policy_document``) or into the policy itself."""
    if finding.resource != policy.address or finding.kind != policy.what:
        return False
    if any(_inside(finding, s) for s in policy.statements):
        return True
    span = policy.span
    return finding.path == span.path and (
        span.start_byte <= finding.span.start_byte < span.end_byte
        or finding.span.start_byte == span.start_byte
    )


def guardrails_of(statement: Statement) -> tuple[str, ...]:
    """The guardrail statements (guardrails.STATEMENTS names) ``statement`` is written as, told
    by the condition keys it names — ``ec2:MetadataHttpTokens`` on ModifyInstanceMetadataOptions
    alone is an attempt at no-opt-out (a weak one: the key holds the current setting there) —
    or by the action ec2:ModifyInstanceMetadataOptions (named, or matched by a pattern narrower
    than ``*``/``ec2:*``) without any of those keys."""
    keys = {(c.key.value or "").lower() for c in statement.conditions}
    found = [name for key, name in _KEYS if key in keys]
    if statement.not_action:
        return tuple(found)
    patterns = [(a.value or "").lower() for a in statement.actions]
    if "require-tokens" in found and _names(patterns, _MODIFY) and not _names(patterns, _RUN):
        found = [("no-opt-out" if n == "require-tokens" else n) for n in found]
    if found:
        return tuple(dict.fromkeys(found))
    narrow = [p for p in patterns if p not in ("*", "ec2:*") and p.startswith("ec2:")]
    return ("no-modify",) if _names(narrow, _MODIFY) else ()


def _names(patterns: list[str], action: str) -> bool:
    """Does one of the action patterns (lower case, IAM wildcards) match ``action``?"""
    return any(fnmatch.fnmatchcase(action, p) for p in patterns if p)


def _statement_state(statement: Statement, findings: list[Finding]) -> str:
    if statement.unknown:
        return NOT_READ
    if any(_inside(f, statement) for f in findings):
        return WEAK
    if statement.effect is None:
        effect: str | None = statement.default_effect
    else:
        effect = statement.effect.value
    if effect is None:
        return NOT_READ
    return COVERED if effect == "Deny" else WEAK


def _policy_row(policy: Policy, every: list[Finding], judged: bool) -> PolicyRow:
    findings = [f for f in every if _mine(f, policy)]
    # A finding on the policy that points into none of its statements (the policy's type, a
    # document that could not be read) weakens every statement of it.
    loose = [f for f in findings if not any(_inside(f, s) for s in policy.statements)]
    found: dict[str, list[tuple[str, str]]] = {}
    for statement in policy.statements:
        state = _statement_state(statement, findings)
        if loose and state == COVERED:
            state = WEAK
        if not judged and state == COVERED:
            state = UNCHECKED
        label = statement.label or (f"statement {statement.sid}" if statement.sid else "statement")
        for name in guardrails_of(statement):
            found.setdefault(name, []).append((state, label))
    from imds_iac_checks.guardrails import STATEMENTS

    covers = tuple(
        Coverage(
            name,
            min((s for s, _ in found[name]), key=_RANK.__getitem__),
            tuple(dict.fromkeys(label for _, label in found[name])),
        )
        for name in STATEMENTS
        if name in found
    )
    return PolicyRow(
        address=policy.address,
        path=policy.path,
        line=policy.span.line,
        column=policy.span.column,
        what=policy.what,
        type=policy.type,
        format=policy.format,
        covers=covers,
        findings=tuple(
            PolicyFinding(
                f.rule_id,
                f.message,
                f.path,
                f.span.line,
                f.span.column,
                f.suppressed is not None,
            )
            for f in findings
        ),
    )


def _summary(
    defaults: tuple[DefaultRow, ...],
    policies: tuple[PolicyRow, ...],
    statements: tuple[tuple[str, str, str], ...],
) -> tuple[str, ...]:
    if not defaults and not policies:
        return (NOTHING,)
    out: list[str] = []
    if defaults:
        requiring = sum(1 for d in defaults if d.state == REQUIRES)
        text = (
            f"{_plural(len(defaults), 'account-default setting')} found: "
            f"{requiring:,} {'requires' if requiring == 1 else 'require'} tokens"
        )
        others = [
            f"{n:,} {state if n == 1 else many}"
            for state, many in ((ALLOWS, "allow IMDSv1"), (UNKNOWN, UNKNOWN))
            if (n := sum(1 for d in defaults if d.state == state))
        ]
        if others:
            text += ", " + ", ".join(others)
        out.append(text + ".")
    else:
        out.append(NO_DEFAULTS)
    if policies:
        covered = [name for name, state, _ in statements if state == COVERED]
        weak = [name for name, state, _ in statements if state in (WEAK, NOT_READ)]
        unchecked = [name for name, state, _ in statements if state == UNCHECKED]
        missing = [name for name, state, _ in statements if state == MISSING]
        text = f"{_plural(len(policies), 'guardrail policy', 'guardrail policies')} found"
        parts = []
        if covered:
            parts.append("covered: " + ", ".join(covered))
        if weak:
            parts.append("weaker than intended or not read: " + ", ".join(weak))
        if unchecked:
            parts.append(
                "not checked (no rule that judges policies is enabled): " + ", ".join(unchecked)
            )
        if missing:
            parts.append("no policy found for: " + ", ".join(missing))
        out.append(text + ("; " + "; ".join(parts) if parts else "") + ".")
    else:
        out.append(NO_POLICIES)
    out.append(CAVEAT)
    return tuple(out)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


# --- JSON ---------------------------------------------------------------------------------------


def document(model: Guardrails) -> dict[str, Any]:
    """The section as plain data (docs/report.md, ``guardrails``)."""
    return {
        "summary": list(model.summary),
        "account_defaults": [
            {
                "address": d.address,
                "path": d.path,
                "line": d.line,
                "column": d.column,
                "kind": d.kind,
                "format": d.format,
                "state": d.state,
                "detail": d.detail,
            }
            for d in model.defaults
        ],
        "statements": [
            {"name": name, "state": state, "as": stands or None}
            for name, state, stands in model.statements
        ],
        "policies": [
            {
                "address": p.address,
                "path": p.path,
                "line": p.line,
                "column": p.column,
                "what": p.what,
                "type": p.type or None,
                "format": p.format,
                "covers": [
                    {"name": c.name, "state": c.state, "statements": list(c.statements)}
                    for c in p.covers
                ],
                "findings": [
                    {
                        "rule_id": f.rule_id,
                        "message": f.message,
                        "path": f.path,
                        "line": f.line,
                        "column": f.column,
                        "suppressed": f.suppressed,
                    }
                    for f in p.findings
                ],
            }
            for p in model.policies
        ],
    }
