"""A positioned document tree for JSON and YAML inputs.

Both JSON (a small parser over the standard library's string scanner) and YAML (ruamel.yaml's
composed node graph, which keeps tags such as ``!Ref`` and never expands aliases) become
:class:`DNode` trees whose nodes know their character offsets, so that every Value points at the
exact text that wrote it. Format interpreters (CloudFormation, EC2 API JSON, Terraform JSON and
plan JSON) read these trees and never see syntax.
"""

from __future__ import annotations

import re
import warnings
from bisect import bisect_right
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

    __slots__ = ("end", "items", "kind", "quoted", "start", "tag", "value")

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

    # --- mapping helpers ----------------------------------------------------------------------
    def get(self, key: str) -> DNode | None:
        if self.kind != MAP:
            return None
        for k, v in self.items:
            if k.value == key:
                return v  # type: ignore[no-any-return]
        return None

    def key_node(self, key: str) -> DNode | None:
        if self.kind != MAP:
            return None
        for k, _ in self.items:
            if k.value == key:
                return k  # type: ignore[no-any-return]
        return None

    def pairs(self) -> list[tuple[DNode, DNode]]:
        return self.items if self.kind == MAP else []

    def keys(self) -> list[Any]:
        return [k.value for k, _ in self.items] if self.kind == MAP else []

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


class Locator:
    """Character offsets -> :class:`Span` (1-based lines, character columns, byte offsets)."""

    __slots__ = ("_line_bytes", "ascii", "bom", "line_starts", "path", "text")

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.bom = text.startswith("\ufeff")
        self.ascii = text.isascii()
        self.line_starts = [0] + [m.end() for m in re.finditer("\r\n|\n|\r", text)]
        self._line_bytes: list[int] | None = None

    def _byte(self, index: int, offset: int) -> int:
        if self.ascii:
            return offset
        if self._line_bytes is None:  # byte offset of every line start, computed once
            starts, total, previous = [], 0, 0
            for start in self.line_starts:
                total += len(self.text[previous:start].encode("utf-8", "surrogatepass"))
                starts.append(total)
                previous = start
            self._line_bytes = starts
        start = self.line_starts[index]
        return self._line_bytes[index] + len(
            self.text[start:offset].encode("utf-8", "surrogatepass")
        )

    def position(self, offset: int) -> tuple[int, int, int]:
        """(line, column, byte offset) of a character offset."""
        index = bisect_right(self.line_starts, offset) - 1
        start = self.line_starts[index]
        column = offset - start + 1
        if index == 0 and self.bom:
            column -= 1
        return index + 1, max(column, 1), self._byte(index, offset)

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


def parse_json(text: str) -> DNode:
    """Parse JSON (RFC 8259) into a DNode tree. Duplicate keys are kept (see
    :meth:`DNode.duplicate_key`). Raises DocError with the offset of the first problem."""
    start = 1 if text.startswith("\ufeff") else 0
    pos = _WS.match(text, start).end()  # type: ignore[union-attr]
    node, pos = _json_value(text, pos, 0)
    pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
    if pos != len(text):
        raise DocError("extra data after the JSON value", pos)
    return node


def _json_value(text: str, pos: int, depth: int) -> tuple[DNode, int]:
    if depth > MAX_DEPTH:
        raise DocError(f"nesting deeper than {MAX_DEPTH} levels", pos)
    if pos >= len(text):
        raise DocError("unexpected end of file", pos)
    char = text[pos]
    if char == "{":
        return _json_object(text, pos, depth)
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
        number: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
        return DNode(SCALAR, pos, match.end(), number), match.end()
    for word, value in _LITERALS.items():
        if text.startswith(word, pos):
            return DNode(SCALAR, pos, pos + len(word), value), pos + len(word)
    raise DocError(f"unexpected character {char!r}", pos)


def _json_object(text: str, start: int, depth: int) -> tuple[DNode, int]:
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
        value, pos = _json_value(text, pos, depth + 1)
        node.items.append((key, value))
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith(",", pos):
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            continue
        if text.startswith("}", pos):
            node.end = pos + 1
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


def _compose_all(text: str) -> list[Any]:
    """ruamel.yaml's composed nodes of every document: with its C parser (libyaml, about 20x
    faster) when ruamel.yaml.clib is installed, else (and for the flow-context plain scalars
    libyaml rejects, such as ``[a, !Ref AWS::NoValue]``) the pure-Python one; both resolve
    scalars the same way (YAML 1.2; :func:`_convert` then applies YAML 1.1's plain booleans, as
    CloudFormation reads them). Composing never constructs objects,
    so any tag (``!Ref``) loads."""
    from ruamel.yaml.error import YAMLError

    loader_class: Any
    try:
        from ruamel.yaml.cyaml import CSafeLoader as loader_class
    except ImportError:  # no C extension on this platform
        loader_class = None
    # libyaml recurses in C: tens of thousands of nested flow collections overflow its stack
    # (a crash, not an exception). Such text goes to the pure parser, whose recursion stops
    # with an error. (Block nesting that deep needs more bytes than the file size limit.)
    if loader_class is not None and not _deep_flow(text):
        loader = loader_class(text)
        roots = []
        try:
            while loader.check_node():
                roots.append(loader.get_node())
            return roots
        except YAMLError:
            pass  # libyaml's YAML 1.1 scanner rejects `[a, !Ref AWS::NoValue]`: ruamel reads it
        finally:
            loader.dispose()
    from ruamel.yaml import YAML

    return list(YAML(typ="safe", pure=True).compose_all(text))


_C_PARSER_MAX_FLOW_DEPTH = 5000


def _deep_flow(text: str) -> bool:
    """Whether flow collections (``[`` ``{``) may nest deeper than the C parser is given."""
    if text.count("[") + text.count("{") <= _C_PARSER_MAX_FLOW_DEPTH:
        return False
    depth = 0
    for match in re.finditer(r"[\[\]{}]", text):
        depth += 1 if match.group() in "[{" else -1
        if depth > _C_PARSER_MAX_FLOW_DEPTH:
            return True
    return False


def parse_yaml(text: str) -> list[DNode]:
    """Compose a YAML stream with ruamel.yaml into one DNode tree per document.

    Aliases are converted once and shared, so an alias bomb costs its size on disk, not its
    expansion. Raises DocError for YAML syntax errors."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        with warnings.catch_warnings():  # ruamel warns about reused anchors: not the user's stderr
            warnings.simplefilter("ignore")
            # libyaml drops a BOM from its offsets, ruamel's pure parser keeps it: compose
            # without it, and shift every offset back by one character.
            bom = len(text) - len(text.lstrip("\ufeff"))  # libyaml drops a second one too
            roots = _compose_all(text[bom:])
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        parts = [str(p) for p in (exc.context, exc.problem) if p]
        message = " ".join("; ".join(parts).split()) or "invalid YAML"
        raise DocError(message, mark.index + bom if mark is not None else 0) from None
    except YAMLError as exc:
        raise DocError(" ".join(str(exc).split()) or "invalid YAML", 0) from None
    except RecursionError:
        raise DocError("nesting too deep", 0) from None
    return [_convert(root, {}, 0, bom) for root in roots if root is not None]


def _tag(node: Any) -> str:
    tag = node.tag
    return str(getattr(tag, "value", tag) or "")


def _convert(node: Any, memo: dict[int, DNode], depth: int, shift: int = 0) -> DNode:
    done = memo.get(id(node))
    if done is not None:
        return done
    if depth > MAX_DEPTH:
        raise DocError(f"nesting deeper than {MAX_DEPTH} levels", node.start_mark.index)
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    tag = _tag(node)
    custom = None if tag.startswith(_YAML_CORE) else tag
    start, end = node.start_mark.index + shift, node.end_mark.index + shift
    if isinstance(node, MappingNode):
        out = DNode(MAP, start, end, tag=custom)
        memo[id(node)] = out
        for key, value in node.value:
            name = _convert(key, memo, depth + 1, shift)
            if isinstance(name.value, bool) and isinstance(key.value, str):
                name = DNode(SCALAR, name.start, name.end, key.value)  # keys stay names
            out.items.append((name, _convert(value, memo, depth + 1, shift)))
        if out.items and getattr(node, "flow_style", None) is not True:
            out.end = out.items[-1][1].end
        return out
    if isinstance(node, SequenceNode):
        out = DNode(SEQ, start, end, tag=custom)
        memo[id(node)] = out
        out.items = [_convert(item, memo, depth + 1, shift) for item in node.value]
        if out.items and getattr(node, "flow_style", None) is not True:
            out.end = out.items[-1].end
        return out
    quoted = bool(getattr(node, "style", None))
    value = _scalar(tag, node.value)
    if not quoted and custom is None and isinstance(value, str) and value in _YAML11_BOOLS:
        value = _YAML11_BOOLS[value]
    out = DNode(SCALAR, start, end, value, tag=custom, quoted=quoted)
    memo[id(node)] = out
    return out


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
        except ValueError:
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
