"""Fixes in program source (AWS CDK apps in TypeScript, JavaScript and Python): replace a literal
(``false`` -> ``true``, ``LaunchTemplateHttpTokens.OPTIONAL`` -> ``REQUIRED``, a hop limit), or
add a property to a construct's props — a ``key: value`` pair of the props object, written like
its neighbours (one a line with their indentation, or inline; a trailing comma kept or not), or a
``key=value`` keyword argument in Python; a construct given no props object gets one.

The edited file must parse again without a tree-sitter error (:func:`valid`); the rescan proves
the rest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imds_iac_checks.fix.edits import Edit, NoFix, indentation
from imds_iac_checks.model import ENDPOINT, HOP_LIMIT, TOKENS, Target, Value, compact

if TYPE_CHECKING:
    from tree_sitter import Node, Tree


def valid(path: str, data: bytes) -> bool:
    """Whether ``data`` parses as the source language of ``path`` without an error."""
    from imds_iac_checks.formats import cdk

    tree = cdk.parser(cdk.language_of(path)).parse(data)
    return cdk.first_error(tree.root_node) is None


# The tree of the file last planned in: each of its constructs' fixes is planned on the same
# bytes, parsed once (a file with n constructs would otherwise cost n parses: quadratic time).
_last: list[tuple[str, bytes, Tree]] = []


def _tree(language: str, data: bytes) -> Tree:
    from imds_iac_checks.formats import cdk

    if _last and _last[0][0] == language and _last[0][1] == data:
        return _last[0][2]
    tree = cdk.parser(language).parse(data)
    _last[:] = [(language, data, tree)]
    return tree


def plan(
    data: bytes, target: Target, value: Value | None, key: str, hop_limit: int
) -> tuple[list[Edit], str]:
    """The edits that make ``key`` of ``target`` secure, and what they do."""
    from imds_iac_checks.formats import cdk

    python = cdk.language_of(target.path) == "python"
    true = "True" if python else "true"
    field = target.spec.fields[key]
    if value is not None:
        if not value.known:
            raise NoFix("the value is not a literal; change it by hand")
        span = value.span
        if span.path != target.path:
            raise NoFix("the value is written in another file (an aspect); change it there")
        old = data[span.start_byte : span.end_byte].decode("utf-8", "replace")
        if key == TOKENS and old.endswith(".OPTIONAL"):
            new = old.removesuffix("OPTIONAL") + "REQUIRED"
        elif key in (TOKENS, ENDPOINT) and old in ("false", "False"):
            new = true
        elif key == HOP_LIMIT and value.raw is not None:
            new = str(hop_limit)
        else:
            raise NoFix(f"{field} is written as {compact(old, 40)}; change it by hand")
        edit = Edit(span.start_byte, span.end_byte, new.encode())
        return [edit], f"{field} {compact(old, 40)} -> {new}"
    if target.block_span is None:
        raise NoFix("the construct has no props to add the setting to")
    text = target.spec.suggest[key].format(hop_limit=hop_limit)
    if key == TOKENS and text not in ("true", "True"):
        raise NoFix(f"set {field} by hand")
    tree = _tree(cdk.language_of(target.path), data)
    container = tree.root_node.descendant_for_byte_range(
        target.block_span.start_byte, target.block_span.end_byte
    )
    if container is None or (container.start_byte, container.end_byte) != (
        target.block_span.start_byte,
        target.block_span.end_byte,
    ):
        raise NoFix("the construct's props are not where the scan found them")
    pair = f"{field}={text}" if python else f"{field}: {text}"
    if container.type == "object":
        edits = _add(data, container, pair)
    elif container.type in ("arguments", "argument_list"):
        edits = _add(data, container, pair if python else "{ " + pair + " }")
    else:
        raise NoFix("the construct's props are an expression; set the property where it is built")
    return edits, f"added {pair}"


def _add(data: bytes, container: Node, element: str) -> list[Edit]:
    """Add ``element`` as the last element of an object or argument list, formatted like the
    elements it has."""
    children = container.children
    if len(children) < 2:
        raise NoFix("the construct's props are not a literal")
    opening, closing = children[0], children[-1]
    elements = [c for c in container.named_children if c.type != "comment"]
    if not elements:
        inner = data[opening.end_byte : closing.start_byte]
        if inner.strip():
            raise NoFix("the construct's props hold only comments; add the property by hand")
        pad = " " if container.type == "object" else ""
        return [Edit(opening.end_byte, closing.start_byte, f"{pad}{element}{pad}".encode())]
    last = elements[-1]
    comma = _comma_after(last, closing)
    before = elements[-2] if len(elements) > 1 else opening
    multiline = last.start_point[0] > before.end_point[0]
    anchor = comma.end_byte if comma is not None else last.end_byte
    if not multiline:
        if comma is not None:
            return [Edit(anchor, anchor, f" {element},".encode())]
        return [Edit(anchor, anchor, f", {element}".encode())]
    indent = indentation(data, last.start_byte).decode("utf-8", "replace")
    newline = "\r\n" if b"\r\n" in data[opening.start_byte : closing.end_byte] else "\n"
    tail = "," if comma is not None else ""
    at = anchor  # the closing bracket ends the last element's line: `b=2)`
    if closing.start_point[0] > last.end_point[0]:
        # after whatever ends the line (a comment), before its line break
        line_end = data.find(b"\n", anchor)
        if 0 <= line_end <= closing.start_byte:
            at = line_end - 1 if data[line_end - 1 : line_end] == b"\r" else line_end
    text = f"{newline}{indent}{element}{tail}"
    if comma is not None:
        return [Edit(at, at, text.encode())]
    if at == last.end_byte:  # one insertion there: the comma, then the element
        return [Edit(at, at, ("," + text).encode())]
    return [Edit(last.end_byte, last.end_byte, b","), Edit(at, at, text.encode())]


def _comma_after(node: Node, closing: Node) -> Node | None:
    """The comma that follows ``node`` in its list (comments skipped), if any."""
    sibling = node.next_sibling
    while sibling is not None and sibling.type == "comment":
        sibling = sibling.next_sibling
    if sibling is not None and sibling.type == "," and sibling.start_byte < closing.start_byte:
        return sibling
    return None
