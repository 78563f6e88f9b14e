"""What a rule is, and the helpers every rule builds its findings with.

A rule is one module in this package declaring ``RULE = Rule(...)``: its id, name, severity, the
settings it reads, its check (a pure function from a :class:`~imds_iac_checks.model.Target` to
:class:`~imds_iac_checks.model.Finding` objects), how ``imds-iac fix`` plans its fix, and how the
reports and plugins present it. A rule with an ``audit`` judges the scan's own suppressions
instead of targets: a pure function from a :class:`Suppression` (one code of an
``imds-iac: ignore``, and whether it suppressed anything) to findings, which
:mod:`imds_iac_checks.suppress` calls once the other rules' findings are suppressed.
Nothing outside the rule's own module names its id: the engine, the fixer, every report writer,
suppressions, ``imds-iac rules`` and both plugins iterate over
:data:`imds_iac_checks.rules.REGISTRY`. The rule's documentation is its catalog entry
(``rules/<id>.toml``), joined to it by id.

Rules never see syntax: they read a target's canonical settings and its
:class:`~imds_iac_checks.model.KindSpec` (field names, the literal a fix writes).
"""

from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from imds_iac_checks.model import (
    DISABLED,
    ENDPOINT,
    IMDS_SUPPORT,
    SAFE,
    TOKENS,
    UNSAFE,
    Finding,
    Hazard,
    LinkKind,
    Policy,
    Scalar,
    Span,
    Statement,
    Target,
    Value,
    fix_safety,
    module_decides,
    show,
)
from imds_iac_checks.project import rule_url

DEFAULT_HOP_LIMIT = 1

# How the message of a policy rule's finding begins when part of a policy could not be read: the
# statement is reported, not judged (the plugins give such a policy no verdict, as for a value
# that could not be evaluated).
NOT_JUDGED = "could not be judged"

# A rule that judges the options block itself (its presence) rather than one setting in it lists
# this pseudo-setting in ``Rule.reads``.
OPTIONS_BLOCK = "options_block"


class Context(NamedTuple):
    """Per-target options of a scan (they may differ by path): each field is a rule option."""

    hop_limit: int = DEFAULT_HOP_LIMIT


class Option(NamedTuple):
    """An option a rule reads from :class:`Context` (``hop_limit``): its default and type, as
    cfn-lint's ``--configure-rule`` takes it."""

    name: str
    default: Scalar
    type: str = "integer"


class Fix(NamedTuple):
    """How ``imds-iac fix`` plans the fix of a finding of the rule.

    A finding on a written value replaces the value with the secure literal for its setting
    (where the provenance says it is written). A finding on a setting the options block lacks
    adds the setting to the block. With ``adds_block`` the finding is on a resource without an
    options block, and the fix adds the whole block, with every setting the kind declares."""

    adds_block: bool = False


class CfnLintRule(NamedTuple):
    """The rule as a cfn-lint rule (``cfn-lint --append-rules``): cfn-lint's id (``E`` for an
    error, ``W`` for a warning) and its one-paragraph description."""

    id: str
    description: str


Check = Callable[[Target, Context], Iterable[Finding]]


class Suppression(NamedTuple):
    """One code of an imds-iac suppression — in a comment (``# imds-iac: ignore[IMDS003]``) or
    in a CloudFormation resource's ``Metadata`` — and what the scan made of it: what a rule that
    judges suppressions (``Rule.audit``) reads. Other tools' suppressions (checkov skips,
    cfn-lint ``ignore_checks``) are theirs to judge and never appear here."""

    span: Span  # the code as written; the whole comment for a bare ``ignore``
    code: str | None  # as written; None: a bare ``ignore`` (every rule)
    rules: tuple[str, ...]  # the rule ids it names (an id, a prefix of ids, a name); () unknown
    used: bool  # it suppressed a finding of this scan
    enabled: bool  # a rule it names is enabled (--select, --ignore, configuration) for the file
    resource: str  # the resource it sits in or on ("" outside every resource)
    fixable: bool  # ``imds-iac fix`` can remove it (a comment: yes; Metadata: by hand)


Audit = Callable[[Suppression], Iterable[Finding]]
HazardCheck = Callable[[Hazard, Context], Iterable[Finding]]
PolicyCheck = Callable[[Policy, Context], Iterable[Finding]]


class Rule(NamedTuple):
    """One rule. See the module docstring and CONTRIBUTING.md ("Adding a rule")."""

    id: str  # IMDS001, ...: the next free id
    name: str  # kebab-case, unique: used in doc anchors and class names
    title: str  # one line, no final full stop (the catalog's title)
    severity: str  # "error" | "warning"
    reads: tuple[str, ...]  # the setting keys it judges (OPTIONS_BLOCK: the block itself)
    check: Check
    # How its findings are fixed; None: never automatically, for the reason in ``no_fix``.
    fix: Fix | None = None
    no_fix: str = ""
    security_severity: str = "5.0"  # SARIF security-severity (CVSS-like, 0.0-10.0)
    precision: str = "very-high"  # SARIF precision
    # Equivalent checks of other tools (tool -> ids): their suppressions also suppress this rule,
    # and the docs list them.
    peers: Mapping[str, tuple[str, ...]] = {}
    checkov: str | None = None  # the check id in imds-iac's checkov plugin
    cfn_lint: CfnLintRule | None = None  # the rule in imds-iac's cfn-lint plugin
    options: tuple[Option, ...] = ()
    # This rule reports what could not be evaluated: a rule that fails on a target (a defect)
    # gives the target a finding of this rule instead of ending the scan. Exactly one rule.
    unevaluable: bool = False
    # Settings that can only silence the rule (the endpoint: IMDS turned off leaves nothing to
    # enforce). Plugins list them among the keys the rule evaluates.
    silenced_by: tuple[str, ...] = ()
    # A rule that judges suppressions rather than targets (see :class:`Suppression`): its
    # ``check`` finds nothing on a target, and its findings are suppressed only by a code that
    # names it exactly (its id or name) on the same line or in the same Metadata — never by a
    # bare ``ignore`` or a prefix, which would hide the dead code the rule reports.
    audit: Audit | None = None
    # A rule that judges hazards — code that runs on instances and breaks when IMDSv2 is
    # required (see :class:`~imds_iac_checks.model.Hazard`) — rather than targets: its ``check``
    # finds nothing on a target, and ``hazard`` is called once per hazard the scan found (each
    # hazard once, with every instance it runs on). ``kinds``: the Hazard kinds it judges.
    hazard: HazardCheck | None = None
    kinds: tuple[str, ...] = ()
    # A rule that judges guardrail policies (see :class:`~imds_iac_checks.model.Policy`) rather
    # than targets: its ``check`` finds nothing on a target, and ``policy`` is called once per
    # policy document the scan read. Its fixes are the edits its findings carry (always unsafe:
    # they change what the organisation denies).
    policy: PolicyCheck | None = None
    # How reports count the rule's findings, singular and plural ("IMDSv1 call", "IMDSv1
    # calls"); None: "<name> finding(s)".
    noun: tuple[str, str] | None = None

    @property
    def url(self) -> str:
        """The rule's documentation page (docs/rules/<id>.md, generated from its catalog entry):
        what every report links a finding to."""
        return rule_url(self.id)

    @property
    def class_name(self) -> str:
        """The rule's name as a class name (SARIF ``name``, the cfn-lint rule class)."""
        return "".join(part.capitalize() for part in self.name.split("-"))


# --- building findings ------------------------------------------------------------------------


def finding(
    rule: Rule,
    target: Target,
    span: Span,
    message: str,
    *,
    fixable: bool,
    setting: str | None = None,
    value: Value | None = None,
    help: str | None = None,
) -> Finding:
    """A finding of ``rule`` on ``target`` at ``span``; ``message`` says what and why, and the
    finding's message is prefixed with the target's address (``[aws_instance.web] ...``).
    ``help`` is the instruction the message ends with, said on its own (``set http_tokens to
    "required"``): the full text report prints it as its ``help:`` line."""
    if target.used_by:
        message += f" ({target.spec.template_noun} of {', '.join(target.used_by)})"
    if target.only_when:
        message += f" (the resource exists only when {target.only_when})"
    fix, note = applicability(target, value) if fixable and rule.fix is not None else (None, None)
    if fix is not None and target.blocked_by and _requires_tokens(rule, setting):
        # Code on these instances still calls IMDSv1: requiring tokens would break it.
        fix, note = UNSAFE, f"{BREAKS} {_calls(target.blocked_by)}; fix that first"
    elif fix == SAFE and target.fix_unsafe and _requires_tokens(rule, setting):
        fix, note = UNSAFE, target.fix_unsafe
    label = target.address
    if target.instances is not None:
        many = f"{target.instances:,}" if target.instances < 10**15 else "more than 10^15"
        label += f" (every one of {many} instances)"
    return Finding(
        rule_id=rule.id,
        severity=rule.severity,
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
        help=help,
    )


# How a fix note begins when the fix would break code on the instances (``imds-iac fix`` then
# says to fix that first, or to add --unsafe-fixes).
BREAKS = "requiring tokens would break the IMDSv1"


def _requires_tokens(rule: Rule, setting: str | None) -> bool:
    """Does the fix of this finding make the target require tokens? A fix of the tokens
    setting, or one that adds the whole options block (with tokens required)."""
    if setting in (TOKENS, IMDS_SUPPORT):  # an IMDSv2-only AMI's instances require tokens
        return True
    return setting is None and rule.fix is not None and rule.fix.adds_block


def _calls(places: tuple[str, ...]) -> str:
    """``call at user-data.sh:14`` / ``calls at a.sh:3, b.sh:9 and 2 more``."""
    if len(places) == 1:
        return f"call at {places[0]}"
    shown = ", ".join(places[:3])
    if len(places) > 3:
        shown += f" and {len(places) - 3} more"
    return f"calls at {shown}"


def suppression_finding(rule: Rule, s: Suppression, message: str) -> Finding:
    """A finding of ``rule`` (one with an ``audit``) on the suppression code ``s``; its fix (safe)
    removes the code, or the whole comment when nothing else is left in it."""
    return Finding(
        rule_id=rule.id,
        severity=rule.severity,
        message=f"[{s.resource}] {message}" if s.resource else message,
        path=s.span.path,
        span=s.span,
        resource=s.resource,
        kind="suppression",
        fixable=s.fixable,
        fix=SAFE if s.fixable else None,
        label=s.resource or None,
        body=message,
    )


def hazard_finding(
    rule: Rule,
    hazard: Hazard,
    message: str,
    *,
    severity: str | None = None,
    help: str | None = None,
) -> Finding:
    """A finding of ``rule`` (one with a ``hazard`` check) on ``hazard``: at the hazard's span,
    labelled with the target whose user data it is (or the file), fixable by the hazard's own
    edits (always unsafe: they change what the code does). ``severity`` overrides the rule's
    (an IMDSv1 call on instances that already require tokens fails today: an error)."""
    label = hazard.owner or None
    fixable = bool(hazard.edits)
    return Finding(
        rule_id=rule.id,
        severity=severity or rule.severity,
        message=f"[{label}] {message}" if label else message,
        path=hazard.span.path,
        span=hazard.span,
        resource=hazard.owner or hazard.span.path,
        kind=hazard.payload,
        fixable=fixable,
        fix=UNSAFE if fixable else None,
        fix_note=(hazard.change or "changes what the code does")
        if fixable
        else (hazard.no_fix or None),
        label=label,
        body=message,
        help=help,
        edits=hazard.edits,
    )


def policy_finding(
    rule: Rule,
    policy: Policy,
    statement: Statement | None,
    span: Span,
    message: str,
    *,
    edits: tuple[tuple[str, int, int, bytes], ...] = (),
    change: str = "",
    no_fix: str = "",
    help: str | None = None,
    severity: str | None = None,
) -> Finding:
    """A finding of ``rule`` (one with a ``policy`` check) on ``policy`` at ``span``, labelled
    with the policy and the statement (``aws_organizations_policy.imds statement DenyV1``).
    ``edits`` fix it, as byte-range edits of files (always unsafe: the policy then denies what
    it let through); ``change`` says what they do, ``no_fix`` why there are none."""
    label = policy.address
    if statement is not None and statement.label:
        label += f" {statement.label}"
    fixable = bool(edits) and not policy.no_fix
    return Finding(
        rule_id=rule.id,
        severity=severity or rule.severity,
        message=f"[{label}] {message}",
        path=span.path,
        span=span,
        resource=policy.address,
        kind=policy.what,
        fixable=fixable,
        fix=UNSAFE if fixable else None,
        fix_note=(change or "corrects the statement")
        if fixable
        else (policy.no_fix or no_fix or None),
        label=label,
        body=message,
        help=help,
        edits=edits if fixable else (),
    )


# How to override a registry module's own default (no fix edits the module's code).
_INPUT = "override it with the module call's metadata_options input"
_OVERRIDE = {
    LinkKind.NODE_GROUP_DEFAULT: (
        "set metadata_options in the node group's entry of the module call (before 21.0 the "
        "*_node_group_defaults input can set it for every group)"
    ),
    LinkKind.EKS_OWN_TEMPLATE: (
        "let the module make the node group's launch template (remove the argument that turns "
        "it off) and set its metadata_options"
    ),
}


def applicability(target: Target, value: Value | None) -> tuple[str | None, str | None]:
    """Whether a fix of ``value`` (None: a setting or block to add to ``target``) would be safe.

    Safe: the edit stays inside the target's own resource, or is its own module-call argument.
    Unsafe: it edits something other resources may share (a variable default, a local, a tfvars
    entry, a parameter default, a mapping) or one branch of a condition; the note says what.
    Not fixable: recorded state (plans, describe outputs), values given on the command line or
    in the environment (the note then says where to change it).
    """
    if target.recorded_state:
        return None, None
    if target.no_fix:
        return None, target.no_fix
    if value is None:
        return "safe", None
    decision = value.decision
    link = value.provenance[0]
    if decision is not None and decision.actionable:
        # The fix changes the decision, never the branch (that would make the input a no-op).
        link = decision.input_link or link
    elif (
        decision is not None
        and decision.reads_input
        and decision.other in target.spec.suggest.values()
    ):
        # Writing the secure literal over this branch would make both branches the same.
        why = decision.why or "no value that decides it is known"
        return None, f"the other branch is already {decision.other}; {why}"
    else:
        decision = None  # the branch's own value is fixed, as any value
    where = link.span
    inside = (
        where.path == target.path
        and target.span.start_byte <= where.start_byte
        and where.end_byte <= target.span.end_byte
    )
    safety = fix_safety(link, inside)  # from the kind of place the value is written in
    if safety is None:
        if link.kind == LinkKind.NOT_WRITTEN:
            return None, link.subject  # why no fix writes it
        if module_decides(link):
            return None, f"the value is {link.description}: {_OVERRIDE.get(link.kind, _INPUT)}"
        return None, f"the value is {link.description}: change it where it is given"
    if value.condition:
        return UNSAFE, f"changes the value used when {value.condition}"
    if safety == SAFE:
        return SAFE, None
    if decision is not None:
        return UNSAFE, (
            f"edits {link.description} at {where.path}:{where.line}, which decides "
            f"{decision.condition}; whatever else reads it changes too"
        )
    return UNSAFE, (
        f"edits {link.description} at {where.path}:{where.line}, which other resources may share"
    )


def remedy(value: Value, field: str, good: object) -> str:
    """What to do about a value: ``set <field> to <good>``, or, for a value a decided
    conditional chose, change what decides it (``set var.use_imds_v2 to true``): setting the
    branch itself would make the input a no-op."""
    decision = value.decision
    if decision is None or not (
        decision.actionable or (decision.reads_input and decision.other == str(good))
    ):
        return f"set {field} to {good}"
    other = "false" if decision.taken else "true"
    if decision.actionable:
        todo = f"set {decision.subject} to {show(decision.flip)}"
        if decision.condition != decision.subject:
            todo += f" so that {decision.condition} is {other}"
        return todo
    return f"make {decision.condition} {other}"


def where(value: Value) -> str:
    """Where a value comes from, when that is not simply where it stands: the branch of a
    conditional, the place that uses it when it is written elsewhere (a parameter default), and
    why a conditional whose condition is decided took its branch."""
    notes = []
    if value.condition:
        notes.append(f"when {value.condition}")
    chain = [link for link in value.provenance if link.kind != LinkKind.DECISION]
    decision = value.decision
    written_in_branch = (
        decision is not None
        and bool(chain)
        and chain[0].kind in (LinkKind.LITERAL, LinkKind.EXPRESSION)
        and chain[0].span.path == decision.at.path
    )
    if written_in_branch:
        pass  # the value is written in the conditional itself: the decision says it all
    elif chain and not chain[0].span.path:
        notes.append(_given(value))
    elif len(chain) == 1 and chain[0].kind not in (
        LinkKind.LITERAL,
        LinkKind.EXPRESSION,
        LinkKind.TOO_COMPLEX,
        LinkKind.NOT_WRITTEN,  # the condition says it
    ):
        notes.append(chain[0].description)
    elif len(chain) > 1:
        first, last = chain[0], chain[-1]
        via: list[str] = []
        for link in chain[1:]:
            if link.description not in via and link.description != first.description:
                via.append(link.description)
        at = f"line {last.span.line}"
        if last.span.path != first.span.path:
            at = f"{last.span.path}:{last.span.line}"
        if via:
            notes.append(f"{first.description}, via {', '.join(via)} at {at}")
        else:
            notes.append(f"{first.description}, used at {at}")
    if decision is not None:
        span, here = decision.at, value.span
        place = f"line {span.line}" if span.path == here.path else f"{span.path}:{span.line}"
        # Through a local or another condition the reason has its own "because".
        taken = ": " if decision.through and decision.input is not None else ", taken because "
        notes.append(
            f"the {decision.branch} branch of the conditional at {place}{taken}{decision.reason()}"
        )
    return f" ({'; '.join(notes)})" if notes else ""


def _given(value: Value) -> str:
    """Where a value given outside the files (``--var``, ``TF_VAR_x``) comes from, and the
    references it flowed through after the place the finding points at (the first place in a
    file that uses it)."""
    first = value.provenance[0]
    located = [link for link in value.provenance if link.span.path]
    via: list[str] = []
    for link in located[1:]:
        if link.description not in via and link.description != first.description:
            via.append(link.description)
    if not via:
        return first.description
    here, last = value.span, located[-1].span
    at = f"line {last.line}" if last.path == here.path else f"{last.path}:{last.line}"
    return f"{first.description}, via {', '.join(via)} at {at}"


def _synthesized(path: str) -> bool:
    """A template in a ``cdk.out`` directory (as formats.cloudformation.synthesized says)."""
    return "cdk.out" in path.replace("\\", "/").split("/")[:-1]


def recorded(target: Target) -> str:
    """The tail of a message on a file that records state (a plan, a describe output)."""
    if not target.recorded_state:
        return ""
    if target.format == "cloudformation" and _synthesized(target.path):
        return "; cdk synth wrote this template: fix the CDK app's source and synthesize again"
    return "; this file records state: fix the configuration and regenerate it"


def endpoint_may_be_enabled(target: Target) -> bool:
    """False only when every value of the endpoint is known to be disabled: then IMDS is off and
    there is nothing to enforce."""
    values = target.settings.get(ENDPOINT, ())
    if not values:
        return True  # absent: AWS enables the endpoint
    return not all(v.known and v.value == DISABLED for v in values)


def not_evaluated(what: str, value: Value) -> str:
    """``<what> could not be evaluated statically: <expression>``, or, for an evaluation that
    stopped at a bound (its provenance says so), ``<what> is too complex to evaluate statically:
    <why>``; for a module call or nested stack whose code was not evaluated, the value's
    explanation as it stands."""
    if value.provenance and value.provenance[0].kind == LinkKind.TOO_COMPLEX:
        return f"{what} is {value.expression}"
    if value.provenance and value.provenance[0].kind == LinkKind.NOT_EVALUATED:
        return value.expression
    return f"{what} could not be evaluated statically: {value.expression}"
