"""``imds-iac fix``: findings + provenance -> byte-range edits on the original text, proven
before they are written.

1. Scan, recording the exact bytes of every file read.
2. Plan one fix per fixable finding, at the place its provenance says the value is written: the
   literal in the resource, its module-call argument, a variable default, a tfvars entry, a
   CloudFormation parameter default or mapping value; or a setting or whole options block added
   to the resource. Unsafe fixes (they edit something shared) only with ``unsafe=True``.
   Only files under the paths given are edited (like ruff): a directory authorises the files
   below it, a file named on the command line (as pre-commit passes them) only itself, both by
   real path. A fix elsewhere — in a module the scan followed out of the tree, through a
   relative source or a symbolic link — is reported as not fixed.
3. Apply the edits in memory, check every edited file still parses, scan the edited tree
   again and require each fixed finding gone and nothing new; a file whose edits fail that is
   left as it was, and the findings say why. "New" is per finding (rule, resource, setting,
   file) against the unedited tree, scanned again when needed: what an unedited module reports
   anyway, or reports differently from scan to scan, is not blamed on an edit elsewhere.
4. Write each changed file atomically (see :mod:`imds_iac_checks.fix.write`), keeping its
   mode, owner, hard links and extended attributes, and only if it still holds the bytes that
   were read; a read-only file is refused.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from imds_iac_checks import source
from imds_iac_checks.fix.edits import Edit, NoFix, apply
from imds_iac_checks.formats import syntax_of
from imds_iac_checks.model import (
    Finding,
    ScanError,
    Target,
    Value,
    compact,
    show,
)
from imds_iac_checks.rules import REGISTRY, Context
from imds_iac_checks.rules.base import BREAKS
from imds_iac_checks.scan import ScanResult

if TYPE_CHECKING:
    from imds_iac_checks.fix.structured import Document
    from imds_iac_checks.formats.doc import DNode


class Planned(NamedTuple):
    finding: Finding
    path: str  # the file the edit is in, as shown to the user
    edits: tuple[Edit, ...]
    change: str  # what the edit does, for the user
    safety: str = "safe"
    # Tried when this fix cannot be built or proven: an unsafe edit that overwrites the
    # expression (or dynamic block) that decides the setting with the secure literal.
    fallback: Planned | None = None


class Outcome(NamedTuple):
    before: ScanResult
    after: ScanResult
    fixed: list[Planned]
    not_fixed: dict[Finding, str]  # finding -> why it was not fixed
    changes: dict[str, tuple[bytes, bytes]]  # shown path -> (original, fixed)
    errors: list[ScanError]  # files that could not be written


# Runs the scan ``fix`` was asked for, reading every file through the Files it is given (which
# records what the first scan reads, or overlays the edits to verify).
Scanner = Callable[[source.Files], ScanResult]


def run(
    scan: Scanner,
    cwd: str,
    *,
    unsafe: bool = False,
    write: bool = True,
    paths: Sequence[str] | None = None,
) -> Outcome:
    """Fix what ``scan`` finds. ``write=False`` plans and verifies only (``--diff``).

    Only files under ``paths`` (the paths the scan was given, relative to ``cwd``; default:
    ``cwd`` itself) are edited: a directory authorises the files below it, a file only itself,
    both compared by their real paths (symbolic links resolved). A fix whose edit would be
    elsewhere (a module the scan followed out of the tree) is reported as not fixed."""
    scope = _Scope(paths or ["."], cwd)
    record: dict[str, bytes] = {}
    before = scan(source.Files(record=record))
    origins = before.origins or {}
    not_fixed: dict[Finding, str] = {}
    planned: list[Planned] = []
    shared = _sharing(before.findings)
    planned += _dead_suppressions(before.findings, cwd, record, scope, not_fixed)
    for finding in before.findings:
        if REGISTRY[finding.rule_id].audit is not None:
            continue  # planned above
        rule = REGISTRY[finding.rule_id]
        if finding.edits or rule.hazard is not None or rule.policy is not None:
            hazard_plan = _hazard_plan(finding, unsafe, shared, scope, not_fixed)
            if hazard_plan is not None:
                planned.append(hazard_plan)
            continue
        origin = origins.get(finding)
        target = origin[0] if origin is not None else None
        why = _why_not(finding, target, unsafe, shared)
        if why is not None or origin is None:
            not_fixed[finding] = why or "no fix available"
            continue
        target, hop_limit = origin[0], origin[1].hop_limit
        try:
            fallback = scope.check(_fallback(finding, target, hop_limit, cwd, record))
        except NoFix:
            fallback = None
        try:
            plan = _plan(finding, target, hop_limit, cwd, record)
            scope.check(plan)
        except NoFix as exc:
            if fallback is not None and unsafe:
                planned.append(fallback)
            else:
                not_fixed[finding] = str(exc) + _hint(fallback)
            continue
        safety = finding.fix or "safe"
        if finding.fix == "unsafe":
            plan = plan._replace(change=f"{plan.change} (unsafe: {_note(finding, shared)})")
        elif (alias := _aliased(plan, cwd, record)) is not None:
            note = f"the value is anchored as &{alias} and used elsewhere as *{alias}"
            if not unsafe:
                not_fixed[finding] = f"unsafe fix ({note}): enable it with --unsafe-fixes"
                continue
            plan, safety = plan._replace(change=f"{plan.change} (unsafe: {note})"), "unsafe"
        planned.append(plan._replace(safety=safety, fallback=fallback))
    planned = _drop_conflicts(planned, not_fixed)
    changes, after, fixed = _verify(scan, before, planned, not_fixed, cwd, record, unsafe)
    errors: list[ScanError] = []
    if write and changes:
        from imds_iac_checks.fix.write import NotWritten, write_atomic

        for shown, (old, new) in list(changes.items()):
            try:
                write_atomic(os.path.join(cwd, shown), new, old)
            except NotWritten as exc:
                reason, why = exc.reason, exc.why
            except OSError as exc:
                reason = f"cannot write: {exc.strerror or exc}"
                why = "the file could not be written"
            else:
                continue
            errors.append(ScanError(shown, 0, 0, reason))
            del changes[shown]
            for p in fixed:
                if p.path == shown:
                    not_fixed[p.finding] = why
            fixed = [p for p in fixed if p.path != shown]
        if errors:
            after = scan(source.Files())
    return Outcome(before, after, fixed, not_fixed, changes, errors)


class _Scope:
    """The files ``fix`` may edit: those under the directories given, and the files given."""

    def __init__(self, paths: Sequence[str], cwd: str) -> None:
        self.cwd = cwd
        self.directories: list[str] = []
        self.files: set[str] = set()
        for path in paths:
            real = os.path.realpath(os.path.join(cwd, path))
            if os.path.isdir(real):
                self.directories.append(real)
            else:
                self.files.add(real)

    def allows(self, shown: str) -> bool:
        real = os.path.realpath(os.path.join(self.cwd, shown))
        if real in self.files:
            return True
        for directory in self.directories:
            prefix = directory if directory.endswith(os.sep) else directory + os.sep
            if real == directory or real.startswith(prefix):
                return True
        return False

    def check(self, plan: Planned | None) -> Planned | None:
        """``plan`` itself; raises NoFix when it would edit a file outside the paths given."""
        if plan is not None and not self.allows(plan.path):
            from imds_iac_checks.source import display_path

            real = display_path(os.path.realpath(os.path.join(self.cwd, plan.path)), self.cwd)
            where = plan.path if real == plan.path else f"{real} (through a symbolic link)"
            raise NoFix(f"the fix is in {where}, outside the paths given")
        return plan


def _sharing(findings: list[Finding]) -> dict[tuple[str, int, int], list[str]]:
    """The resources whose findings point at each written value: an unsafe edit there changes
    them all."""
    out: dict[tuple[str, int, int], list[str]] = {}
    for f in findings:
        if f.fix == "unsafe":
            users = out.setdefault((f.path, f.span.start_byte, f.span.end_byte), [])
            if f.resource not in users:
                users.append(f.resource)
    return out


def _note(finding: Finding, shared: dict[tuple[str, int, int], list[str]]) -> str:
    users = shared.get((finding.path, finding.span.start_byte, finding.span.end_byte), [])
    others = [r for r in users if r != finding.resource]
    note = finding.fix_note or "edits a shared value"
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        note += f"; it also changes {shown}"
    return note


def _hint(fallback: Planned | None) -> str:
    if fallback is None:
        return ""
    return f" (--unsafe-fixes would write it over the expression instead: {fallback.change})"


def _hazard_plan(
    finding: Finding,
    unsafe: bool,
    shared: dict[tuple[str, int, int], list[str]],
    scope: _Scope,
    not_fixed: dict[Finding, str],
) -> Planned | None:
    """The fix of a finding on code that runs on instances (the byte-range edits its analyser
    planned, see :class:`~imds_iac_checks.model.Hazard`) or on a guardrail policy (the edits
    its rule planned): always unsafe."""
    why = _why_not(finding, None, unsafe, shared)
    if why is None and not finding.edits:
        why = "no automatic fix"
    if why is None and len({path for path, _, _, _ in finding.edits}) > 1:
        why = "no automatic fix: it would edit several files"
    if why is not None:
        not_fixed[finding] = why
        return None
    path = finding.edits[0][0]
    edits = tuple(Edit(start, end, text) for _, start, end, text in finding.edits)
    if REGISTRY[finding.rule_id].policy is not None:
        change, why = _policy_hazard(finding)
    else:
        change, why = finding.fix_note or "rewrites the call", "changes what the code does"
    plan = Planned(finding, path, edits, f"{change} (unsafe: {why})", "unsafe")
    try:
        scope.check(plan)
    except NoFix as exc:
        not_fixed[finding] = str(exc)
        return None
    return plan


# Why a policy fix is unsafe, by what the policy is (Policy.what, the finding's ``kind``): it
# then denies what it lets through today, and where to try it first.
_DENIES = "the policy then denies requests it lets through today"
_ORGANIZATIONS = ("service control policy", "resource control policy")
# A rule's fix note may say why itself: ``"<change> (unsafe: <why>)"``, or say where to try the
# fix first (IMDS010 does, per kind of policy): then that is not said twice.
_UNSAFE_BECAUSE = " (unsafe: "
_TRIED_ON = ("test OU", "test role")


def _policy_hazard(finding: Finding) -> tuple[str, str]:
    """What a policy finding's fix changes, and why it is unsafe. The reason is the finding's
    own when its fix note ends with one (``... (unsafe: the role then ...)``), only that it then
    denies more when the note already says where to try it; else it follows from the kind of
    policy: an SCP or RCP is tried on a test OU, an IAM policy on a test role
    or user, and a document that could be either (a plain JSON file, a Terraform
    ``aws_iam_policy_document``) says both."""
    note = finding.fix_note or "corrects the statement"
    change, said, why = note.partition(_UNSAFE_BECAUSE)
    if said and why.endswith(")") and why[:-1].strip():
        return change, why[:-1]
    if any(where in note for where in _TRIED_ON):  # the rule said where to try it: not again
        return note, _DENIES
    kind = finding.kind
    if kind in _ORGANIZATIONS:
        return note, f"{_DENIES}: attach it to a test OU first"
    if kind.startswith(("IAM ", "inline policy")) and kind != "IAM policy document":
        return note, f"{_DENIES}: attach it to a test role or user first"
    return note, f"{_DENIES}; an SCP: attach it to a test OU first"


def _why_not(
    finding: Finding,
    target: Target | None,
    unsafe: bool,
    shared: dict[tuple[str, int, int], list[str]],
) -> str | None:
    if finding.suppressed is not None:
        return f"suppressed ({finding.suppressed})"
    rule = REGISTRY[finding.rule_id]
    if rule.fix is None:
        return f"no automatic fix: {rule.no_fix or 'none is known for this rule'}"
    if target is not None and target.recorded_state:
        return "recorded state: fix the configuration and regenerate this file"
    if finding.fix is None:  # the finding's note says why (a value given on the command line)
        return f"no automatic fix: {finding.fix_note or 'none is known for this value'}"
    if finding.fix == "unsafe" and not unsafe:
        if finding.fix_note and finding.fix_note.startswith(BREAKS):
            return f"{finding.fix_note} or add --unsafe-fixes"
        return f"unsafe fix ({_note(finding, shared)}): enable it with --unsafe-fixes"
    if "/.terraform/" in "/" + finding.path.replace(os.sep, "/"):
        return "in a module downloaded by terraform init: fix the module call's inputs"
    if "/.terragrunt-cache/" in "/" + finding.path.replace(os.sep, "/"):
        return "in a module downloaded by terragrunt: fix the unit's inputs or the module's source"
    return None


# --- planning ---------------------------------------------------------------------------------


def _dead_suppressions(
    findings: list[Finding],
    cwd: str,
    record: dict[str, bytes],
    scope: _Scope,
    not_fixed: dict[Finding, str],
) -> list[Planned]:
    """The fixes of the findings of rules that judge suppressions (``Rule.audit``): remove the
    dead code from its comment, or the comment (:mod:`imds_iac_checks.fix.suppressions`)."""
    from imds_iac_checks.fix import suppressions

    by_path: dict[str, list[Finding]] = {}
    for f in findings:
        if REGISTRY[f.rule_id].audit is None:
            continue
        if f.suppressed is not None:
            not_fixed[f] = f"suppressed ({f.suppressed})"
        elif not f.fixable:
            not_fixed[f] = "no automatic fix: remove the Metadata entry by hand"
        else:
            by_path.setdefault(f.path, []).append(f)
    out = []
    for path, members in by_path.items():
        data = record.get(os.path.abspath(os.path.join(cwd, path)))
        if data is None:
            for f in members:
                not_fixed[f] = "the file was not read by the scan"
            continue
        edits = suppressions.removals(data, path, {f.span.start_byte for f in members})
        if syntax_of(path, data) == "hcl":
            from imds_iac_checks.fix import hcl

            # text that reads like a comment inside a string or heredoc (user data) stays
            edits = {k: v for k, v in edits.items() if hcl.in_comment(data, v[0].start, v[0].end)}
        for f in members:
            if f.span.start_byte not in edits:
                not_fixed[f] = "no automatic fix: the suppression is not in a comment"
                continue
            edit, change = edits[f.span.start_byte]
            plan = Planned(f, path, (edit,), change)
            try:
                scope.check(plan)
            except NoFix as exc:
                not_fixed[f] = str(exc)
                continue
            out.append(plan)
    return out


def _desired(target: Target, key: str, hop_limit: int) -> tuple[str | int | bool, bool]:
    """The value a fix writes for ``key`` and whether it is a string: the kind's secure literal
    for the setting (``KindSpec.suggest``, as messages show it), with rule options filled in
    (``{hop_limit}``)."""
    text = target.spec.suggest[key].format_map(Context(hop_limit=hop_limit)._asdict())
    if text in ("true", "false"):
        return text == "true", False
    if text.isdigit():
        return int(text), False
    return text.strip('"'), text.startswith('"')


def _setting(finding: Finding) -> str:
    """The setting a fixable finding is about (every rule with a fix names it)."""
    if finding.setting is None:
        raise NoFix("the finding names no setting to write")
    return finding.setting


def _block_settings(target: Target) -> list[str]:
    """The settings a new options block writes: every one the kind declares a secure literal
    for, in the kind's order."""
    return [k for k in target.spec.fields if k in target.spec.suggest]


def _value_of(finding: Finding, target: Target) -> Value | None:
    for value in target.settings.get(finding.setting or "", ()):
        if value.span == finding.span:
            return value
    return None


def _plan(
    finding: Finding, target: Target, hop_limit: int, cwd: str, record: dict[str, bytes]
) -> Planned:
    value = _value_of(finding, target)
    key = _setting(finding)
    where = value.span if value is not None else target.span
    data = record.get(os.path.abspath(os.path.join(cwd, where.path)))
    if data is None:
        raise NoFix("the file was not read by the scan")
    kind = syntax_of(where.path, data)
    if kind in ("python", "javascript"):  # program source: a CDK app's constructs
        from imds_iac_checks.fix import code

        edits, change = code.plan(data, target, value, key, hop_limit)
        return Planned(finding, where.path, tuple(edits), change)
    if value is not None and value.problem and value.known and value.value is not None:
        # Tokens another setting decides (Packer's "disabled" endpoint sends no options).
        return _enable_endpoint(finding, target, value, data, kind)
    desired, as_string = _desired(target, key, hop_limit)
    field = target.spec.fields.get(key, key)
    decision = value.decision if value is not None else None
    if decision is not None and not decision.actionable:
        if decision.reads_input and decision.other == target.spec.suggest.get(key):
            raise NoFix(f"no automatic fix: the other branch is already {decision.other}")
        decision = None  # the branch's own value is fixed, as any value
    if decision is not None:
        # A conditional its condition decided: change what decides it (the variable default, the
        # tfvars entry, the module argument, the parameter default), never the branch.
        flip = decision.flip
        assert flip is not None  # an actionable decision has one
        as_string = isinstance(flip, str)
        if isinstance(flip, bool) and kind == "hcl":
            desired = "true" if flip else "false"  # HCL's literal, bare
        elif isinstance(flip, float):
            desired = int(flip) if flip.is_integer() else str(flip)
        else:
            desired = flip
        field = decision.subject
    if value is not None:  # replace the literal where the value is written
        old = data[where.start_byte : where.end_byte]
        if kind == "hcl" and decision is None and field.encode() in old:
            # A setting inside a JSON document held in a string (EMR's configuration).
            edit = _inside_string(data, where.start_byte, where.end_byte, field, desired)
        elif kind == "hcl":
            from imds_iac_checks.fix import hcl

            try:
                edit = hcl.replace_literal(
                    data, where.start_byte, where.end_byte, desired, as_string
                )
            except NoFix:
                if not hcl.in_template(data, where.start_byte, where.end_byte):
                    raise
                # A document held in a quoted string (an EC2 declarative policy's content as
                # `"{\"http_tokens\": ...}"`): its quotes are escapes, its bytes the literal.
                edit = _written_inside(data, where.start_byte, where.end_byte, value, desired)
        else:
            doc = _document(data, kind)
            try:
                node = doc.node_at(where.start_byte)
            except NoFix:
                # No node starts there: the value is written inside a string (a policy document
                # held in a JSON string or a YAML block scalar), where its bytes are the literal.
                edit = _written_inside(data, where.start_byte, where.end_byte, value, desired)
            else:
                try:
                    if decision is None:
                        _same_value(node, value)
                    edit = doc.replace_scalar(where.start_byte, where.end_byte, desired, as_string)
                except NoFix:
                    edit = _inside_string(data, where.start_byte, where.end_byte, field, desired)
        change = f"{field} {compact(old.decode('utf-8', 'replace'), 40)} -> {edit.text.decode()}"
        return Planned(finding, where.path, (edit,), change)
    fix = REGISTRY[finding.rule_id].fix
    if target.spec.option is not None:  # an option entry to add (Elastic Beanstalk)
        return _add_option(finding, target, data, kind, (desired, as_string))
    if fix is not None and not fix.adds_block:  # the block exists without the setting
        assert target.block_span is not None
        start = target.block_span.start_byte
        if kind == "hcl":
            from imds_iac_checks.fix import hcl

            render = hcl.render(desired, as_string)
            edits = hcl.add_attribute(data, hcl.parse(data), start, field, render)
        else:
            doc = _document(data, kind)
            from imds_iac_checks.formats.doc import MAP

            node = doc.node_at(start)
            if node.kind != MAP and node.items and node.items[0].kind == MAP:
                node = node.items[0]  # Terraform JSON: a block as a one-element list
            edits = [doc.add_keys(node, [(field, (desired, as_string))])]
        return Planned(finding, where.path, tuple(edits), f"added {field} = {show(desired)}")
    # the resource has no options block: add the whole block
    fields = []
    for k in _block_settings(target):
        fields.append((target.spec.fields[k], _desired(target, k, hop_limit)))
    block = target.spec.block
    if block is None:
        raise NoFix("no options block to add")
    change = f"added {block} ({', '.join(f'{n} = {show(v)}' for n, (v, _) in fields)})"
    if kind == "hcl":
        from imds_iac_checks.fix import hcl

        rendered = [(name, hcl.render(v, s)) for name, (v, s) in fields]
        edits = hcl.add_block(data, hcl.parse(data), target.span.start_byte, block, rendered)
        return Planned(finding, where.path, tuple(edits), change)
    doc = _document(data, kind)
    content: list[tuple[str, object]] = [(name, spec) for name, spec in fields]
    edit = _add_block_structured(doc, target, block, content)
    return Planned(finding, where.path, (edit,), change)


def _enable_endpoint(
    finding: Finding, target: Target, value: Value, data: bytes, kind: str
) -> Planned:
    """Write the endpoint's secure value over the one that makes the tokens setting moot, and
    the tokens' secure value in the same block, as one fix (the one without the other leaves
    IMDSv1 allowed)."""
    from imds_iac_checks.model import ENDPOINT

    where, block = value.span, target.block_span
    if (
        ENDPOINT not in target.spec.fields
        or block is None
        or where.path != block.path
        or not block.start_byte <= where.start_byte < block.end_byte
    ):
        raise NoFix("the endpoint value is not written in the options block: change it by hand")
    endpoint, tokens = target.field(ENDPOINT), target.field(_setting(finding))
    enabled = str(target.spec.suggest[ENDPOINT]).strip('"')
    required = str(target.spec.suggest[_setting(finding)]).strip('"')
    edits: list[Edit]
    if kind == "hcl":
        from imds_iac_checks.fix import hcl

        root = hcl.parse(data)
        edits = [hcl.replace_literal(data, where.start_byte, where.end_byte, enabled, True)]
        written = hcl.setting_expression(root, block.start_byte, tokens)
        if written is not None:
            edits.append(hcl.replace_literal(data, *written, required, True))
        else:
            edits += hcl.add_attribute(
                data, root, block.start_byte, tokens, hcl.render(required, True)
            )
    elif kind in ("json", "yaml"):
        from imds_iac_checks.formats.doc import MAP

        doc = _document(data, kind)
        edits = [doc.replace_scalar(where.start_byte, where.end_byte, enabled, True)]
        node = doc.node_at(block.start_byte)
        if node.kind != MAP:
            raise NoFix("the options block is not a mapping")
        pair = node.get(tokens)
        if pair is not None:
            start, end = doc.byte(pair.start), doc.byte(pair.end)
            edits.append(doc.replace_scalar(start, end, required, True))
        else:
            edits.append(doc.add_keys(node, [(tokens, (required, True))]))
    else:
        raise NoFix(f"set {endpoint} and {tokens} by hand")
    ordered = sorted(edits, key=lambda e: e.start)
    if any(a.end > b.start for a, b in itertools.pairwise(ordered)):
        raise NoFix(f"set {endpoint} and {tokens} by hand")
    change = f'{endpoint} -> "{enabled}", {tokens} -> "{required}"'
    return Planned(finding, where.path, tuple(edits), change)


def _fallback(
    finding: Finding, target: Target, hop_limit: int, cwd: str, record: dict[str, bytes]
) -> Planned | None:
    """The unsafe way to fix a finding whose own fix cannot be made or proven: write the secure
    literal over the expression that decides the setting in the resource (a ``for`` expression,
    a function call, a reference), or replace a ``dynamic`` options block with a static one."""
    if target.format != "terraform" or not target.path.endswith(".tf"):
        return None
    data = record.get(os.path.abspath(os.path.join(cwd, target.path)))
    if data is None:
        return None
    from imds_iac_checks.fix import hcl

    root = hcl.parse(data)
    key = _setting(finding)
    desired, as_string = _desired(target, key, hop_limit)
    fix = REGISTRY[finding.rule_id].fix
    if fix is not None and fix.adds_block:
        if target.spec.block is None:
            return None
        fields = [
            (target.spec.fields[k], hcl.render(*_desired(target, k, hop_limit)))
            for k in _block_settings(target)
        ]
        edit = hcl.replace_dynamic(data, root, target.span.start_byte, target.spec.block, fields)
        if edit is None:
            return None
        note = f'replaces the dynamic "{target.spec.block}" block with a static one'
        return Planned(finding, target.path, (edit,), note, "unsafe")
    if target.block_span is None or _value_of(finding, target) is None:
        return None
    decided = _value_of(finding, target)
    decision = decided.decision if decided is not None else None
    if decision is not None and (
        decision.actionable
        or (decision.reads_input and decision.other == target.spec.suggest.get(key))
    ):
        return None  # never flatten a conditional: its fix changes what decides it
    field = target.spec.fields[key]
    expression = hcl.setting_expression(root, target.block_span.start_byte, field)
    value = _value_of(finding, target)
    if expression is None or value is None:
        return None
    start, end = expression
    if (start, end) == (value.span.start_byte, value.span.end_byte):
        return None  # the same edit as the fix itself
    text = hcl.render(desired, as_string)
    shown = compact(data[start:end].decode("utf-8", "replace"), 40)
    change = f"{field} {shown} -> {text.decode()} (the expression is replaced)"
    return Planned(finding, target.path, (Edit(start, end, text),), change, "unsafe")


def _aliased(plan: Planned, cwd: str, record: dict[str, bytes]) -> str | None:
    """The anchor of a YAML value the plan replaces when an alias elsewhere refers to it (the
    edit then changes what the alias stands for too)."""
    import re

    data = record.get(os.path.abspath(os.path.join(cwd, plan.path)))
    if data is None or syntax_of(plan.path, data) != "yaml":
        return None
    for edit in plan.edits:
        names: list[bytes] = re.findall(rb"&([^\s,\[\]{}]+)", data[edit.start : edit.end])
        for name in names:
            if re.search(rb"\*" + re.escape(name) + rb"(?![^\s,\[\]{}])", data):
                return name.decode("utf-8", "replace")
    return None


def _add_option(
    finding: Finding, target: Target, data: bytes, kind: str, desired: tuple[object, bool]
) -> Planned:
    """Add the option entry that sets the kind's tokens option (``setting { namespace, name,
    value }`` in HCL, an ``OptionSettings`` item in CloudFormation)."""
    assert target.spec.option is not None
    namespace, option = target.spec.option
    value, as_string = desired
    change = f"added {namespace} {option} = {show(value)}"  # type: ignore[arg-type]
    if kind == "hcl":
        from imds_iac_checks.fix import hcl

        fields = [
            ("namespace", hcl.render(namespace, True)),
            ("name", hcl.render(option, True)),
            ("value", hcl.render(str(value), as_string)),
        ]
        edits = hcl.add_block(data, hcl.parse(data), target.span.start_byte, "setting", fields)
        return Planned(finding, target.path, tuple(edits), change)
    if target.format != "cloudformation":
        raise NoFix("add the setting entry by hand")
    from imds_iac_checks.formats.doc import MAP

    doc = _document(data, kind)
    resource = doc.node_at(target.span.start_byte, (MAP,))
    props = resource.get("Properties")
    entries = props.get("OptionSettings") if props is not None and props.kind == MAP else None
    if entries is None:
        raise NoFix("the resource has no OptionSettings list; add the entry by hand")
    content: list[tuple[str, object]] = [
        ("Namespace", (namespace, True)),
        ("OptionName", (option, True)),
        ("Value", (value, as_string)),
    ]
    return Planned(finding, target.path, (doc.append_item(entries, content),), change)


def _add_block_structured(
    doc: Document, target: Target, block: str, content: list[tuple[str, object]]
) -> Edit:
    from imds_iac_checks.formats.doc import MAP

    container = doc.node_at(target.span.start_byte, (MAP,))
    if target.format == "cloudformation":
        from imds_iac_checks.formats import cloudformation

        cfn = cloudformation.KINDS.get(target.kind)
        if cfn is not None:
            path = ("Properties", *cfn.path)
        elif target.kind == cloudformation.EMR.kind:
            path = ("Properties", "SecurityConfiguration", block)
        else:
            raise NoFix("no options block to add")
        node = container
        for i, step in enumerate(path[:-1]):
            child = node.get(step)
            if child is None:
                nested: list[tuple[str, object]] = [(path[-1], content)]
                for name in reversed(path[i + 1 : -1]):
                    nested = [(name, nested)]
                # A new Properties goes right after the resource's Type, as people write it.
                return doc.add_keys(node, [(step, nested)], after="Type" if i == 0 else None)
            if (
                child.kind != MAP
                or (
                    len(child.items) == 1
                    and str(child.items[0][0].value).startswith(("Fn::", "Ref"))
                )
                or child.tag
            ):
                raise NoFix(f"{step} is not a plain mapping; add {block} by hand")
            node = child
        return doc.add_keys(node, [(path[-1], content)])
    if target.format == "ansible":  # the task: the block goes into the module's arguments
        from imds_iac_checks.formats import ansible

        arguments = ansible.module_arguments(container)
        if isinstance(arguments, str):
            raise NoFix(arguments)
        if arguments.get(block) is not None:  # written empty (null): never a second key
            raise NoFix(f"{block} is written empty; write its settings under it by hand")
        container = arguments
    if target.format == "terraform" and container.get("dynamic") is not None:
        dynamic = container.get("dynamic")
        if dynamic is not None and dynamic.get(block) is not None:
            raise NoFix(f'a dynamic "{block}" block decides it: change its for_each or content')
    return doc.add_keys(container, [(block, content)])


def _document(data: bytes, kind: str) -> Document:
    from imds_iac_checks.fix.structured import Document

    return Document(data, kind == "yaml")


def _same_value(node: DNode, value: Value) -> None:
    """The node at the value's span holds that value itself (not, say, a JSON string that
    contains it), or stands for "not set" (null, ``AWS::NoValue``)."""
    from imds_iac_checks.formats.doc import SCALAR

    if value.value is None and value.raw is None:
        return
    if node.kind != SCALAR or str(node.value) != str(value.raw):
        raise NoFix("the value is written inside another value; change it by hand")


def _written_inside(data: bytes, start: int, end: int, value: Value, desired: object) -> Edit:
    """A value whose span lies inside a string (a document held in a string: an EC2 declarative
    policy as a JSON string or a YAML block scalar in a template): its bytes are the literal as
    written (in its own quotes, or without them where they are escapes), and are replaced by the
    new literal when that is plain text (nothing to escape in any layer of quoting around it)."""
    import re

    old = data[start:end].decode("utf-8", "replace")
    quote = ""
    if len(old) > 1 and old[0] == old[-1] == '"':  # written with its quotes, as is
        quote, old = '"', old[1:-1]
    text = str(desired).lower() if isinstance(desired, bool) else str(desired)
    if value.raw is None or old != str(value.raw) or not re.fullmatch(r"[A-Za-z0-9._-]+", text):
        raise NoFix("the value is written inside another value; change it by hand")
    return Edit(start, end, f"{quote}{text}{quote}".encode())


def _inside_string(data: bytes, start: int, end: int, field: str, desired: object) -> Edit:
    """A setting inside a JSON document held in a string (EMR's SecurityConfiguration): edit
    the one place in the string's text where the field's value is written."""
    import re

    text = data[start:end]
    pattern = (
        rb'(\\?")' + re.escape(field.encode()) + rb"\1\s*:\s*"
        rb'(-?\d+(?:\.\d+)?|\\?"[^"\\]*\\?")'
    )
    matches = list(re.finditer(pattern, text))
    if len(matches) != 1:
        raise NoFix("the value is written inside another value; change it by hand")
    match = matches[0]
    old = match.group(2)
    if old.endswith(b'"'):
        quote = b'\\"' if old.startswith(b"\\") else b'"'
        new = quote + str(desired).encode() + quote
    else:
        new = str(desired).encode()
    return Edit(start + match.start(2), start + match.end(2), new)


# --- conflicts, verification ------------------------------------------------------------------


def _drop_conflicts(planned: list[Planned], not_fixed: dict[Finding, str]) -> list[Planned]:
    """Identical edits (instances of one resource, findings sharing a variable) are made once;
    a fix whose edit overlaps a different one waits for the next run."""
    taken: dict[str, list[Edit]] = {}
    kept = []
    for p in planned:
        edits = taken.setdefault(p.path, [])
        clash = False
        for e in p.edits:
            for other in edits:
                if e == other:
                    continue
                if (e.start < other.end and other.start < e.end) or (
                    e.start == other.start == e.end == other.end and not _composable(e, other)
                ):
                    clash = True
        if clash:
            not_fixed[p.finding] = "its edit overlaps another fix: run fix again"
            continue
        edits.extend(e for e in p.edits if e not in edits)
        kept.append(p)
    return kept


def _composable(a: Edit, b: Edit) -> bool:
    """Two insertions at one place that stay valid one after the other (a Packer source gets
    a metadata_options block and imds_support): whole lines (HCL, YAML), or members appended
    after the last member of a JSON object (each begins with its comma)."""
    lines = a.text.endswith(b"\n") and b.text.endswith(b"\n")
    return lines or (a.text.startswith(b",") and b.text.startswith(b","))


def _build(
    planned: list[Planned], cwd: str, record: dict[str, bytes]
) -> dict[str, tuple[bytes, bytes]]:
    by_file: dict[str, list[Edit]] = {}
    for p in planned:
        edits = by_file.setdefault(p.path, [])
        edits.extend(e for e in p.edits if e not in edits)
    out = {}
    for shown, edits in by_file.items():
        old = record[os.path.abspath(os.path.join(cwd, shown))]
        new = apply(old, edits)
        if syntax_of(shown, old) == "hcl":
            from imds_iac_checks.fix import hcl

            if hcl.aligned(old):
                new = hcl.align(new)
        out[shown] = (old, new)
    return out


def _parses(shown: str, data: bytes) -> bool:
    from imds_iac_checks.formats import kind_of

    if kind_of(shown) is None:
        # A file the scan read for a resource (a templatefile() or file() target): its text was
        # checked as the code it is (see hazards._proven); the rescan proves the rest.
        return True
    kind = syntax_of(shown, data)
    if kind == "hcl":
        from imds_iac_checks.fix import hcl

        return hcl.valid(data)
    if kind == "shell":
        from imds_iac_checks.hazards import shell_valid

        return shell_valid(data)
    if kind in ("python", "javascript"):
        from imds_iac_checks.fix import code

        return code.valid(shown, data)
    if kind not in ("json", "yaml", ""):
        return True  # other code and manifests: the rescan proves the edit
    from imds_iac_checks.fix.structured import valid

    return valid(data, kind == "yaml")


def finding_key(f: Finding) -> tuple[str, str, str | None, str]:
    """What a finding is wherever its lines moved: rule, resource, setting and file."""
    return (f.rule_id, f.resource, f.setting, f.path)


def _verify(
    scan: Scanner,
    before: ScanResult,
    planned: list[Planned],
    not_fixed: dict[Finding, str],
    cwd: str,
    record: dict[str, bytes],
    unsafe: bool,
) -> tuple[dict[str, tuple[bytes, bytes]], ScanResult, list[Planned]]:
    """Apply in memory and rescan until every remaining edit is proven; returns the changes,
    the scan of the fixed tree and the fixes made.

    When the edits of a file fail together, each of its fixes is tried on its own, so that one
    bad fix does not hold back the others; a fix that fails on its own gives way to its unsafe
    fallback when ``unsafe``. The trials run in rounds — the k-th fix of every failing file in
    one rescan — so a large tree costs as many rescans as the longest list of fixes in one
    file, not one per fix."""
    checker = _Checker(scan, before, cwd, record)
    active = list(planned)
    tried: set[str] = set()
    for _ in range(16):
        changes, after, bad = checker.check(active)
        if not bad:
            return changes, after, active
        base = [p for p in active if p.path not in bad]
        singles: dict[str, list[Planned]] = {}
        for shown, reason in bad.items():
            members = [p for p in active if p.path == shown]
            if len(members) > 1 and shown not in tried:
                tried.add(shown)
                singles[shown] = members
                continue
            for p in members:
                not_fixed[p.finding] = reason + _hint(p.fallback if not unsafe else None)
                if p.fallback is not None and unsafe:
                    singles.setdefault(shown, []).append(p.fallback)
                    tried.add(shown)
        kept = _rounds(checker, base, singles, not_fixed, unsafe)
        fallbacks: dict[str, list[Planned]] = {}
        for p in (q for members in singles.values() for q in members):
            if p not in kept and p.fallback is not None and unsafe and p.finding in not_fixed:
                fallbacks.setdefault(p.fallback.path, []).append(p.fallback)
        kept += _rounds(checker, base + kept, fallbacks, not_fixed, unsafe)
        active = base + kept
    return {}, before, []


def _rounds(
    checker: _Checker,
    base: list[Planned],
    trials: dict[str, list[Planned]],
    not_fixed: dict[Finding, str],
    unsafe: bool,
) -> list[Planned]:
    """Try each fix of ``trials`` (file -> fixes) on top of ``base``, one per file per rescan;
    returns those that pass, and records why the others do not."""
    kept: list[Planned] = []
    longest = max((len(m) for m in trials.values()), default=0)
    for k in range(longest):
        trial = {shown: members[k] for shown, members in trials.items() if k < len(members)}
        _, _, bad = checker.check([*base, *trial.values()])
        for shown, p in trial.items():
            if shown in bad:
                not_fixed[p.finding] = bad[shown] + _hint(p.fallback if not unsafe else None)
            else:
                not_fixed.pop(p.finding, None)
                kept.append(p)
    return kept


class _Checker:
    """Scans the tree with edits applied in memory and says which files' edits fail.

    Findings are compared with those of the unedited tree by :func:`finding_key` (rule,
    resource, setting, file), not by position: an edit is blamed only for findings that were
    not there before it. A finding that comes and goes between two scans of the same unedited
    tree (an unstable one, in a module the edit does not touch) is nobody's fault: when the
    edited tree shows something new, the unedited tree is scanned once more (the control) and
    the counts of both unedited scans are accepted."""

    def __init__(
        self, scan: Scanner, before: ScanResult, cwd: str, record: dict[str, bytes]
    ) -> None:
        self.scan, self.before, self.cwd, self.record = scan, before, cwd, record
        self.before_keys = Counter(finding_key(f) for f in before.findings)
        self.before_errors = {(e.path, e.message) for e in before.errors}
        self.control: ScanResult | None = None

    def _control(self) -> None:
        """Scan the unedited tree again; accept what differs from the first scan."""
        if self.control is not None:
            return
        # the bytes the first scan read, scanned alike
        self.control = self.scan(source.Files(overlay=dict(self.record)))
        again = Counter(finding_key(f) for f in self.control.findings)
        for key, count in again.items():
            self.before_keys[key] = max(self.before_keys[key], count)
        self.before_errors |= {(e.path, e.message) for e in self.control.errors}

    def _new(self, after: ScanResult) -> tuple[list[Finding], list[ScanError]]:
        after_keys = Counter(finding_key(f) for f in after.findings)
        findings = [
            f
            for f in after.findings
            if after_keys[finding_key(f)] > self.before_keys[finding_key(f)]
        ]
        errors = [e for e in after.errors if (e.path, e.message) not in self.before_errors]
        return findings, errors

    def check(
        self, active: list[Planned]
    ) -> tuple[dict[str, tuple[bytes, bytes]], ScanResult, dict[str, str]]:
        """(changes, scan of the changed tree, {file: why its edits fail})."""
        changes = _build(active, self.cwd, self.record)
        bad: dict[str, str] = {}
        for shown, (_, new) in changes.items():
            if not _parses(shown, new):
                bad[shown] = "the fixed file would not parse (please report this)"
        if bad or not changes:
            return changes, self.before, bad
        overlay = {os.path.abspath(os.path.join(self.cwd, s)): n for s, (_, n) in changes.items()}
        after = self.scan(source.Files(overlay=overlay))
        new_findings, new_errors = self._new(after)
        if new_findings or new_errors:
            self._control()
            new_findings, new_errors = self._new(after)
        after_keys = Counter(finding_key(f) for f in after.findings)
        wanted = Counter(finding_key(p.finding) for p in active)
        for p in active:
            k = finding_key(p.finding)
            if after_keys[k] > self.before_keys[k] - wanted[k]:
                bad.setdefault(p.path, "the finding was still there after the edit")
        for f in new_findings:
            reason = f"the edit would cause {f.rule_id}: {f.message}"
            for shown in [f.path] if f.path in changes else changes:
                bad.setdefault(shown, reason)
        for e in new_errors:
            for shown in [e.path] if e.path in changes else changes:
                bad.setdefault(shown, f"the edited tree would not scan: {e.message}")
        return changes, after, bad
