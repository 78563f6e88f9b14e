"""``imds-iac report``: migration readiness. One model built from a scan (:func:`build`), written
as Markdown (a pull-request comment, ``$GITHUB_STEP_SUMMARY``), JSON (:func:`document`, schema in
docs/report.md) or one self-contained HTML page (:mod:`imds_iac_checks.report.readiness_html`).

What it answers is "what breaks if we require IMDSv2?": per directory, Terraform module call and
CloudFormation stack, the targets that are secure (no finding of a rule that judges targets),
weak (such findings) or unknown (findings of the rule that reports what could not be evaluated);
the hazards (findings of rules that judge code running on instances, ``Rule.hazard``) and the
targets each blocks (``Target.blocked_by``); and what ``imds-iac fix`` would change safely, only
with ``--unsafe-fixes``, or not at all. No rule id is named here: rules are told apart by what
the registry says of them (``hazard``, ``audit``, ``unevaluable``).

A target that launches from a launch template (``Target.inherits_from``, or a template whose
``used_by`` names it: :mod:`imds_iac_checks.link`) gets no finding of its own for what it takes
from the template: the template's findings name it. Its state is judged on its own findings and
on the template's findings about what it does not set itself (:func:`_inherited`): an Auto
Scaling group of a weak template is weak "through" it, of an unknown template unknown; an
instance that sets its own tokens over a template whose hop limit is too high is weak through
the template for the hop limit alone. Those findings stay counted once, on the template.

Nothing in the output depends on the time, the machine or the order work was done in: a serial
and a parallel scan of the same files write the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

from imds_iac_checks.model import DISABLED, ENDPOINT, SAFE, TOKENS, UNSAFE, Finding, Target
from imds_iac_checks.report import readiness_guardrails
from imds_iac_checks.report.escape import escape
from imds_iac_checks.report.readiness_guardrails import Guardrails

if TYPE_CHECKING:
    from imds_iac_checks.scan import ScanResult

SCHEMA_VERSION = 1

SECURE, WEAK, UNKNOWN = "secure", "weak", "unknown"
# How a finding is fixed: by ``imds-iac fix``, only with ``--unsafe-fixes``, or by hand.
FIX_SAFE, FIX_UNSAFE, FIX_MANUAL = "safe", "unsafe", "manual"
# Group kinds.
DIRECTORY, MODULE, STACK = "directory", "module", "stack"

# Rows of a table in the Markdown report (a PR comment holds at most 65,536 characters): the
# rest is counted ("and 12 more: see the JSON or HTML report").
MARKDOWN_ROWS = 100


class TargetRow(NamedTuple):
    """One resource block as deployed: the instances of a ``count``/``for_each`` (of the
    resource or of the module calls it is made through) are one row."""

    address: str  # without instance keys
    path: str
    line: int
    column: int
    kind: str
    format: str
    state: str  # SECURE | WEAK | UNKNOWN
    instances: int  # how many targets (instances) the row stands for
    rules: tuple[str, ...]  # the rule ids of its findings, sorted
    blocked_by: tuple[str, ...]  # "path:line" of the hazards that run on it
    accepted: bool  # every finding on it (and inherited) is suppressed (inline ignore, baseline)
    fix: str  # the least a fix needs: FIX_SAFE, FIX_UNSAFE, FIX_MANUAL; "" when secure
    # The launch templates whose findings it inherits (addresses without instance keys), and the
    # rule ids of those findings, sorted: the findings are the template's, counted there.
    through: tuple[str, ...] = ()
    inherited: tuple[str, ...] = ()
    # It sets metadata options of its own; what it inherits is only what it leaves out.
    own_options: bool = False


class HazardRow(NamedTuple):
    """A finding of a rule that judges hazards, and the targets it blocks."""

    rule_id: str
    rule: str  # the rule's name
    severity: str
    message: str
    path: str
    line: int
    column: int
    blocks: tuple[str, ...]  # addresses of the target rows it runs on
    fix: str  # FIX_UNSAFE (a fix that changes what the code does) or FIX_MANUAL
    suppressed: bool


class Fixes(NamedTuple):
    """Active findings by how they are fixed."""

    safe: int = 0
    unsafe: int = 0
    manual: int = 0

    def plus(self, how: str) -> Fixes:
        return self._replace(**{how: getattr(self, how) + 1})


def _total(fixes: Iterable[Fixes]) -> Fixes:
    out = Fixes()
    for f in fixes:
        out = Fixes(out.safe + f.safe, out.unsafe + f.unsafe, out.manual + f.manual)
    return out


class Counts(NamedTuple):
    targets: int = 0
    secure: int = 0
    weak: int = 0
    unknown: int = 0
    instances: int = 0
    hazards: int = 0
    blocked: int = 0  # target rows at least one hazard runs on


class Group(NamedTuple):
    """A directory, a Terraform module call (from one root directory) or a CloudFormation
    stack (its template), with its targets and the hazards that block them."""

    name: str
    kind: str  # DIRECTORY | MODULE | STACK
    path: str  # the directory, the root directory of the call, or the template
    module: str  # the module call's address ("" unless MODULE)
    targets: tuple[TargetRow, ...]
    hazards: tuple[HazardRow, ...]
    fixes: Fixes

    @property
    def counts(self) -> Counts:
        return _counts(self.targets, self.hazards)


class RuntimeCheck(NamedTuple):
    """A check to run against the account before (and after) requiring tokens."""

    id: str
    title: str
    why: str
    command: str
    source: str


class Readiness(NamedTuple):
    groups: tuple[Group, ...]
    hazards: tuple[HazardRow, ...]
    counts: Counts
    fixes: Fixes
    files: int
    errors: tuple[tuple[str, int, int, str], ...]  # path, line, column, message
    hazard_kinds: tuple[tuple[str, str, int, int], ...]  # rule id, name, hazards, blocked rows
    verdict: str
    checks: tuple[RuntimeCheck, ...]
    # The account defaults and guardrail policies the repository writes (report/
    # readiness_guardrails.py).
    guardrails: Guardrails


def _counts(targets: Iterable[TargetRow], hazards: Iterable[HazardRow]) -> Counts:
    rows = list(targets)
    return Counts(
        targets=len(rows),
        secure=sum(1 for r in rows if r.state == SECURE),
        weak=sum(1 for r in rows if r.state == WEAK),
        unknown=sum(1 for r in rows if r.state == UNKNOWN),
        instances=sum(r.instances for r in rows),
        hazards=sum(1 for _ in hazards),
        blocked=sum(1 for r in rows if r.blocked_by),
    )


# --- the model ---------------------------------------------------------------------------------


def _unit(target: Target) -> tuple[str, int, str, tuple[Any, ...]]:
    """What makes the instances of one block one row: the block, its address without instance
    keys, the module calls it was made through."""
    return (
        target.path,
        target.span.start_byte,
        target.generic(target.address),
        target.module_calls,
    )


def _group_key(target: Target) -> tuple[str, str, str]:
    """(kind, path, module): a module-made target's module call (outermost... innermost, without
    instance keys) from its root directory; a CloudFormation target's template; else its
    file's directory."""
    at = target.address.rfind(target.kind + ".")
    prefix = target.address[:at].rstrip(".") if at > 0 else ""
    if prefix.startswith("module."):
        where = target.module_calls[0].path if target.module_calls else target.path
        return (MODULE, _dirname(where), target.generic(prefix))
    if target.format == "cloudformation":
        return (STACK, target.path, "")
    return (DIRECTORY, _dirname(target.path), "")


def _dirname(path: str) -> str:
    return os.path.dirname(path).replace(os.sep, "/") or "."


def _group_name(key: tuple[str, str, str]) -> str:
    kind, path, module = key
    return f"{path}: {module}" if kind == MODULE else path


def _how(finding: Finding, blocked: bool) -> str:
    if finding.fix == SAFE:
        return FIX_UNSAFE if blocked else FIX_SAFE
    if finding.fix == UNSAFE:
        return FIX_UNSAFE
    return FIX_MANUAL


_ORDER = {FIX_SAFE: 1, FIX_UNSAFE: 2, FIX_MANUAL: 3}


def _nouns(rule: Any) -> tuple[str, str]:
    """How the verdict names the hazards of a rule: its ``noun`` (singular, plural), else
    "<name> hazard(s)"."""
    if rule.noun is not None:
        return rule.noun[0], rule.noun[1]
    return f"{rule.name} hazard", f"{rule.name} hazards"


def build(result: ScanResult) -> Readiness:
    """The readiness of what ``result`` scanned."""
    from imds_iac_checks.rules import REGISTRY

    origins = result.origins or {}
    units: dict[tuple[str, int, str, tuple[Any, ...]], list[Target]] = {}
    for target in result.targets_seen:
        units.setdefault(_unit(target), []).append(target)
    for target, _ in origins.values():  # a target only a finding names (never expected)
        units.setdefault(_unit(target), []).append(target)
    on_unit: dict[tuple[str, int, str, tuple[Any, ...]], list[Finding]] = {}
    loose: list[Finding] = []  # findings on no target: hazards, suppressions
    for f in result.findings:
        origin = origins.get(f)
        rule = REGISTRY.get(f.rule_id)
        if origin is None or rule is None or rule.hazard is not None or rule.audit is not None:
            loose.append(f)
        else:
            on_unit.setdefault(_unit(origin[0]), []).append(f)
    # Launch-template inheritance: each unit's templates (the units of the targets whose
    # ``used_by`` name one of its members, within the same module call chain).
    by_address: dict[tuple[str, tuple[Any, ...]], tuple[str, int, str, tuple[Any, ...]]] = {}
    for key, members in units.items():
        for target in members:
            by_address.setdefault((target.address, target.module_calls), key)
    templates_of: dict[tuple[str, int, str, tuple[Any, ...]], list[Any]] = {}
    for key, members in units.items():
        for target in members:
            for name in target.used_by:
                user = by_address.get((name, target.module_calls))
                if user is not None and user != key:
                    mine = templates_of.setdefault(user, [])
                    if key not in mine:
                        mine.append(key)
    for key, members in units.items():
        for target in members:
            if target.inherits_from:
                template = by_address.get((target.inherits_from, target.module_calls))
                if template is not None and template != key:
                    mine = templates_of.setdefault(key, [])
                    if template not in mine:
                        mine.append(template)
    blocked_of = {
        key: tuple(dict.fromkeys(b for t in members for b in t.blocked_by))
        for key, members in units.items()
    }
    rows: dict[tuple[str, int, str, tuple[Any, ...]], TargetRow] = {}
    group_of: dict[tuple[str, int, str, tuple[Any, ...]], tuple[str, str, str]] = {}
    fixes_by_group: dict[tuple[str, str, str], Fixes] = {}
    for key, members in units.items():
        first = members[0]
        instances = len({t.address for t in members})
        if first.instances is not None:
            instances = max(instances, first.instances)
        blocked = blocked_of[key]
        found = on_unit.get(key, [])
        active = [f for f in found if f.suppressed is None]
        hows = [_how(f, bool(blocked)) for f in active]
        # What it inherits: the template's findings (counted there), with their own fix.
        through: list[str] = []
        inherited: list[Finding] = []
        inherited_hows: list[str] = []
        for template in templates_of.get(key, ()):
            taken = [f for f in on_unit.get(template, ()) if _inherited(f, first)]
            if taken:
                through.append(template[2])
                inherited += taken
                inherited_hows += [
                    _how(f, bool(blocked_of[template])) for f in taken if f.suppressed is None
                ]
        judged = [*found, *inherited]
        unevaluable = [f for f in judged if REGISTRY[f.rule_id].unevaluable]
        state = SECURE
        if len(unevaluable) < len(judged):
            state = WEAK
        elif judged:
            state = UNKNOWN
        every = hows + inherited_hows
        fix = max(every, key=_ORDER.__getitem__) if every else ""
        rows[key] = TargetRow(
            address=key[2],
            path=first.path,
            line=first.span.line,
            column=first.span.column,
            kind=first.kind,
            format=first.format,
            state=state,
            instances=instances,
            rules=tuple(sorted({f.rule_id for f in found})),
            blocked_by=blocked,
            accepted=bool(judged) and not hows and not inherited_hows,
            fix=fix,
            through=tuple(through),
            inherited=tuple(sorted({f.rule_id for f in inherited})),
            own_options=bool(through) and _decides(first),
        )
        group = _group_key(first)
        group_of[key] = group
        total = fixes_by_group.get(group, Fixes())
        for how in hows:  # a finding is counted once: on the target it is on
            total = total.plus(how)
        fixes_by_group[group] = total
    # Hazards: the rows each blocks (their ``blocked_by`` names the hazard's path:line), and the
    # group of the first of them (else the hazard's own directory).
    blocking: dict[str, list[tuple[str, int, str, tuple[Any, ...]]]] = {}
    for key, row in rows.items():
        for at in row.blocked_by:
            blocking.setdefault(at, []).append(key)
    hazards_by_group: dict[tuple[str, str, str], list[HazardRow]] = {}
    all_hazards: list[HazardRow] = []
    stacks = {key[1] for key in group_of.values() if key[0] == STACK}
    for f in loose:
        rule = REGISTRY.get(f.rule_id)
        blocked_keys = sorted(blocking.get(f"{f.path}:{f.span.line}", ()), key=_row_order(rows))
        if blocked_keys:
            group = group_of[blocked_keys[0]]
        elif f.path in stacks:
            group = (STACK, f.path, "")
        else:
            group = (DIRECTORY, _dirname(f.path), "")
        if f.suppressed is None:
            fixes_by_group[group] = fixes_by_group.get(group, Fixes()).plus(_how(f, False))
        if rule is None or rule.hazard is None:
            continue
        hazard = HazardRow(
            rule_id=f.rule_id,
            rule=rule.name,
            severity=f.severity,
            message=f.message,
            path=f.path,
            line=f.span.line,
            column=f.span.column,
            blocks=tuple(dict.fromkeys(rows[k].address for k in blocked_keys)),
            fix=_how(f, False),
            suppressed=f.suppressed is not None,
        )
        hazards_by_group.setdefault(group, []).append(hazard)
        all_hazards.append(hazard)
    groups: list[Group] = []
    names = set(fixes_by_group) | set(hazards_by_group)
    for group in sorted(names, key=lambda g: (g[1], g[2], g[0])):
        listed = sorted(
            (rows[k] for k, g in group_of.items() if g == group),
            key=lambda r: (r.path, r.line, r.column, r.address),
        )
        groups.append(
            Group(
                name=_group_name(group),
                kind=group[0],
                path=group[1],
                module=group[2],
                targets=tuple(listed),
                hazards=tuple(_hazard_sorted(hazards_by_group.get(group, []))),
                fixes=fixes_by_group.get(group, Fixes()),
            )
        )
    counts = _counts(rows.values(), all_hazards)
    fixes = _total(g.fixes for g in groups)
    kinds = []
    for rule in REGISTRY.values():
        if rule.hazard is None:
            continue
        mine = [h for h in all_hazards if h.rule_id == rule.id]
        hit = {k for h in mine for k in blocking.get(f"{h.path}:{h.line}", ())}
        kinds.append((rule.id, rule.name, len(mine), len(hit)))
    errors = tuple((e.path, e.line, e.column, e.message) for e in result.errors)
    verdict = _verdict(counts, fixes, kinds, blocking, all_hazards)
    return Readiness(
        groups=tuple(groups),
        hazards=tuple(_hazard_sorted(all_hazards)),
        counts=counts,
        fixes=fixes,
        files=result.files,
        errors=errors,
        hazard_kinds=tuple(kinds),
        verdict=verdict,
        checks=RUNTIME_CHECKS,
        guardrails=readiness_guardrails.build(result),
    )


def _decides(target: Target) -> bool:
    """The target sets whether tokens are required (or the endpoint) itself."""
    return TOKENS in target.settings or ENDPOINT in target.settings


def _inherited(finding: Finding, user: Target) -> bool:
    """Whether a launch template's ``finding`` holds for ``user``, a target that launches from
    it: what the user sets itself overrides the template (imds_iac_checks.link). A finding on
    tokens (or on the whole options: no setting) holds unless the user sets tokens or the
    endpoint; one on another setting (the hop limit) unless the user sets that one, or disables
    the endpoint."""
    own = user.settings
    endpoint = own.get(ENDPOINT, ())
    if endpoint and all(v.known and v.value == DISABLED for v in endpoint):
        return False
    if finding.setting is None or finding.setting in (TOKENS, ENDPOINT):
        return not _decides(user)
    return finding.setting not in own


def _row_order(rows: dict[Any, TargetRow]) -> Any:
    return lambda key: (rows[key].path, rows[key].line, rows[key].address)


def _hazard_sorted(hazards: list[HazardRow]) -> list[HazardRow]:
    return sorted(hazards, key=lambda h: (h.path, h.line, h.column, h.rule_id, h.message))


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _verdict(
    counts: Counts,
    fixes: Fixes,
    kinds: list[tuple[str, str, int, int]],
    blocking: dict[str, list[Any]],
    hazards: list[HazardRow],
) -> str:
    """``3 of 12 targets already require IMDSv2; 2 IMDSv1 calls block 4 targets; `imds-iac
    fix` can fix 6 findings safely (2 more with --unsafe-fixes, 1 by hand)``."""
    from imds_iac_checks.rules import REGISTRY

    parts = []
    if counts.targets:
        text = f"{counts.secure:,} of {_plural(counts.targets, 'target')} already require IMDSv2"
        if counts.unknown:
            text += f" ({counts.unknown:,} could not be evaluated)"
        parts.append(text)
    else:
        parts.append("no target (a resource that launches instances) in the files scanned")
    said = []
    for rule_id, _name, number, _blocked in kinds:
        if not number:
            continue
        one, many = _nouns(REGISTRY[rule_id])
        said.append(_plural(number, one, many))
    if said:
        blocked = {k for h in hazards for k in blocking.get(f"{h.path}:{h.line}", ())}
        verb = "blocks" if len(hazards) == 1 else "block"
        text = " and ".join(said)
        if blocked:
            text += f" {verb} {_plural(len(blocked), 'target')}"
        else:
            text += " (tied to no target scanned)"
        parts.append(text)
    elif counts.targets:
        parts.append("no code found that breaks when tokens are required")
    text = f"`imds-iac fix` can fix {_plural(fixes.safe, 'finding')} safely"
    more = []
    if fixes.unsafe:
        more.append(f"{fixes.unsafe:,} more with `--unsafe-fixes`")
    if fixes.manual:
        more.append(f"{fixes.manual:,} by hand")
    if more:
        text += f" ({', '.join(more)})"
    parts.append(text)
    return "; ".join(parts)


# --- the runtime checklist ----------------------------------------------------------------------
#
# Sources (each command's syntax checked against them):
# - MetadataNoToken (IMDSv1 calls per instance; track it to zero before requiring tokens), and
#   MetadataNoTokenRejected after: "Transition to using Instance Metadata Service Version 2",
#   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-transition-to-version-2.html
# - get-metric-statistics (--namespace, --metric-name, --dimensions Name=InstanceId,Value=...,
#   --statistics, --period, --start-time, --end-time):
#   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/getting-metric-statistics.html
#   https://awscli.amazonaws.com/v2/documentation/api/latest/reference/cloudwatch/get-metric-statistics.html
# - the describe-instances filter ``metadata-options.http-tokens`` (optional | required):
#   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html
# - the AWS Config managed rule ec2-imdsv2-check (NON_COMPLIANT when HttpTokens is optional):
#   https://docs.aws.amazon.com/config/latest/developerguide/ec2-imdsv2-check.html
# - advanced queries from the CLI (select-resource-config --expression "SELECT ..."):
#   https://docs.aws.amazon.com/config/latest/developerguide/query-using-sql-editor-cli.html
#   and the property configuration.metadataOptions.httpTokens of AWS::EC2::Instance:
#   https://github.com/awslabs/aws-config-resource-schema (config/properties/resource-types)

_DAYS = (
    "--start-time \"$(date -u -d '14 days ago' +%Y-%m-%dT%H:%M:%SZ)\" "
    '--end-time "$(date -u +%Y-%m-%dT%H:%M:%SZ)"'
)

RUNTIME_CHECKS = (
    RuntimeCheck(
        id="instances-allowing-imdsv1",
        title="Instances that still allow IMDSv1",
        why="The running instances whose metadata options still accept calls without a token "
        "(run it in each Region): what requiring tokens changes.",
        command="aws ec2 describe-instances \\\n"
        "  --filters Name=metadata-options.http-tokens,Values=optional \\\n"
        "  --query 'Reservations[].Instances[].[InstanceId,Tags[?Key==`Name`]|[0].Value]' \\\n"
        "  --output text",
        source="https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html",
    ),
    RuntimeCheck(
        id="metadata-no-token",
        title="CloudWatch MetadataNoToken is 0 on each of them",
        why="MetadataNoToken counts the calls an instance made without a token: code this scan "
        "cannot see (AMIs, agents, packages) shows up here. Require tokens on an instance once "
        "its daily sum stays 0; afterwards MetadataNoTokenRejected counts refused calls.",
        command="for id in $(aws ec2 describe-instances \\\n"
        "    --filters Name=metadata-options.http-tokens,Values=optional \\\n"
        "    --query 'Reservations[].Instances[].InstanceId' --output text); do\n"
        '  echo "$id"\n'
        "  aws cloudwatch get-metric-statistics --namespace AWS/EC2 --metric-name MetadataNoToken "
        '\\\n    --dimensions Name=InstanceId,Value="$id" --statistics Sum --period 86400 \\\n'
        f"    {_DAYS} \\\n"
        "    --query 'Datapoints[?Sum > `0`].[Timestamp,Sum]' --output text\n"
        "done",
        source="https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/"
        "instance-metadata-transition-to-version-2.html",
    ),
    RuntimeCheck(
        id="metadata-no-token-region",
        title="CloudWatch MetadataNoToken for the whole Region",
        why="The same metric without dimensions: CloudWatch's aggregate over the Region's "
        "instances (if it has no datapoints, use the per-instance form above).",
        command="aws cloudwatch get-metric-statistics --namespace AWS/EC2 "
        "--metric-name MetadataNoToken \\\n"
        f"  --statistics Sum --period 86400 {_DAYS}",
        source="https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/"
        "getting-metric-statistics.html",
    ),
    RuntimeCheck(
        id="config-ec2-imdsv2-check",
        title="AWS Config: ec2-imdsv2-check reports no NON_COMPLIANT instance",
        why="The managed rule ec2-imdsv2-check is NON_COMPLIANT for an instance whose HttpTokens "
        "is optional; the advanced query lists them without the rule (across accounts with "
        "select-aggregate-resource-config and an aggregator).",
        command="aws configservice get-compliance-details-by-config-rule \\\n"
        "  --config-rule-name ec2-imdsv2-check --compliance-types NON_COMPLIANT \\\n"
        "  --query 'EvaluationResults[].EvaluationResultIdentifier.EvaluationResultQualifier."
        "ResourceId' --output text\n"
        "aws configservice select-resource-config --expression \\\n"
        "  \"SELECT resourceId WHERE resourceType = 'AWS::EC2::Instance' "
        "AND configuration.metadataOptions.httpTokens = 'optional'\"",
        source="https://docs.aws.amazon.com/config/latest/developerguide/ec2-imdsv2-check.html",
    ),
)


# --- JSON -------------------------------------------------------------------------------------


def document(model: Readiness) -> dict[str, Any]:
    """The report as plain data, keys in a fixed order (schema: docs/report.md)."""
    from imds_iac_checks import __version__

    return {
        "version": SCHEMA_VERSION,
        "kind": "readiness",
        "tool": {"name": "imds-iac", "version": __version__},
        "verdict": model.verdict,
        "summary": _summary(model.counts, model.fixes)
        | {
            "files_scanned": model.files,
            "errors": len(model.errors),
            "hazards_by_rule": [
                {"rule_id": rid, "rule": name, "hazards": n, "blocked_targets": b}
                for rid, name, n, b in model.hazard_kinds
            ],
        },
        "groups": [
            {
                "name": g.name,
                "kind": g.kind,
                "path": g.path,
                "module": g.module or None,
                "summary": _summary(g.counts, g.fixes),
                "targets": [_target(t) for t in g.targets],
                "hazards": [_hazard(h) for h in g.hazards],
            }
            for g in model.groups
        ],
        "errors": [
            {
                "path": path,
                "line": line if line > 0 else None,
                "column": column if line > 0 else None,
                "message": message,
            }
            for path, line, column, message in model.errors
        ],
        "guardrails": readiness_guardrails.document(model.guardrails),
        "runtime_checks": [c._asdict() for c in model.checks],
    }


def _summary(counts: Counts, fixes: Fixes) -> dict[str, Any]:
    return {
        "targets": counts.targets,
        "instances": counts.instances,
        "secure": counts.secure,
        "weak": counts.weak,
        "unknown": counts.unknown,
        "hazards": counts.hazards,
        "blocked_targets": counts.blocked,
        "fixes": {"safe": fixes.safe, "unsafe": fixes.unsafe, "manual": fixes.manual},
    }


def _target(t: TargetRow) -> dict[str, Any]:
    return {
        "address": t.address,
        "path": t.path,
        "line": t.line,
        "column": t.column,
        "kind": t.kind,
        "format": t.format,
        "state": t.state,
        "instances": t.instances,
        "rules": list(t.rules),
        "blocked_by": list(t.blocked_by),
        "accepted": t.accepted,
        "fix": t.fix or None,
        "through": list(t.through),
        "inherited_rules": list(t.inherited),
    }


def _hazard(h: HazardRow) -> dict[str, Any]:
    return {
        "rule_id": h.rule_id,
        "rule": h.rule,
        "severity": h.severity,
        "message": h.message,
        "path": h.path,
        "line": h.line,
        "column": h.column,
        "blocks": list(h.blocks),
        "fix": h.fix,
        "suppressed": h.suppressed,
    }


def write_json(model: Readiness, out: TextIO) -> None:
    from imds_iac_checks.report import encode

    out.write(encode.dumps(document(model)) + "\n")


# --- Markdown -----------------------------------------------------------------------------------


def cell(text: str) -> str:
    """Text from the files scanned as a GitHub Markdown table cell: control characters escaped
    (one line), Markdown and HTML syntax written literally, no @mention."""
    text = escape(text)
    text = text.replace("\\", "\\\\")
    for ch in "|*_`[]~#!":
        text = text.replace(ch, "\\" + ch)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("@", "&#64;")


def _where(path: str, line: int) -> str:
    return cell(f"{path}:{line}") if line > 0 else cell(path)


def _row(cells: Iterable[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |\n"


def write_markdown(model: Readiness, out: TextIO) -> None:
    from imds_iac_checks.project import rule_url

    c, f = model.counts, model.fixes
    out.write("## IMDSv2 migration readiness\n\n")
    out.write(f"**{escape(model.verdict)}**\n\n")  # made here, from counts: no file text
    out.write(
        _row(
            (
                "Targets",
                "Secure",
                "Weak",
                "Unknown",
                "Hazards",
                "Blocked targets",
                "Fixed by `imds-iac fix`",
                "Only with `--unsafe-fixes`",
                "By hand",
            )
        )
    )
    out.write("|" + "---:|" * 9 + "\n")
    out.write(
        _row(
            (
                c.targets,
                c.secure,
                c.weak,
                c.unknown,
                c.hazards,
                c.blocked,
                f.safe,
                f.unsafe,
                f.manual,
            )
        )
    )
    if model.errors:
        out.write(
            f"\n**{_plural(len(model.errors), 'file')} or parts of files could not be scanned**: "
            "the report is incomplete (see *Not scanned* below).\n"
        )
    if model.groups:
        out.write("\n### By directory, module and stack\n\n")
        out.write(
            _row(
                (
                    "Where",
                    "Kind",
                    "Targets",
                    "Secure",
                    "Weak",
                    "Unknown",
                    "Hazards",
                    "Blocked",
                    "Fix safely",
                    "Unsafe",
                    "By hand",
                )
            )
        )
        out.write("|---|---|" + "---:|" * 9 + "\n")
        for g in model.groups[:MARKDOWN_ROWS]:
            n = g.counts
            out.write(
                _row(
                    (
                        cell(g.name),
                        g.kind,
                        n.targets,
                        n.secure,
                        n.weak,
                        n.unknown,
                        n.hazards,
                        n.blocked,
                        g.fixes.safe,
                        g.fixes.unsafe,
                        g.fixes.manual,
                    )
                )
            )
        _more(out, len(model.groups), "groups")
    if model.hazards:
        out.write("\n### Hazards: what breaks when tokens are required\n\n")
        out.write(_row(("Where", "Rule", "Severity", "Blocks", "Fix", "Finding")))
        out.write("|---|---|---|---|---|---|\n")
        for h in model.hazards[:MARKDOWN_ROWS]:
            blocks = ", ".join(cell(b) for b in h.blocks[:10])
            if len(h.blocks) > 10:
                blocks += f" and {len(h.blocks) - 10:,} more"
            out.write(
                _row(
                    (
                        _where(h.path, h.line),
                        f"[{h.rule_id}]({rule_url(h.rule_id)}) {h.rule}",
                        h.severity + (" (suppressed)" if h.suppressed else ""),
                        blocks or "no target scanned",
                        _FIX_WORDS[h.fix],
                        cell(_short(h.message)),
                    )
                )
            )
        _more(out, len(model.hazards), "hazards")
    todo = [t for g in model.groups for t in g.targets if t.state != SECURE]
    if todo:
        out.write("\n### Targets to change\n\n")
        out.write(_row(("Target", "Where", "State", "Rules", "Fix", "Blocked by")))
        out.write("|---|---|---|---|---|---|\n")
        for t in todo[:MARKDOWN_ROWS]:
            label = t.address + (f" ({t.instances:,} instances)" if t.instances > 1 else "")
            out.write(
                _row(
                    (
                        cell(label),
                        _where(t.path, t.line),
                        cell(state_text(t)),
                        ", ".join(
                            [f"[{r}]({rule_url(r)})" for r in t.rules]
                            + [f"[{r}]({rule_url(r)}) (inherited)" for r in t.inherited]
                        ),
                        _FIX_WORDS.get(t.fix, ""),
                        ", ".join(cell(b) for b in t.blocked_by[:5])
                        + (f" and {len(t.blocked_by) - 5:,} more" if len(t.blocked_by) > 5 else ""),
                    )
                )
            )
        _more(out, len(todo), "targets")
    if model.errors:
        out.write("\n### Not scanned\n\n")
        out.write(_row(("Where", "Why")))
        out.write("|---|---|\n")
        for path, line, column, message in model.errors[:MARKDOWN_ROWS]:
            where = f"{path}:{line}:{column}" if line > 0 else path
            out.write(_row((cell(where), cell(_short(message)))))
        _more(out, len(model.errors), "errors")
    _markdown_guardrails(model.guardrails, out)
    out.write("\n### Before requiring tokens: check the running instances\n\n")
    for i, check in enumerate(model.checks, 1):
        out.write(f"{i}. **{check.title}.** {check.why} ([AWS docs]({check.source}))\n\n")
        out.write("   ```sh\n")
        for text in check.command.split("\n"):
            out.write(f"   {text}\n")
        out.write("   ```\n\n")


def _markdown_guardrails(model: Guardrails, out: TextIO) -> None:
    """The section "Account defaults and guardrails": what the repository sets for the
    accounts as a whole (readiness_guardrails.py), or that it sets nothing."""
    g = readiness_guardrails
    out.write("\n### Account defaults and guardrails\n\n")
    for text in model.summary:  # made from counts and fixed words: no file text
        out.write(text.replace(g.GUARDRAILS_DOC, f"[{g.GUARDRAILS_DOC}]({g.GUARDRAILS_URL})"))
        out.write("\n\n")
    if model.defaults:
        out.write(_row(("Account default", "Where", "Kind", "Tokens", "Why")))
        out.write("|---|---|---|---|---|\n")
        for d in model.defaults[:MARKDOWN_ROWS]:
            row = (d.address, _where(d.path, d.line), d.kind, d.state, d.detail)
            out.write(_row((cell(row[0]), row[1], cell(row[2]), row[3], cell(row[4]))))
        _more(out, len(model.defaults), "account defaults")
        out.write("\n")
    if model.policies or model.iam_policies:
        out.write(_row(("Guardrail statement", "State")))
        out.write("|---|---|\n")
        for s in model.statements:
            state = g.shown(s.state, s.narrowed_by)
            stands = f" (as `{s.stands}`)" if s.stands else ""
            out.write(_row((f"`{s.name}`", cell(state) + stands)))
        out.write("\n")
    for rows, title, plural in (
        (model.policies, "Policy", "policies"),
        (model.iam_policies, "IAM policy that names IMDS keys", "IAM policies"),
    ):
        if not rows:
            continue
        out.write(_row((title, "Where", "What", "Covers", "Weaker than intended")))
        out.write("|---|---|---|---|---|\n")
        for p in rows[:MARKDOWN_ROWS]:
            said = "; ".join(
                f"[{f.rule_id}]({_rule_url(f.rule_id)}) {cell(_short(f.message, 200))}"
                + (" (suppressed)" if f.suppressed else "")
                for f in p.findings[:5]
            )
            if len(p.findings) > 5:
                said += f"; and {len(p.findings) - 5:,} more"
            out.write(
                _row(
                    (
                        cell(p.address),
                        _where(p.path, p.line),
                        cell(g.what_text(p)),
                        g.covers_text(p, lambda n: f"`{n}`", cell),
                        said or cell(g.no_finding_text(p)),
                    )
                )
            )
        _more(out, len(rows), plural)
        out.write("\n")


def _rule_url(rule_id: str) -> str:
    from imds_iac_checks.project import rule_url

    return rule_url(rule_id)


def state_text(t: TargetRow) -> str:
    """``weak``, ``weak through aws_launch_template.lt``, ``weak through aws_launch_template.lt
    (what it does not set itself)``, ``... (accepted)``: a row's state as the reports print it."""
    text = t.state
    if t.through:
        text += " through " + ", ".join(t.through)
        if t.own_options:
            text += " (what it does not set itself)"
    return text + (" (accepted)" if t.accepted else "")


_FIX_WORDS = {
    FIX_SAFE: "`imds-iac fix`",
    FIX_UNSAFE: "`imds-iac fix --unsafe-fixes`",
    FIX_MANUAL: "by hand",
    "": "",
}


def _short(text: str, limit: int = 300) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def _more(out: TextIO, total: int, what: str) -> None:
    if total > MARKDOWN_ROWS:
        out.write(
            f"\n… and {total - MARKDOWN_ROWS:,} more {what}: see `imds-iac report --format json` "
            "or `--format html`.\n"
        )
