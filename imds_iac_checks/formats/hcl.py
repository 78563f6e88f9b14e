"""Terraform HCL adapter: ``*.tf`` files into Targets, with tree-sitter-hcl.

tree-sitter gives a lossless tree with byte offsets: every Value's provenance is the exact byte
span of the expression that wrote it, which is what findings point at and what the fixer edits.

Expressions are resolved when they are literals (strings without interpolation, numbers,
booleans, ``null``, negative numbers, parenthesised literals, heredocs without interpolation).
Anything else is *unknown* and keeps its source text, so that the engine can say which expression
it could not evaluate instead of passing silently.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from imds_iac_checks.model import (
    Link,
    ScanError,
    Span,
    Target,
    Value,
)

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

FORMAT = "terraform"

_parser: Parser | None = None


def _get_parser() -> Parser:
    global _parser
    if _parser is None:
        import tree_sitter
        import tree_sitter_hcl

        _parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_hcl.language()))
    return _parser


_NOT_LITERAL = object()
_UTF8_BOM = b"\xef\xbb\xbf"


class Source:
    """A file's bytes plus the conversions from tree-sitter positions to :class:`Span`."""

    __slots__ = ("data", "path")

    def __init__(self, path: str, data: bytes) -> None:
        self.path = path
        self.data = data

    def column(self, byte: int, byte_column: int) -> int:
        """1-based character column of ``byte``, ``byte_column`` bytes into its line."""
        prefix = self.data[byte - byte_column : byte]
        if prefix.isascii():
            return byte_column + 1
        if prefix.startswith(_UTF8_BOM):
            prefix = prefix[3:]
        return len(prefix.decode("utf-8", "replace")) + 1

    def span(self, start: Node, end: Node | None = None) -> Span:
        end = end or start
        sp, ep = start.start_point, end.end_point
        return Span(
            self.path,
            start.start_byte,
            end.end_byte,
            sp[0] + 1,
            self.column(start.start_byte, sp[1]),
            ep[0] + 1,
            self.column(end.end_byte, ep[1]),
        )

    def text(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")


def parse(path: str, data: bytes) -> tuple[list[Target], list[ScanError]]:
    """Scan one ``.tf`` file as a module of its own (variables, locals and defaults evaluated).
    A file with a syntax error yields only the error. ``imds-iac check`` evaluates whole
    directories: see :mod:`imds_iac_checks.formats.terraform_module`."""
    from imds_iac_checks.formats import terraform_module

    parsed, errors = terraform_module.parse_bytes(path, data)
    if parsed is None:
        return [], errors
    module = terraform_module.Module([parsed], {})
    targets = module.targets()
    for src, block, name in module.module_calls:
        targets.extend(module.registry_targets(src, block, name, ""))
    return targets, []


# --- tree helpers -----------------------------------------------------------------------------


def _children(node: Node, kind: str) -> list[Node]:
    return [c for c in node.named_children if c.type == kind]


def _child(node: Node, kind: str) -> Node | None:
    for c in node.named_children:
        if c.type == kind:
            return c
    return None


def _ident(block: Node) -> str:
    first = block.named_children[0] if block.named_child_count else None
    if first is None or first.type != "identifier":
        return ""
    return (first.text or b"").decode("utf-8", "replace")


def _labels(src: Source, block: Node) -> list[str]:
    labels: list[str] = []
    for c in block.named_children[1:]:
        if c.type == "string_lit":
            labels.append(
                "".join(src.text(p) for p in c.named_children if p.type == "template_literal")
            )
        elif c.type == "identifier":
            labels.append(src.text(c))
        else:
            break
    return labels


def _attributes(body: Node | None) -> dict[str, Node]:
    """Attribute name -> its expression node. The first definition wins (HCL forbids duplicates)."""
    attrs: dict[str, Node] = {}
    if body is None:
        return attrs
    for c in body.named_children:
        if c.type == "attribute":
            name = c.named_children[0]
            expr = _child(c, "expression")
            key = (name.text or b"").decode("utf-8", "replace")
            if expr is not None and key not in attrs:
                attrs[key] = expr
    return attrs


# --- launch-template references ------------------------------------------------------


TEMPLATE_USERS = ("aws_instance", "aws_spot_instance_request")
# Patterns are strings, compiled by re on first use: most runs never need them.
_TEMPLATE_REF = r"^aws_launch_template\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?\.(?:id|name)$"


def _template_ref(src: Source, body: Node) -> Value | None:
    """The launch template an instance launches from: ``launch_template { id | name }``."""
    for block in _children(body, "block"):
        if _ident(block) != "launch_template" or _labels(src, block):
            continue
        attrs = _attributes(_child(block, "body"))
        expr = attrs.get("id") or attrs.get("name")
        if expr is None:
            return None
        return template_reference(
            src.span(expr), _compact(src.text(expr)), _literal(src, expr), "name" in attrs
        )
    return None


def template_reference(span: Span, text: str, literal: object, by_name: bool) -> Value:
    """A Value naming a launch template: ``aws_launch_template.X`` for a reference to a resource,
    ``name:N`` / ``id:I`` for a literal, unknown for anything else (variables, data sources)."""
    link = (Link(span, "launch template reference"),)
    match = re.match(_TEMPLATE_REF, text)
    if match:
        return Value(True, f"aws_launch_template.{match.group(1)}", text, text, link)
    if isinstance(literal, str):
        key = f"{'name' if by_name else 'id'}:{literal}"
        return Value(True, key, literal, text, link)
    return Value(False, None, None, text, link)


# --- values -----------------------------------------------------------------------------------


def _unwrap(expr: Node) -> Node:
    """Strip ``expression`` wrappers and parentheses down to the node that holds the value."""
    node = expr
    while True:
        if node.type == "expression":
            named = node.named_children
            if len(named) == 1:
                node = named[0]
                continue
            return node
        return node


def _literal(src: Source, expr: Node) -> object:
    """The Python value of a literal expression; ``None`` for ``null``; ``_NOT_LITERAL`` else."""
    node = _unwrap(expr)
    if node.type == "expression":  # more than one child: an access chain, a call, ...
        return _NOT_LITERAL
    if node.type == "literal_value":
        inner = node.named_children[0]
        kind = inner.type
        if kind == "numeric_lit":
            return _parse_number(src.text(inner))
        if kind == "bool_lit":
            return src.text(inner) == "true"
        if kind == "null_lit":
            return None
        if kind == "string_lit":
            return _template(src, inner)
        return _NOT_LITERAL
    if node.type == "template_expr":
        inner = node.named_children[0]
        if inner.type == "quoted_template":
            return _template(src, inner)
        if inner.type == "heredoc_template":
            return _heredoc(src, inner)
        return _NOT_LITERAL
    if node.type == "operation":
        unary = node.named_children[0]
        if unary.type == "unary_operation" and src.text(unary).lstrip().startswith("-"):
            operand = _literal_from(src, unary.named_children[-1])
            if isinstance(operand, (int, float)) and not isinstance(operand, bool):
                return -operand
        return _NOT_LITERAL
    return _NOT_LITERAL


def _literal_from(src: Source, node: Node) -> object:
    if node.type == "literal_value" and node.named_children[0].type == "numeric_lit":
        return _parse_number(src.text(node.named_children[0]))
    if node.type == "expression":
        return _literal(src, node)
    return _NOT_LITERAL


def _parse_number(text: str) -> int | float | object:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return _NOT_LITERAL


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_ESCAPE_RE = r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)|\$\$\{|%%\{"


def _unescape(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        whole = m.group(0)
        if whole == "$${":
            return "${"
        if whole == "%%{":
            return "%{"
        esc = m.group(1)
        if esc[0] in "uU" and len(esc) > 1:
            return chr(int(esc[1:], 16))
        return _ESCAPES.get(esc, whole)

    if "\\" not in text and "$${" not in text and "%%{" not in text:
        return text
    return re.sub(_ESCAPE_RE, repl, text)


def _template(src: Source, node: Node) -> object:
    parts: list[str] = []
    for c in node.named_children:
        if c.type == "template_literal":
            parts.append(src.text(c))
        elif c.type in ("quoted_template_start", "quoted_template_end"):
            continue
        else:  # interpolation or directive
            return _NOT_LITERAL
    return _unescape("".join(parts))


def _heredoc(src: Source, node: Node) -> object:
    parts: list[str] = []
    strip = False
    for c in node.named_children:
        if c.type == "heredoc_start":
            strip = src.text(c).strip() == "<<-"
        elif c.type == "template_literal":
            parts.append(src.text(c))
        elif c.type == "heredoc_identifier":
            continue
        else:
            return _NOT_LITERAL
    text = "".join(parts)
    if strip:
        lines = text.split("\n")
        indents = [len(line) - len(line.lstrip(" \t")) for line in lines if line.strip()]
        cut = min(indents, default=0)
        text = "\n".join(line[cut:] for line in lines)
    return text + "\n" if not text.endswith("\n") else text


def _compact(text: str, limit: int = 120) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


# --- syntax errors ----------------------------------------------------------------------------


def _syntax_error(src: Source, root: Node) -> ScanError:
    node = _first_error(root)
    if node is None:  # has_error without a reachable ERROR/MISSING node: point at the root
        return ScanError(src.path, 1, 1, "syntax error")
    span = src.span(node)
    if node.is_missing:
        expected = node.type if not node.is_named else node.type.replace("_", " ")
        message = f'syntax error: expected "{expected}"'
    else:
        token = _first_leaf(node)
        text = _compact(src.text(token), 40) if token is not None else ""
        if token is None or not text:
            message = "syntax error: unexpected end of file"
        else:
            message = f"syntax error: unexpected {text!r}"
            span = src.span(token)
    return ScanError(src.path, span.line, span.column, message)


def _structure_error(src: Source, root: Node) -> ScanError | None:
    """HCL rules that tree-sitter-hcl does not enforce but Terraform does: an argument or block
    ends its line, a single-line block holds one argument at most, and no argument is set twice
    in one body. (Messages follow HashiCorp's parser.)"""
    stack: list[tuple[Node, Node | None]] = [(b, None) for b in _children(root, "body")]
    while stack:
        body, block = stack.pop()
        items = [c for c in body.named_children if c.type in ("attribute", "block")]
        error = _body_error(src, body, block, items)
        if error is not None:
            return error
        for item in items:
            if item.type == "block":
                inner = _child(item, "body")
                if inner is not None:
                    stack.append((inner, item))
    return None


def _body_error(src: Source, body: Node, block: Node | None, items: list[Node]) -> ScanError | None:
    def error(node: Node, message: str) -> ScanError:
        span = src.span(node)
        return ScanError(src.path, span.line, span.column, message)

    seen: dict[str, Node] = {}
    for item in items:
        if item.type == "attribute":
            name = src.text(item.named_children[0])
            if name in seen:
                first = seen[name].start_point[0] + 1
                return error(item, f'attribute redefined: "{name}" was already set on line {first}')
            seen[name] = item
    opening = _child(block, "block_start") if block is not None else None
    closing = _child(block, "block_end") if block is not None else None
    if opening is not None and items and items[0].start_point[0] == opening.end_point[0]:
        # Single-line block: `name { argument }`, all on one line.
        head = items[0]
        if head.type != "attribute" or len(items) > 1:
            return error(head, "a single-line block can contain only one argument definition")
        if closing is not None and closing.start_point[0] != opening.end_point[0]:
            return error(
                head,
                "invalid single-argument block definition: an argument on the same line as the "
                "opening brace must be the only one, and the block must close on that line",
            )
        return None
    for i, item in enumerate(items):
        following = items[i + 1] if i + 1 < len(items) else closing
        if following is not None and following.start_point[0] == item.end_point[0]:
            what = "argument" if item.type == "attribute" else "block definition"
            return error(following, f"missing newline after {what}")
    return None


def _first_error(root: Node) -> Node | None:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_missing or node.type == "ERROR":
            return node
        if node.has_error:
            stack.extend(reversed(node.children))
    return None


def _first_leaf(node: Node) -> Node | None:
    while node.child_count:
        node = node.children[0]
    return node if node.end_byte > node.start_byte else None
