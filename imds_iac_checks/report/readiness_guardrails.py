"""The readiness report's "Account defaults and guardrails": does the repository set the
account's instance metadata defaults, or write the organisation's guardrail policies, at all?

Code scanning makes each resource require IMDSv2; what a resource does not set itself comes
from the account's defaults (``aws_ec2_instance_metadata_defaults``, the
``modify-instance-metadata-defaults`` request, an EC2 declarative policy: targets whose kind
declares ``account_default``), and what nobody may do is denied by service control policies
(:class:`~imds_iac_checks.model.Policy`, read by formats/policy*.py). This section lists both:

- each account-default target with what it does to tokens: **requires tokens**, **allows
  IMDSv1** (tokens optional, or not set: then the account keeps whatever default it had, and
  AWS's own allows IMDSv1), or **unknown** (a value, or the whole defaults, that could not be
  read);
- each organisation policy (a service or resource control policy, or a policy document kept in
  a file of its own: taken as an SCP) with the guardrail statements it covers
  (:data:`imds_iac_checks.guardrails.STATEMENTS`), told by the condition keys and actions its
  statements name, and what the rules that judge policies (``Rule.policy``, from the registry:
  no rule id is named here) say makes it weaker than intended. A rule's finding belongs to the
  policy its ``resource`` names and to the statement its label names (``<address> <statement
  label>``): where it points may be a local or a variable default in another file. A statement
  is **covered** only by a ``Deny`` that no such finding names and that no other condition
  narrows; one narrowed by other condition keys (``aws:RequestedRegion``, a principal's ARN or
  tag, a resource tag), or whose Resource names only ARNs limited to a Region or an account,
  is **covered, narrowed by** them; a module's own policy read with its variables' defaults
  where a call overrides what it reads is **module default, overridden by** that call (what
  the call deploys is its own policy: :func:`overridden`); one whose exemption matches every
  principal **denies nothing**; a policy with a part that could not be read (a statement, or a
  rule's "could not be judged") is listed as **could not be read**, with why, and covers nothing
  for sure;
- IAM policies (and ``aws_iam_policy_document`` data sources used by no organisation policy)
  that name an IMDS key, apart: they bind only the principals they are attached to, so they
  never make an organisation statement covered.

The section never calls a repository protected: it says what the code writes. Whether a policy
is attached to the accounts it should govern, or the defaults applied in every account and
Region, no scan of code can see — the section says so whenever it lists something, and says
plainly when it found nothing.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from typing import TYPE_CHECKING, Any, NamedTuple

from imds_iac_checks.model import (
    REQUIRED,
    TOKENS,
    Finding,
    Policy,
    Statement,
    Target,
    compact,
    show,
)
from imds_iac_checks.rules.base import NOT_JUDGED

if TYPE_CHECKING:
    from imds_iac_checks.scan import ScanResult

# What an account-default target does to tokens.
REQUIRES, ALLOWS, UNKNOWN = "requires tokens", "allows IMDSv1", "unknown"
# What a policy does for one guardrail statement.
COVERED, WEAK, NOT_READ = "covered", "weaker than intended", "could not be read"
MISSING = "not found"
# No policy that could be read covers it, and one could not be read: it may be there.
MISSING_UNREAD = "not found in what could be read"
# A Deny that other condition keys narrow (``narrowed_by`` says which): it denies only the
# requests that also match them (conditions are ANDed).
NARROWED = "covered, narrowed"
# A Deny whose exemption matches every principal (``ArnNotLike aws:PrincipalArn "*"``): its
# condition is false for every request.
DENIES_NOTHING = "denies nothing"
# A module's own policy read in the module's directory with its variables' defaults, where a
# call overrides what it reads (``narrowed_by`` names the calls): what those calls deploy is
# their own policy (``made by module.X``), so the default covers nothing for sure.
OVERRIDDEN = "module default, overridden"
# No rule that judges policies is enabled for the policy's file (or none is registered): a
# statement that names the right key may still compare it the wrong way; nothing checked it.
UNCHECKED = "not checked"
# What an IAM policy's statement does: it binds only the principals it is attached to.
IAM_DENIES, IAM_GRANTS = "denies its principals", "grants"

# Where a policy applies: the organisation's accounts, or the principals an IAM policy is
# attached to.
ORGANIZATION, IAM = "organization", "iam"

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
IAM_NOTE = (
    "{count} {name} IMDS keys: each binds only the principals it is attached to, so none "
    "counts as an organisation guardrail."
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
# The keys a guardrail compares; any other condition key of a statement narrows it.
_IMDS_KEYS = frozenset({*(key for key, _ in _KEYS), "ec2:metadatahttpendpoint"})
_MODIFY = "ec2:modifyinstancemetadataoptions"
_RUN = "ec2:runinstances"
# The guardrail that another one stands in for in the overall table: no-opt-out is the
# no-modify statement that still lets the migration run (docs/guardrails.md).
_STANDS_FOR = {"no-opt-out": "no-modify"}
_RANK = {
    COVERED: 0,
    IAM_DENIES: 0,
    NARROWED: 1,
    IAM_GRANTS: 1,
    UNCHECKED: 2,
    NOT_READ: 3,
    WEAK: 4,
    DENIES_NOTHING: 5,
    # last: a default its callers override stands for a statement only when nothing else does
    OVERRIDDEN: 6,
}
# Organisation policies, by what the readers call them (formats/policy*.py) or the type they
# declare. A document in a file of its own ("policy document") is taken as an SCP: org
# repositories keep their SCPs so, and nothing in the file says where it is attached.
_ORG_WHAT = frozenset(
    {"service control policy", "resource control policy", "organizations policy", "policy document"}
)
_ORG_TYPES = frozenset({"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"})
RCP_TYPE = "RESOURCE_CONTROL_POLICY"
# RCPs apply to a list of services that EC2 is not on (AWS Organizations User Guide, "Resource
# control policies"): a statement on an EC2 action in one denies nothing, and the role-delivery
# statement reaches only calls to the services RCPs apply to.
RCP_SERVICES = "the services RCPs apply to (not EC2)"
# The exemptions (a negated match on who calls) that are false for every principal when one of
# their values matches every principal: the statement then denies nothing.
_NEGATED = frozenset({"arnnotlike", "arnnotequals", "stringnotlike"})
_PRINCIPALS = {
    "aws:principalarn": (
        "arn:aws:iam::123456789012:role/team/app",
        "arn:aws:iam::123456789012:user/alice",
        "arn:aws:iam::123456789012:root",
    ),
    "aws:principalaccount": ("123456789012",),
    "aws:userid": ("AROAEXAMPLEID:session", "AIDAEXAMPLEID"),
}


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
    state of the policy's statements for it, their labels (``statement RequireImdsV2``), and
    the condition keys that narrow it (NARROWED, IAM_DENIES)."""

    name: str
    state: str
    statements: tuple[str, ...]
    narrowed_by: tuple[str, ...] = ()


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
    scope: str = ORGANIZATION  # ORGANIZATION | IAM
    # What of it could not be read (a statement's ``unknown``, a rule's "could not be judged"):
    # non-empty, the policy covers nothing for sure.
    unread: tuple[str, ...] = ()
    # The module calls that override what this module default reads (OVERRIDDEN).
    overridden_by: tuple[str, ...] = ()


class StatementRow(NamedTuple):
    """One default guardrail statement: its best state over the organisation policies
    (MISSING when none covers it), the guardrail that stands for it ("" itself), and the keys
    that narrow it when the best is NARROWED."""

    name: str
    state: str
    stands: str = ""
    narrowed_by: tuple[str, ...] = ()


class Guardrails(NamedTuple):
    defaults: tuple[DefaultRow, ...]
    policies: tuple[PolicyRow, ...]  # organisation policies
    statements: tuple[StatementRow, ...]
    summary: tuple[str, ...]  # the paragraphs the reports print above the tables
    iam_policies: tuple[PolicyRow, ...] = ()


def shown(state: str, narrowed_by: tuple[str, ...]) -> str:
    """A state as the reports print it: ``covered, narrowed by aws:RequestedRegion``."""
    if narrowed_by and state == NARROWED:
        return f"{state} by " + ", ".join(narrowed_by)
    if narrowed_by and state == OVERRIDDEN:
        return f"{state} by " + ", ".join(narrowed_by)
    if narrowed_by and state == IAM_DENIES:
        return f"{state}, narrowed by " + ", ".join(narrowed_by)
    return state


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
    owned = _attribute(result.policies, [f for f in result.findings if f.rule_id in judges])
    overrides = overridden(result.policies)
    rows_all = [
        _policy_row(p, owned.get(i, []), p.path not in result.unjudged, overrides.get(i, ()))
        for i, p in enumerate(result.policies)
    ]
    policies = tuple(r for r in rows_all if r.scope == ORGANIZATION)
    iam = tuple(r for r in rows_all if r.scope == IAM)
    best: dict[str, StatementRow] = {}
    for policy in policies:
        for cover in policy.covers:
            name = _STANDS_FOR.get(cover.name, cover.name)
            had = best.get(name)
            if had is None or _RANK[cover.state] < _RANK[had.state]:
                stands = "" if name == cover.name else cover.name
                best[name] = StatementRow(name, cover.state, stands, cover.narrowed_by)
    missing = MISSING_UNREAD if any(p.unread for p in policies) else MISSING
    statements = tuple(best.get(name, StatementRow(name, missing)) for name in DEFAULT_STATEMENTS)
    summary = _summary(defaults, policies, iam, statements)
    return Guardrails(defaults, policies, statements, summary, iam)


_STATE_RANK = {REQUIRES: 0, UNKNOWN: 1, ALLOWS: 2}


def _default_row(target: Target) -> DefaultRow:
    field = target.spec.fields.get(TOKENS, TOKENS)
    values = target.settings.get(TOKENS, ())
    state, detail = REQUIRES, f'{field} is "required"'
    if target.unknown_block is not None and not values:
        # the defaults as a whole are an expression (a declarative policy's content made by a
        # function, a CloudFormation !If): what they set is not known
        state = UNKNOWN
        what = compact(target.unknown_block.expression or "an expression", 80)
        detail = f"the defaults could not be read: {what}"
    elif not values:
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


def _attribute(policies: tuple[Policy, ...], findings: list[Finding]) -> dict[int, list[Finding]]:
    """The findings of each policy (by index), told by what ``policy_finding`` writes: the
    policy's address (``resource``) and what it is (``kind``) — not by where a finding points,
    which may be a local or a variable default in another file. Policies of one address in
    several places (``aws_organizations_policy.this`` of two modules) are told apart by the
    finding's file, then its directory; a finding none of them holds goes to all of them (it
    may weaken each: nothing is called covered through a guess)."""
    named: dict[tuple[str, str], list[int]] = {}
    for index, policy in enumerate(policies):
        named.setdefault((policy.address, policy.what), []).append(index)
    out: dict[int, list[Finding]] = {}
    for finding in findings:
        candidates = named.get((finding.resource, finding.kind), [])
        if len(candidates) > 1:
            directory = posixpath.dirname(finding.path)
            chosen = [i for i in candidates if policies[i].path == finding.path] or [
                i for i in candidates if posixpath.dirname(policies[i].path) == directory
            ]
            candidates = chosen or candidates
        for index in candidates:
            out.setdefault(index, []).append(finding)
    return out


# What the Terraform reader appends to a policy a local module call makes
# (formats/policy_terraform.py): ``service control policy (made by module.scp, ../modules/scp)``.
_MADE_BY = re.compile(r"\(made by module\.([^,()]+), ([^()]*)\)$")
_MODULE = re.compile(r"module\.[A-Za-z0-9_-]+")


def overridden(policies: tuple[Policy, ...]) -> dict[int, tuple[str, ...]]:
    """The module defaults a call overrides: index of the policy -> the calls (``module.scp``).

    Told by what the Policy objects carry. (1) A policy a call makes (``what`` ends with "(made
    by module.NAME, SOURCE)", ``address`` ``module.NAME.<address>``) exists only when the call
    gives the input the module's ``content`` reads: the module's own policy of that address,
    read in SOURCE's directory with the variable's default, is then not what that call deploys.
    (2) A value whose :attr:`~imds_iac_checks.model.Written.shared` says a call overrides it
    ("var.hop_limit, overridden by module.scp"): the default read there is not what the call
    deploys either."""
    by_place: dict[tuple[str, str], list[int]] = {}
    for index, policy in enumerate(policies):
        if not _MADE_BY.search(policy.what):
            by_place.setdefault((policy.address, posixpath.dirname(policy.path)), []).append(index)
    out: dict[int, list[str]] = {}
    for index, policy in enumerate(policies):
        made = _MADE_BY.search(policy.what)
        if made is not None:
            call = f"module.{made.group(1)}"
            own = policy.address.removeprefix(call + ".")
            where = posixpath.normpath(
                posixpath.join(posixpath.dirname(policy.path), made.group(2))
            )
            for default in by_place.get((own, where), []):
                if call not in out.setdefault(default, []):
                    out[default].append(call)
        for call in _overriding_calls(policy):
            if call not in out.setdefault(index, []):
                out[index].append(call)
    return {index: tuple(calls) for index, calls in out.items() if calls}


def _overriding_calls(policy: Policy) -> list[str]:
    """The calls that :attr:`Written.shared` of a value of ``policy`` says override it."""
    out: list[str] = []
    for statement in policy.statements:
        written = [*statement.actions, *statement.resources]
        if statement.effect is not None:
            written.append(statement.effect)
        for c in statement.conditions:
            written += [c.operator, c.key, *c.values]
        for w in written:
            at = w.shared.lower().find("overrid")
            if at >= 0:
                out += [m for m in _MODULE.findall(w.shared[at:]) if m not in out]
    return out


# An ARN's fields: arn:partition:service:region:account:resource. A field written as a
# placeholder (``${var.region}``) is ``*`` in the value and kept in ``Written.expression``.
def _arn_fields(text: str) -> list[str]:
    """``text`` split at the colons outside ``${ }`` (a placeholder may hold a colon)."""
    fields, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "{" and text[i - 1 : i] == "$":
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
        elif ch == ":" and not depth:
            fields.append(text[start:i])
            start = i + 1
    fields.append(text[start:])
    return fields


def resource_narrowing(statement: Statement) -> str:
    """What the statement's Resource narrows it to: ``Resource (region eu-west-1, account
    123456789012)`` when every ARN it names is limited to a Region or an account (literally,
    or by a placeholder the readers read as ``*``: ``region ${var.region}``); "" when one of
    them reaches every Region and account (``*``, ``arn:aws:ec2:*:*:instance/*``), or for
    ``NotResource``."""
    if statement.not_resource or not statement.resources:
        return ""
    parts: dict[str, None] = {}
    for w in statement.resources:
        if w.value is None:
            return ""  # could not be read: said elsewhere
        fields = _arn_fields(w.value)
        if len(fields) < 6 or fields[0] != "arn":
            return ""  # "*", or not an ARN
        written = _arn_fields(w.expression.strip('"')) if w.expression else fields
        if len(written) != len(fields):
            written = fields
        narrow = []
        for name, at in (("region", 3), ("account", 4)):
            value = fields[at] if fields[at] not in ("*", "") else written[at]
            if value not in ("*", "") and "${" not in fields[at]:
                narrow.append(f"{name} {value}")
        if not narrow:
            return ""
        parts.update(dict.fromkeys(narrow))
    return "Resource (" + ", ".join(parts) + ")"


def _unread_resource(statement: Statement) -> str:
    """A Resource of ``statement`` that could not be read (its expression): a statement whose
    Resource is unknown may deny nothing, whether or not a rule said so."""
    for w in statement.resources:
        if w.value is None:
            return f"its Resource {compact(w.expression or 'an expression', 80)} could not be read"
    return ""


def _label(policy: Policy, statement: Statement) -> str:
    """The label a finding on ``statement`` carries (``policy_finding``)."""
    return f"{policy.address} {statement.label}" if statement.label else policy.address


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


def narrowed_by(statement: Statement) -> tuple[str, ...]:
    """The condition keys of ``statement`` other than those a guardrail compares: each narrows
    what the statement denies to the requests that also match it (conditions are ANDed), as
    ``aws:RequestedRegion`` does to one Region or an ``aws:PrincipalArn`` exemption to everyone
    but the exempt. (A key that could not be read is named by its expression.)"""
    out: dict[str, str] = {}
    for c in statement.conditions:
        key = c.key.value
        if key is None:
            name = c.key.expression or "a condition key"
            out.setdefault(name.lower(), name)
        elif key.lower() not in _IMDS_KEYS:
            out.setdefault(key.lower(), key)
    return tuple(out.values())


def _glob(pattern: str) -> re.Pattern[str]:
    """An IAM ``*``/``?`` pattern as a regular expression (no other character is special)."""
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.DOTALL)


def denies_nothing(statement: Statement) -> str:
    """The exemption of ``statement`` that matches every principal (``ArnNotLike
    aws:PrincipalArn "*"``, ``"arn:aws:iam::*:*"``), as ``aws:PrincipalArn "*"``; "" when
    there is none. Such a negated condition is false for every request, so the statement
    denies nothing."""
    for c in statement.conditions:
        operator = (c.operator.value or "").lower().removesuffix("ifexists")
        samples = _PRINCIPALS.get((c.key.value or "").lower())
        if operator not in _NEGATED or samples is None:
            continue
        for value in c.values:
            if value.value is not None and all(
                _glob(value.value).fullmatch(sample) for sample in samples
            ):
                return f'{c.key.value} "{value.value}"'
    return ""


def _is_not_judged(finding: Finding) -> bool:
    body = finding.body if finding.body is not None else finding.message
    return body.startswith(NOT_JUDGED) or body.startswith("could not be evaluated")


def _why(finding: Finding) -> str:
    return " ".join((finding.body if finding.body is not None else finding.message).split())


def _statement_state(
    statement: Statement, findings: list[Finding], iam: bool
) -> tuple[str, tuple[str, ...]]:
    """The state of one statement and the keys that narrow it, from what it writes and the
    findings its label names."""
    if statement.unknown or any(_is_not_judged(f) for f in findings):
        return NOT_READ, ()
    if denies_nothing(statement):  # the rule's finding says so too: this says it plainly
        return DENIES_NOTHING, ()
    if findings:
        return WEAK, ()
    if statement.effect is None:
        effect: str | None = statement.default_effect
    else:
        effect = statement.effect.value
    if effect is None or effect == "":
        return NOT_READ, ()
    if effect != "Deny":
        return (IAM_GRANTS if iam else WEAK), ()
    narrowing = narrowed_by(statement)
    by_resource = resource_narrowing(statement)
    if by_resource:
        narrowing = (*narrowing, by_resource)
    if iam:
        return IAM_DENIES, narrowing
    return (NARROWED if narrowing else COVERED), narrowing


def scope_of(policy: Policy) -> str:
    """ORGANIZATION for a service or resource control policy (and a policy document kept in a
    file of its own, taken as an SCP); IAM for the rest (an IAM policy, an
    ``aws_iam_policy_document`` no organisation policy uses)."""
    if policy.type in _ORG_TYPES or policy.what.lower() in _ORG_WHAT:
        return ORGANIZATION
    return IAM


def _policy_row(
    policy: Policy, findings: list[Finding], judged: bool, overridden_by: tuple[str, ...] = ()
) -> PolicyRow:
    scope = scope_of(policy)
    iam = scope == IAM
    labels: dict[str, list[Statement]] = {}
    for statement in policy.statements:
        labels.setdefault(_label(policy, statement), []).append(statement)
    mine: dict[int, list[Finding]] = {}
    loose: list[Finding] = []
    for f in findings:
        named = labels.get(f.label or "")
        if named:
            for statement in named:
                mine.setdefault(id(statement), []).append(f)
        else:
            loose.append(f)
    unread = [s.unknown for s in policy.statements if s.unknown]
    # a Resource that could not be read on a guardrail statement no rule said anything of
    for statement in policy.statements:
        if not statement.unknown and guardrails_of(statement):
            resource = _unread_resource(statement)
            if resource:
                unread.append(resource)
    # a rule's "could not be judged" that repeats a statement's own reason adds nothing (a
    # plain loop: the reason is computed once, whether or not a statement has one of its own)
    own = tuple(unread)
    for f in findings:
        if _is_not_judged(f):
            why = _why(f)
            if not any(u in why for u in own):
                unread.append(why)
    unread_parts = tuple(dict.fromkeys(unread))
    rcp = policy.type == RCP_TYPE
    found: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {}
    for statement in policy.statements:
        state, narrowing = _statement_state(statement, mine.get(id(statement), []), iam)
        good = (COVERED, NARROWED, IAM_DENIES)
        if loose and state in good:
            # a finding on the policy that names none of its statements (its type, a document
            # that could not be read) weakens every statement of it
            state = NOT_READ if any(_is_not_judged(f) for f in loose) else WEAK
        if unread_parts and state in good:
            state = NOT_READ  # part of it could not be read: it may undo this one
        if not judged and state in (COVERED, NARROWED):
            state = UNCHECKED
        if overridden_by and state in (*good, UNCHECKED):
            # what the calls deploy is their own policy: this default covers nothing for sure
            state, narrowing = OVERRIDDEN, overridden_by
        label = statement.label or (f"statement {statement.sid}" if statement.sid else "statement")
        for name in guardrails_of(statement):
            at, keys = state, narrowing
            if rcp and at in (COVERED, NARROWED):
                # RCPs do not apply to EC2: a statement on an EC2 action denies nothing there
                if name == "role-delivery":
                    at, keys = NARROWED, (*keys, RCP_SERVICES)
                else:
                    at, keys = DENIES_NOTHING, ()
            shows = (*good, OVERRIDDEN)
            found.setdefault(name, []).append((at, label, keys if at in shows else ()))
    from imds_iac_checks.guardrails import STATEMENTS

    covers = []
    for name in STATEMENTS:
        if name not in found:
            continue
        state = min((s for s, _, _ in found[name]), key=_RANK.__getitem__)
        narrowing = tuple(
            dict.fromkeys(k for s, _, keys in found[name] if s == state for k in keys)
        )
        labels_of = tuple(dict.fromkeys(label for _, label, _ in found[name]))
        covers.append(Coverage(name, state, labels_of, narrowing))
    return PolicyRow(
        address=policy.address,
        path=policy.path,
        line=policy.span.line,
        column=policy.span.column,
        what=policy.what,
        type=policy.type,
        format=policy.format,
        covers=tuple(covers),
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
        scope=scope,
        unread=unread_parts,
        overridden_by=overridden_by,
    )


def _summary(
    defaults: tuple[DefaultRow, ...],
    policies: tuple[PolicyRow, ...],
    iam: tuple[PolicyRow, ...],
    statements: tuple[StatementRow, ...],
) -> tuple[str, ...]:
    if not defaults and not policies and not iam:
        return (NOTHING,)
    out: list[str] = []
    if defaults:
        counts = [
            f"{n:,} {one if n == 1 else many}"
            for one, many in (
                (REQUIRES, "require tokens"),
                (ALLOWS, "allow IMDSv1"),
                (UNKNOWN, UNKNOWN),
            )
            if (n := sum(1 for d in defaults if d.state == one))
        ]
        text = f"{_plural(len(defaults), 'account-default setting')} found: " + ", ".join(counts)
        if not any(d.state == REQUIRES for d in defaults):
            text += "; none is known to require tokens"
        out.append(text + ".")
    else:
        out.append(NO_DEFAULTS)
    if policies:
        by_state: dict[str, list[str]] = {}
        for row in statements:
            group = {NARROWED: NARROWED, DENIES_NOTHING: WEAK, NOT_READ: WEAK}.get(
                row.state, row.state
            )
            by_state.setdefault(group, []).append(row.name)
        text = f"{_plural(len(policies), 'guardrail policy', 'guardrail policies')} found"
        parts = []
        for state, words in (
            (COVERED, "covered"),
            (NARROWED, "covered only where other conditions hold (narrowed)"),
            (WEAK, "weaker than intended or not read"),
            (UNCHECKED, "not checked (no rule that judges policies is enabled)"),
            (OVERRIDDEN, "only in a module's default that a call overrides"),
            (MISSING, "no policy found for"),
            (MISSING_UNREAD, "not found in the policies that could be read"),
        ):
            if by_state.get(state):
                parts.append(f"{words}: " + ", ".join(by_state[state]))
        unread = sum(1 for p in policies if p.unread)
        if unread:
            parts.append(f"{unread:,} could not be read")
        out.append(text + ("; " + "; ".join(parts) if parts else "") + ".")
    else:
        out.append(NO_POLICIES)
    if iam:
        name = "IAM policy names" if len(iam) == 1 else "IAM policies name"
        out.append(IAM_NOTE.format(count=f"{len(iam):,}", name=name))
    out.append(CAVEAT)
    return tuple(out)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


# --- JSON ---------------------------------------------------------------------------------------


def _policy_document(p: PolicyRow) -> dict[str, Any]:
    return {
        "address": p.address,
        "path": p.path,
        "line": p.line,
        "column": p.column,
        "what": p.what,
        "type": p.type or None,
        "format": p.format,
        "scope": p.scope,
        "unread": list(p.unread),
        "overridden_by": list(p.overridden_by),
        "covers": [
            {
                "name": c.name,
                "state": c.state,
                "narrowed_by": list(c.narrowed_by),
                "statements": list(c.statements),
            }
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
            {
                "name": s.name,
                "state": s.state,
                "narrowed_by": list(s.narrowed_by),
                "as": s.stands or None,
            }
            for s in model.statements
        ],
        "policies": [_policy_document(p) for p in model.policies],
        "iam_policies": [_policy_document(p) for p in model.iam_policies],
    }


# --- words the Markdown and HTML reports share ---------------------------------------------------


def what_text(p: PolicyRow) -> str:
    """What a policy is, as the tables print it; a document on its own says it is taken as an
    SCP (nothing in the file says where it is attached)."""
    # the type is said once: "service control policy" already says SERVICE_CONTROL_POLICY
    said = p.what.lower().startswith(p.type.lower().replace("_", " ")) if p.type else True
    text = p.what if said else f"{p.what} ({p.type})"
    if p.scope == ORGANIZATION and not p.type and p.what == "policy document":
        text += ", taken as an SCP"
    return text


def covers_text(p: PolicyRow, code: Any = None, escape: Any = None) -> str:
    """The statements a policy covers with their states, then what of it could not be read:
    ``require-tokens (covered, narrowed by aws:RequestedRegion); could not be read: ...``.
    ``code`` writes a statement's name (Markdown: in backticks), ``escape`` the other text."""

    def name(text: str) -> str:
        return code(text) if code is not None else text

    def plain(text: str) -> str:
        return escape(text) if escape is not None else text

    parts = [f"{name(c.name)} ({plain(shown(c.state, c.narrowed_by))})" for c in p.covers]
    text = ", ".join(parts)
    if p.unread:
        why = plain("could not be read: " + "; ".join(p.unread[:3]))
        if len(p.unread) > 3:
            why += plain(f"; and {len(p.unread) - 3:,} more")
        text = f"{text}; {why}" if text else why
    return text or plain("none of the guardrail statements")


def no_finding_text(p: PolicyRow) -> str:
    """The findings cell of a policy no rule reported on: never "no finding" for a policy that
    could not be read (nothing judged it)."""
    return "not judged: it could not be read" if p.unread else "no finding"
