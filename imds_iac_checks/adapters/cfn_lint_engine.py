"""What the cfn-lint rules (:mod:`imds_iac_checks.adapters.cfn_lint`) report, computed by imds-iac.

The rules (E9001, ...: one per imds-iac rule) delegate everything to imds-iac: the template is
read by the same CloudFormation adapter the CLI uses, launch templates are linked within the
stack, each target is evaluated by the engine with the rule's IMDS rule, instances of one
resource that share a finding are merged and suppressions (resource ``Metadata``, ``# imds-iac:
ignore`` comments) are applied as ``imds-iac check`` does. This module turns those findings into
what a cfn-lint ``RuleMatch`` needs:

- ``location``: where the CLI reports the finding (the value, a parameter ``Default`` or mapping
  entry it comes from, or the resource's ``Type:`` when a setting is missing), as the 0-based
  ``(line, column, end line, end column)`` cfn-lint takes from ``RuleMatch.location``;
- ``path``: the place inside the resource (``["Resources", "Web", "Properties",
  "MetadataOptions", "HttpTokens"]``), so that cfn-lint's resource-level ``ignore_checks``
  directives apply and its JSON output names the setting;
- ``message``: the CLI's message.

The file cfn-lint linted is re-read from ``cfn.filename`` so that positions are the CLI's exactly.
When there is no file (a template on standard input, ``cfnlint.api.lint`` on a string) or imds-iac
cannot read it, the template cfn-lint decoded is serialised to JSON and read instead; positions
then come from cfn-lint's decoded nodes (strings, mappings and lists carry their own; a number or a
boolean is located at the key that holds it), and line numbers in messages are translated.

Parameter values given to cfn-lint (``--parameters``, parameter files, deployment files) override
parameter defaults as ``imds-iac check --parameter`` does; several parameter sets are each
evaluated and their findings joined.

This module does not import cfnlint: it reads the ``Template`` object by duck typing.
"""

from __future__ import annotations

import json
import os
from typing import Any, NamedTuple

from imds_iac_checks import source
from imds_iac_checks.engine import DEFAULT_HOP_LIMIT, Context, evaluate
from imds_iac_checks.formats import cloudformation, nested
from imds_iac_checks.formats.doc import (
    MAP,
    SEQ,
    DNode,
    DocError,
    Locator,
    decode,
    parse_json,
    parse_yaml,
)
from imds_iac_checks.link import link
from imds_iac_checks.model import Finding, Policy, Span, Target, Value
from imds_iac_checks.rules import REGISTRY


def rules() -> dict[str, str]:
    """cfn-lint rule id -> imds-iac rule id, for every registered rule that is a cfn-lint rule."""
    return {rule.cfn_lint.id: rule.id for rule in REGISTRY.values() if rule.cfn_lint is not None}


MAX_HOP_LIMIT = 64

Path = list[str | int]
Location = tuple[int, int, int, int]


class Hit(NamedTuple):
    """One cfn-lint match: ``location`` is 0-based, None when it could not be found (cfn-lint
    then locates ``path`` itself)."""

    path: Path
    message: str
    location: Location | None
    finding: Finding


class _Stack(NamedTuple):
    """One template as imds-iac reads it."""

    # (line, column) of a node -> its path in the template, and whether the node is a key
    paths: dict[tuple[int, int], tuple[Path, bool]]
    runs: list[list[Target]]  # linked targets, one list per parameter set
    exact: bool  # read from the linted file: spans are the CLI's
    path: str = ""  # the path its spans carry (findings elsewhere are in a nested template)
    # The guardrail policies the template writes (AWS::Organizations::Policy, IAM policies)
    policies: tuple[Policy, ...] = ()
    # Where each node of the template is: (start, end) as (line, column), its path, its
    # children: what places a finding inside a document held in a string (see _enclosing).
    tree: _Node | None = None


class _Node(NamedTuple):
    start: tuple[int, int]
    end: tuple[int, int]
    path: Path
    children: list[_Node]


_last: tuple[object, _Stack] | None = None


def hits(cfn: Any, rule_id: str, hop_limit: int = DEFAULT_HOP_LIMIT) -> list[Hit]:
    """The matches of cfn-lint rule ``rule_id`` (``E9002``) on cfn-lint's ``Template``."""
    if isinstance(hop_limit, bool) or not 1 <= hop_limit <= MAX_HOP_LIMIT:
        raise ValueError(f"hop_limit must be between 1 and {MAX_HOP_LIMIT}, not {hop_limit!r}")
    stack = _stack(cfn)
    if stack is None:
        return []
    ctx = Context(hop_limit=hop_limit)
    out: list[Hit] = []
    seen: set[tuple[Span, str]] = set()
    rule = REGISTRY[rules()[rule_id]]
    if rule.policy is not None:
        for finding in policy_findings(stack.policies, ctx, rule.id):
            if finding.span.path == stack.path:
                out.append(_policy_hit(cfn, stack, finding))
    for targets in stack.runs:
        for finding, target in findings(targets, ctx, rule.id):
            if finding.span.path != stack.path:
                continue  # in a nested stack's own template: cfn-lint lints that file itself
            if (finding.span, finding.message) in seen:
                continue
            seen.add((finding.span, finding.message))
            out.append(_hit(cfn, stack, finding, target))
    out.sort(key=lambda h: (h.finding.span.line, h.finding.span.column, h.message))
    return out


def findings(targets: list[Target], ctx: Context, rule: str) -> list[tuple[Finding, Target]]:
    """The findings of one imds-iac rule on the linked targets of one stack, as ``imds-iac
    check`` reports them: instances of one resource that share a finding merged, and those a
    suppression covers (resource ``Metadata``, ``# imds-iac: ignore`` comments) left out — cfn-lint
    has no "reported but suppressed" state."""
    from imds_iac_checks import source, suppress
    from imds_iac_checks.scan import merge_instances

    found: list[Finding] = []
    origins: dict[Finding, tuple[Target, Context]] = {}
    for target in targets:
        for finding in evaluate(target, ctx, [rule]):
            found.append(finding)
            origins.setdefault(finding, (target, ctx))
    merged = suppress.apply(merge_instances(found, origins), origins, os.getcwd(), source.Files())
    return [(f, origins[f][0]) for f in merged if f.suppressed is None]


def policy_findings(policies: tuple[Policy, ...], ctx: Context, rule: str) -> list[Finding]:
    """The findings of one imds-iac rule that judges policies (``Rule.policy``) on a template's
    guardrail policies, as ``imds-iac check`` reports them: those a ``# imds-iac: ignore``
    comment or the resource's ``Metadata`` suppresses left out."""
    from imds_iac_checks import suppress

    check = REGISTRY[rule].policy
    if check is None or not policies:
        return []
    on: dict[Finding, Policy] = {}
    for policy in policies:
        for finding in check(policy, ctx):
            on.setdefault(finding, policy)
    kept = suppress.apply(list(on), {}, os.getcwd(), source.Files(), policies=on)
    return [finding for finding in kept if finding.suppressed is None]


# --- reading the template ---------------------------------------------------------------------


def _stack(cfn: Any) -> _Stack | None:
    """The template read once for all three rules (cfn-lint runs them on the same object)."""
    global _last
    if _last is not None and _last[0] is cfn:
        return _last[1]
    stack = _read(cfn)
    _last = (cfn, stack) if stack is not None else None
    return stack


def _read(cfn: Any) -> _Stack | None:
    filename = getattr(cfn, "filename", None)
    exact = True
    read = _from_file(filename) if isinstance(filename, str) and filename else None
    if read is None:
        exact = False
        read = _from_template(getattr(cfn, "template", None))
    if read is None:
        return None
    loc, root = read
    found = []
    for overrides in _parameter_sets(cfn):
        template = cloudformation.Template(loc, root, overrides)
        targets, _ = template.targets()  # cfn-lint reports errors
        if exact:  # local nested stacks, as the CLI follows them: what lands in this file
            more, _ = nested.nested_targets(template, filename, source.Files())
            targets += more
        found.append(targets)
    paths = _index(loc, root)
    # Last: the policy reader marks intrinsics inside policy documents in the tree it reads.
    policies, defaults = _guardrails(loc, root)
    tree = _tree(loc, root) if policies or defaults else None
    runs = [link(targets + defaults) for targets in found]
    return _Stack(paths, runs, exact, loc.path, policies, tree)


def _guardrails(loc: Locator, root: DNode) -> tuple[tuple[Policy, ...], list[Target]]:
    """The guardrail policies the template writes, and the account defaults its EC2 declarative
    policies set (targets), read as ``imds-iac check`` reads them (imds-iac's policy reader;
    parameter values given to cfn-lint do not change them, as ``--parameter`` does not for the
    CLI). A document the reader cannot read is the CLI's read error, which cfn-lint has no place
    for: it gets no match."""
    from imds_iac_checks.formats import policy

    if not policy.worth(loc.text.encode("utf-8", "replace")):
        return (), []
    from imds_iac_checks.formats import policy_cfn

    policies, targets, _ = policy_cfn.read(loc.path, root, loc)
    return tuple(policies), targets


def _from_file(filename: str) -> tuple[Locator, DNode] | None:
    """The linted file as ``imds-iac check`` reads a CloudFormation template; None when it cannot
    be read (cfn-lint's own reading then decides)."""
    try:
        with open(filename, "rb") as fh:
            text = decode(fh.read())
    except (OSError, DocError):
        return None
    head = text.lstrip("\ufeff \t\r\n")[:1]
    try:
        if head == "{":
            root = parse_json(text)
        else:
            roots = parse_yaml(text)
            if len(roots) != 1:
                return None
            root = roots[0]
    except DocError:
        return None
    if root.kind != MAP:
        return None
    return Locator(filename, text), root


def _from_template(template: object) -> tuple[Locator, DNode] | None:
    """The template cfn-lint decoded (short-form YAML tags already in their long form)."""
    if not isinstance(template, dict):
        return None
    try:
        text = json.dumps(template, indent=1, default=str)
        root = parse_json(text)
    except (TypeError, ValueError, RecursionError, DocError):
        return None
    return Locator("<template>", text), root


def _parameter_sets(cfn: Any) -> list[dict[str, str] | None]:
    """Parameter values given to cfn-lint, one dict per set; ``[None]`` when there are none.
    Messages say they come from "the cfn-lint parameters" (a set may come from the command
    line, a parameter file or a deployment file: cfn-lint does not say which)."""
    from imds_iac_checks.model import Parameters

    context = getattr(cfn, "context", None)
    out: list[dict[str, str] | None] = []
    for parameter_set in getattr(context, "parameter_sets", None) or ():
        given = getattr(parameter_set, "parameters", None)
        if not isinstance(given, dict):
            continue
        values = Parameters()
        for key, value in given.items():
            if isinstance(value, list):
                value = ",".join(map(str, value))  # CommaDelimitedList
            elif isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, dict) or value is None:
                continue
            values.give(str(key), str(value), "the cfn-lint parameters")
        out.append(values)
    return out or [None]


# Intrinsic functions in YAML short form (`!If`) -> the key of their long form (`Fn::If`).
def _function_key(tag: str) -> str:
    name = tag[1:]
    return name if name in ("Ref", "Condition") else f"Fn::{name}"


def _index(loc: Locator, root: DNode) -> dict[tuple[int, int], tuple[Path, bool]]:
    """The path of every node (keys included) by its position; for a position shared by a mapping
    and its first key, the key's (innermost) path. Paths use the long form of intrinsic functions
    (``[..., "HttpTokens", "Fn::If", 2]``), as cfn-lint does."""
    out: dict[tuple[int, int], tuple[Path, bool]] = {}
    work: list[tuple[DNode, Path, bool]] = [(root, [], False)]
    while work:
        node, path, is_key = work.pop()
        out[loc.position(node.start)[:2]] = (path, is_key)
        inner = [*path, _function_key(node.tag)] if node.tag and node.kind != "scalar" else path
        if node.kind == MAP:
            for key, value in reversed(node.items):
                step = key.value if isinstance(key.value, (str, int)) else str(key.value)
                work.append((value, [*inner, step], False))
                work.append((key, [*inner, step], True))
        elif node.kind == SEQ:
            for i in range(len(node.items) - 1, -1, -1):
                work.append((node.items[i], [*inner, i], False))
    return out


def _tree(loc: Locator, root: DNode) -> _Node:
    """Every node's extent and path (paths as :func:`_index` writes them), built without
    recursion (a template may nest deeper than Python's stack)."""
    top: list[_Node] = []
    work: list[tuple[DNode, Path, list[_Node]]] = [(root, [], top)]
    while work:
        node, path, siblings = work.pop()
        start, end = loc.position(node.start)[:2], loc.position(node.end)[:2]
        here = _Node(start, end, path, [])
        siblings.append(here)
        inner = [*path, _function_key(node.tag)] if node.tag and node.kind != "scalar" else path
        if node.kind == MAP:
            for key, value in reversed(node.items):
                step = key.value if isinstance(key.value, (str, int)) else str(key.value)
                work.append((value, [*inner, step], here.children))
        elif node.kind == SEQ:
            for i in range(len(node.items) - 1, -1, -1):
                work.append((node.items[i], [*inner, i], here.children))
    return top[0]


def _enclosing(stack: _Stack, span: Span) -> Path | None:
    """The path of the innermost node of the template that holds ``span`` (a statement or
    value of a document held in a JSON string is inside that string: its path)."""
    node = stack.tree
    if node is None:
        return None
    at, until = (span.line, span.column), (span.end_line, span.end_column)
    if not (node.start <= at and until <= node.end):
        return None
    while True:
        inner = next((c for c in node.children if c.start <= at and until <= c.end), None)
        if inner is None:
            return node.path
        node = inner


# --- findings -> matches ----------------------------------------------------------------------


def _hit(cfn: Any, stack: _Stack, finding: Finding, target: Target) -> Hit:
    at = stack.paths.get((finding.span.line, finding.span.column))
    value = _value(finding, target)
    path = _resource_path(stack, finding, target, at, value)
    message = finding.message
    location: Location | None
    if stack.exact:
        s = finding.span
        location = (s.line - 1, s.column - 1, s.end_line - 1, s.end_column - 1)
    else:
        location = _cfn_location(cfn, *at) if at else None
        if value is not None and len(value.provenance) > 1:
            message = _original_line(cfn, stack, message, value.provenance[-1].span)
    return Hit(path, message, location, finding)


def _policy_hit(cfn: Any, stack: _Stack, finding: Finding) -> Hit:
    """A match for a finding on a policy statement: at the CLI's span, with the path of the
    node the finding points at (or, inside a document held in a string, of that string)."""
    at = stack.paths.get((finding.span.line, finding.span.column))
    path = at[0] if at is not None else _enclosing(stack, finding.span)
    if path is None or len(path) < 2 or path[0] != "Resources":
        path = ["Resources", finding.resource.split(" ", 1)[0]]
    location: Location | None
    if stack.exact:
        s = finding.span
        location = (s.line - 1, s.column - 1, s.end_line - 1, s.end_column - 1)
    else:
        location = _cfn_location(cfn, path, bool(at and at[1]))
    return Hit(path, finding.message, location, finding)


def _value(finding: Finding, target: Target) -> Value | None:
    """The value a finding is about (None for a missing setting or block)."""
    for value in target.settings.get(finding.setting or "", ()):
        if value.span == finding.span:
            return value
    return None


def _resource_path(
    stack: _Stack,
    finding: Finding,
    target: Target,
    at: tuple[Path, bool] | None,
    value: Value | None,
) -> Path:
    """Where in its resource a finding is: the value itself, or, for a value taken from a
    parameter default or a mapping, the ``Ref``/``Fn::FindInMap`` that brings it in."""
    candidates = [at]
    if value is not None:
        candidates += [stack.paths.get((s.span.line, s.span.column)) for s in value.provenance]
    for candidate in candidates:
        if candidate is not None and len(candidate[0]) >= 2 and candidate[0][0] == "Resources":
            return candidate[0]
    inside = _enclosing(stack, finding.span)  # a declarative policy's value in a JSON string
    if inside is not None and len(inside) >= 2 and inside[0] == "Resources":
        return inside
    logical = target.address.split(".", 1)[0].split("[", 1)[0].split("/", 1)[0]
    return ["Resources", logical]


def _cfn_location(cfn: Any, path: Path, is_key: bool) -> Location | None:
    """Where cfn-lint's decoded template has the node at ``path``: the value's own marks when it
    has them (strings, mappings, lists), else the key that holds it."""
    node: Any = getattr(cfn, "template", None)
    if not is_key:
        for step in path:
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):
                node = None
                break
        start, end = getattr(node, "start_mark", None), getattr(node, "end_mark", None)
        if start is not None and end is not None:
            try:
                return (int(start.line), int(start.column), int(end.line), int(end.column))
            except (AttributeError, TypeError, ValueError):
                pass
    try:
        found = cfn.get_location_yaml(cfn.template, path)
    except Exception:  # cfn-lint's lookup is best effort; it locates the path itself then
        return None
    if isinstance(found, tuple) and len(found) == 4 and all(isinstance(n, int) for n in found):
        return found
    return None


def _original_line(cfn: Any, stack: _Stack, message: str, used: Span) -> str:
    """A message read from the serialised template names the line of the ``Ref`` or
    ``Fn::FindInMap`` in that text: name the line in the linted template instead."""
    at = stack.paths.get((used.line, used.column))
    found = _cfn_location(cfn, *at) if at else None
    old = f" at line {used.line})"
    new = f" at line {found[0] + 1})" if found else ")"
    return message.replace(old, new, 1)
