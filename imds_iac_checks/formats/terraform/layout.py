"""Terraform layout as ``terraform fmt`` writes it: the alignment of ``=`` signs and trailing
comments (hclwrite's formatCells). Readers that prepare edits (formats/policy_terraform.py) and
the fixer (fix/hcl.py) both keep files fmt-clean with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imds_iac_checks.formats.terraform import syntax as hcl

if TYPE_CHECKING:
    from tree_sitter import Node


def _starts_line(data: bytes, offset: int) -> bool:
    """Only whitespace between the start of the line (a byte-order mark aside) and ``offset``
    (as fix.edits.starts_line)."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    return not data[line_start:offset].removeprefix(b"\xef\xbb\xbf").strip(b" \t")


def align(data: bytes) -> bytes:
    """Align ``=`` and trailing comments as ``terraform fmt`` does (hclwrite's formatCells): over
    each run of consecutive lines that hold a one-line argument, the ``=`` signs line up one
    space after the longest name; over each run of lines that end in a comment, the comments
    line up one space after the longest content. Nothing else changes."""
    tree = hcl.parse_tree(data, repair=False, blank=False)
    if tree.root_node.has_error:
        return data
    lines = data.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    assign: dict[int, tuple[int, int]] = {}  # line -> (name end, "=" start), offsets in the line
    # A heredoc is one line for hclwrite: the line after its end continues the run.
    last_row: dict[int, int] = {}
    comment: dict[int, tuple[int, int]] = {}  # line -> (content end, comment start)
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.type in ("attribute", "object_elem"):
            _assign_cell(data, node, starts, assign, last_row)
        elif node.type == "comment" and node.start_point[0] == node.end_point[0]:
            row = node.start_point[0]
            before = data[starts[row] : node.start_byte]
            if before.strip() and not before.lstrip().startswith(b"#"):
                content = len(before.rstrip(b" \t"))
                comment[row] = (content, node.start_byte - starts[row])
    texts = list(lines)
    for run in _runs(sorted(assign), last_row):
        widths = {row: _columns(texts[row][: assign[row][0]]) for row in run}
        target = max(widths.values())
        for row in run:
            name_end, eq = assign[row]
            text = texts[row]
            new = text[:name_end] + b" " * (target - widths[row] + 1) + text[eq:]
            shift = len(new) - len(text)
            texts[row] = new
            if row in comment:
                content, at = comment[row]
                comment[row] = (content + shift, at + shift)
    for run in _runs(sorted(comment), {}):
        widths = {row: _columns(texts[row][: comment[row][0]]) for row in run}
        target = max(widths.values())
        for row in run:
            content, at = comment[row]
            text = texts[row]
            texts[row] = text[:content] + b" " * (target - widths[row] + 1) + text[at:]
    return b"".join(texts)


def _assign_cell(
    data: bytes,
    node: Node,
    starts: list[int],
    assign: dict[int, tuple[int, int]],
    last_row: dict[int, int],
) -> None:
    eq = next((c for c in node.children if c.type == "="), None)
    if eq is None or eq.start_point[0] != node.start_point[0]:
        return
    row = node.start_point[0]
    if not _starts_line(data, node.start_byte):
        return
    value = node.children[-1]
    if value.end_point[0] != row and not _heredoc(value):
        return  # a multi-line value: hclwrite leaves its first line out of the alignment
    name = node.children[0]
    assign[row] = (name.end_byte - starts[row], eq.start_byte - starts[row])
    last_row[row] = value.end_point[0]


def _heredoc(node: Node) -> bool:
    while node.named_child_count == 1 and node.type in ("expression", "template_expr"):
        node = node.named_children[0]
    return node.type == "heredoc_template"


def _runs(rows: list[int], last_row: dict[int, int]) -> list[list[int]]:
    """Runs of consecutive lines (a line continues a run that ends on the line before it)."""
    runs: list[list[int]] = []
    for row in rows:
        if runs and last_row.get(runs[-1][-1], runs[-1][-1]) == row - 1:
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def _columns(text: bytes) -> int:
    return len(text.decode("utf-8", "replace").lstrip("\ufeff"))


def aligned(data: bytes) -> bool:
    return align(data) == data
