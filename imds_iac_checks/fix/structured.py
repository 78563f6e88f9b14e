"""Edits on JSON and YAML (CloudFormation, EC2 API JSON, Terraform JSON, ``.tfvars.json``).

The file is re-read into the positioned tree the scan used (:mod:`imds_iac_checks.formats.doc`),
so every edit is a byte range of the original text: a scalar replaced in its own quoting style,
or keys added with the indentation, line ending and commas of the mapping that receives them.
YAML flow mappings stay flow mappings; nothing else is reflowed.
"""

from __future__ import annotations

import json
import re

from imds_iac_checks.fix.edits import (
    Edit,
    NoFix,
    indent_unit,
    indentation,
    line_start,
    newline,
    next_line,
    starts_line,
)
from imds_iac_checks.formats.doc import MAP, SCALAR, SEQ, DNode, DocError, Locator, decode
from imds_iac_checks.formats.doc import parse_json as _parse_json
from imds_iac_checks.formats.doc import parse_yaml as _parse_yaml

Content = "list[tuple[str, object]]"  # ordered key -> scalar or nested Content

# A line of nothing but Go template actions that open a branch (Helm chart templates).
_OPENS_BRANCH = re.compile(rb"(?:\{\{-?\s*(?:if|with|range)\b[^\n]*?-?\}\}\s*)+")
_PLAIN_YAML = re.compile(r"[A-Za-z0-9_.\-]+")
# A YAML node's properties before its scalar: an anchor, and the core tags (`!!str`) that can
# stay on the new value; a local tag (`!Ref`, `!If`) is an expression the fix replaces whole.
_ANCHOR = re.compile(
    r"(?:(?:&[^\s,\[\]{}]+|!![A-Za-z]+)[ \t]+)*&[^\s,\[\]{}]+[ \t]+(?:!![A-Za-z]+[ \t]+)?"
)


class Document:
    """A JSON or YAML file read for editing: its bytes, text, tree and offset conversions."""

    def __init__(self, data: bytes, yaml: bool) -> None:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise NoFix("the file is UTF-16: convert it to UTF-8 to fix it")
        try:
            self.text = decode(data)
            # every document of a YAML stream (Kubernetes manifests hold many)
            self.roots = _yaml_documents(self.text) if yaml else [_parse_json(self.text)]
            self.root = self.roots[0]
        except (DocError, IndexError):
            raise NoFix("the file does not parse") from None
        self.data = data
        self.yaml = yaml
        self.loc = Locator("", self.text)
        self.colon = self._colon()

    def _colon(self) -> bytes:
        """How the file writes a key's colon: ``": "`` or ``" : "`` (as some JSON does)."""
        if self.yaml or self.root.kind != MAP or not self.root.items:
            return b": "
        key, value = self.root.items[0]
        between = self.text[key.end : value.start]
        if re.fullmatch(r"[ \t]*:[ \t]*", between) and between.strip() == ":":
            return between.encode() if between.endswith((" ", "\t")) else b": "
        return b": "

    def byte(self, offset: int) -> int:
        return self.loc.position(offset)[2]

    def node_at(self, start_byte: int, kinds: tuple[str, ...] = (MAP, SEQ, SCALAR)) -> DNode:
        """The outermost node of one of ``kinds`` that starts at byte ``start_byte``."""
        stack = list(reversed(self.roots))
        seen: set[int] = set()  # YAML aliases share nodes: each is looked at once
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if node.kind in kinds and self.byte(node.start) == start_byte:
                return node
            if node.kind == MAP:
                for key, value in reversed(node.items):
                    stack.extend((value, key))
            elif node.kind == SEQ:
                stack.extend(reversed(node.items))
        raise NoFix("the place to edit was not found in the file")

    def flow(self, node: DNode) -> bool:
        return self.text[node.start : node.start + 1] in ("{", "[")

    # --- scalars ------------------------------------------------------------------------------

    def replace_scalar(
        self, start: int, end: int, value: str | int | bool, as_string: bool
    ) -> Edit:
        """Replace the scalar at bytes ``start:end`` keeping its quoting: ``'optional'`` ->
        ``'required'``, ``"3"`` -> ``"1"``, ``3`` -> ``1``."""
        old = self.data[start:end].decode("utf-8", "replace")
        if self.yaml:
            properties = _ANCHOR.match(old)
            if properties is not None:  # `&tok optional`: the anchor stays, aliases use it
                keep = properties.group(0)
                edit = self.replace_scalar(start + len(keep.encode()), end, value, as_string)
                return Edit(start, end, keep.encode() + edit.text)
        if old[:1] in ("|", ">"):
            raise NoFix("the value is a block scalar; change it by hand")
        if "\n" in old and not old.startswith(("!Ref", "{")):
            raise NoFix("the value spans several lines; change it by hand")
        text = _as_text(value)
        if old.startswith("'") and self.yaml:
            return Edit(start, end, f"'{text}'".encode())
        if old.startswith('"'):
            return Edit(start, end, json.dumps(text).encode())
        if isinstance(value, bool) or (not as_string and isinstance(value, int)):
            return Edit(start, end, text.encode())
        if _numeric(old) and text.isdigit():
            return Edit(start, end, text.encode())  # a number written bare stays a number
        return Edit(start, end, self.scalar(value, as_string))

    def scalar(self, value: object, as_string: bool) -> bytes:
        text = _as_text(value)
        if isinstance(value, bool) or (isinstance(value, int) and not as_string):
            return text.encode()
        if self.yaml and _PLAIN_YAML.fullmatch(text) and not (as_string and _numeric(text)):
            return text.encode()
        return json.dumps(text).encode()

    # --- keys ---------------------------------------------------------------------------------

    def add_keys(
        self, mapping: DNode, content: list[tuple[str, object]], after: str | None = None
    ) -> Edit:
        """Add ``content`` (key -> scalar or nested content) to ``mapping``: right after the key
        ``after`` when the mapping has it (a resource's ``Properties`` after its ``Type``), else
        above the first key (YAML block style) or after the last member."""
        if mapping.kind != MAP:
            raise NoFix("the place to add the setting is not a mapping")
        if len(content) == 1 and not isinstance(content[0][1], list):
            existing = mapping.get(content[0][0])
            if existing is not None:  # written as null (= not set): replace the value
                if existing.kind != SCALAR or existing.value is not None:
                    raise NoFix(f"{content[0][0]} is already set; change it by hand")
                start, end = self.byte(existing.start), self.byte(existing.end)
                if start == end:  # `Key:` with nothing after it
                    return Edit(start, end, b" " + self._value(content[0][1]))
                return Edit(start, end, self._value(content[0][1]))
        previous = _item(mapping, after) if after is not None else None
        if self.yaml and not self.flow(mapping):
            return self._yaml_block(mapping, content, previous)
        return self._flow(mapping, content, previous)

    def append_item(self, sequence: DNode, content: list[tuple[str, object]]) -> Edit:
        """Add the mapping ``content`` as the last item of ``sequence`` (a YAML block sequence,
        a flow sequence or a JSON array), written as the items before it are."""
        if sequence.kind != SEQ or not sequence.items:
            raise NoFix("the list to add to is empty or not a list; add the entry by hand")
        data, nl = self.data, newline(self.data)
        last = sequence.items[-1]
        if self.yaml and not self.flow(sequence):
            first = self.byte(sequence.items[0].start)
            lead = data[line_start(data, first) : first]
            if not lead.strip().startswith(b"-") or lead.strip(b" -") != b"":
                raise NoFix("the list is not written one item per line; add the entry by hand")
            dash = lead.index(b"-")
            indent = lead[:dash]
            inner = indent + b" " * (len(lead) - dash)
            lines = [
                (indent + b"- " if i == 0 else inner) + key.encode() + b": " + self._value(value)
                for i, (key, value) in enumerate(content)
            ]
            at = next_line(data, self.byte(last.end) - 1)
            head = nl if at == len(data) and not data.endswith(b"\n") else b""
            return Edit(at, at, head + b"".join(line + nl for line in lines))
        after = self.byte(last.end)
        item = b"{" + self._flow_members(content) + b"}"
        start = self.byte(sequence.start)
        if data.count(b"\n", start, self.byte(last.start)) == 0:
            return Edit(after, after, b", " + item)
        indent = indentation(data, self.byte(last.start))
        return Edit(after, after, b"," + nl + indent + item)

    def _yaml_block(
        self,
        mapping: DNode,
        content: list[tuple[str, object]],
        previous: tuple[DNode, DNode] | None = None,
    ) -> Edit:
        data, nl = self.data, newline(self.data)
        first_key = self.byte(mapping.items[0][0].start)
        if not starts_line(data, first_key):
            raise NoFix("the mapping does not start its own line; add the setting by hand")
        indent = indentation(data, first_key)
        unit = self._yaml_unit(mapping, indent)
        lines = self._yaml_lines(content, indent, unit)
        if previous is not None and starts_line(data, self.byte(previous[0].start)):
            # On the line after that key's value (a one-line value: `Type: AWS::EC2::Instance`).
            at = next_line(data, self.byte(previous[1].end) - 1)
            lead = nl if at == len(data) and not data.endswith(b"\n") else b""
            return Edit(at, at, lead + b"".join(line + nl for line in lines))
        # Above the first key and any comment or blank lines that lead into it, and outside
        # the Go template conditionals that open there (`{{- if .Values.ipv6 }}` in a Helm
        # chart template: the setting must be rendered whatever they say).
        at = line_start(data, first_key)
        while at > 0:
            above = line_start(data, at - 1)
            line = data[above:at].strip()
            if line and not line.startswith(b"#") and not _OPENS_BRANCH.fullmatch(line):
                break
            at = above
        return Edit(at, at, b"".join(line + nl for line in lines))

    def _yaml_unit(self, mapping: DNode, indent: bytes) -> bytes:
        """One level of indentation: from a nested block mapping in this one, or in the file."""
        stack = [self.root]
        while stack:
            node = stack.pop()
            for key, value in node.pairs():
                if value.kind == MAP and value.items and not self.flow(value):
                    outer = indentation(self.data, self.byte(key.start))
                    inner = indentation(self.data, self.byte(value.items[0][0].start))
                    if len(inner) > len(outer) and starts_line(self.data, self.byte(key.start)):
                        return inner[len(outer) :] if inner.startswith(outer) else b"  "
                stack.append(value)
        return indent_unit(indent, b"")

    def _yaml_lines(
        self, content: list[tuple[str, object]], indent: bytes, unit: bytes
    ) -> list[bytes]:
        lines = []
        for key, value in content:
            if isinstance(value, list):
                lines.append(indent + key.encode() + b":")
                lines.extend(self._yaml_lines(value, indent + unit, unit))
            else:
                lines.append(indent + key.encode() + b": " + self._value(value))
        return lines

    def _value(self, value: object) -> bytes:
        if isinstance(value, tuple):  # (value, as_string)
            return self.scalar(value[0], value[1])
        return self.scalar(value, False)

    def _flow(
        self,
        mapping: DNode,
        content: list[tuple[str, object]],
        previous: tuple[DNode, DNode] | None = None,
    ) -> Edit:
        """A JSON object or a YAML flow mapping: after the last member (or ``previous``), with a
        comma."""
        data, nl = self.data, newline(self.data)
        start, end = self.byte(mapping.start), self.byte(mapping.end)
        if not mapping.items:
            close = data.rfind(b"}", start, end)
            if self.yaml:
                return Edit(start + 1, close, self._flow_members(content))
            indent = indentation(data, start)
            unit = self._json_unit()
            inner = self._json_members(content, indent + unit, unit, nl)
            return Edit(start + 1, close, nl + inner + nl + indent)
        last_key, last = previous if previous is not None else mapping.items[-1]
        after = self.byte(last.end)
        first_key = self.byte(mapping.items[0][0].start)
        one_line = data.count(b"\n", start, first_key) == 0
        if self.yaml or one_line:
            return Edit(after, after, b", " + self._flow_members(content))
        indent = indentation(data, self.byte(last_key.start))
        unit = self._json_unit()
        return Edit(after, after, b"," + nl + self._json_members(content, indent, unit, nl))

    def _flow_members(self, content: list[tuple[str, object]]) -> bytes:
        parts = []
        for key, value in content:
            name = json.dumps(key).encode() if not self.yaml else key.encode()
            if isinstance(value, list):
                parts.append(name + self.colon + b"{" + self._flow_members(value) + b"}")
            else:
                parts.append(name + self.colon + self._value(value))
        return b", ".join(parts)

    def _json_members(
        self, content: list[tuple[str, object]], indent: bytes, unit: bytes, nl: bytes
    ) -> bytes:
        parts = []
        for key, value in content:
            name = json.dumps(key).encode()
            if isinstance(value, list):
                inner = self._json_members(value, indent + unit, unit, nl)
                parts.append(indent + name + self.colon + b"{" + nl + inner + nl + indent + b"}")
            else:
                parts.append(indent + name + self.colon + self._value(value))
        return (b"," + nl).join(parts)

    def _json_unit(self) -> bytes:
        """The file's indentation step: between an object's line and its first member's."""
        stack = [self.root]
        while stack:
            node = stack.pop()
            if node.kind == MAP and node.items:
                outer = indentation(self.data, self.byte(node.start))
                first = self.byte(node.items[0][0].start)
                if starts_line(self.data, first):
                    inner = indentation(self.data, first)
                    if len(inner) > len(outer) and inner.startswith(outer):
                        return inner[len(outer) :]
                stack.extend(v for _, v in node.items)
        return b"  "


def _item(mapping: DNode, key: str) -> tuple[DNode, DNode] | None:
    """The (key, value) pair of ``mapping`` whose key is ``key``."""
    for name, value in mapping.items:
        if name.value == key:
            return name, value
    return None


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _numeric(text: str) -> bool:
    return bool(re.fullmatch(r"-?\d+(?:\.\d+)?", text.strip()))


def _yaml_documents(text: str) -> list[DNode]:
    """The documents of a YAML stream; a Helm chart template's, with its Go template actions
    blanked (same offsets: formats/gotemplate.py), when it does not parse as written (its
    comment actions, ``{{/* ... */}}``, always: they write nothing)."""
    if "{{" in text and "/*" in text:  # Go template comments write nothing: blanks
        from imds_iac_checks.formats import gotemplate

        comments = [a for a in gotemplate.actions(text) if a.body.startswith("/*")]
        text = gotemplate.blank(text, comments)
    try:
        return _parse_yaml(text)
    except DocError:
        if "{{" not in text:
            raise
    from imds_iac_checks.formats import gotemplate

    return _parse_yaml(gotemplate.blank(text, gotemplate.actions(text)))


def valid(data: bytes, yaml: bool) -> bool:
    try:
        text = decode(data)
        if yaml:
            _yaml_documents(text)
        else:
            _parse_json(text)
    except DocError:
        return False
    return True


__all__ = ["Document", "next_line", "valid"]
