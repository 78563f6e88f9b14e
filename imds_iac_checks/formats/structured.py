"""Helpers shared by the JSON/YAML interpreters: literal Values and settings read from a mapping."""

from __future__ import annotations

from collections.abc import Callable

from imds_iac_checks.formats.doc import MAP, SCALAR, DNode, Locator
from imds_iac_checks.model import (
    ENDPOINT,
    HOP_LIMIT,
    TOKENS,
    KindSpec,
    Link,
    LinkKind,
    ScanError,
    Target,
    Value,
    compact,
    normalize,
)

# The EC2 API's MetadataOptions shape, which CloudFormation and the EC2 API JSON share.
API_FIELDS = {ENDPOINT: "HttpEndpoint", TOKENS: "HttpTokens", HOP_LIMIT: "HttpPutResponseHopLimit"}
API_SUGGEST = {ENDPOINT: '"enabled"', TOKENS: '"required"', HOP_LIMIT: "{hop_limit}"}


# Resolves a value node to its possible Values; [] = not set.
Resolve = Callable[[DNode, str], list[Value]]


def literal_value(
    loc: Locator,
    spec: KindSpec,
    key: str,
    node: DNode,
    *,
    link: tuple[str, ...] = (LinkKind.LITERAL, ""),
    via: tuple[Link, ...] = (),
    condition: str | None = None,
    in_branch: bool = False,
) -> Value | None:
    """A Value for a scalar node; None when it means "not set" outside a conditional branch.
    ``link`` is the kind of place the node is, its subject (a parameter's name...) and, for some
    kinds, its place (see model.Link)."""
    raw = node.value
    canonical, problem = normalize(spec, key, raw)
    kind, subject, place = (*link, "", "")[:3]
    links = (Link(loc.node_span(node), kind, subject, place), *via)
    if canonical is None and problem is None:
        if not in_branch:
            return None
        return Value(True, None, None, compact(loc.source(node)), links, condition)
    return Value(True, canonical, raw, compact(loc.source(node)), links, condition, problem)


def unknown_value(
    loc: Locator,
    node: DNode,
    expression: str | None = None,
    condition: str | None = None,
    kind: str = LinkKind.EXPRESSION,
) -> Value:
    text = expression if expression is not None else compact(loc.source(node))
    link = (Link(loc.node_span(node), kind),)
    return Value(False, None, None, text, link, condition)


def plain_resolver(loc: Locator, spec: KindSpec) -> Resolve:
    """Values of plain JSON: every scalar is a literal, anything else unknown."""

    def resolve(node: DNode, key: str) -> list[Value]:
        if node.kind == SCALAR and node.tag is None:
            value = literal_value(loc, spec, key, node)
            return [value] if value is not None else []
        return [unknown_value(loc, node)]

    return resolve


def read_settings(spec: KindSpec, options: DNode, resolve: Resolve) -> dict[str, tuple[Value, ...]]:
    settings: dict[str, tuple[Value, ...]] = {}
    for key, field in spec.fields.items():
        node = options.get(field)
        if node is None:
            continue
        values = resolve(node, key)
        if values:
            settings[key] = tuple(values)
    return settings


def without_duplicates(
    loc: Locator, targets: list[Target], read_twice: list[DNode], why: str
) -> tuple[list[Target], list[ScanError]]:
    """Targets and errors when the objects read (see :func:`doc.watch_duplicates`) include some
    with a key written twice: an error at each second key, and the targets inside such an object
    (or holding one) are not evaluated, since which value counts is not clear."""
    errors: list[ScanError] = []
    reported: set[int] = set()
    for mapping in read_twice:
        if id(mapping) in reported or mapping.dup is None:
            continue
        reported.add(id(mapping))
        line, column, _ = loc.position(mapping.dup.start)
        message = f"duplicate key {mapping.dup.value!r} ({why})"
        errors.append(ScanError(loc.path, line, column, message))
    if not errors:
        return targets, errors
    bad = [(loc.position(m.start)[2], loc.position(m.end)[2]) for m in read_twice]
    kept = [
        t
        for t in targets
        if not any(
            start <= t.span.start_byte < end or t.span.start_byte <= start < t.span.end_byte
            for start, end in bad
        )
    ]
    return kept, errors


def option_settings(
    loc: Locator,
    spec: KindSpec,
    entries: list[DNode],
    keys: tuple[str, str, str],
    resolve: Resolve,
    scalar: Callable[[DNode], object] | None = None,
) -> dict[str, tuple[Value, ...]]:
    """The tokens setting of a kind whose settings are option entries (Elastic Beanstalk's
    ``OptionSettings``, Terraform JSON's ``setting``): the values of the entries whose namespace
    and option name (``keys``: their names, then the value's) are the kind's option. An entry
    whose namespace or name is not a literal (``scalar`` resolves what it can: a parameter's
    default) may be it: when no entry is known to be it, the setting is unknown (IMDS004)."""
    assert spec.option is not None
    found: list[Value] = []
    maybe: list[Value] = []
    for entry in entries:
        if entry.kind != MAP:
            continue
        namespace, name, value = (entry.get(k) for k in keys)
        if namespace is None or name is None or value is None:
            continue
        said = [
            scalar(n) if scalar is not None else (n.value if n.kind == SCALAR else _UNKNOWN)
            for n in (namespace, name)
        ]
        if _UNKNOWN in said:
            maybe.append(unknown_value(loc, name))
        elif tuple(said) == spec.option:
            found.extend(resolve(value, TOKENS))
    if found:
        return {TOKENS: tuple(found)}
    return {TOKENS: (maybe[0],)} if maybe else {}


_UNKNOWN = object()
UNKNOWN = _UNKNOWN  # what a ``scalar`` resolver of option_settings returns for "not known"


def json_string_settings(
    loc: Locator, spec: KindSpec, node: DNode
) -> dict[str, tuple[Value, ...]] | None:
    """The settings of a kind whose options block sits in a JSON document held in the string
    ``node`` (EMR's security configuration): values point at the string (a fix edits inside
    it). None when the document has no options block."""
    import json

    try:
        data = json.loads(str(node.value))
    except (ValueError, RecursionError):  # not JSON, or nested past the C decoder's limit
        return None
    options = data.get(spec.block) if isinstance(data, dict) else None
    if not isinstance(options, dict):
        return None
    settings: dict[str, tuple[Value, ...]] = {}
    for key, field in spec.fields.items():
        if field in options and not isinstance(options[field], (dict, list)):
            inner = DNode(SCALAR, node.start, node.end, options[field])
            value = literal_value(loc, spec, key, inner)
            if value is not None:
                settings[key] = (value._replace(expression=json.dumps(options[field])),)
    return settings


Blocks = Callable[[DNode | None, tuple[str, ...]], list[DNode]]


def launches(
    body: DNode | None,
    needs: tuple[str, ...],
    exempt: tuple[tuple[str, ...], str, frozenset[str]] | None,
    nested: Blocks,
) -> bool:
    """Whether a resource of a launcher kind (``Launcher`` of Terraform JSON, ``CfnLauncher``)
    launches EC2 instances: it has the blocks it ``needs``, and no literal in them says it does
    not (Fargate). ``nested`` finds the blocks a path names in the format at hand. A value that
    is not a literal counts as launching: never a silent pass."""
    if needs and not nested(body, needs):
        return False
    if exempt is not None:
        path, name, values = exempt
        for block in nested(body, path):
            node = block.get(name)
            if node is not None and node.kind == SCALAR and node.value in values:
                return False
    return True
