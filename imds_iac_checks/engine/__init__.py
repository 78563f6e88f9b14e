"""The rule engine: pure functions from Targets to Findings.

Rules never see syntax: they read a Target's canonical settings (endpoint, tokens, hop limit) and
its :class:`~imds_iac_checks.model.KindSpec` (field names, what a fix would write). The rule
documentation lives in the catalog (``rules/*.toml``); ``RULES`` below holds only what a scan needs
at run time, and a test keeps the two in step.
"""

from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from imds_iac_checks.model import (
    DISABLED,
    ENDPOINT,
    HOP_LIMIT,
    REQUIRED,
    SAFE,
    TOKENS,
    TOO_COMPLEX,
    UNSAFE,
    Finding,
    LinkKind,
    Span,
    Target,
    Value,
    fix_safety,
    show,
)


class RuleInfo(NamedTuple):
    id: str
    name: str
    severity: str


RULES: dict[str, RuleInfo] = {
    r.id: r
    for r in (
        RuleInfo("IMDS001", "metadata-options-missing", "error"),
        RuleInfo("IMDS002", "tokens-not-required", "error"),
        RuleInfo("IMDS003", "hop-limit-above-threshold", "error"),
        RuleInfo("IMDS004", "not-statically-evaluable", "warning"),
    )
}

DEFAULT_HOP_LIMIT = 1


class Context(NamedTuple):
    """Per-target settings of a scan (they may differ by path)."""

    hop_limit: int = DEFAULT_HOP_LIMIT


def _finding(
    rule_id: str,
    target: Target,
    span: Span,
    message: str,
    *,
    fixable: bool,
    setting: str | None = None,
    value: Value | None = None,
) -> Finding:
    if target.used_by:
        message += f" (launch template of {', '.join(target.used_by)})"
    fix, note = applicability(target, value) if fixable else (None, None)
    label = target.address
    if target.instances is not None:
        many = f"{target.instances:,}" if target.instances < 10**15 else "more than 10^15"
        label += f" (every one of {many} instances)"
    return Finding(
        rule_id=rule_id,
        severity=RULES[rule_id].severity,
        message=f"[{label}] {message}",
        path=span.path,
        span=span,
        resource=target.address,
        kind=target.kind,
        fixable=fix is not None,
        setting=setting,
        fix=fix,
        fix_note=note,
        label=label,
        body=message,
    )


def applicability(target: Target, value: Value | None) -> tuple[str | None, str | None]:
    """Whether a fix of ``value`` (None: a setting or block to add to ``target``) would be safe.

    Safe: the edit stays inside the target's own resource, or is its own module-call argument.
    Unsafe: it edits something other resources may share (a variable default, a local, a tfvars
    entry, a parameter default, a mapping) or one branch of a condition; the note says what.
    Not fixable: recorded state (plans, describe outputs), values given on the command line.
    """
    if target.recorded_state:
        return None, None
    if value is None:
        return "safe", None
    link = value.provenance[0]
    where = link.span
    inside = (
        where.path == target.path
        and target.span.start_byte <= where.start_byte
        and where.end_byte <= target.span.end_byte
    )
    safety = fix_safety(link, inside)
    if safety is None:
        return None, None
    if value.condition:
        return UNSAFE, f"changes the value used when {value.condition}"
    if safety == SAFE:
        return SAFE, None
    return UNSAFE, (
        f"edits {link.description} at {where.path}:{where.line}, which other resources may share"
    )


def _where(value: Value) -> str:
    """Where a value comes from, when that is not simply where it stands: the branch of a
    conditional, and the place that uses it when it is written elsewhere (a parameter default)."""
    notes = []
    if value.condition:
        notes.append(f"when {value.condition}")
    if len(value.provenance) == 1 and value.provenance[0].kind not in (
        LinkKind.LITERAL,
        LinkKind.EXPRESSION,
    ):
        notes.append(value.provenance[0].description)
    if len(value.provenance) > 1:
        first, last = value.provenance[0], value.provenance[-1]
        via: list[str] = []
        for link in value.provenance[1:]:
            if link.description not in via and link.description != first.description:
                via.append(link.description)
        where = f"line {last.span.line}"
        if last.span.path != first.span.path:
            where = f"{last.span.path}:{last.span.line}"
        if via:
            notes.append(f"{first.description}, via {', '.join(via)} at {where}")
        else:
            notes.append(f"{first.description}, used at {where}")
    return f" ({'; '.join(notes)})" if notes else ""


def _recorded(target: Target) -> str:
    if not target.recorded_state:
        return ""
    return "; this file records state: fix the configuration and regenerate it"


def _endpoint_may_be_enabled(target: Target) -> bool:
    values = target.settings.get(ENDPOINT, ())
    if not values:
        return True  # absent: AWS enables the endpoint
    return not all(v.known and v.value == DISABLED for v in values)


def imds001_options_missing(target: Target, ctx: Context) -> Iterator[Finding]:
    """The resource sets no metadata options at all, so IMDSv1 stays allowed."""
    if not target.spec.needs_block or target.block_span is not None:
        return
    if target.template_ref is not None:
        return  # the options come from a launch template: see there, or IMDS004
    tokens = target.spec.suggest[TOKENS]
    yield _finding(
        "IMDS001",
        target,
        target.header,
        f"no {target.spec.label}, so IMDSv1 stays allowed; add one with "
        f"{target.field(TOKENS)} set to {tokens}{_recorded(target)}",
        fixable=True,
        setting=TOKENS,
    )


def imds002_tokens_not_required(target: Target, ctx: Context) -> Iterator[Finding]:
    """Tokens are optional (or not set) while the endpoint may be enabled."""
    if target.block_span is None or target.unknown_block is not None:
        return
    if not _endpoint_may_be_enabled(target):
        return
    field, good = target.field(TOKENS), target.spec.suggest[TOKENS]
    values = target.settings.get(TOKENS, ())
    if not values:
        if target.spec.absent_ok or target.template_ref is not None:
            return  # not set here: unchanged, or taken from the launch template
        yield _finding(
            "IMDS002",
            target,
            target.header,
            f"{target.spec.label} does not set {field}, so IMDSv1 stays allowed; "
            f"set {field} to {good}{_recorded(target)}",
            fixable=True,
            setting=TOKENS,
        )
        return
    for value in values:
        if not value.known or value.value == REQUIRED:
            continue
        if value.value is None:
            what = f"{field} is not set{_where(value)}, so IMDSv1 stays allowed"
        else:
            what = f"{field} is {show(value.raw)}{_where(value)}"
        yield _finding(
            "IMDS002",
            target,
            value.span,
            f"{what}; set it to {good}{_recorded(target)}",
            fixable=True,
            setting=TOKENS,
            value=value,
        )


def imds003_hop_limit(target: Target, ctx: Context) -> Iterator[Finding]:
    """The PUT response hop limit lets the session token travel further than the threshold."""
    if target.block_span is None or HOP_LIMIT not in target.spec.fields:
        return
    if target.unknown_block is not None:
        return
    if not _endpoint_may_be_enabled(target):
        return
    field = target.field(HOP_LIMIT)
    for value in target.settings.get(HOP_LIMIT, ()):
        if not value.known or value.problem or not isinstance(value.value, (int, float)):
            continue
        if value.value > ctx.hop_limit:
            yield _finding(
                "IMDS003",
                target,
                value.span,
                f"{field} is {show(value.raw)}{_where(value)}, above the limit of "
                f"{ctx.hop_limit}; set it to {ctx.hop_limit}{_recorded(target)}",
                fixable=True,
                setting=HOP_LIMIT,
                value=value,
            )


def imds004_not_evaluable(target: Target, ctx: Context) -> Iterator[Finding]:
    """A setting whose value cannot be resolved statically: never a silent pass."""
    ref = target.template_ref
    if ref is not None and target.inherits_from is None:
        where = ref.expression
        if ref.known:
            where += " (not in this module or stack)"
        yield _finding(
            "IMDS004",
            target,
            ref.span,
            f"takes its metadata options from launch template {where}, "
            "which could not be resolved statically",
            fixable=False,
        )
    if target.block_span is None:
        return
    if target.unknown_block is not None:
        yield _finding(
            "IMDS004",
            target,
            target.unknown_block.span,
            _not_evaluated(target.spec.label, target.unknown_block.expression),
            fixable=False,
        )
        return
    for key in (ENDPOINT, TOKENS, HOP_LIMIT):
        if key not in target.spec.fields:
            continue
        field = target.field(key)
        for value in target.settings.get(key, ()):
            if not value.known:
                yield _finding(
                    "IMDS004",
                    target,
                    value.span,
                    _not_evaluated(field, value.expression),
                    fixable=False,
                    setting=key,
                )
            elif value.problem:
                yield _finding(
                    "IMDS004",
                    target,
                    value.span,
                    f"{field} could not be evaluated: {value.problem}",
                    fixable=False,
                    setting=key,
                )


def _not_evaluated(what: str, expression: str) -> str:
    if expression.startswith(TOO_COMPLEX):
        return f"{what} is {expression}"  # "... is too complex to evaluate statically: why"
    return f"{what} could not be evaluated statically: {expression}"


Rule = Callable[[Target, Context], Iterable[Finding]]

RULE_FUNCTIONS: dict[str, Rule] = {
    "IMDS001": imds001_options_missing,
    "IMDS002": imds002_tokens_not_required,
    "IMDS003": imds003_hop_limit,
    "IMDS004": imds004_not_evaluable,
}


def evaluate(target: Target, ctx: Context, rules: Iterable[str] | None = None) -> list[Finding]:
    """Every finding of ``rules`` (default: all) on one target, in rule order. A rule that fails
    on a target (a defect) gives that target an IMDS004 finding instead of ending the scan."""
    found: list[Finding] = []
    for rule_id in rules if rules is not None else RULE_FUNCTIONS:
        try:
            found.extend(RULE_FUNCTIONS[rule_id](target, ctx))
        except Exception as exc:
            found.append(_failed(target, rule_id, exc))
    return found


def _failed(target: Target, rule_id: str, exc: Exception) -> Finding:
    body = f"could not be evaluated: internal error in {rule_id}: {type(exc).__name__}: {exc}"
    return Finding(
        rule_id="IMDS004",
        severity=RULES["IMDS004"].severity,
        message=f"[{target.address}] {body}",
        path=target.path,
        span=target.header,
        resource=target.address,
        kind=target.kind,
        fixable=False,
        label=target.address,
        body=body,
    )
