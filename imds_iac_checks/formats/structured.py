"""Helpers shared by the JSON/YAML interpreters: literal Values and settings read from a mapping."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from imds_iac_checks.formats.doc import MAP, SCALAR, DNode, Locator
from imds_iac_checks.model import (
    ENDPOINT,
    HOP_LIMIT,
    TOKENS,
    KindSpec,
    Link,
    LinkKind,
    Payload,
    ScanError,
    Span,
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


# --- where the characters of a string scalar are written (user data) -------------------------
#
# A string scalar's value (``DNode.value``) as runs of the source text: ``(text, start, end,
# kind)``, ``start``/``end`` character offsets of the source. ``LIT``: ``text`` is the source
# as written; ``ESC``: one escape (``\"``, ``''``, a CRLF line end read as ``\n``) whose text
# differs from its source; ``GAP``: text the source writes in no one place (a folded line
# break, the indentation skipped by an escaped line break). The runs' texts joined are the
# value; :func:`scalar_runs` checks that, and gives up (None) when they are not.

LIT, ESC, GAP = "lit", "esc", "gap"
Run = tuple[str, int, int, str]

# YAML double-quoted escapes (JSON's are a subset), by the character after the backslash.
DQ_ESCAPES = {
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}
_HEX_DIGITS = {"x": 2, "u": 4, "U": 8}


def scalar_runs(source: str, node: DNode, json_file: bool) -> tuple[list[Run], str] | None:
    """The runs of a scalar (see above) and how text inserted into its LIT runs is written
    (an escape of :mod:`imds_iac_checks.hazards.escape`: ``json`` in a JSON file, ``yaml-dq``,
    ``yaml-sq``, ``indent:<the block's indentation>`` for a literal block scalar, "" for a plain
    or folded scalar, where nothing can be inserted safely). None when the scalar's text cannot
    be followed to its source."""
    if node.kind != SCALAR or node.end <= node.start:
        return None
    pos = _after_properties(source, node.start, node.end)
    if pos >= node.end:
        return None
    first = source[pos]
    value = node.value if isinstance(node.value, str) else source[pos : node.end]
    runs: list[Run] | None
    if first in "\"'":
        if source[node.end - 1] != first:
            return None
        runs = _flow(source, pos + 1, node.end - 1, first)
        escape = "json" if json_file else ("yaml-dq" if first == '"' else "yaml-sq")
    elif first in "|>" and not json_file:
        found = _block(source, pos, node.end, value)
        if found is None:
            return None
        runs, indent = found
        escape = f"indent:{' ' * indent}" if first == "|" else ""
    else:
        runs, escape = _flow(source, pos, node.end, ""), ""
    if runs is None or "".join(run[0] for run in runs) != value:
        return None
    return runs, escape


def _after_properties(source: str, pos: int, end: int) -> int:
    """Past a YAML node's tag (``!Sub``) and anchor (``&name``) to its content."""
    while pos < end and source[pos] in "!&":
        while pos < end and source[pos] not in " \t\r\n":
            pos += 1
        while pos < end and source[pos] in " \t\r\n":
            pos += 1
        if pos < end and source[pos] == "#":  # a comment after the tag
            while pos < end and source[pos] not in "\r\n":
                pos += 1
            while pos < end and source[pos] in " \t\r\n":
                pos += 1
    return pos


def _flow(source: str, begin: int, stop: int, quote: str) -> list[Run] | None:
    """Runs of a flow scalar's body (``quote``: ``"``, ``'`` or "" for a plain scalar): line
    breaks fold (one break is a space, n+1 breaks are n newlines, the blanks around them go),
    and the quoted styles' escapes are ESC runs."""
    runs: list[Run] = []
    at = lit = begin

    def flush(upto: int) -> None:
        if upto > lit:
            runs.append((source[lit:upto], lit, upto, LIT))

    while at < stop:
        char = source[at]
        if quote == '"' and char == "\\":
            flush(at)
            if at + 1 >= stop:
                return None
            after = source[at + 1]
            if after in "\r\n":  # an escaped line break: the lines join, without a space
                end = at + (3 if source.startswith("\r\n", at + 1) else 2)
                while end < stop and source[end] in " \t":
                    end += 1
                runs.append(("", at, end, GAP))
                at = lit = end
                continue
            if after in _HEX_DIGITS:
                size = _HEX_DIGITS[after]
                end = at + 2 + size
                try:
                    code = int(source[at + 2 : end], 16)
                except ValueError:
                    return None
                if after == "u" and 0xD800 <= code < 0xDC00 and source.startswith("\\u", end):
                    try:  # a JSON surrogate pair is one character
                        low = int(source[end + 2 : end + 6], 16)
                    except ValueError:
                        low = 0
                    if 0xDC00 <= low < 0xE000:
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        end += 6
                if code > 0x10FFFF:
                    return None
                runs.append((chr(code), at, end, ESC))
                at = lit = end
                continue
            decoded = DQ_ESCAPES.get(after)
            if decoded is None:
                return None
            runs.append((decoded, at, at + 2, ESC))
            at = lit = at + 2
            continue
        if quote == "'" and char == "'":
            flush(at)
            runs.append(("'", at, at + 2, ESC))
            at = lit = at + 2
            continue
        if char in " \t\r\n":
            end = at
            while end < stop and source[end] in " \t":
                end += 1
            if end < stop and source[end] in "\r\n":
                flush(at)
                breaks = 0
                while end < stop and source[end] in " \t\r\n":
                    if source[end] == "\n" or (
                        source[end] == "\r" and not source.startswith("\r\n", end)
                    ):
                        breaks += 1
                    end += 1
                runs.append((" " if breaks == 1 else "\n" * (breaks - 1), at, end, GAP))
                at = lit = end
                continue
            at = end
            continue
        at += 1
    flush(stop)
    return runs


def _block(source: str, pos: int, end: int, value: str) -> tuple[list[Run], int] | None:
    """Runs of a block scalar (``|`` or ``>`` at ``pos``) and its indentation. Each content
    line is a LIT run without its indentation; in a literal block its line break is a LIT run
    too (an ESC run when written CRLF), in a folded one a GAP."""
    header_end = source.find("\n", pos, end)
    if header_end < 0:
        return None
    header = source[pos + 1 : header_end].split("#", 1)[0].strip()
    content = header_end + 1
    # The indentation: that of the first line with text (an explicit indicator is relative to
    # the parent's, which a node does not know: each width up to the detected one is tried).
    detected = 0
    at = content
    while at < end:
        line_end = source.find("\n", at, end)
        line_end = end if line_end < 0 else line_end
        line = source[at:line_end].rstrip("\r")
        if line.strip(" "):
            detected = len(line) - len(line.lstrip(" "))
            break
        at = line_end + 1
    widths = [detected]
    if any(c.isdigit() for c in header):
        widths = list(range(detected, 0, -1))
    folded = source[pos] == ">"
    for width in widths:
        runs = _block_lines(source, content, end, width, folded)
        fitted = _fit(runs, value, folded)
        if fitted is not None:
            return fitted, width
    return None


def _block_lines(source: str, at: int, end: int, width: int, folded: bool) -> list[Run]:
    runs: list[Run] = []
    while at < end:
        line_end = source.find("\n", at, end)
        has_break = line_end >= 0
        line_end = end if line_end < 0 else line_end
        text_end = (
            line_end - 1
            if has_break and line_end > at and source[line_end - 1] == "\r"
            else line_end
        )
        indent = at
        while indent < min(at + width, text_end) and source[indent] == " ":
            indent += 1
        if indent - at < width and indent < text_end:
            break  # less indented: the block has ended
        if indent < text_end:
            runs.append((source[indent:text_end], indent, text_end, LIT))
        if has_break:
            kind = GAP if folded else (LIT if text_end == line_end else ESC)
            runs.append(("\n", text_end, line_end + 1, kind))
        at = line_end + 1
    return runs


def _fit(runs: list[Run], value: str, folded: bool) -> list[Run] | None:
    """The runs cut to the block's value: a literal block's value is a prefix of its lines
    (chomping drops final line breaks); a folded block's lines are found in its value in
    order, the line breaks between them being whatever the value has there (GAP runs)."""
    out: list[Run] = []
    if not folded:
        size = 0
        for text, start, end, kind in runs:
            if size + len(text) > len(value):
                rest = len(value) - size
                if rest and kind == LIT:
                    out.append((text[:rest], start, start + rest, LIT))
                    size += rest
                break
            out.append((text, start, end, kind))
            size += len(text)
        return out if size == len(value) else None
    at = 0
    previous = runs[0][1] if runs else 0
    for text, start, end, kind in runs:
        if kind != LIT:
            continue
        found = value.find(text, at)
        if found < 0 or value[at:found].strip(" \n"):
            return None
        if found > at:
            out.append((value[at:found], previous, start, GAP))
        out.append((text, start, end, LIT))
        at, previous = found + len(text), end
    if value[at:].strip("\n"):
        return None
    if at < len(value):
        out.append((value[at:], previous, runs[-1][2] if runs else previous, GAP))
    return out


# A run of a payload's text as an adapter builds it: ``(text, start, end, escape)``, ``start``/
# ``end`` the character offsets of the source it is written at (``start`` < 0: a hole, text the
# file does not write literally: ``${AWS::Region}``, a folded line break).
Part = tuple[str, int, int, str]


def parts_of(runs: list[Run], escape: str) -> list[Part]:
    """A scalar's runs (:func:`scalar_runs`) as payload parts: GAP runs are holes."""
    return [(text, -1 if kind == GAP else start, end, escape) for text, start, end, kind in runs]


def hole(text: str) -> Part:
    return (text, -1, -1, "")


def make_payload(
    loc: Locator, parts: list[Part], span: Span, owner: str, what: str = "user data"
) -> Payload:
    """A :class:`~imds_iac_checks.model.Payload` of parts: each part written in the file is a
    piece (neighbours written as is, next to each other in the text and in the file, with the
    same escape, are one piece)."""
    from imds_iac_checks.model import Piece

    text: list[str] = []
    pieces: list[Piece] = []
    at = 0
    merged: list[list[Any]] = []  # [text start, text end, source start, source end, escape, as is]
    for part_text, start, end, escape in parts:
        if start >= 0 and part_text:
            as_is = loc.text[start:end] == part_text
            last = merged[-1] if merged else None
            if (
                as_is
                and last is not None
                and last[5]
                and last[1] == at
                and last[3] == start
                and last[4] == escape
            ):
                last[1], last[3] = at + len(part_text), end
            else:
                merged.append([at, at + len(part_text), start, end, escape, as_is])
        text.append(part_text)
        at += len(part_text)
    for text_start, text_end, start, end, escape, _ in merged:
        pieces.append(Piece(text_start, text_end, loc.span(start, end), escape))
    return Payload("".join(text), tuple(pieces), span, what, owner=owner)
