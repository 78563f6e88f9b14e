"""HCL syntax: ``.tf`` files parsed with tree-sitter-hcl, and the helpers that read the tree.

tree-sitter gives a lossless tree with byte offsets: every Value's provenance is the exact byte
span of the expression that wrote it, which is what findings point at and what the fixer edits.

Expressions are resolved when they are literals (strings without interpolation, numbers,
booleans, ``null``, negative numbers, parenthesised literals, heredocs without interpolation).
Anything else is *unknown* and keeps its source text, so that the engine can say which expression
it could not evaluate instead of passing silently.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from imds_iac_checks.model import ScanError, Span, compact

if TYPE_CHECKING:
    from tree_sitter import Language, Node, Parser, Query, Tree

_parser: Parser | None = None
_language: Language | None = None


def _get_parser() -> Parser:
    global _parser, _language
    if _parser is None:
        import tree_sitter
        import tree_sitter_hcl

        _language = tree_sitter.Language(tree_sitter_hcl.language())
        _parser = tree_sitter.Parser(_language)
    return _parser


NOT_LITERAL = object()
_UTF8_BOM = b"\xef\xbb\xbf"


class Source:
    """A file's bytes plus the conversions from tree-sitter positions to :class:`Span`."""

    __slots__ = ("ascii", "data", "path")

    def __init__(self, path: str, data: bytes) -> None:
        self.path = path
        self.data = data
        # Most files are ASCII: then a character column is the byte column (no slice per span).
        self.ascii = data.isascii()

    def column(self, byte: int, byte_column: int) -> int:
        """1-based character column of ``byte``, ``byte_column`` bytes into its line."""
        if self.ascii:
            return byte_column + 1
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


# --- parsing ----------------------------------------------------------------------------------
#
# tree-sitter-hcl 1.2.0 departs from HashiCorp's parser in three ways that matter here. Each is
# repaired on a *view* of the file: a copy of its bytes of the same length, so that every byte
# offset, line and column in the tree is the file's own. Values are read from the file's bytes
# (``Source.data``), never from the view.
#
# - A number with an exponent and no fraction (``1e3``, ``1E-2``, ``1e+3``) lexes as a number and
#   an identifier. In the view the exponent's ``e``/``E``/sign become digits (``1e3`` -> ``103``),
#   so the tree holds one number whose text, read from the file, is ``1e3``.
# - The external scanner loses its state past about 64 nested templates (``"${"${...}"}"``). In
#   the view a string or heredoc nested deeper than _TEMPLATE_DEPTH becomes the identifier ``_``:
#   the template evaluates as unknown (IMDS004 for a target that reads it), the file parses.
# - A comment is a named child wherever it stands: between a block's labels, inside an
#   expression, an argument list. In the view such comments are blanked (newlines kept), so
#   nothing downstream meets them; comments directly in a body stay, and cost nothing.
#
# The first two are tried only when the file does not parse as it is; the third only when such a
# comment exists, by an incremental reparse of the edited ranges.

_TEMPLATE_DEPTH = 48
_EXPONENT_TO_DIGITS = bytes.maketrans(b"eE+-", b"0000")
_COMMENTS = "(body (comment) @kept) (config_file (comment) @kept) (comment) @any"
_comments: Query | None = None


def parse_tree(
    data: bytes | bytearray,
    part: tuple[int, int, int] | None = None,
    repair: bool = True,
    blank: bool = True,
) -> Tree:
    """The tree of ``data`` (or of the byte range ``part`` = (start, end, line index of start)
    of it, positions still the file's), with the repairs above (``repair``: numbers and deep
    templates; ``blank``: comments). A tree with errors is the one whose first error comes
    last: the repairs never move a syntax error before the place Terraform would report."""
    parser = _get_parser()
    start, end = 0, len(data)
    if part is not None:
        start, end, _row = part
        _set_range(data, part)
    try:
        tree, source = parser.parse(data), bytes(data)
        # An exponent can also parse without an error, as a number followed by an identifier
        # (`count = 1e3` + a nested block on the next line reads as a block `e3 metadata_options
        # {`): a file that holds one is repaired too, and keeps the repair if it still parses.
        broken = tree.root_node.has_error
        if repair and (broken or _EXPONENT_MARK.search(data, start, end) is not None):
            view = bytearray(data)
            if repair_range(view, start, end):
                repaired = parser.parse(view)
                if not repaired.root_node.has_error or (
                    broken and error_start(repaired) >= error_start(tree)
                ):
                    tree, source = repaired, bytes(view)
        if blank and not tree.root_node.has_error and comment_start(data, start, end):
            stray = stray_comments(tree)
            if stray:
                tree = reparse(tree, blank_comments(source, stray), stray)
        return tree
    finally:
        if part is not None:
            parser.included_ranges = []


def _set_range(data: bytes | bytearray, part: tuple[int, int, int]) -> None:
    import tree_sitter

    start, end, start_row = part
    end_row = start_row + data.count(b"\n", start, end)
    end_col = end - (data.rfind(b"\n", 0, end) + 1)
    start_col = start - (data.rfind(b"\n", 0, start) + 1)
    _get_parser().included_ranges = [
        tree_sitter.Range(
            tree_sitter.Point(start_row, start_col), tree_sitter.Point(end_row, end_col), start, end
        )
    ]


def stray_comments(tree: Tree) -> list[Node]:
    """The comments of ``tree`` that are not directly in a body (see above)."""
    global _comments
    if _comments is None:
        from tree_sitter import Query

        _get_parser()
        assert _language is not None
        _comments = Query(_language, _COMMENTS)
    from tree_sitter import QueryCursor

    found = QueryCursor(_comments).captures(tree.root_node)
    every = found.get("any", [])
    kept = {c.start_byte for c in found.get("kept", [])}
    return [c for c in every if c.start_byte not in kept]


def blank_comments(source: bytes, comments: list[Node]) -> bytes:
    """``source`` with ``comments`` replaced by blanks (newlines kept): same length."""
    view = bytearray(source)
    for comment in comments:
        a, b = comment.start_byte, comment.end_byte
        view[a:b] = re.sub(rb"[^\n]", b" ", source[a:b])
    return bytes(view)


def reparse(
    tree: Tree,
    view: bytes | bytearray,
    comments: list[Node],
    part: tuple[int, int, int] | None = None,
) -> Tree:
    """Reparse ``tree`` incrementally on ``view``, where ``comments`` were blanked."""
    for comment in comments:
        a, b = comment.start_byte, comment.end_byte
        tree.edit(a, b, b, comment.start_point, comment.end_point, comment.end_point)
    parser = _get_parser()
    if part is not None:
        _set_range(view, part)
    try:
        return parser.parse(view, old_tree=tree)
    finally:
        if part is not None:
            parser.included_ranges = []


_comment_mark: Any = None


def comment_start(data: bytes | bytearray, start: int, end: int) -> bool:
    """Whether ``data[start:end]`` may hold a comment (most chunks of generated code hold none:
    then the comment query, which visits every node, is not run)."""
    global _comment_mark
    if _comment_mark is None:
        _comment_mark = re.compile(rb"#|//|/\*")
    return _comment_mark.search(data, start, end) is not None


def error_start(tree: Tree) -> int:
    node = _first_error(tree.root_node)
    return node.start_byte if node is not None else 0


def repair_range(view: bytearray, start: int, end: int) -> bool:
    """Repair, in place, the exponent numbers and the deep templates of ``view[start:end]``.
    Whether anything changed. (Only a file or chunk that does not parse as it is gets here.)"""
    global _exponent, _word_end, _NESTED_OPENS
    if _exponent is None:
        _NESTED_OPENS = re.compile(rb'(?:[$%]\{[ \t]*"){8}')
        _exponent = re.compile(_EXPONENT)
        _word_end = re.compile(rb"[\w\x80-\xff-]+\Z")
    changed = False
    for match in list(_exponent.finditer(view, start, end)):
        at = match.start()
        word = _word_end.search(view, max(start, at - 256), at)
        if word is not None and (
            word.group()[:1].isalpha() or word.group()[0] in b"_" or word.group()[0] >= 0x80
        ):
            continue  # inside an identifier (`x1e3`, `a-1e3`): not a number
        view[at : match.end()] = match.group().translate(_EXPONENT_TO_DIGITS)
        changed = True
    # The lexer that finds deep templates is Python: over a large range, run it only where
    # templates open one inside the next (`"${"${`), the shape deep nesting takes.
    deep = view.count(b"${", start, end) + view.count(b"%{", start, end) >= _TEMPLATE_DEPTH and (
        end - start <= _LEX_ALL or _NESTED_OPENS.search(view, start, end) is not None
    )
    if deep:
        text = bytes(view[start:end])
        elided = _elide_deep_templates(text)
        if elided != text:
            view[start:end] = elided
            changed = True
    return changed


_EXPONENT = rb"\d+[eE][+-]?\d+"
# A digit, an exponent mark and a digit with no identifier character before: a cheap test for a
# file that may hold an exponent number (repair_range decides).
_EXPONENT_MARK = re.compile(rb"(?<![\w.-])\d+[eE][+-]?\d")
_LEX_ALL = 1 << 20
_NESTED_OPENS: Any = None
_exponent: Any = None
_word_end: Any = None


def blank_in_place(view: bytearray, comments: list[Node]) -> None:
    """Blank ``comments`` in ``view`` (newlines kept): same length."""
    for comment in comments:
        a, b = comment.start_byte, comment.end_byte
        view[a:b] = re.sub(rb"[^\n]", b" ", bytes(view[a:b]))


_CODE_TOKEN = rb'"|\{|\}|<<-?([A-Za-z_][\w-]*)[ \t]*\r?\n|#[^\n]*|//[^\n]*|/\*.*?(?:\*/|\Z)'
_STRING_TOKEN = rb'\\.|\$\$\{|%%\{|\$\{|%\{|"|\n'


def _elide_deep_templates(data: bytes) -> bytes:
    """Replace each string or heredoc nested more than _TEMPLATE_DEPTH templates deep by ``_``
    and blanks (newlines kept). A small lexer: code (with a brace count, to find where an
    interpolation ends), quoted templates, heredocs."""
    out = bytearray(data)
    code = re.compile(_CODE_TOKEN, re.S)
    string = re.compile(_STRING_TOKEN, re.S)
    # ("code", open braces) | ("str", None) | ("heredoc", pattern of the closing line)
    stack: list[list[Any]] = [["code", 0]]
    templates = 0
    skip_from, skip_level = -1, 0
    pos, size = 0, len(data)
    while pos < size:
        top = stack[-1]
        if top[0] == "code":
            m = code.search(data, pos)
            if m is None:
                break
            token, pos = m.group(), m.end()
            if token == b'"' or token.startswith(b"<<"):
                if templates >= _TEMPLATE_DEPTH and skip_from < 0:
                    skip_from, skip_level = m.start(), len(stack)
                if token == b'"':
                    stack.append(["str", None])
                else:
                    anchor = re.escape(m.group(1))
                    closing = rb"^[ \t]*" + anchor + rb"[ \t]*\r?$"
                    marks = rb"\$\$\{|%%\{|\$\{|%\{|"
                    stack.append(["heredoc", re.compile(marks + closing, re.M)])
                templates += 1
            elif token == b"{":
                top[1] += 1
            elif token == b"}":
                if top[1] == 0 and len(stack) > 1:
                    stack.pop()
                else:
                    top[1] = max(top[1] - 1, 0)
            continue
        m = (string if top[0] == "str" else top[1]).search(data, pos)
        if m is None:
            break
        token, pos = m.group(), m.end()
        if token in (b"${", b"%{"):
            stack.append(["code", 0])
            continue
        if token in (b"$${", b"%%{") or token.startswith(b"\\"):
            continue
        if top[0] == "str" and token == b"\n":  # an unterminated string: leave it to the parser
            break
        stack.pop()
        templates -= 1
        if skip_from >= 0 and len(stack) <= skip_level:
            out[skip_from:pos] = b"_" + re.sub(rb"[^\n]", b" ", data[skip_from + 1 : pos])
            skip_from = -1
    return bytes(out)


# --- tree helpers -----------------------------------------------------------------------------


def children(node: Node, kind: str) -> list[Node]:
    return [c for c in node.named_children if c.type == kind]


def child(node: Node, kind: str) -> Node | None:
    for c in node.named_children:
        if c.type == kind:
            return c
    return None


def ident(block: Node) -> str:
    first = block.named_children[0] if block.named_child_count else None
    if first is None or first.type != "identifier":
        return ""
    return (first.text or b"").decode("utf-8", "replace")


def labels(src: Source, block: Node) -> list[str]:
    labels: list[str] = []
    for c in block.named_children[1:]:
        if c.type == "string_lit":
            text = "".join(src.text(p) for p in c.named_children if p.type == "template_literal")
            labels.append(_unescape(text))  # `"aws_\u0069nstance"` is aws_instance to HCL
        elif c.type == "identifier":
            labels.append(src.text(c))
        else:
            break
    return labels


def attributes(body: Node | None) -> dict[str, Node]:
    """Attribute name -> its expression node. The first definition wins (HCL forbids duplicates)."""
    attrs: dict[str, Node] = {}
    if body is None:
        return attrs
    for c in body.named_children:
        if c.type == "attribute":
            name = c.named_children[0]
            expr = child(c, "expression")
            key = (name.text or b"").decode("utf-8", "replace")
            if expr is not None and key not in attrs:
                attrs[key] = expr
    return attrs


# --- values -----------------------------------------------------------------------------------


def unwrap(expr: Node) -> Node:
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


def literal(src: Source, expr: Node) -> object:
    """The Python value of a literal expression; ``None`` for ``null``; ``NOT_LITERAL`` else."""
    node = unwrap(expr)
    if node.type == "expression":  # more than one child: an access chain, a call, ...
        return NOT_LITERAL
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
        return NOT_LITERAL
    if node.type == "template_expr":
        inner = node.named_children[0]
        if inner.type == "quoted_template":
            return _template(src, inner)
        if inner.type == "heredoc_template":
            return _heredoc(src, inner)
        return NOT_LITERAL
    if node.type == "operation":
        unary = node.named_children[0]
        if unary.type == "unary_operation" and src.text(unary).lstrip().startswith("-"):
            operand = _literal_from(src, unary.named_children[-1])
            if isinstance(operand, (int, float)) and not isinstance(operand, bool):
                return -operand
        return NOT_LITERAL
    return NOT_LITERAL


def _literal_from(src: Source, node: Node) -> object:
    if node.type == "literal_value" and node.named_children[0].type == "numeric_lit":
        return _parse_number(src.text(node.named_children[0]))
    if node.type == "expression":
        return literal(src, node)
    return NOT_LITERAL


def _parse_number(text: str) -> int | float | object:
    """An HCL number: arbitrary precision, so an integral value written with an exponent is an
    exact int (``1e3`` is 1000, ``1e400`` is 10**400, as HashiCorp's parser reads them)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return NOT_LITERAL
    if "." not in text and ("e" in text or "E" in text):
        from decimal import Decimal, InvalidOperation

        try:
            exact = Decimal(text)
            if exact == exact.to_integral_value() and exact.adjusted() <= _MAX_EXACT_DIGITS:
                return int(exact)
        except (InvalidOperation, ValueError, OverflowError):
            pass
    return number


_MAX_EXACT_DIGITS = 1000  # beyond, a float (inf): no rule reads a number that large


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
            return NOT_LITERAL
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
            return NOT_LITERAL
    text = "".join(parts)
    if strip:
        lines = text.split("\n")
        indents = [len(line) - len(line.lstrip(" \t")) for line in lines if line.strip()]
        cut = min(indents, default=0)
        text = "\n".join(line[cut:] for line in lines)
    return text + "\n" if not text.endswith("\n") else text


# --- syntax errors ----------------------------------------------------------------------------


def syntax_error(src: Source, root: Node, start: int = 0) -> ScanError:
    """The error of a file whose tree has errors: HashiCorp's first diagnostic (summary, detail,
    position), as Terraform reports it; tree-sitter's first error where the two disagree.
    ``start``: the file is known to be valid before that offset (a line's start)."""
    return terraform_error(src, start) or _tree_error(src, root)


def terraform_error(src: Source, start: int = 0) -> ScanError | None:
    """HashiCorp's first diagnostic for ``src`` (see :mod:`.diagnose`), or None if it finds none.
    Run only on a file already known to be broken."""
    from imds_iac_checks.formats.terraform.diagnose import first_diagnostic

    found = first_diagnostic(src.data, src.path, start)
    if found is None:
        return None
    return ScanError(src.path, found.line, found.column, found.message)


def _tree_error(src: Source, root: Node) -> ScanError:
    node = _first_error(root)
    if node is None:  # has_error without a reachable ERROR/MISSING node: point at the root
        return ScanError(src.path, 1, 1, "syntax error")
    span = src.span(node)
    if node.is_missing:
        expected = node.type if not node.is_named else node.type.replace("_", " ")
        message = f'syntax error: expected "{expected}"'
    else:
        token = _first_leaf(node)
        text = compact(src.text(token), 40) if token is not None else ""
        if token is None or not text:
            # An empty error node: at the end of the text, or before a character the grammar has
            # no token for (a second byte-order mark, a control character): name that character.
            at = node.start_byte
            rest = src.data[at : at + 4].decode("utf-8", "replace")
            if not src.data[at:].strip():
                message = "syntax error: unexpected end of file"
            else:
                message = f"syntax error: unexpected character {rest[:1]!r}"
        else:
            message = f"syntax error: unexpected {text!r}"
            span = src.span(token)
    return ScanError(src.path, span.line, span.column, message)


# An attribute's head, read at its first byte: its name (HCL identifier bytes), then "=" and
# what follows on the line; group 2 is set when the expression does not start on that line.
_ITEM_HEAD = rb"([\w\x80-\xff-]+)(?:[ \t]|/\*(?s:.*?)\*/)*=(?:[ \t]|/\*(?s:.*?)\*/)*(\r?\n|#|//)?"
_ITEM_HEAD_FAST = rb"([\w\x80-\xff-]+)[ \t]*=[ \t]*(\r?\n|#|//|/\*)?"  # `name = value`
_GAP_COMMENT = rb"(?:#|//)[^\n]*|/\*(?s:.*?)\*/"
_kinds: tuple[int, int, int, int, int] | None = None
_item_name: Any = None
_item_name_fast: Any = None


def kind_ids() -> tuple[int, int, int, int, int]:
    """Node kind ids (ints compare faster than type strings): body, attribute, block,
    block_start, block_end."""
    global _kinds, _item_name, _item_name_fast
    if _kinds is None:
        _get_parser()
        assert _language is not None
        ids = [_language.id_for_node_kind(k, True) for k in _STRUCTURE_KINDS]
        if None in ids:  # pragma: no cover - a grammar without these kinds is not tree-sitter-hcl
            raise RuntimeError("tree-sitter-hcl lacks the node kinds imds-iac reads")
        _kinds = tuple(ids)  # type: ignore[assignment]
        _item_name = re.compile(_ITEM_HEAD)
        _item_name_fast = re.compile(_ITEM_HEAD_FAST)
    assert _kinds is not None
    return _kinds


_STRUCTURE_KINDS = ("body", "attribute", "block", "block_start", "block_end")


def structure_error(
    src: Source, root: Node, top_names: dict[bytes, Node] | None = None, start: int = 0
) -> ScanError | None:
    """:func:`structure_problem`, reported in HashiCorp's words when it finds one (``start``: as
    for :func:`syntax_error`)."""
    problem = structure_problem(src, root, top_names)
    if problem is None:
        # Shapes tree-sitter-hcl accepts where HashiCorp's parser may not: a line that starts
        # with a comma (valid inside brackets and parentheses, where HCL ignores newlines; an
        # error in an object, whose items newlines end) and an empty interpolation or directive
        # (`${}`; `$${}` is literal text). HashiCorp's parser decides. Rare, so this costs
        # nothing on the files that have neither.
        if _SUSPECT.search(src.data, root.start_byte, root.end_byte):
            return terraform_error(src, start)
        return None
    return terraform_error(src, start) or problem


_SUSPECT = re.compile(rb"\n[ \t]*,|[$%]\{[ \t]*\}")


def structure_problem(
    src: Source, root: Node, top_names: dict[bytes, Node] | None = None
) -> ScanError | None:
    """HCL rules that tree-sitter-hcl does not enforce but Terraform does: an argument or block
    ends its line, a single-line block holds one argument at most, and no argument is set twice
    in one body. (Messages follow HashiCorp's parser.)

    This runs on every body of every parsed file, so it reads only kind ids, byte offsets and
    the file's bytes: "on the same line" is "no newline token in between", an attribute's name is
    the identifier at its first byte, and nothing is decoded unless there is an error to report.
    ``top_names`` carries the top-level argument names across the chunks of one file."""
    body_id, attr_id, block_id, start_id, end_id = kind_ids()
    data = src.data
    name_at = _item_name_fast.match
    find = data.find
    # Without a block comment, every newline byte is a newline token. (The root's range: a chunk's.)
    slash = find(b"/*", root.start_byte, root.end_byte) >= 0
    # (body, its block, end of the block's "{", start of its "}"); -1: no such brace.
    stack: list[tuple[Node, Node | None, int, int]] = [
        (b, None, -1, -1) for b in root.children if b.kind_id == body_id
    ]
    while stack:
        body, block, opening_end, closing_at = stack.pop()
        seen: dict[bytes, Node] = {}
        if block is None and top_names is not None:
            seen = top_names
        single = False  # `name { argument }`: the first item on the line of the "{"
        prev: Node | None = None
        prev_end = -1
        for item in body.children:
            kind = item.kind_id
            if kind == attr_id:
                match = name_at(data, item.start_byte)
                name, tail = match.groups() if match is not None else (b"", b"")
                if tail is not None:  # comments, a line break, or no match: look closer
                    match = _item_name.match(data, item.start_byte)
                    if match is None or match.group(2) is not None:
                        return _error_at(src, item, _NO_EXPRESSION)
                    name = match.group(1)
                first = seen.setdefault(name, item)
                if first is not item:
                    return _redefined(src, item, first)
            elif kind == block_id:
                inner, start, end = _block_parts(item, body_id, start_id, end_id)
                if (
                    start > 0
                    and find(b"\n", item.start_byte, start) >= 0
                    and (not slash or _newline_between(data, item.start_byte, start - 1))
                ):
                    return _error_at(src, item, _HEADER_SPLIT)
                if inner is not None:
                    stack.append((inner, item, start, end))
            else:
                continue
            if prev is None:
                single = opening_end >= 0 and (
                    find(b"\n", opening_end, item.start_byte) < 0
                    or (slash and not _newline_between(data, opening_end, item.start_byte))
                )
                if single and kind != attr_id:
                    return _error_at(src, item, _SINGLE_LINE_ONE)
            elif single:
                return _error_at(src, prev, _SINGLE_LINE_ONE)
            elif find(b"\n", prev_end, item.start_byte) < 0 or (
                slash and not _newline_between(data, prev_end, item.start_byte)
            ):
                return _error_at(src, item, f"missing newline after {_what(prev, attr_id)}")
            prev, prev_end = item, item.end_byte
        if prev is None or closing_at < 0:
            continue
        newline = find(b"\n", prev_end, closing_at) >= 0 and (
            not slash or _newline_between(data, prev_end, closing_at)
        )
        if single:
            if newline:
                return _error_at(src, prev, _SINGLE_LINE_CLOSED)
        elif not newline:
            return _error_at(src, _closing(block), f"missing newline after {_what(prev, attr_id)}")
    return None


def _newline_between(data: bytes, start: int, end: int) -> bool:
    """Whether a newline *token* separates ``start`` and ``end`` (whitespace and comments in
    between): a line comment ends with one, a newline inside ``/* */`` does not count."""
    at = data.find(b"\n", start, end)
    if at < 0:
        return False
    if data.find(b"/*", start, end) < 0:
        return True
    gap = re.sub(
        _GAP_COMMENT, lambda m: b"" if m.group().startswith(b"/*") else b"#", data[start:end]
    )
    return b"\n" in gap


_NO_EXPRESSION = 'syntax error: expected an expression after "=", on the same line'
_HEADER_SPLIT = 'invalid block definition: the block\'s type, labels and "{" must be on one line'
_SINGLE_LINE_ONE = "a single-line block can contain only one argument definition"
_SINGLE_LINE_CLOSED = (
    "invalid single-argument block definition: an argument on the same line as the opening "
    "brace must be the only one, and the block must close on that line"
)


def _what(item: Node, attr_id: int) -> str:
    return "argument" if item.kind_id == attr_id else "block definition"


def _block_parts(
    block: Node, body_id: int, start_id: int, end_id: int
) -> tuple[Node | None, int, int]:
    """A block's body, the end of its ``{`` and the start of its ``}``. Without comments among
    them, these are the last three children: read only those."""
    count = block.child_count
    closing = block.child(count - 1) if count else None
    before = block.child(count - 2) if count > 1 else None
    if closing is not None and before is not None and closing.kind_id == end_id:
        kind = before.kind_id
        if kind == start_id:
            return None, before.end_byte, closing.start_byte
        opening = block.child(count - 3) if count > 2 else None
        if kind == body_id and opening is not None and opening.kind_id == start_id:
            return before, opening.end_byte, closing.start_byte
    inner, start, end = None, -1, -1  # comments in between: look at every child
    for part in block.children:
        kind = part.kind_id
        if kind == body_id:
            inner = part
        elif kind == start_id:
            start = part.end_byte
        elif kind == end_id:
            end = part.start_byte
    return inner, start, end


def _closing(block: Node | None) -> Node:
    assert block is not None
    return block.children[-1]


def _error_at(src: Source, node: Node, message: str) -> ScanError:
    span = src.span(node)
    return ScanError(src.path, span.line, span.column, message)


def _redefined(src: Source, item: Node, first: Node) -> ScanError:
    name = _item_name.match(src.data, item.start_byte)
    text = name.group(1).decode("utf-8", "replace") if name else ""
    line = first.start_point[0] + 1
    return _error_at(src, item, f'attribute redefined: "{text}" was already set on line {line}')


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
