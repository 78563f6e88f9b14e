"""A positioned document tree for JSON and YAML inputs.

Both JSON (a small parser over the standard library's string scanner) and YAML (ruamel.yaml's
composed node graph, which keeps tags such as ``!Ref`` and never expands aliases) become
:class:`DNode` trees whose nodes know their character offsets, so that every Value points at the
exact text that wrote it. Format interpreters (CloudFormation, EC2 API JSON, Terraform JSON and
plan JSON) read these trees and never see syntax.
"""

from __future__ import annotations

import json
import re
import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import accumulate
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

from imds_iac_checks.model import Span

MAP, SEQ, SCALAR = "map", "seq", "scalar"

MAX_DEPTH = 400


class DocError(Exception):
    """A document that cannot be read: ``offset`` is the character offset of the problem."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class DNode:
    """One node: a mapping (``items`` = list of key/value node pairs), a sequence (``items`` =
    nodes) or a scalar (``value`` = str/int/float/bool/None). ``tag`` is a YAML tag such as
    ``!Ref`` (None for plain JSON/YAML). ``start``/``end`` are character offsets."""

    __slots__ = ("dup", "end", "items", "kind", "quoted", "start", "tag", "value")

    def __init__(
        self,
        kind: str,
        start: int,
        end: int,
        value: Any = None,
        items: list[Any] | None = None,
        tag: str | None = None,
        quoted: bool = False,
    ) -> None:
        self.kind = kind
        self.start = start
        self.end = end
        self.value = value
        self.items: list[Any] = items if items is not None else []
        self.tag = tag
        self.quoted = quoted
        # A mapping with a key written twice: the second occurrence of the first such key (set
        # by the parsers). Reading such a mapping is recorded (see watch_duplicates).
        self.dup: DNode | None = None

    # --- mapping helpers ----------------------------------------------------------------------
    def get(self, key: str) -> DNode | None:
        if self.kind != MAP:
            return None
        items = self.items  # first: a lazy node learns its duplicate keys as it reads them
        if self.dup is not None and _WATCHERS:
            _WATCHERS[-1].append(self)
        for k, v in items:
            if k.value == key:
                return v  # type: ignore[no-any-return]
        return None

    def key_node(self, key: str) -> DNode | None:
        if self.kind != MAP:
            return None
        items = self.items
        if self.dup is not None and _WATCHERS:
            _WATCHERS[-1].append(self)
        for k, _ in items:
            if k.value == key:
                return k  # type: ignore[no-any-return]
        return None

    def pairs(self) -> list[tuple[DNode, DNode]]:
        if self.kind != MAP:
            return []
        items = self.items
        if self.dup is not None and _WATCHERS:
            _WATCHERS[-1].append(self)
        return items

    def keys(self) -> list[Any]:
        return [k.value for k, _ in self.pairs()]

    def duplicates(self) -> list[DNode]:
        """The second (and later) occurrence of every key written more than once."""
        seen: set[Any] = set()
        out = []
        for k, _ in self.items if self.kind == MAP else []:
            name = _key_identity(k)
            if name is None:
                continue
            if name in seen:
                out.append(k)
            seen.add(name)
        return out

    def duplicate_key(self) -> DNode | None:
        """The second occurrence of the first key that appears twice, if any."""
        seen: set[Any] = set()
        for k, _ in self.pairs():
            try:
                if k.value in seen:
                    return k
                seen.add(k.value)
            except TypeError:  # an unhashable complex key: YAML allows it, no template uses it
                continue
        return None

    def plain(self, depth: int = 0) -> Any:
        """The node as plain Python data (tags dropped), for small sub-trees only."""
        if depth > MAX_DEPTH:
            raise DocError("nesting too deep", self.start)
        if self.kind == MAP:
            return {str(k.value): v.plain(depth + 1) for k, v in self.items}
        if self.kind == SEQ:
            return [v.plain(depth + 1) for v in self.items]
        return self.value


def _key_identity(key: DNode) -> Any:
    """What makes two mapping keys the same key (None for complex keys): ``1`` and ``"1"`` are
    different keys, as are ``1`` and ``true``."""
    if key.kind != SCALAR:
        return None
    return (type(key.value), key.value)


def _mark_duplicate(node: DNode) -> None:
    seen: set[Any] = set()
    for k, _ in node.items:
        name = _key_identity(k)
        if name is None:
            continue
        if name in seen:
            node.dup = k
            return
        seen.add(name)


# Mappings with duplicate keys read while a watch_duplicates() block runs: the innermost block's
# list receives them.
_WATCHERS: list[list[DNode]] = []


@contextmanager
def watch_duplicates() -> Iterator[list[DNode]]:
    """Record every mapping with a duplicate key that is read (``get``, ``key_node``, ``pairs``,
    ``keys``) inside the block: an interpreter reports them for the target it was building."""
    found: list[DNode] = []
    _WATCHERS.append(found)
    try:
        yield found
    finally:
        _WATCHERS.pop()


class Locator:
    """Character offsets -> :class:`Span` (1-based lines, character columns, byte offsets).

    Nothing is computed per line up front (a file of a million short lines would pay for a
    million objects): the text is cut into chunks of :data:`CHUNK` characters, with the line
    number, line start and byte offset of each chunk start computed once, at C speed; a position
    then counts within its chunk. (Text with lone ``\r`` line ends keeps a list of line starts.)
    """

    CHUNK = 1 << 12

    __slots__ = ("_chunks", "_line_starts", "ascii", "bom", "path", "text")

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.bom = text.startswith("\ufeff")
        self.ascii = text.isascii()
        self._line_starts: list[int] | None = None
        if text.count("\r") != text.count("\r\n"):
            self._line_starts = [0] + [m.end() for m in re.finditer("\r\n|\n|\r", text)]
        self._chunks: tuple[list[int], list[int], list[int]] | None = None

    def _index(self) -> tuple[list[int], list[int], list[int]]:
        """Per chunk start: lines before it, the start of its line, its byte offset."""
        if self._chunks is None:
            text, size = self.text, self.CHUNK
            lines, starts, offsets = [0], [0], [0]
            for begin in range(0, len(text), size):
                lines.append(lines[-1] + text.count("\n", begin, begin + size))
                last = text.rfind("\n", begin, begin + size)
                starts.append(last + 1 if last >= 0 else starts[-1])
                chunk = text[begin : begin + size]
                offsets.append(
                    offsets[-1]
                    + (len(chunk) if self.ascii else len(chunk.encode("utf-8", "surrogatepass")))
                )
            self._chunks = (lines, starts, offsets)
        return self._chunks

    def position(self, offset: int) -> tuple[int, int, int]:
        """(line, column, byte offset) of a character offset."""
        text = self.text
        offset = max(0, min(offset, len(text)))
        lines, starts, offsets = self._index()
        chunk = offset // self.CHUNK
        begin = chunk * self.CHUNK
        if self._line_starts is not None:
            index = bisect_right(self._line_starts, offset) - 1
            start = self._line_starts[index]
        elif chunk + 1 < len(lines) and lines[chunk + 1] == lines[chunk]:
            index, start = lines[chunk], starts[chunk]  # no line break in this chunk
        else:
            index = lines[chunk] + text.count("\n", begin, offset)
            last = text.rfind("\n", begin, offset)
            start = last + 1 if last >= 0 else starts[chunk]
        column = offset - start + 1
        if index == 0 and self.bom:
            column -= 1
        byte = offsets[chunk] + (
            offset - begin
            if self.ascii
            else len(text[begin:offset].encode("utf-8", "surrogatepass"))
        )
        return index + 1, max(column, 1), byte

    def span(self, start: int, end: int | None = None) -> Span:
        end = start if end is None else end
        line, column, byte = self.position(start)
        end_line, end_column, end_byte = self.position(end)
        return Span(self.path, byte, end_byte, line, column, end_line, end_column)

    def node_span(self, node: DNode) -> Span:
        return self.span(node.start, node.end)

    def source(self, node: DNode) -> str:
        return self.text[node.start : node.end]


def decode(data: bytes) -> str:
    """Bytes -> text; UTF-8 (with or without BOM) or UTF-16/32 with BOM. Raises DocError."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DocError(f"not valid UTF-16: {exc.reason}", 0) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode("utf-8", "replace")
        byte = data[exc.start : exc.start + 1].hex()
        raise DocError(f"not valid UTF-8 text (byte 0x{byte})", len(prefix)) from None


# --- JSON -------------------------------------------------------------------------------------

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LITERALS = {"true": True, "false": False, "null": None}


def parse_json(text: str, skip: Callable[[str], bool] | None = None) -> DNode:
    """Parse JSON (RFC 8259) into a DNode tree. Duplicate keys are kept (see
    :meth:`DNode.duplicate_key`). Raises DocError with the offset of the first problem.

    With ``skip`` (the scan's reading), every value below the top level is checked by the
    standard library's C decoder and built when first read (:class:`_LazyNode`); the values of
    top-level keys for which ``skip`` is true, and a top-level array, are never built (empty
    nodes of their kind): no rule reads them, and a Python object per item of a large one would
    cost seconds. Integers past Python's 4,300-digit limit are kept as text."""
    start = 1 if text.startswith("\ufeff") else 0
    pos = _WS.match(text, start).end()  # type: ignore[union-attr]
    try:
        if skip is not None and text.startswith("[", pos):
            node, pos = _json_skipped(text, pos)
        else:
            node, pos = _json_value(text, pos, 0, skip)
    except RecursionError:  # not expected below MAX_DEPTH; kept as a last line of defence
        raise DocError("nesting too deep", pos) from None
    pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
    if pos != len(text):
        raise DocError("extra data after the JSON value", pos)
    return node


def _reject_constant(name: str) -> None:
    raise ValueError(name)  # NaN, Infinity: not JSON


_C_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _json_checked(text: str, pos: int) -> int | None:
    """The end of the value at ``pos`` when the C decoder takes it (valid JSON without huge
    integers, NaN or nesting deeper than the interpreter's recursion limit), else None."""
    try:
        return int(_C_DECODER.raw_decode(text, pos)[1])
    except (ValueError, RecursionError):
        return None


def _json_skipped(text: str, pos: int) -> tuple[DNode, int]:
    """A value checked by the C decoder, as an empty node of its kind; anything the C decoder
    does not take goes to the Python parser, which says where the problem is."""
    end = _json_checked(text, pos)
    if end is None:
        return _json_value(text, pos, 0, None)
    kind = MAP if text[pos] == "{" else SEQ if text[pos] == "[" else SCALAR
    return DNode(kind, pos, end), end


def _json_lazy(text: str, pos: int) -> tuple[DNode, int]:
    """A value checked by the C decoder whose children are parsed when first read (a
    :class:`_LazyNode`); what the C decoder does not take is parsed now, by the Python parser."""
    if text[pos : pos + 1] not in ("[", "{"):
        return _json_value(text, pos, 0, None)
    end = _json_checked(text, pos)
    if end is None:
        return _json_value(text, pos, 0, None)
    return _LazyNode(MAP if text[pos] == "{" else SEQ, pos, end, text), end


_ITEMS_SLOT: Any = DNode.__dict__["items"]


class _LazyNode(DNode):
    """A JSON object or array, already checked by the C decoder, whose children are parsed one
    level at a time when ``items`` is first read: the interpreters read a few paths of a large
    document (the instances of ``describe-instances``, not their tags), and a Python object per
    value costs more than the C decoder's passes over the levels they read."""

    __slots__ = ("_text",)

    def __init__(self, kind: str, start: int, end: int, text: str) -> None:
        super().__init__(kind, start, end)
        _ITEMS_SLOT.__set__(self, None)
        self._text = text

    @property
    def items(self) -> list[Any]:
        items = _ITEMS_SLOT.__get__(self, DNode)
        if items is None:
            items = _json_children(self._text, self)
            _ITEMS_SLOT.__set__(self, items)
            if self.kind == MAP and len(items) > 1:
                _mark_duplicate(self)
        return items  # type: ignore[no-any-return]

    @items.setter
    def items(self, value: list[Any]) -> None:
        _ITEMS_SLOT.__set__(self, value)


def _json_children(text: str, node: DNode) -> list[Any]:
    """One level of an object or array the C decoder has checked."""
    items: list[Any] = []
    closer = "}" if node.kind == MAP else "]"
    pos = _WS.match(text, node.start + 1).end()  # type: ignore[union-attr]
    if text.startswith(closer, pos):
        return items
    while True:
        if node.kind == MAP:
            key, pos = _json_value(text, pos, 0)
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]  # past ':'
            value, pos = _json_lazy(text, pos)
            items.append((key, value))
        else:
            value, pos = _json_lazy(text, pos)
            items.append(value)
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith(",", pos):
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            continue
        return items


def _json_value(
    text: str, pos: int, depth: int, skip: Callable[[str], bool] | None = None
) -> tuple[DNode, int]:
    if depth > MAX_DEPTH:
        raise DocError(f"nesting deeper than {MAX_DEPTH} levels", pos)
    if pos >= len(text):
        raise DocError("unexpected end of file", pos)
    char = text[pos]
    if char == "{":
        return _json_object(text, pos, depth, skip)
    if char == "[":
        return _json_array(text, pos, depth)
    if char == '"':
        try:
            value, end = scanstring(text, pos + 1, True)
        except ValueError as exc:
            raise DocError(f"invalid string: {exc.args[0].split(':')[0]}", pos) from None
        return DNode(SCALAR, pos, end, value, quoted=True), end
    match = _NUMBER.match(text, pos)
    if match and match.end() > pos:
        raw = match.group(0)
        number: int | float | str
        if any(c in raw for c in ".eE"):
            number = float(raw)
        else:
            try:
                number = int(raw)
            except ValueError:  # past Python's 4,300-digit limit: kept as text
                number = raw
        return DNode(SCALAR, pos, match.end(), number), match.end()
    for word, value in _LITERALS.items():
        if text.startswith(word, pos):
            return DNode(SCALAR, pos, pos + len(word), value), pos + len(word)
    raise DocError(f"unexpected character {char!r}", pos)


def _json_object(
    text: str, start: int, depth: int, skip: Callable[[str], bool] | None = None
) -> tuple[DNode, int]:
    node = DNode(MAP, start, start)
    pos = _WS.match(text, start + 1).end()  # type: ignore[union-attr]
    if text.startswith("}", pos):
        node.end = pos + 1
        return node, pos + 1
    while True:
        if not text.startswith('"', pos):
            raise DocError("expected a property name in double quotes", pos)
        key, pos = _json_value(text, pos, depth + 1)
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if not text.startswith(":", pos):
            raise DocError("expected ':' after the property name", pos)
        pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
        if skip is not None and skip(key.value):
            value, pos = _json_skipped(text, pos)
        elif skip is not None:
            value, pos = _json_lazy(text, pos)
        else:
            value, pos = _json_value(text, pos, depth + 1)
        node.items.append((key, value))
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith(",", pos):
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            continue
        if text.startswith("}", pos):
            node.end = pos + 1
            if len(node.items) > 1:
                _mark_duplicate(node)
            return node, pos + 1
        raise DocError("expected ',' or '}'", pos)


def _json_array(text: str, start: int, depth: int) -> tuple[DNode, int]:
    node = DNode(SEQ, start, start)
    pos = _WS.match(text, start + 1).end()  # type: ignore[union-attr]
    if text.startswith("]", pos):
        node.end = pos + 1
        return node, pos + 1
    while True:
        value, pos = _json_value(text, pos, depth + 1)
        node.items.append(value)
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith(",", pos):
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            continue
        if text.startswith("]", pos):
            node.end = pos + 1
            return node, pos + 1
        raise DocError("expected ',' or ']'", pos)


# --- YAML -------------------------------------------------------------------------------------

_YAML_CORE = "tag:yaml.org,2002:"

# Top-level CloudFormation sections no rule reads: data.py asks parse_yaml to skip them (a
# 3.9-million-item list there would otherwise cost a Python object per item).
SKIPPABLE_SECTIONS = ("Metadata", "Outputs", "Rules")


def parse_yaml(text: str, skip: tuple[str, ...] = ()) -> list[DNode]:
    """Compose a YAML stream with ruamel.yaml into one DNode tree per document.

    Nodes are built from the parser's events without recursion, so any nesting form (``- - -``,
    ``? ? ?``, indentation, flow collections, mixes) deeper than :data:`MAX_DEPTH` stops with
    "nesting too deep" instead of overflowing a stack. Aliases are converted once and shared, so
    an alias bomb costs its size on disk, not its expansion; an alias inside the node it names is
    an error. Top-level mapping keys named in ``skip`` may come back with a null value (their text
    is not parsed) when the text shows that skipping them cannot change anything else. Raises
    DocError for YAML syntax errors."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    bom = len(text) - len(text.lstrip("\ufeff"))  # libyaml drops a second BOM too
    body = text[bom:]
    try:
        with warnings.catch_warnings():  # ruamel warns about reused anchors: not the user's stderr
            warnings.simplefilter("ignore")
            # libyaml drops a BOM from its offsets, ruamel's pure parser keeps it: compose
            # without it, and shift every offset back by one character.
            regions = _skippable(body, skip) if skip else []
            if regions:
                cut, cuts = _cut(body, regions)
                try:
                    roots = _compose_all(cut, bom)
                    _uncut(roots, cuts, bom)
                    if _skipped_as_planned(roots, regions, bom):
                        return roots
                except (DocError, YAMLError):
                    pass  # the whole text decides, and reports the error where it is
            return _compose_all(body, bom)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        parts = [str(p) for p in (exc.context, exc.problem) if p]
        message = " ".join("; ".join(parts).split()) or "invalid YAML"
        raise DocError(message, mark.index + bom if mark is not None else 0) from None
    except YAMLError as exc:
        raise DocError(" ".join(str(exc).split()) or "invalid YAML", 0) from None
    except RecursionError:  # not expected (nothing recurses), kept as a last line of defence
        raise DocError("nesting too deep", 0) from None


def _compose_all(text: str, shift: int) -> list[DNode]:
    """DNode trees of every document, from ruamel.yaml's C parser (libyaml, much faster) when
    ruamel.yaml.clib is installed, else (and for the flow-context plain scalars libyaml rejects,
    such as ``[a, !Ref AWS::NoValue]``) from the pure-Python one. Both resolve scalars the same
    way (YAML 1.2; :func:`_scalar_node` then applies YAML 1.1's plain booleans, as CloudFormation
    reads them). Only the parsers' events are used: libyaml's own composer recurses in C and
    crashes on deep nesting."""
    from ruamel.yaml.error import YAMLError

    loader_class: Any
    try:
        from ruamel.yaml.cyaml import CSafeLoader as loader_class
    except ImportError:  # no C extension on this platform
        loader_class = None
    if loader_class is not None:
        loader = loader_class(text)
        try:
            return _build(_events(loader), _scalar_resolver(loader), shift)
        except YAMLError:
            pass  # libyaml's YAML 1.1 scanner rejects `[a, !Ref AWS::NoValue]`: ruamel reads it
        finally:
            loader.dispose()
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    events = yaml.parse(text)
    first = next(events, None)  # the resolver exists once parsing has started
    return _build(_chain(first, events), _scalar_resolver(yaml.resolver), shift)


def _events(loader: Any) -> Any:
    while True:
        event = loader.get_event()
        yield event
        if type(event).__name__ == "StreamEndEvent":
            return


def _chain(first: Any, rest: Any) -> Any:
    if first is not None:
        yield first
    yield from rest


def _tag_text(event: Any) -> str | None:
    tag = getattr(event, "ctag", None) or event.tag
    if tag is None:
        return None
    text = str(getattr(tag, "value", tag) or "")
    return None if text in ("", "!") else text


def _build(events: Any, resolve: Any, shift: int) -> list[DNode]:
    """Documents from parser events, iteratively, with a depth limit."""
    from ruamel.yaml.events import (
        AliasEvent,
        DocumentEndEvent,
        DocumentStartEvent,
        MappingEndEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceEndEvent,
        SequenceStartEvent,
    )

    roots: list[DNode] = []
    anchors: dict[Any, DNode] = {}
    # Open collections: [node, pending key of a mapping (or None), block style?]
    stack: list[list[Any]] = []
    open_ids: set[int] = set()
    root: DNode | None = None

    def add(node: DNode) -> None:
        nonlocal root
        if not stack:
            root = node
            return
        frame = stack[-1]
        parent = frame[0]
        if parent.kind == SEQ:
            parent.items.append(node)
        elif frame[1] is None:
            frame[1] = node
        else:
            parent.items.append((frame[1], node))
            frame[1] = None

    for event in events:
        kind = type(event)
        if kind is ScalarEvent:
            tag = _tag_text(event)
            if tag is None:
                tag = resolve(event.value, event.implicit)
            # a mapping key stays a name (``yes:`` is "yes", not a boolean)
            is_key = bool(stack) and stack[-1][0].kind == MAP and stack[-1][1] is None
            node = _scalar_node(event, tag, shift, is_key)
            if event.anchor is not None:
                anchors[event.anchor] = node
            add(node)
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if len(stack) >= MAX_DEPTH:
                raise DocError(
                    f"nesting too deep (more than {MAX_DEPTH} levels)",
                    event.start_mark.index + shift,
                )
            tag = _tag_text(event)
            if tag is None:
                tag = _YAML_CORE + ("map" if kind is MappingStartEvent else "seq")
            custom = None if tag is None or tag.startswith(_YAML_CORE) else tag
            start = event.start_mark.index + shift
            node = DNode(MAP if kind is MappingStartEvent else SEQ, start, start, tag=custom)
            if event.anchor is not None:
                anchors[event.anchor] = node
            add(node)
            stack.append([node, None, event.flow_style is not True])
            open_ids.add(id(node))
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            node, _, block = stack.pop()
            open_ids.discard(id(node))
            node.end = event.end_mark.index + shift
            if block and node.items:
                last = node.items[-1]
                node.end = (last[1] if node.kind == MAP else last).end
            if node.kind == MAP and len(node.items) > 1:
                _mark_duplicate(node)
        elif kind is AliasEvent:
            target = anchors.get(event.anchor)
            if target is None:
                raise DocError(
                    f"found undefined alias {event.anchor!r}", event.start_mark.index + shift
                )
            if id(target) in open_ids:
                raise DocError(
                    f"alias *{event.anchor} refers to a node that contains it",
                    event.start_mark.index + shift,
                )
            add(target)
        elif kind is DocumentStartEvent:
            anchors = {}
            root = None
        elif kind is DocumentEndEvent:
            if root is not None:
                roots.append(root)
            root = None
    return roots


def _scalar_resolver(resolver: Any) -> Any:
    """``(value, implicit) -> tag`` of a scalar without a tag: ruamel's implicit resolvers (YAML
    1.2 core schema), read from its own table without its per-call overhead."""
    from ruamel.yaml.nodes import ScalarNode

    table = getattr(resolver, "versioned_resolver", None)
    if not isinstance(table, dict):
        table = getattr(resolver, "yaml_implicit_resolvers", None)
    if not isinstance(table, dict) or getattr(resolver, "yaml_path_resolvers", None):

        def slow(value: str, implicit: Any) -> str | None:
            return _tag_text_of(resolver.resolve(ScalarNode, value, implicit))

        return slow

    def unwrap(pattern: Any) -> Any:
        lazy = getattr(pattern, "lazy_self", None)  # ruamel compiles its patterns lazily
        return lazy() if lazy is not None else pattern

    anywhere = [(tag, unwrap(rx)) for tag, rx in table.get(None, [])]
    by_first = {
        first: [(tag, unwrap(rx)) for tag, rx in rules] + anywhere
        for first, rules in table.items()
        if first is not None
    }
    default = _YAML_CORE + "str"

    def resolve(value: str, implicit: Any) -> str | None:
        if not implicit[0]:
            return default
        for tag, pattern in by_first.get(value[:1], anywhere):
            if pattern.match(value):
                return str(tag)
        return default

    return resolve


def _tag_text_of(tag: Any) -> str | None:
    """A resolved tag as text. ruamel's Tag computes its text through a slow URI decoding: a
    core tag has none to do."""
    suffix = getattr(tag, "suffix", None)
    if getattr(tag, "handle", "") is None and isinstance(suffix, str) and "%" not in suffix:
        return suffix
    return str(getattr(tag, "value", tag) or "") or None


def _scalar_node(event: Any, tag: str | None, shift: int, is_key: bool) -> DNode:
    start, end = event.start_mark.index + shift, event.end_mark.index + shift
    custom = None if tag is None or tag.startswith(_YAML_CORE) else tag
    quoted = bool(event.style)
    value = _scalar(tag or "", event.value)
    if not quoted and custom is None and isinstance(value, str) and value in _YAML11_BOOLS:
        value = _YAML11_BOOLS[value]
    if is_key and isinstance(value, bool):
        value = event.value
    return DNode(SCALAR, start, end, value, tag=custom, quoted=quoted)


# --- skipping top-level sections ---------------------------------------------------------------

_TOP_KEY = re.compile(r"[A-Za-z][A-Za-z0-9]*[ \t]*:(?=[ \t\r\n]|$)")
# The next line that starts at column 0 and is not a comment or a compact ``- `` entry (two
# patterns with a literal start: the regular expression engine then scans at memchr speed).
_NEXT_TOP_LINE = re.compile(r"\n[^ \t\r\n#-]")
_NEXT_MARKER_LINE = re.compile(r"\n-(?:--|[^ \t\r\n])")
_BRACKETS = "[]{}"
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _skippable(text: str, names: tuple[str, ...]) -> list[tuple[int, int, int]]:
    """(key offset, value text start, value text end) of top-level ``names: ...`` sections that
    can be skipped: a key at column 0 whose value text runs to the next column-0 key, holds no
    quotes, comments or anchors (nothing in it can reach out: an alias elsewhere, a quote or a
    flow collection left open across the next key) and closes every bracket it opens."""
    if text.count("\r") != text.count("\r\n"):
        return []  # old Mac line ends: not worth a second line scanner
    # "\n" first: a literal prefix lets the engine scan fast (a "^" with re.M does not)
    pattern = re.compile(r"(?:\A|(?<=\n))(?:" + "|".join(map(re.escape, names)) + r")[ \t]*:")
    keys = re.compile(r"\n(?:" + "|".join(map(re.escape, names)) + r")[ \t]*:")
    starts = [m.start() + 1 for m in keys.finditer(text)]
    if pattern.match(text):
        starts.insert(0, 0)
    out = []
    for match in filter(None, (pattern.match(text, start) for start in starts)):
        ends = [
            found.start() + 1
            for found in (
                _NEXT_TOP_LINE.search(text, match.end()),
                _NEXT_MARKER_LINE.search(text, match.end()),
            )
            if found is not None
        ]
        end = min(ends, default=len(text))
        if end < len(text) and not _TOP_KEY.match(text, end):
            continue
        value = text[match.end() : end]
        if any(c in value for c in "\"'#&%`@"):
            continue
        if _balanced(value):
            out.append((match.start(), match.end(), end))
    return out


def _balanced(value: str) -> bool:
    """Whether the brackets of a text without quotes or comments close in order."""
    count = sum(value.count(c) for c in _BRACKETS)
    if count > 100_000:
        return False  # a deeply structured section: parsed, not skipped
    positions = []
    for c in _BRACKETS:
        i = value.find(c)
        while i >= 0:
            positions.append(i)
            i = value.find(c, i + 1)
    positions.sort()
    depth = 0
    for depth in accumulate(_STEP[value[i]] for i in positions):
        if depth < 0:
            return False
    return depth == 0


def _cut(text: str, regions: list[tuple[int, int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """The text with each skipped value cut down to its final line break, and the cuts:
    (offset in the cut text past which offsets move, how far in total)."""
    parts, cuts, previous, removed = [], [], 0, 0
    for _, start, end in regions:
        value = text[start:end]
        tail = 2 if value.endswith("\r\n") else 1 if value.endswith(("\n", "\r")) else 0
        parts += [text[previous:start], value[len(value) - tail :]]
        removed += len(value) - tail
        cuts.append((start - (removed - (len(value) - tail)), removed))
        previous = end
    parts.append(text[previous:])
    return "".join(parts), cuts


def _uncut(roots: list[DNode], cuts: list[tuple[int, int]], shift: int) -> None:
    """Move the offsets of every node of a tree composed from cut text back to the text's."""
    points = [at + shift for at, _ in cuts]
    moves = [0] + [total for _, total in cuts]

    def moved(offset: int) -> int:
        return offset + moves[bisect_left(points, offset)]

    seen: set[int] = set()
    stack: list[DNode] = list(roots)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        node.start, node.end = moved(node.start), moved(node.end)
        if node.kind == MAP:
            for key, value in node.items:
                stack += (key, value)
        elif node.kind == SEQ:
            stack += node.items


def _skipped_as_planned(
    roots: list[DNode], regions: list[tuple[int, int, int]], shift: int
) -> bool:
    """Whether each skipped key is a top-level key with a null value, followed by the key that
    starts where its text ended (else the whole text is parsed)."""
    starts: dict[int, tuple[DNode, int]] = {}
    for root in roots:
        if root.kind == MAP:
            for i, (key, _) in enumerate(root.items):
                starts[key.start] = (root, i)
    for key_start, _, end in regions:
        found = starts.get(key_start + shift)
        if found is None:
            return False
        root, i = found
        if root.items[i][1].kind != SCALAR or root.items[i][1].value is not None:
            return False
        following = root.items[i + 1][0].start if i + 1 < len(root.items) else None
        if following is not None and following != end + shift:
            return False
    return True


# CloudFormation reads templates as YAML 1.1 (SnakeYAML; cfn-lint's PyYAML agrees): a plain
# yes/no/on/off is a boolean there, where YAML 1.2 (ruamel's resolver) keeps a string.
_YAML11_BOOLS = {
    word: truth
    for truth, words in ((True, ("yes", "on")), (False, ("no", "off")))
    for base in words
    for word in (base, base.capitalize(), base.upper())
}


def _scalar(tag: str, text: str) -> Any:
    kind = tag[len(_YAML_CORE) :] if tag.startswith(_YAML_CORE) else "str"
    if kind == "int":
        try:
            return int(text.replace("_", ""), 0) if text[:2].lower() in ("0x", "0o") else int(text)
        except ValueError:  # also past Python's 4,300-digit limit: kept as text
            return text
    if kind == "float":
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "bool":
        return text.lower() in ("true", "yes", "on")
    if kind == "null":
        return None
    return text
