"""IMDS010 weak-guardrail: a guardrail policy (an SCP, an IAM policy) that names an IMDS condition
key or ``ec2:ModifyInstanceMetadataOptions`` but denies less than the guardrail it is meant to be
(the statements ``imds-iac scp`` prints, :mod:`imds_iac_checks.guardrails`), or denies requests
the guardrail lets through.

Each statement is judged by evaluating its conditions as IAM does (rules/IMDS010.toml holds the
verdict table and the IAM pages it rests on) over every value the key can hold in a request —
absent included — and comparing what it denies with what the guardrail means to deny:

- ``ec2:MetadataHttpTokens`` on ``ec2:RunInstances``: deny launches whose tokens are not
  ``required``, and launches that omit them (the key is then absent);
- ``ec2:MetadataHttpPutResponseHopLimit`` on ``ec2:RunInstances``: deny hop limits above the
  configured limit (``Context.hop_limit``); launches that omit it get the default and pass;
- ``ec2:RoleDelivery`` on every action: deny calls signed with credentials IMDSv1 delivered
  (``1.0``); requests without the key (not signed with instance-role credentials) pass;
- ``ec2:ModifyInstanceMetadataOptions``: deny the action, or at least changes to ``optional``
  tokens (``ec2:Attribute/HttpTokens``).

The instance keys are in the request context of the instance resource only (``arn:aws:ec2:*:*:
instance/*``): for the launch's other resources (volume, network interface, image, ...) they are
absent, which makes a negated operator true there — a ``Resource`` that matches them turns a
statement such as ``StringNotEquals`` into a deny of every launch.

A finding's fix writes the corrected statement over what is written (operator, values, effect,
action, resource): always unsafe (the policy then denies what it let through). The corrections
are applied to a copy of the statement and it is judged again; a fix is claimed only when that
copy judges clean (:func:`_converge`), so one ``fix`` run is enough. What the rule cannot edit (a
``NotResource``, a second condition to remove, a value other code reads too) is said in the
finding. Parts that could not be read are reported as not judged (a warning without a fix), never
passed; a part the rest of the verdict does not need (an Action, a Resource) leaves the rest
judged, with the fix withheld when the corrected statement would depend on it.

The kind of policy (:func:`policy_kind`) decides what an ``Allow`` is: nothing in an SCP or RCP
(corrected into the Deny), a grant in an identity policy (judged only for granting what the
guardrail denies explicitly, never turned into a Deny). :func:`narrowed_by` names the condition
keys that narrow a statement on purpose (for the readiness report).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache

from imds_iac_checks.model import Condition, Finding, Policy, Span, Statement, Target, Written
from imds_iac_checks.rules.base import (
    DEFAULT_HOP_LIMIT,
    NOT_JUDGED,
    CfnLintRule,
    Context,
    Fix,
    Option,
    Rule,
    policy_finding,
)

TOKENS = "ec2:metadatahttptokens"
HOP = "ec2:metadatahttpputresponsehoplimit"
ROLE = "ec2:roledelivery"
ENDPOINT = "ec2:metadatahttpendpoint"
ATTRIBUTE_TOKENS = "ec2:attribute/httptokens"
# Keys that make a statement a guardrail (IAM condition keys are case-insensitive).
GUARDRAIL_KEYS = (TOKENS, HOP, ROLE, ENDPOINT)
RUN = "ec2:RunInstances"
# The guardrail's instance resource (imds_iac_checks.guardrails.INSTANCES, which a test checks:
# that module imports json and dataclasses, which a scan without policies never needs).
INSTANCES = "arn:aws:ec2:*:*:instance/*"
MODIFY = "ec2:ModifyInstanceMetadataOptions"

# --- IAM condition operators ------------------------------------------------------------------

_STRING = {
    "stringequals",
    "stringnotequals",
    "stringequalsignorecase",
    "stringnotequalsignorecase",
    "stringlike",
    "stringnotlike",
}
_NUMERIC = {
    "numericequals",
    "numericnotequals",
    "numericlessthan",
    "numericlessthanequals",
    "numericgreaterthan",
    "numericgreaterthanequals",
}
_OTHER = {
    "dateequals",
    "datenotequals",
    "datelessthan",
    "datelessthanequals",
    "dategreaterthan",
    "dategreaterthanequals",
    "bool",
    "binaryequals",
    "ipaddress",
    "notipaddress",
    "arnequals",
    "arnlike",
    "arnnotequals",
    "arnnotlike",
}
# Negated matching operators: true when the key is absent (IAM, condition operators).
_NEGATED = {
    "stringnotequals",
    "stringnotequalsignorecase",
    "stringnotlike",
    "numericnotequals",
    "datenotequals",
    "arnnotequals",
    "arnnotlike",
    "notipaddress",
}


class Operator:
    """A condition operator as IAM reads it: ``ForAnyValue:``/``ForAllValues:``, the base
    operator, ``IfExists``. Operator names are matched without regard to case."""

    def __init__(self, written: str) -> None:
        text = written.strip()
        qualifier, _, rest = text.rpartition(":")
        self.qualifier = qualifier.lower()
        base = rest.lower()
        self.if_exists = base.endswith("ifexists") and base != "null"
        if self.if_exists:
            base = base[: -len("ifexists")]
        self.base = base
        known = base in _STRING | _NUMERIC | _OTHER or (base == "null" and not self.if_exists)
        self.known = known and self.qualifier in ("", "foranyvalue", "forallvalues")

    @property
    def negated(self) -> bool:
        return self.base in _NEGATED

    def holds(self, values: tuple[str, ...], request: str | None) -> bool:
        """Is the condition true for a request whose key is ``request`` (None: absent)?
        Several values: OR for a matching operator, NOR for a negated one (IAM, "Conditions
        with multiple context keys or values")."""
        if self.base == "null":
            present = request is not None
            return any(v.lower() == ("false" if present else "true") for v in values)
        if request is None:
            if self.if_exists or self.qualifier == "forallvalues":
                return True
            if self.qualifier == "foranyvalue":
                return False
            return self.negated
        hit = any(_match(self.base, v, request) for v in values)
        return not hit if self.negated else hit


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _match(base: str, value: str, request: str) -> bool:
    """Does ``request`` match the policy's ``value`` (the positive form of ``base``)?"""
    if base in ("stringequals", "stringnotequals"):
        return request == value
    if base in ("stringequalsignorecase", "stringnotequalsignorecase"):
        return request.lower() == value.lower()
    if base in ("stringlike", "stringnotlike"):
        if "*" not in value and "?" not in value:
            return request == value
        return _glob(value).fullmatch(request) is not None
    if base in _NUMERIC:
        a, b = _number(request), _number(value)
        if a is None or b is None:
            return False
        return {
            "numericequals": a == b,
            "numericnotequals": a == b,
            "numericlessthan": a < b,
            "numericlessthanequals": a <= b,
            "numericgreaterthan": a > b,
            "numericgreaterthanequals": a >= b,
        }[base]
    if base in ("arnequals", "arnlike", "arnnotequals", "arnnotlike"):
        # Each of the six colon-separated parts is matched on its own, wildcards allowed (IAM
        # User Guide, ARN condition operators).
        want, have = value.split(":", 5), request.split(":", 5)
        if len(want) != 6:  # "*": a wildcard over the whole ARN
            return _glob(value).fullmatch(request) is not None
        return len(have) == 6 and all(
            _glob(w).fullmatch(h) is not None for w, h in zip(want, have, strict=True)
        )
    return False  # dates, addresses, Bool, binary: never equal to these keys' values


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """An IAM wildcard pattern (``*`` any run, ``?`` one character)."""
    parts = ("." if c == "?" else ".*" if c == "*" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE if ignore_case else 0)


def _wild(pattern: str, text: str) -> bool:
    """Action names and ARNs as IAM matches them in Action and Resource. A pattern without a
    wildcard is compared as text (a policy may list thousands of actions: no regex each)."""
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == text.lower()
    return _glob(pattern, ignore_case=True).fullmatch(text) is not None


# --- what each key is meant to deny ------------------------------------------------------------


class Intent:
    """What the guardrail means to deny for one key: the values a request can hold (None:
    absent), those denied, the corrected condition, and how each value reads in a message."""

    def __init__(
        self,
        key: str,
        domain: tuple[str | None, ...],
        denied: frozenset[str | None],
        operator: str,
        value: str,
        say: Callable[[list[str | None]], str],
        secure: frozenset[str | None],
        numeric: bool,
        statement: str,
    ) -> None:
        self.key, self.domain, self.denied = key, domain, denied
        self.operator, self.value, self.say = operator, value, say
        self.secure, self.numeric, self.statement = secure, numeric, statement


def _say_tokens(values: list[str | None]) -> str:
    said = {
        None: "launches that omit HttpTokens",
        "optional": "launches with HttpTokens optional",
        "required": "launches that require tokens",
    }
    return " and ".join(said[v] for v in values)


def _say_attribute(values: list[str | None]) -> str:
    said = {
        None: "changes that leave HttpTokens as it is",
        "optional": "changes of HttpTokens to optional (an opt-out of IMDSv2)",
        "required": "changes of HttpTokens to required (the migration itself)",
    }
    return " and ".join(said[v] for v in values)


def _say_role(values: list[str | None]) -> str:
    said = {
        None: (
            "every request not signed with instance-role credentials (the whole "
            "organisation's people and services)"
        ),
        "1.0": "calls signed with role credentials IMDSv1 delivered (ec2:RoleDelivery 1.0)",
        "2.0": "calls signed with role credentials IMDSv2 delivered (ec2:RoleDelivery 2.0)",
    }
    return " and ".join(said[v] for v in values)


def _say_hops(values: list[str | None]) -> str:
    parts = []
    if None in values:
        parts.append("launches that do not set the hop limit")
    numbers = sorted(int(v) for v in values if v is not None)
    if numbers:
        low, high = numbers[0], numbers[-1]
        if low == high:
            parts.append(f"launches with hop limit {low}")
        else:
            parts.append(f"launches with hop limits {low} to {high}")
    return " and ".join(parts)


_HOPS = tuple(str(n) for n in range(1, 65))  # HttpPutResponseHopLimit: 1 to 64


def intents(hop_limit: int) -> dict[str, Intent]:
    """What each key is meant to deny, with the configured hop limit; the Sids are those of
    ``imds-iac scp`` (imported here: a scan reaches this only with a policy to judge)."""
    from imds_iac_checks.guardrails import STATEMENTS

    return {
        TOKENS: Intent(
            "ec2:MetadataHttpTokens",
            (None, "required", "optional"),
            frozenset({None, "optional"}),
            "StringNotEquals",
            "required",
            _say_tokens,
            frozenset({"required"}),
            False,
            STATEMENTS["require-tokens"][0],
        ),
        HOP: Intent(
            "ec2:MetadataHttpPutResponseHopLimit",
            (None, *_HOPS),
            frozenset(v for v in _HOPS if int(v) > hop_limit),
            "NumericGreaterThan",
            str(hop_limit),
            _say_hops,
            frozenset(v for v in _HOPS if int(v) <= hop_limit),
            True,
            STATEMENTS["hop-limit"][0],
        ),
        ROLE: Intent(
            "ec2:RoleDelivery",
            (None, "1.0", "2.0"),
            frozenset({"1.0"}),
            "NumericLessThan",
            "2.0",
            _say_role,
            frozenset({None, "2.0"}),
            True,
            STATEMENTS["role-delivery"][0],
        ),
        ATTRIBUTE_TOKENS: Intent(
            "ec2:Attribute/HttpTokens",
            (None, "required", "optional"),
            frozenset({"optional"}),
            "StringNotEquals",
            "required",
            _say_attribute,
            frozenset(),
            False,
            STATEMENTS["no-opt-out"][0],
        ),
    }


# Resources RunInstances authorizes besides the instance (Service Authorization Reference,
# Amazon EC2, RunInstances): the instance keys are absent from their request context.
_OTHER_RESOURCES = (
    "image/ami-0123456789abcdef0",
    "volume/vol-0123456789abcdef0",
    "network-interface/eni-0123456789abcdef0",
    "subnet/subnet-0123456789abcdef0",
    "security-group/sg-0123456789abcdef0",
    "key-pair/deploy",
    "launch-template/lt-0123456789abcdef0",
)
_INSTANCE = "instance/i-0123456789abcdef0"


@lru_cache(maxsize=4096)
def _arn_matches(pattern: str, resource: str) -> bool:
    """Does a Resource pattern match an EC2 resource (any partition, region, account)? The
    region and account parts of a pattern scope the statement and are not judged."""
    if pattern.strip() == "*":
        return True
    parts = pattern.split(":", 5)
    if len(parts) < 6:
        return False
    service, rest = parts[2], parts[5]
    return _wild(parts[0], "arn") and _wild(service, "ec2") and _wild(rest, resource)


# --- judging ------------------------------------------------------------------------------------

Edit = tuple[str, int, int, bytes]

# What kind of policy a statement sits in: an Organizations policy (an SCP or RCP: it only
# limits, so an Allow in it denies nothing), an identity policy (an Allow there is a grant),
# or not known (a plain JSON document, a Terraform aws_iam_policy_document no Organizations
# policy uses).
ORG, IDENTITY, UNKNOWN_KIND = "org", "identity", ""
_ORG_TYPES = {"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"}
_ORG_WHAT = {"service control policy", "resource control policy"}


def policy_kind(policy: Policy) -> str:
    """ORG, IDENTITY or UNKNOWN_KIND, from the type and ``what`` the readers set
    (formats/policy_cfn.py, policy_terraform.py, policy.py)."""
    what = policy.what.lower()
    if policy.type.upper() in _ORG_TYPES or what in _ORG_WHAT:
        return ORG
    if (what.startswith("iam ") and what != "iam policy document") or what.startswith(
        "inline policy"
    ):
        return IDENTITY
    return UNKNOWN_KIND


# What a fix says it does (the fixer adds why it is unsafe and where to try it first, by the
# finding's kind of policy: a test OU for an SCP, a test role for an identity policy).
_CHANGE = "writes the corrected statement"


def _edit(written: Written, text: str) -> Edit | None:
    span = written.edit
    if span is None:
        return None
    return (span.path, span.start_byte, span.end_byte, text.encode())


class _Judgement:
    """The findings of one statement: each problem with the part of the statement it is about
    and whether that part can be corrected; every finding carries the whole correction."""

    def __init__(self, policy: Policy, statement: Statement, unread: dict[str, str]) -> None:
        self.policy, self.statement = policy, statement
        self.problems: list[tuple[Span, str, str, bool, str, str]] = []
        # Planned corrections, keyed by the span they rewrite (a dict: linear in the values).
        self.edits: dict[tuple[str, int, int], Edit] = {}
        self.values: dict[tuple[str, int, int], str] = {}
        self.add_effect = False
        self.notes: dict[str, None] = {}
        # Why the last correct() refused (a value other code reads too), for report().
        self.refusal = ""
        # Parts that could not be read but that the verdict does not need ("Resource": text).
        self.unread = unread

    def correct(self, written: Written, text: str) -> bool:
        """Plan writing ``text`` over ``written``; False when it cannot be edited there."""
        if written.value == text:
            return True
        if written.shared:
            self.refusal = (
                f"{_shown(written)} is written where other code reads it too "
                f"({written.shared}): an edit there would change that code as well"
            )
            return False
        edit = _edit(written, text)
        if edit is None:
            return False
        where = edit[:3]
        if self.values.get(where) != text:
            self.edits[where] = edit
            self.values[where] = text
            self.notes[f"{_shown(written)} -> {text}"] = None
        return True

    def deny(self, statement: Statement) -> bool:
        """Plan writing ``Deny`` where no Effect is written."""
        if statement.add_effect is None:
            return False
        self.edits[statement.add_effect[:3]] = statement.add_effect
        self.add_effect = True
        self.notes["Effect Deny"] = None
        return True

    def report(
        self, span: Span, message: str, severity: str, fixable: bool, help: str, no_fix: str
    ) -> None:
        if not fixable and self.refusal:
            no_fix, self.refusal = self.refusal, ""
        self.problems.append((span, message, severity, fixable, help, no_fix))

    def blocked(self) -> str:
        """Why no fix can be made (empty: every problem can be corrected)."""
        return next((p[5] for p in self.problems if not p[3]), "")

    def merge(self, other: _Judgement) -> None:
        self.edits.update(other.edits)
        self.values.update(other.values)
        self.add_effect = self.add_effect or other.add_effect
        self.notes.update(other.notes)

    def findings(self, blocked: str) -> Iterator[Finding]:
        """All or nothing: a part that cannot be corrected leaves every finding of the
        statement without a fix (half a correction can deny the secure requests: a Deny
        written over an Allow that keeps its StringEquals "required")."""
        edits = () if blocked else tuple(sorted(self.edits.values(), key=lambda e: e[1]))
        unread = "; ".join(f"its {part} {text}" for part, text in self.unread.items())
        notes = list(self.notes)
        said = ", ".join(notes[:6]) + (f" and {len(notes) - 6} more" if len(notes) > 6 else "")
        change = _CHANGE + (f": {said}" if said else "")
        for span, message, severity, fixable, help, no_fix in self.problems:
            if blocked and fixable:
                no_fix = f"the statement cannot be corrected by an edit: {blocked}"
            if unread:
                message += f" (not judged: {unread} could not be read)"
            yield policy_finding(
                RULE,
                self.policy,
                self.statement,
                span,
                message,
                edits=edits,
                change=change,
                no_fix=no_fix,
                help=help,
                severity=severity,
            )


def _apply(statement: Statement, j: _Judgement) -> Statement:
    """The statement as it reads once the planned corrections are written (to judge it again)."""

    def fixed(w: Written) -> Written:
        if w.edit is None:
            return w
        text = j.values.get((w.edit.path, w.edit.start_byte, w.edit.end_byte))
        return w if text is None else w._replace(value=text)

    effect = statement.effect
    if effect is not None:
        effect = fixed(effect)
    elif j.add_effect:
        effect = Written("Deny", statement.span)
    return statement._replace(
        effect=effect,
        actions=tuple(fixed(a) for a in statement.actions),
        resources=tuple(fixed(r) for r in statement.resources),
        conditions=tuple(
            c._replace(
                operator=fixed(c.operator), key=fixed(c.key), values=tuple(map(fixed, c.values))
            )
            for c in statement.conditions
        ),
    )


def _shown(written: Written) -> str:
    return written.value if written.value is not None else written.expression or "?"


def _listed(parts: tuple[Written, ...], most: int = 5) -> str:
    """Values as a message shows them: the first few, and how many more (a list of thousands
    is not repeated in every message)."""
    if not parts:
        return "[] (no value)"
    shown = ", ".join(_shown(p) for p in parts[:most])
    return shown + (f" and {len(parts) - most} more" if len(parts) > most else "")


def _conditions_on(statement: Statement, key: str) -> list[Condition]:
    return [c for c in statement.conditions if (c.key.value or "").lower() == key]


# Keys the rule judges itself; every other condition key of a guardrail statement narrows it.
_JUDGED_KEYS = {TOKENS, HOP, ROLE, ATTRIBUTE_TOKENS, "ec2:attribute/httpputresponsehoplimit"}
_HOLE = re.compile(r"\$\{[^}]*\}")


def narrowed_by(statement: Statement) -> tuple[str, ...]:
    """The condition keys that narrow a guardrail statement beyond its IMDS key (a region, a
    principal exemption, a resource tag, ``ec2:MetadataHttpEndpoint``), as written and in
    order; one that could not be read is named by its expression. Empty: nothing narrows it.
    (A pure helper for the readiness report: the rule itself judges only the exemptions that
    match every principal.)"""
    keys: dict[str, str] = {}  # condition key names are not case-sensitive: one per name
    for c in statement.conditions:
        if c.key.value is None:
            name = f"a condition key that could not be read ({_shown(c.key)})"
            keys.setdefault(name, name)
        elif c.key.value.lower() not in _JUDGED_KEYS:
            keys.setdefault(c.key.value.lower(), c.key.value)
    return tuple(keys.values())


def _arn_pattern(written: Written) -> str | None:
    """A Resource written with holes only in its partition, region or account (``${var.account}``,
    ``${AWS::Region}``): the pattern it matches at most, with the holes as ``*`` (those parts
    scope the statement and are not judged). None: the service or resource part is a hole."""
    text = written.expression.strip().strip('"')
    parts = text.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or any(_HOLE.search(p) for p in (parts[2], parts[5])):
        return None
    return ":".join(_HOLE.sub("*", p) for p in parts)


def _unreadable(statement: Statement, keys: set[str]) -> tuple[str, dict[str, str]]:
    """What of a guardrail statement could not be read: the part without which it cannot be
    judged at all (the effect, the IMDS conditions), and the parts the verdict on the rest does
    not need (an Action, a Resource, another condition key), by name."""
    if statement.unknown:
        return statement.unknown, {}
    if statement.effect is not None and statement.effect.value is None:
        return f"its Effect ({_shown(statement.effect)})", {}
    for c in statement.conditions:
        if c.key.value is None or c.key.value.lower() not in keys:
            continue
        if c.unknown:
            return f"the values of {c.key.value}: {c.unknown}", {}
        if c.operator.value is None:
            return f"the operator of {c.key.value} ({_shown(c.operator)})", {}
        for v in c.values:
            if v.value is None:
                return f"a value of {c.key.value} ({_shown(v)})", {}
    unread: dict[str, str] = {}
    for part, name in ((statement.actions, "Action"), (statement.resources, "Resource")):
        missing = [w for w in part if w.value is None]
        if name == "Resource":
            missing = [w for w in missing if _arn_pattern(w) is None]
        if missing:
            unread[name] = ", ".join(_shown(w) for w in missing[:3])
    missing_keys = [c for c in statement.conditions if c.key.value is None]
    if missing_keys:
        unread["condition key"] = _shown(missing_keys[0].key)
    return "", unread


def _readable(statement: Statement) -> Statement:
    """The statement with each Resource that has holes only in its partition, region or account
    read as the widest pattern it can be."""
    resources = tuple(
        r._replace(value=pattern)
        if r.value is None and (pattern := _arn_pattern(r)) is not None
        else r
        for r in statement.resources
    )
    return statement._replace(resources=resources)


def _covers(statement: Statement, action: str) -> bool:
    hit = any(_wild(a.value or "", action) for a in statement.actions)
    return not hit if statement.not_action else hit


def _mentions_modify(statement: Statement) -> bool:
    return not statement.not_action and any(
        _wild(a.value or "", MODIFY) and "*" not in (a.value or "") for a in statement.actions
    )


def _could_guard(statement: Statement) -> bool:
    """Could a statement that could not be read wholly be a guardrail statement? (Not when what
    could be read shows it is not one: every condition key known and none an IMDS key.)"""
    if statement.unknown or any(c.key.value is None for c in statement.conditions):
        return True
    return any(a.value is None for a in statement.actions) and not statement.conditions


def check_policy(policy: Policy, ctx: Context) -> Iterator[Finding]:
    """Judge each statement of a policy the readers handed over (they hand over only policies
    whose text names an IMDS key or ModifyInstanceMetadataOptions: each is a guardrail
    candidate, so a statement that could not be read is reported, never passed)."""
    table = intents(ctx.hop_limit)
    kind = policy_kind(policy)
    for statement in policy.statements:
        if _is_guardrail(statement):
            yield from _judge(policy, statement, table, kind)
        elif _could_guard(statement):
            what = statement.unknown or next(
                (
                    f"the condition key {_shown(c.key)}"
                    for c in statement.conditions
                    if c.key.value is None
                ),
                f"its Action {_listed(statement.actions)}",
            )
            yield policy_finding(
                RULE,
                policy,
                statement,
                statement.span,
                f"{NOT_JUDGED} (not read: {what}): whether it is (or weakens) the IMDSv2 "
                "guardrail is not known",
                severity="warning",
                no_fix="the statement could not be read",
                help="write the statement out, or review it by hand",
            )


def _is_guardrail(statement: Statement) -> bool:
    keys = {(c.key.value or "").lower() for c in statement.conditions}
    return bool(keys & set(GUARDRAIL_KEYS)) or _mentions_modify(statement)


def _judge(
    policy: Policy, statement: Statement, table: dict[str, Intent], kind: str
) -> Iterator[Finding]:
    keys = {(c.key.value or "").lower() for c in statement.conditions}
    effect = statement.effect.value if statement.effect is not None else statement.default_effect
    allow = (effect or "").lower() == "allow"
    if allow and not (keys & set(GUARDRAIL_KEYS)):
        return  # a grant of ModifyInstanceMetadataOptions (an IAM policy), not a guardrail
    blocking, unread = _unreadable(statement, {*GUARDRAIL_KEYS, ATTRIBUTE_TOKENS})
    if blocking:
        yield policy_finding(
            RULE,
            policy,
            statement,
            statement.span,
            f"{NOT_JUDGED} (not read: {blocking}): whether it denies what the IMDSv2 "
            "guardrail denies is not known",
            severity="warning",
            no_fix="part of the statement could not be read",
            help="write the value out as a literal, or review the statement by hand",
        )
        return
    readable = _readable(statement)
    j = _assess(policy, readable, table, kind, unread)
    if not j.problems:
        if unread:
            said = "; ".join(f"its {part} {text}" for part, text in unread.items())
            yield policy_finding(
                RULE,
                policy,
                statement,
                statement.span,
                f"{NOT_JUDGED}: {said} could not be read; the rest of the statement is right, "
                "but whether it denies what the IMDSv2 guardrail denies depends on it",
                severity="warning",
                no_fix="part of the statement could not be read",
                help="write the value out as a literal, or review the statement by hand",
            )
        return
    blocked = j.blocked()
    if not blocked and ("Action" in unread or "Resource" in unread):
        part = "Action" if "Action" in unread else "Resource"
        blocked = (
            f"whether the corrected statement denies what the guardrail denies depends on its "
            f"{part} ({unread[part]}), which could not be read"
        )
    if not blocked:
        blocked = _converge(policy, readable, table, kind, unread, j)
    yield from j.findings(blocked)


def _converge(
    policy: Policy,
    statement: Statement,
    table: dict[str, Intent],
    kind: str,
    unread: dict[str, str],
    j: _Judgement,
) -> str:
    """Judge the corrected statement again, and plan the corrections it still needs (a
    Resource "*" that the corrected negated operator makes deny every launch): the fix is
    claimed only when the whole corrected statement is right, so one ``fix`` run is enough.
    Returns why no fix can be made (empty: the merged corrections in ``j`` are the fix)."""
    for _ in range(4):
        again = _assess(policy, _apply(statement, j), table, kind, unread)
        if not again.problems:
            return ""
        reason = again.blocked()
        if reason:
            message = next(p[1] for p in again.problems if not p[3])
            return f"the corrected statement would still be wrong ({message}): {reason}"
        before = dict(j.values), j.add_effect
        j.merge(again)
        if (dict(j.values), j.add_effect) == before:
            break
    return "the corrections do not settle on one statement: correct it by hand"


def _assess(
    policy: Policy,
    statement: Statement,
    table: dict[str, Intent],
    kind: str,
    unread: dict[str, str],
) -> _Judgement:
    """The problems of one readable guardrail statement and the corrections they need."""
    keys = {(c.key.value or "").lower() for c in statement.conditions}
    judged = [k for k in (TOKENS, HOP, ROLE) if k in keys]
    effect = statement.effect.value if statement.effect is not None else statement.default_effect
    allow = (effect or "").lower() == "allow"
    j = _Judgement(policy, statement, unread)
    if len(judged) > 1:
        names = " and ".join(table[k].key for k in judged)
        j.report(
            statement.span,
            f"conditions on {names} in one statement: the statement denies only requests that "
            "match all of them (conditions are ANDed), so a launch that fails one check and "
            "passes the other goes through",
            "error",
            False,
            "write one statement per key, as imds-iac scp prints them",
            "splitting a statement is not an edit of its values",
        )
        return j
    if not judged:
        if keys & {ENDPOINT} and not _mentions_modify(statement):
            return j  # the guardrail has no endpoint statement: a condition on it is not judged
        if allow and kind == IDENTITY:
            _grant(j, statement, ATTRIBUTE_TOKENS, table[ATTRIBUTE_TOKENS])
            return j
        _judge_modify(j, statement, table, kind)
        return j
    key = judged[0]
    intent = table[key]
    if allow and kind == IDENTITY:
        # An Allow in an identity policy grants: judged only for granting what the guardrail
        # denies explicitly, never turned into a Deny.
        _grant(j, statement, key, intent)
        return j
    if allow or not effect or effect.lower() != "deny":
        _effect(j, statement, intent, kind)
    _exempt_all(j, statement)
    actions_known = "Action" not in unread
    if key == ROLE:
        _role_scope(j, statement, actions_known, "Resource" not in unread)
    elif actions_known and not _covers(statement, RUN) and _mentions_modify(statement):
        _current_setting(j, statement, key, intent)
        return j
    elif actions_known and not _covers(statement, RUN):
        _launch_action(j, statement, intent)
        _condition(j, statement, key, intent, allow, launch=False)
        return j
    elif actions_known:
        _existing_instances(j, statement, key, intent)
    _condition(j, statement, key, intent, allow, resources_known="Resource" not in unread)
    _endpoint(j, statement, key)
    return j


# Principals as aws:PrincipalArn (and the other keys every signed request holds) name them: a
# condition false for all of them exempts every principal (IAM User Guide, global condition
# context keys).
_EVERY_PRINCIPAL = {
    "aws:principalarn": (
        "arn:aws:iam::123456789012:role/app",
        "arn:aws:iam::123456789012:role/team/deploy",
        "arn:aws:iam::123456789012:user/alice",
        "arn:aws:iam::123456789012:root",
    ),
    "aws:principalaccount": ("123456789012", "210987654321"),
    "aws:principaltype": ("AssumedRole", "User", "Account", "FederatedUser"),
    "aws:userid": ("AROAEXAMPLEID:session", "AIDAEXAMPLEID"),
    "aws:principalorgid": ("o-exampleorg1", "o-exampleorg2"),
}


def _exempt_all(j: _Judgement, statement: Statement) -> None:
    """A condition (an exemption) false for every principal: conditions are ANDed, so the
    statement denies nothing (``ArnNotLike aws:PrincipalArn "*"``)."""
    for c in statement.conditions:
        samples = _EVERY_PRINCIPAL.get((c.key.value or "").lower())
        op = Operator(c.operator.value or "")
        if samples is None or not op.known or any(v.value is None for v in c.values):
            continue
        if not op.negated:
            continue  # a positive condition narrows the statement to some principals
        values = tuple(v.value or "" for v in c.values)
        if any(op.holds(values, sample) for sample in samples):
            continue
        j.report(
            c.operator.span,
            f"{c.operator.value} {c.key.value} {_listed(c.values)} is false for every principal "
            "(it exempts them all), and conditions are ANDed: the statement denies nothing",
            "error",
            False,
            "name the exempt principals (a break-glass role: arn:aws:iam::*:role/break-glass)",
            "which principals were meant to be exempt is not known: name them",
        )


def _granted(statement: Statement, key: str, intent: Intent) -> list[str | None]:
    conditions = _conditions_on(statement, key)
    ops = [Operator(c.operator.value or "") for c in conditions]
    if not all(op.known for op in ops):
        return []
    return [
        v
        for v in intent.domain
        if all(
            op.holds(tuple(x.value or "" for x in c.values), v)
            for c, op in zip(conditions, ops, strict=True)
        )
    ]


def _grant(j: _Judgement, statement: Statement, key: str, intent: Intent) -> None:
    """An Allow in an identity policy: a grant limited to the secure values is the
    least-privilege pattern (no finding); one that names the values the guardrail denies
    grants them explicitly (a warning: no fix, a grant is its owner's decision)."""
    explicit: list[str | None] = [
        v for v in _granted(statement, key, intent) if v is not None and v in intent.denied
    ]
    secure = min((v for v in intent.secure if v is not None), default=intent.value)
    if not explicit:
        return
    conditions = _conditions_on(statement, key)
    j.report(
        conditions[0].operator.span,
        f"an Allow in an identity policy that grants {intent.say(explicit)} explicitly "
        f"({conditions[0].operator.value} {intent.key} {_listed(conditions[0].values)}): the "
        "principals it is attached to may do what the IMDSv2 guardrail denies",
        "warning",
        False,
        f"grant only the secure setting ({intent.key} {secure})",
        "a grant is its owner's decision: no fix turns it into a Deny or changes what it grants",
    )


def _effect(j: _Judgement, statement: Statement, intent: Intent, kind: str) -> None:
    if statement.effect is not None:
        ok = j.correct(statement.effect, "Deny")
        span = statement.effect.span
        what = f"Effect {statement.effect.value}"
    else:
        ok = j.deny(statement)
        span = statement.span
        what = (
            f"no Effect (the default is {statement.default_effect})"
            if statement.default_effect
            else "no Effect"
        )
    no_fix = "no effect can be written here"
    lets = intent.say(sorted(intent.denied, key=str))
    written = statement.effect.value if statement.effect is not None else None
    severity = "error"
    if statement.effect is None and not statement.default_effect:
        message = (
            f"{what}: IAM rejects a statement without an Effect, so the policy cannot be saved "
            f"as written and denies nothing: {lets} go through"
        )
    elif written is not None and written.lower() not in ("allow", "deny"):
        message = (
            f"{what}: an Effect is Allow or Deny, so IAM rejects the policy as written and it "
            f"denies nothing: {lets} go through"
        )
    elif kind == UNKNOWN_KIND:
        # Not known to be an SCP: in an identity policy the Allow is a grant, which must
        # never be turned into a Deny.
        explicit = [
            v for v in _granted(statement, intent.key.lower(), intent) if v in intent.denied
        ]
        message = (
            f"{what}: in an SCP or RCP an Allow never denies, so {lets} go through; in an "
            "identity policy it is a grant"
            + (
                f", and this one grants {intent.say(explicit)} explicitly"
                if explicit
                else " limited to the secure setting, which is right as it is"
            )
        )
        severity = "error" if explicit else "warning"
        ok = False
        no_fix = (
            "whether the document is an SCP (make it a Deny) or an identity policy (a grant, "
            "never turned into a Deny) is not known here"
        )
    else:
        message = (
            f"{what}: an Allow never denies — it restricts only where no other policy allows "
            "the action (FullAWSAccess beside the SCP), "
            f"so {lets} go through"
        )
    j.report(
        span,
        f"{message}; the guardrail is a Deny with {intent.operator} {intent.value}",
        severity,
        ok,
        f"make it a Deny with {intent.operator} {intent.key} {intent.value}",
        no_fix,
    )


def _absent_holds(statement: Statement, key: str) -> bool:
    """Is every condition on ``key`` true where the key is absent?"""
    conditions = _conditions_on(statement, key)
    return all(
        Operator(c.operator.value or "").holds(tuple(v.value or "" for v in c.values), None)
        for c in conditions
    )


def _launch_action(j: _Judgement, statement: Statement, intent: Intent) -> None:
    listed = _listed(statement.actions)
    kind = "NotAction" if statement.not_action else "Action"
    modify = _covers(statement, MODIFY)
    why = (
        f"{intent.key} is the launch's setting, in the request context of ec2:RunInstances, and "
        "the statement does not apply to ec2:RunInstances"
    )
    if modify:
        why += (
            f" (on {MODIFY} the key is the instance's current setting, not the one asked for: "
            "ec2:Attribute/HttpTokens is)"
        )
    why += ", so it denies no launch"
    if _absent_holds(statement, intent.key.lower()) and not statement.not_action:
        why += (
            f"; on {listed} the key is absent, where the condition is true: it denies every "
            f"{listed} request instead"
        )
    single = len(statement.actions) == 1 and not statement.not_action
    ok = single and j.correct(statement.actions[0], RUN)
    span = statement.actions[0].span if statement.actions else statement.span
    j.report(
        span,
        f"{kind} {listed}: {why}",
        "error",
        ok,
        f"make the Action {RUN}",
        "only a single Action can be rewritten: add ec2:RunInstances to the list",
    )


# Actions on existing instances whose request context holds the instance keys, as the current
# setting (Service Authorization Reference, Amazon EC2: the instance resource's condition keys).
_EXISTING = (
    MODIFY,
    "ec2:StopInstances",
    "ec2:StartInstances",
    "ec2:TerminateInstances",
    "ec2:RebootInstances",
    "ec2:CreateTags",
)


def _existing_instances(j: _Judgement, statement: Statement, key: str, intent: Intent) -> None:
    """A launch key on a statement that also covers actions on existing instances: there the
    key is the instance's current setting, so the statement denies them on every instance not
    yet migrated — ModifyInstanceMetadataOptions, the migration itself, first of all."""
    covered = [a for a in _EXISTING if _covers(statement, a)]
    if not covered:
        return
    kind = "NotAction" if statement.not_action else "Action"
    which = (
        "every instance that still allows IMDSv1"
        if key == TOKENS
        else "every instance whose hop limit is above the limit"
    )
    others = [a for a in covered if a != MODIFY]
    what = (
        f"{kind} {_listed(statement.actions, 8)} also covers actions on existing instances, where "
        f"{intent.key} is the instance's current setting: "
    )
    if MODIFY in covered:
        what += (
            f"the statement denies {MODIFY} on {which} — the migration itself "
            "(modify-instance-metadata-options --http-tokens required)"
            if key == TOKENS
            else f"the statement denies {MODIFY} on {which} — the change that lowers it"
        )
        if others:
            what += f", and {', '.join(others)} on them"
    else:
        what += f"the statement denies {', '.join(others)} on {which}"
    single = len(statement.actions) == 1 and not statement.not_action
    ok = single and j.correct(statement.actions[0], RUN)
    j.report(
        statement.actions[0].span if statement.actions else statement.span,
        what,
        "error",
        ok,
        f"make the Action {RUN} (deny {MODIFY} in a statement of its own if wanted)",
        "the statement must be split: ec2:RunInstances alone in the statement with the "
        f"{intent.key} condition, the other actions in a statement of their own (an edit of "
        "one Action string cannot do that)"
        if not statement.not_action
        else f"a NotAction cannot be narrowed to {RUN} by an edit of its values: split the "
        "statement",
    )


# On ModifyInstanceMetadataOptions the value asked for is ec2:Attribute/<parameter>.
_ATTRIBUTES = {TOKENS: "ec2:Attribute/HttpTokens", HOP: "ec2:Attribute/HttpPutResponseHopLimit"}


def _current_setting(j: _Judgement, statement: Statement, key: str, intent: Intent) -> None:
    """A launch key on a statement about ModifyInstanceMetadataOptions: there it holds the
    instance's current setting, not the one the change asks for."""
    attribute = _ATTRIBUTES[key]
    conditions = _conditions_on(statement, key)
    ok = all(j.correct(c.key, attribute) for c in conditions)
    if key == TOKENS:  # the corrected statement is no-opt-out's condition
        ok = ok and all(
            j.correct(c.operator, "StringNotEquals")
            and all(j.correct(v, "required") for v in c.values)
            for c in conditions
        )
    lets = (
        "changes of instances that require tokens to optional (the opt-out) go through, and the "
        "migration of instances that allow IMDSv1 is denied"
        if key == TOKENS
        else "the hop limit a change asks for is not what it compares"
    )
    j.report(
        conditions[0].key.span,
        f"{intent.key} on {MODIFY} is the instance's current setting, not the one the change "
        f"asks for ({attribute} is): {lets}",
        "error",
        ok,
        f"compare {attribute}",
        "the condition key cannot be edited where it is written",
    )


def _role_scope(
    j: _Judgement, statement: Statement, actions_known: bool, resources_known: bool
) -> None:
    everything = not statement.not_action and any(a.value == "*" for a in statement.actions)
    if actions_known and not everything:
        listed = _listed(statement.actions)
        kind = "NotAction" if statement.not_action else "Action"
        single = len(statement.actions) == 1 and not statement.not_action
        ok = single and j.correct(statement.actions[0], "*")
        scope = (
            "credentials IMDSv1 delivered still call the actions it lists"
            if statement.not_action
            else "credentials IMDSv1 delivered are denied only these actions and still call "
            "every other one (an SSRF that reads them gets S3, IAM, ...)"
        )
        j.report(
            statement.actions[0].span if statement.actions else statement.span,
            f"{kind} {listed}: {scope}; the guardrail denies them every action",
            "error",
            ok,
            'make the Action "*"',
            "only a single Action can be rewritten",
        )
    if not resources_known:
        return
    if statement.not_resource or not any(r.value == "*" for r in statement.resources):
        listed = _listed(statement.resources)
        kind = "NotResource" if statement.not_resource else "Resource"
        single = len(statement.resources) == 1 and not statement.not_resource
        ok = single and j.correct(statement.resources[0], "*")
        j.report(
            statement.resources[0].span if statement.resources else statement.span,
            f"{kind} {listed}: credentials IMDSv1 delivered are denied only on "
            f"{'the resources it does not list' if statement.not_resource else 'these resources'}"
            '; the guardrail denies them on every resource ("*")',
            "error",
            ok,
            'make the Resource "*"',
            "only a single Resource can be rewritten",
        )


def _resources(statement: Statement) -> tuple[bool, list[str]]:
    """Does the statement apply to the instance, and to which of the launch's other resources?"""

    def applies(resource: str) -> bool:
        hit = any(_arn_matches(r.value or "", resource) for r in statement.resources)
        return not hit if statement.not_resource else hit

    others = [r.split("/", 1)[0] for r in _OTHER_RESOURCES if applies(r)]
    return applies(_INSTANCE), others


def _condition(
    j: _Judgement,
    statement: Statement,
    key: str,
    intent: Intent,
    allow: bool,
    launch: bool = True,
    resources_known: bool = True,
) -> None:
    """The condition on ``key``: its operator family, then what it denies on the request
    (the launch's instance, the change) against what the guardrail denies. ``launch`` False:
    the statement does not apply to RunInstances (the action finding says so), and only an
    operator that is wrong whatever the action is reported."""
    conditions = _conditions_on(statement, key)
    operators = [Operator(c.operator.value or "") for c in conditions]
    shown = " and ".join(f"{c.operator.value} {_listed(c.values)}" for c in conditions)
    # The corrected condition: one operator, the intended value (duplicates are harmless).
    if len(conditions) == 1 and not conditions[0].values:
        fix_ok = False
        no_fix = f'no value is written to correct: write {intent.operator} ["{intent.value}"]'
    elif len(conditions) == 1:
        fix_ok = j.correct(conditions[0].operator, intent.operator) and all(
            j.correct(v, intent.value) for v in conditions[0].values
        )
        no_fix = "the operator or a value cannot be edited where it is written"
    else:
        fix_ok = False
        no_fix = f"remove all but one condition on {intent.key} (an edit of values cannot)"
    help = f"use {intent.operator} {intent.key} {intent.value}"
    unknown = [c for c, op in zip(conditions, operators, strict=True) if not op.known]
    if unknown:
        j.report(
            unknown[0].operator.span,
            f"{unknown[0].operator.value} is not an IAM condition operator: IAM rejects the "
            "policy, or the statement never applies",
            "error",
            fix_ok,
            help,
            no_fix,
        )
        return
    family_ok = all(
        (op.base in _NUMERIC if intent.numeric else op.base in _STRING) or op.base == "null"
        for op in operators
    )
    if not launch:
        return
    instance, others = _resources(statement) if resources_known else (True, [])
    if allow:
        # The effect finding says what the Allow lets through; the corrected statement (a Deny
        # with the intended operator) must also have a Resource that fits it.
        if key in (TOKENS, HOP):
            absent = Operator(intent.operator).holds((intent.value,), None)
            _launch_resources(j, statement, intent, instance, others, absent, corrected=True)
        return

    written = tuple(
        (c.operator.value or "", tuple(v.value or "" for v in c.values)) for c in conditions
    )
    on_instance = _denied(written, intent.domain)
    absent = None in on_instance
    if key in (TOKENS, HOP) and resources_known:
        _launch_resources(j, statement, intent, instance, others, absent)
    weaker = [v for v in intent.domain if v in intent.denied and v not in on_instance]
    over = [v for v in intent.domain if v in on_instance and v not in intent.denied]
    if key == ATTRIBUTE_TOKENS:
        over = []  # denying more changes than opt-outs is what no-modify does
    empty = [c for c in conditions if not c.values]
    if not family_ok:
        # IAM compares the text with a string operator (and a numeric one finds no number in
        # a string key): what it then denies is said as evaluated, always an error.
        kind = "a number" if intent.numeric else "a string"
        parts = []
        if weaker:
            parts.append(f"it lets {intent.say(weaker)} through")
        if over:
            parts.append(f"it is over-broad: it denies {intent.say(over)}")
        if not parts:
            parts.append("it matches only the value as written, not the number it stands for")
        j.report(
            conditions[0].operator.span,
            f"{shown} compares {intent.key}, which is {kind} (Service Authorization Reference), "
            f"with a {'string' if intent.numeric else 'numeric'} operator, so IAM compares "
            f"{'the text' if intent.numeric else 'no number'}: " + "; ".join(parts) + "; the "
            f"guardrail ({intent.statement}) is {intent.operator} {intent.value}",
            "error",
            fix_ok,
            help,
            no_fix,
        )
        return
    if empty and not weaker and not over:
        weaker = [None]  # unreachable in practice: an empty list compares with nothing
    if not weaker and not over:
        return
    parts = []
    if weaker:
        note = ""
        if None in weaker:
            note = (
                f" ({intent.key} is absent from {intent.say([None])}, and a condition on an "
                "absent key is false unless its operator is negated or ...IfExists)"
            )
        parts.append(f"lets {intent.say(weaker)} through{note}")
    if over:
        note = ""
        if None in over:
            if any(op.if_exists for op in operators):
                note = f" ({intent.key} is absent from them, and ...IfExists is true then)"
            elif any(op.negated for op in operators):
                note = f" ({intent.key} is absent from them, and a negated operator is true then)"
        parts.append(f"denies {intent.say(over)}{note}")
    severe = bool(weaker) or any(
        v in intent.secure and (v is not None or key == ROLE) for v in over
    )
    if key == HOP and over and not weaker:
        severe = False  # launches break visibly; nothing is let through
    value_only = (
        len(conditions) == 1
        and operators[0].base == intent.operator.lower()
        and not operators[0].if_exists
        and not operators[0].qualifier
    )
    span = (
        conditions[0].values[0].span
        if value_only and conditions[0].values
        else conditions[0].operator.span
    )
    if empty:
        parts.append(
            "has an empty list of values, which compares the key with nothing (IAM may reject "
            "the policy)"
        )
    j.report(
        span,
        f"{shown} on {intent.key} " + "; it ".join(parts) + f"; the guardrail "
        f"({intent.statement}) is {intent.operator} {intent.value}",
        "error" if severe else "warning",
        fix_ok,
        help,
        no_fix,
    )


@lru_cache(maxsize=1024)
def _denied(
    written: tuple[tuple[str, tuple[str, ...]], ...], domain: tuple[str | None, ...]
) -> frozenset[str | None]:
    """The values of ``domain`` (None: absent) for which every condition ``(operator, values)``
    is true. Cached: an organisation's policies repeat the same few conditions."""
    operators = [(Operator(op), values) for op, values in written]
    return frozenset(v for v in domain if all(op.holds(values, v) for op, values in operators))


def _launch_resources(
    j: _Judgement,
    statement: Statement,
    intent: Intent,
    instance: bool,
    others: list[str],
    absent: bool,
    corrected: bool = False,
) -> None:
    """The Resource of a launch statement: it must match the instance, and a condition that is
    true when the key is absent must not match the launch's other resources. ``corrected``: the
    statement is an Allow, judged as the Deny it is corrected into."""
    over = bool(others) and absent
    if instance and not over:
        return
    if corrected:
        listed = _listed(statement.resources)
        kind = "NotResource" if statement.not_resource else "Resource"
        ok = not statement.not_resource and bool(statement.resources)
        ok = ok and all(j.correct(r, INSTANCES) for r in statement.resources)
        j.report(
            statement.resources[0].span if statement.resources else statement.span,
            f"{kind} {listed} does not fit the Deny this Allow is corrected into: with "
            f"{intent.operator} it must match the instance alone ({INSTANCES}), the only "
            f"resource whose request context holds {intent.key}",
            "error",
            ok,
            f"make the Resource {INSTANCES}",
            "a NotResource cannot be rewritten into a Resource by an edit of its values",
        )
        return
    listed = _listed(statement.resources)
    kind = "NotResource" if statement.not_resource else "Resource"
    if not instance:
        what = (
            f"{kind} {listed} does not match the instance (arn:aws:ec2:*:*:instance/*), the only "
            f"resource whose request context holds {intent.key}"
        )
        if over:
            what += (
                f", and matches the launch's {', '.join(others)}, where the key is absent and "
                "the condition is true: the statement denies every launch"
            )
        else:
            what += ": the statement denies no launch"
    else:
        what = (
            f"{kind} {listed} also matches the launch's {', '.join(others)}: {intent.key} is "
            "absent from their request context, where the condition is true, so the statement "
            "denies every launch, IMDSv2 or not"
        )
    ok = not statement.not_resource and bool(statement.resources)
    ok = ok and all(j.correct(r, INSTANCES) for r in statement.resources)
    # Point at the entry that goes wrong: the first that matches another resource of the
    # launch (where the statement denies every launch), or the first entry.
    wrong = [
        r
        for r in statement.resources
        if any(_arn_matches(r.value or "", other) for other in _OTHER_RESOURCES)
    ]
    at = (wrong if over and wrong and not statement.not_resource else statement.resources)[:1]
    j.report(
        at[0].span if at else statement.span,
        what,
        "error",
        ok,
        f"make the Resource {INSTANCES}",
        "a NotResource cannot be rewritten into a Resource by an edit of its values",
    )


def _endpoint(j: _Judgement, statement: Statement, key: str) -> None:
    """A condition on ec2:MetadataHttpEndpoint beside a launch key: it must hold for launches
    that omit the endpoint (most do), or the statement denies none of them."""
    if key not in (TOKENS, HOP):
        return
    for c in _conditions_on(statement, ENDPOINT):
        op = Operator(c.operator.value or "")
        if op.known and not op.holds(tuple(v.value or "" for v in c.values), None):
            j.report(
                c.operator.span,
                f"{c.operator.value} on ec2:MetadataHttpEndpoint is false for launches that do "
                "not set the endpoint (the key is then absent), and conditions are ANDed: the "
                "statement denies none of those launches",
                "error",
                False,
                "remove the condition on ec2:MetadataHttpEndpoint, or make it ...IfExists",
                "removing a condition is not an edit of its values",
            )


def _judge_modify(j: _Judgement, statement: Statement, table: dict[str, Intent], kind: str) -> None:
    """A statement on ec2:ModifyInstanceMetadataOptions without a launch key: no-modify (deny
    every change) or no-opt-out (deny changes to optional tokens)."""
    effect = statement.effect.value if statement.effect is not None else statement.default_effect
    if not effect or effect.lower() != "deny":
        _effect(j, statement, table[ATTRIBUTE_TOKENS], kind)
    _exempt_all(j, statement)
    instance, _ = _resources(statement)
    if "Resource" not in j.unread and not instance:
        listed = _listed(statement.resources)
        kind = "NotResource" if statement.not_resource else "Resource"
        single = len(statement.resources) == 1 and not statement.not_resource
        ok = single and j.correct(statement.resources[0], INSTANCES)
        j.report(
            statement.resources[0].span if statement.resources else statement.span,
            f"{kind} {listed} does not match the instance (arn:aws:ec2:*:*:instance/*) that "
            f"{MODIFY} changes: the statement denies no change",
            "error",
            ok,
            f"make the Resource {INSTANCES}",
            "only a single Resource can be rewritten",
        )
    if _conditions_on(statement, ATTRIBUTE_TOKENS):
        _condition(j, statement, ATTRIBUTE_TOKENS, table[ATTRIBUTE_TOKENS], False)


def check(target: Target, ctx: Context) -> Iterator[Finding]:
    """Targets are not this rule's: it judges policies."""
    return iter(())


RULE = Rule(
    id="IMDS010",
    name="weak-guardrail",
    title="A guardrail policy denies less than the IMDSv2 guardrail it is meant to be",
    severity="error",
    reads=(),
    check=check,
    fix=Fix(),
    security_severity="7.5",
    precision="high",
    checkov="CKV_IMDS_10",
    cfn_lint=CfnLintRule(
        "E9010",
        "imds-iac IMDS010 (weak-guardrail): a statement of an AWS::Organizations::Policy or IAM "
        "policy that names an IMDS condition key or ec2:ModifyInstanceMetadataOptions lets "
        "through requests the IMDSv2 guardrail denies (option hop_limit, default 1: the highest "
        "hop limit a launch may ask for).",
    ),
    options=(Option("hop_limit", DEFAULT_HOP_LIMIT),),
    policy=check_policy,
    noun=("weak guardrail statement", "weak guardrail statements"),
)
