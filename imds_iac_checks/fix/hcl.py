"""Edits on Terraform HCL (``.tf``, ``.tfvars``), on the tree-sitter tree of the original bytes.

Three edits: replace a literal, add an argument to an existing block, add a whole block to a
resource. New lines take the indentation of their neighbours and the file's line ending. When a
file's ``=`` signs and trailing comments were aligned the way ``terraform fmt`` aligns them, they
are re-aligned after the edit (only the lines whose alignment the edit changes move), so a file
that was ``terraform fmt`` clean stays clean.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

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
from imds_iac_checks.formats.terraform import syntax as hcl
from imds_iac_checks.formats.terraform.layout import align, aligned
from imds_iac_checks.model import compact

if TYPE_CHECKING:
    from tree_sitter import Node

# A literal the fixer may replace: a quoted string without interpolation, a number, null, a bool.
_LITERAL = re.compile(rb'"(?:[^"\\$%]|\\.|\$(?!\{)|%(?!\{))*"|-?\d+(?:\.\d+)?|null|true|false')


# The last few trees parsed, by text: planning parses the same file once per finding (158
# findings in an 800 KB file were 158 parses, over a minute), verification parses it again.
_TREES: dict[bytes, Node] = {}
_KEEP = 4


def _tree(data: bytes) -> Node:
    """The root of ``data``'s tree, with the scanner's repairs (exponent numbers, deep templates:
    positions unchanged) and comments kept where they stand."""
    root = _TREES.get(data)
    if root is None:
        root = hcl.parse_tree(data, blank=False).root_node
        if len(_TREES) >= _KEEP:
            del _TREES[next(iter(_TREES))]
        _TREES[data] = root
    return root


def parse(data: bytes) -> Node:
    root = _tree(data)
    if root.has_error:
        raise NoFix("the file does not parse")
    return root


def in_comment(data: bytes, start: int, end: int) -> bool:
    """The non-blank bytes of ``data[start:end]`` lie in comments (not in a string or heredoc)."""
    try:
        root = parse(data)
    except NoFix:
        return False
    text = data[start:end]
    first = start + (len(text) - len(text.lstrip()))
    last = start + len(text.rstrip()) - 1
    if last < first:
        return True
    for at in (first, last):
        node = root.descendant_for_byte_range(at, at + 1)
        if node is None or node.type != "comment":
            return False
    return True


def valid(data: bytes) -> bool:
    """The text parses without error and keeps HCL's structure rules."""
    root = _tree(data)
    if root.has_error:
        return False
    return hcl.structure_problem(hcl.Source("", data), root) is None


def render(value: str | int, as_string: bool) -> bytes:
    return (f'"{value}"' if as_string else str(value)).encode()


def replace_literal(data: bytes, start: int, end: int, value: str | int, as_string: bool) -> Edit:
    """Replace the literal at ``data[start:end]``, keeping its kind: a quoted string stays quoted
    (``"2"`` -> ``"1"``), a bare number stays bare; ``null`` becomes the value."""
    old = data[start:end]
    if not _LITERAL.fullmatch(old):
        shown = compact(old.decode("utf-8", "replace"), 60)
        raise NoFix(f"{shown} is not a literal; change it by hand")
    quoted = old.startswith(b'"')
    if quoted or old == b"null" or not str(value).lstrip("-").isdigit():
        return Edit(start, end, render(value, quoted or as_string or old == b"null"))
    return Edit(start, end, str(value).encode())


def in_template(data: bytes, start: int, end: int) -> bool:
    """Whether ``data[start:end]`` lies in the literal text of one quoted string or heredoc
    (not across an interpolation)."""
    try:
        root = parse(data)
    except NoFix:
        return False
    node = root.descendant_for_byte_range(start, end)
    return node is not None and node.type == "template_literal"


def _node_at(root: Node, start: int, kind: str) -> Node:
    """The ``kind`` node starting at byte ``start`` (the outermost one)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.start_byte == start and node.type == kind:
            return node
        if node.start_byte <= start < node.end_byte:
            stack.extend(node.children)
    raise NoFix("the place to edit was not found in the file")


def _body(block: Node) -> Node | None:
    return hcl.child(block, "body")


def _items(block: Node) -> list[Node]:
    body = _body(block)
    if body is None:
        return []
    return [c for c in body.named_children if c.type in ("attribute", "block")]


def _single_line(block: Node) -> bool:
    opening = hcl.child(block, "block_start")
    closing = hcl.child(block, "block_end")
    return (
        opening is not None
        and closing is not None
        and opening.start_point[0] == closing.start_point[0]
    )


def _inner_lines(
    data: bytes, block: Node, lines: list[bytes], indent: bytes, unit: bytes, nested: bool = False
) -> list[Edit]:
    """Add ``lines`` (without indentation) to a block's body, after its last argument (so before
    any nested blocks); an empty or one-line block is opened up. A ``nested`` block that follows
    an argument written over several lines (a map, a list, a heredoc) is set off from it by a
    blank line, as people write it (``terraform fmt`` keeps blank lines as they are)."""
    nl = newline(data)
    items = _items(block)
    opening = hcl.child(block, "block_start")
    closing = hcl.child(block, "block_end")
    if opening is None or closing is None:
        raise NoFix("the block is incomplete")
    if _single_line(block) and not items:
        # `name {}`: open it up with edits that compose with another fix's lines (a Packer
        # source gets a metadata_options block and imds_support in one run): `{` ends its line
        # and `}` starts one (identical edits, made once), the lines go between.
        return [
            Edit(opening.start_byte, closing.start_byte, b"{" + nl),
            Edit(
                closing.start_byte,
                closing.start_byte,
                b"".join(indent + unit + line + nl for line in lines),
            ),
            Edit(closing.start_byte, closing.end_byte, indent + b"}"),
        ]
    if _single_line(block):
        # `name { one = 1 }`: open it up.
        inner = indent + unit
        body = [inner + data[i.start_byte : i.end_byte] for i in items]
        body += [inner + line for line in lines]
        text = b"{" + nl + nl.join(body) + nl + indent + b"}"
        return [Edit(opening.start_byte, closing.end_byte, text)]
    attributes = [i for i in items if i.type == "attribute"]
    lead = b""
    if attributes and all(starts_line(data, a.start_byte) for a in attributes):
        last = attributes[-1]
        inner = indentation(data, last.start_byte)
        at = next_line(data, last.end_byte)
        if nested and last.start_point[0] != last.end_point[0]:
            lead = nl  # (a blank line after the argument stays: then it follows the block)
    elif items and starts_line(data, items[0].start_byte):
        inner = indentation(data, items[0].start_byte)
        at = next_line(data, opening.end_byte)
    else:
        inner = indent + unit
        at = next_line(data, opening.end_byte)
    if at > closing.start_byte:  # the body ends on the line of the closing brace
        raise NoFix("the block's closing brace shares a line with its content")
    return [Edit(at, at, lead + b"".join(inner + line + nl for line in lines))]


def add_attribute(data: bytes, root: Node, block_start: int, name: str, value: bytes) -> list[Edit]:
    """Add ``name = value`` to the block (or resource) that starts at ``block_start``. For a
    ``dynamic`` block the argument goes into its ``content`` block; an object expression
    (``metadata_options = { ... }`` in a module call's map) gets the key, one per line."""
    try:
        found = _node_at(root, block_start, "block")
    except NoFix:
        return _add_object_key(data, _node_at(root, block_start, "object"), name, value)
    block = _content(found)
    if block is None:
        raise NoFix("the dynamic block has no content block")
    existing = hcl.attributes(_body(block)).get(name)
    if existing is not None:  # written as null (= not set): replace the value
        return [Edit(existing.start_byte, existing.end_byte, value)]
    indent = indentation(data, block.start_byte)
    unit = _unit(data, block, indent)
    return _inner_lines(data, block, [name.encode() + b" = " + value], indent, unit)


def _add_object_key(data: bytes, node: Node, name: str, value: bytes) -> list[Edit]:
    """Add ``name = value`` to an object expression written one element per line."""
    elems = [c for c in node.named_children if c.type == "object_elem"]
    if not elems or not all(starts_line(data, e.start_byte) for e in elems):
        raise NoFix("the object is not written one element per line: add the key by hand")
    last = elems[-1]
    if node.end_byte <= next_line(data, last.end_byte) - 1 or not starts_line(
        data, node.end_byte - 1
    ):
        raise NoFix("the object's closing brace shares a line with its content")
    at = next_line(data, last.end_byte)
    line = indentation(data, last.start_byte) + name.encode() + b" = " + value + newline(data)
    return [Edit(at, at, line)]


def add_block(
    data: bytes, root: Node, resource_start: int, name: str, fields: list[tuple[str, bytes]]
) -> list[Edit]:
    """Add ``name { field = value ... }`` to the resource that starts at ``resource_start``."""
    resource = _node_at(root, resource_start, "block")
    if hcl.ident(resource) not in ("resource", "source"):  # a Packer source: its build instance
        raise NoFix("the settings come from a module call: set its input instead")
    body = _body(resource)
    for block in hcl.children(body, "block") if body is not None else []:
        if hcl.ident(block) == "dynamic" and hcl.labels(hcl.Source("", data), block) == [name]:
            raise NoFix(f'a dynamic "{name}" block decides it: change its for_each or content')
    indent = indentation(data, resource.start_byte)
    unit = _unit(data, resource, indent)
    lines = _block_lines(name, fields, b"", unit)
    return _inner_lines(data, resource, lines, indent, unit, nested=True)


def _block_lines(
    name: str, fields: list[tuple[str, bytes]], indent: bytes, unit: bytes
) -> list[bytes]:
    """``name {``, its arguments aligned as ``terraform fmt`` aligns them, ``}``; the first line
    without indentation (it goes where the caller puts it)."""
    width = max(len(f) for f, _ in fields)
    lines = [name.encode() + b" {"]
    lines += [
        indent + unit + f.encode() + b" " * (width - len(f) + 1) + b"= " + v for f, v in fields
    ]
    lines.append(indent + b"}")
    return lines


def _content(block: Node) -> Node | None:
    """The block itself, or for a ``dynamic`` block its ``content`` block (None if missing)."""
    if hcl.ident(block) != "dynamic":
        return block
    for inner in hcl.children(_body(block) or block, "block"):
        if hcl.ident(inner) == "content":
            return inner
    return None


def setting_expression(root: Node, block_start: int, name: str) -> tuple[int, int] | None:
    """The byte range of the expression of argument ``name`` in the block that starts at
    ``block_start`` (in the ``content`` of a dynamic block)."""
    block = _content(_node_at(root, block_start, "block"))
    if block is None:
        return None
    expression = hcl.attributes(_body(block)).get(name)
    return None if expression is None else (expression.start_byte, expression.end_byte)


def replace_dynamic(
    data: bytes, root: Node, resource_start: int, name: str, fields: list[tuple[str, bytes]]
) -> Edit | None:
    """Replace the resource's ``dynamic "name"`` block with a static ``name`` block."""
    resource = _node_at(root, resource_start, "block")
    body = _body(resource)
    src = hcl.Source("", data)
    for block in hcl.children(body, "block") if body is not None else []:
        if hcl.ident(block) == "dynamic" and hcl.labels(src, block) == [name]:
            indent = indentation(data, block.start_byte)
            unit = _unit(data, resource, indentation(data, resource.start_byte))
            lines = _block_lines(name, fields, indent, unit)
            return Edit(block.start_byte, block.end_byte, newline(data).join(lines))
    return None


def _unit(data: bytes, block: Node, indent: bytes) -> bytes:
    items = _items(block)
    if items and starts_line(data, items[0].start_byte):
        return indent_unit(indent, indentation(data, items[0].start_byte))
    return indent_unit(indent, b"")


__all__ = [
    "add_attribute",
    "add_block",
    "align",
    "aligned",
    "line_start",
    "parse",
    "replace_literal",
]
