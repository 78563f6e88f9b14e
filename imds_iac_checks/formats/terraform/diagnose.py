"""HashiCorp's first diagnostic for a ``.tf`` file that does not parse: what Terraform says.

tree-sitter-hcl tells *whether* a file parses (and where it recovered), not what HashiCorp's
parser reports: its error recovery can wrap a whole block in one ERROR node, so that a
``x = = 1`` inside ``locals`` points at ``locals``. This module follows hclsyntax (the scanner
of ``scan_tokens.rl``, ``checkInvalidTokens`` of ``token.go``, the recursive descent of
``parser.go`` and ``parser_template.go``) far enough to find the *first* diagnostic HashiCorp's
parser emits, with its summary, detail and position, and stops there (no recovery).

It runs only on a file that already failed (tree-sitter reported an error, or an HCL rule that
tree-sitter-hcl leaves out was broken), so a clean scan never pays for it. When it finds no
error (a place where the two grammars differ), the caller keeps its own message.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

__all__ = ["Diagnostic", "first_diagnostic"]


class Diagnostic(NamedTuple):
    line: int
    column: int
    summary: str
    detail: str

    @property
    def message(self) -> str:
        """``Summary: Detail`` on one line (what ``terraform validate`` prints, flattened)."""
        return f"{self.summary}: {' '.join(self.detail.split())}"


class _Found(Exception):
    def __init__(self, at: int, summary: str, detail: str) -> None:
        super().__init__(summary)
        self.at, self.summary, self.detail = at, summary, detail


class _Tok(NamedTuple):
    kind: str  # a punctuation's own text, or one of the names below
    start: int
    end: int
    text: str


# Token kinds that are not their own text.
IDENT, NUMBER, NEWLINE, COMMENT, EOF = "ident", "number", "newline", "comment", "eof"
OQUOTE, CQUOTE, OHEREDOC, CHEREDOC = "oquote", "cquote", "oheredoc", "cheredoc"
QUOTED_LIT, STRING_LIT, QUOTED_NEWLINE = "quotedlit", "stringlit", "quotednewline"
INTERP, CONTROL, SEQ_END = "interp", "control", "seqend"
INVALID, BAD_UTF8 = "invalid", "badutf8"

_MAIN = re.compile(
    r"""
    [ \t]*  # blanks before a token belong to no token
    (?: (?P<number>[0-9](?:(?:[0-9.]|[eE][+-]?[0-9])*(?:[0-9]|[eE][+-]?[0-9]))?)
  | (?P<ident>[^\W\d][\w-]*)
  | (?P<comment>\#[^\n]*\n?|//[^\n]*\n?|/\*.*?\*/)
  | (?P<newline>\r?\n)
  | (?P<heredoc><<-?(?P<marker>[^\W\d][\w-]*)\r?\n)
  | (?P<op>==|!=|>=|<=|&&|\|\||::|\.\.\.|=>|~\})
  | (?P<self>[\[\]().,*/%+\-=<>!?:&|~^;`'{}"])
    )""",
    re.VERBOSE | re.DOTALL,
)
_SIMPLE = {"number": NUMBER, "ident": IDENT, "comment": COMMENT, "newline": NEWLINE}
_BROKEN = re.compile(r"[\udc80-\udcff]")  # undecodable bytes (decoded with surrogateescape)

# checkInvalidTokens (token.go): what the scanner's tokens alone make invalid.
_CURLY = "\u201c\u201d"
_BITWISE = {
    "&": ' Did you mean boolean AND ("&&")?',
    "|": ' Did you mean boolean OR ("||")?',
    "~": ' Did you mean boolean NOT ("!")?',
    "^": "",
}
_MULTILINE_STRING = (
    "Quoted strings may not be split over multiple lines. To produce a multi-line string, either "
    'use the \\n escape to represent a newline character or use the "heredoc" multi-line '
    "template syntax."
)
_BODY_ITEM = "An argument or block definition is required here."
_USE_EQUALS = ' To set an argument, use the equals sign "=" to introduce the argument value.'
_UNCLOSED_BLOCK = (
    "There is no closing brace for this block before the end of the file. This may be caused by "
    "incorrect brace nesting elsewhere in this file."
)
_EXTRA_AFTER_INTERP = (
    "Expected a closing brace to end the interpolation expression, but found extra characters. "
    "This can happen when you include interpolation syntax for another language, such as shell "
    "scripting, but forget to escape the interpolation start token. If this is an embedded "
    'sequence for another language, escape it by starting with "$${" instead of just "${".'
)
_ESCAPES = set('ntr"\\')


def scan(text: str) -> list[_Tok]:
    """hclsyntax's scanner: the tokens of ``text`` (a BOM already removed), comments included."""
    out: list[_Tok] = []
    emit = out.append
    modes: list[str] = ["main"]  # "main", "str" or "heredoc"
    heredocs: list[list[object]] = []  # [marker, at start of line]
    braces = 0
    ret_braces: list[int] = []
    pos, n = 0, len(text)
    main_match = _MAIN.match
    while pos < n:
        mode = modes[-1]
        if mode == "main":
            m = main_match(text, pos)
            if m is None:
                while text[pos] in " \t":
                    pos += 1
                    if pos == n:
                        break
                else:
                    ch = text[pos]
                    emit(_Tok(BAD_UTF8 if _BROKEN.match(ch) else INVALID, pos, pos + 1, ch))
                    pos += 1
                continue
            group, end = m.lastgroup, m.end()
            assert group is not None
            pos = m.start(group)
            kind = _SIMPLE.get(group)
            if kind is not None:
                emit(_Tok(kind, pos, end, text[pos:end]))
            elif group == "heredoc":
                emit(_Tok(OHEREDOC, pos, end, text[pos:end]))
                heredocs.append([m.group("marker"), True])
                modes.append("heredoc")
            elif group == "op":
                op = text[pos:end]
                if op == "~}":
                    emit(_Tok(SEQ_END, pos, end, op))
                    if ret_braces and ret_braces[-1] == braces:
                        ret_braces.pop()
                        modes.pop()
                    braces -= 1
                else:
                    emit(_Tok(op, pos, end, op))
            else:
                ch = text[pos:end]
                if ch == "{":
                    emit(_Tok("{", pos, end, ch))
                    braces += 1
                elif ch == "}":
                    if ret_braces and ret_braces[-1] == braces:
                        emit(_Tok(SEQ_END, pos, end, ch))
                        ret_braces.pop()
                        modes.pop()
                    else:
                        emit(_Tok("}", pos, end, ch))
                    braces -= 1
                elif ch == '"':
                    emit(_Tok(OQUOTE, pos, end, ch))
                    modes.append("str")
                else:
                    emit(_Tok(ch, pos, end, ch))
            pos = end
            continue
        # A template (quoted or heredoc): literal text up to a "${", "%{", the end of the line or,
        # in a quoted string, the closing quote.
        if text.startswith(("${", "%{"), pos):
            end = pos + 3 if text.startswith("~", pos + 2) else pos + 2
            emit(_Tok(INTERP if text[pos] == "$" else CONTROL, pos, end, text[pos:end]))
            braces += 1
            ret_braces.append(braces)
            if heredocs:
                heredocs[-1][1] = False
            modes.append("main")
            pos = end
            continue
        if mode == "str":
            ch = text[pos]
            if ch == '"':
                emit(_Tok(CQUOTE, pos, pos + 1, ch))
                modes.pop()
                pos += 1
                continue
            if ch in "\r\n":
                end = pos
                while end < n and text[end] in "\r\n":
                    end += 1
                emit(_Tok(QUOTED_NEWLINE, pos, end, text[pos:end]))
                pos = end
                continue
            end = _literal_end(text, pos, quoted=True)
            if end == pos:  # a lone backslash before a newline, a broken byte
                emit(_Tok(BAD_UTF8 if _BROKEN.match(ch) else INVALID, pos, pos + 1, ch))
                end = pos + 1
            else:
                emit(_Tok(QUOTED_LIT, pos, end, text[pos:end]))
            pos = end
            continue
        # heredoc
        end = _literal_end(text, pos, quoted=False)
        doc = heredocs[-1]
        if end < n and text[end] == "\n":
            line = text[pos : end + 1]
            if doc[1] and line.strip() == doc[0]:
                close = end - 1 if end > pos and text[end - 1] == "\r" else end
                emit(_Tok(CHEREDOC, pos, close, text[pos:close]))
                emit(_Tok(NEWLINE, close, end + 1, text[close : end + 1]))
                heredocs.pop()
                modes.pop()
                pos = end + 1
                continue
            doc[1] = True
            emit(_Tok(STRING_LIT, pos, end + 1, line))
            pos = end + 1
            continue
        doc[1] = False
        emit(_Tok(STRING_LIT, pos, end, text[pos:end]))
        pos = end
    emit(_Tok(EOF, n, n, ""))
    return out


def _literal_end(text: str, pos: int, quoted: bool) -> int:
    """The end of the literal text at ``pos`` in a template: before a newline, an unescaped
    ``${``/``%{``, (quoted) the closing quote, a backslash before a newline, a broken byte."""
    n = len(text)
    i = pos
    while i < n:
        ch = text[i]
        if ch == "\n" or (quoted and (ch == '"' or ch == "\r")):
            break
        if ch in "$%":
            if text.startswith("{", i + 1):
                break
            if text.startswith(ch + "{", i + 1):  # "$${" / "%%{": a literal "${" / "%{"
                i += 3
                continue
        elif ch == "\\" and quoted:
            if i + 1 >= n or text[i + 1] in "\r\n":
                break
            i += 2
            continue
        elif quoted and "\udc80" <= ch <= "\udcff":
            break
        i += 1
    return i


def _lexer_diagnostic(tokens: list[_Tok]) -> _Found | None:
    """The first diagnostic of checkInvalidTokens (token.go)."""
    for tok in tokens:
        kind = tok.kind
        if kind in _BITWISE:
            return _Found(
                tok.start,
                "Unsupported operator",
                "Bitwise operators are not supported." + _BITWISE[kind],
            )
        if kind == "`":
            return _Found(
                tok.start,
                "Invalid character",
                'The "`" character is not valid. To create a multi-line string, use the "heredoc" '
                'syntax, like "<<EOT".',
            )
        if kind == "'":
            return _Found(
                tok.start,
                "Invalid character",
                'Single quotes are not valid. Use double quotes (") to enclose strings.',
            )
        if kind == ";":
            return _Found(
                tok.start,
                "Invalid character",
                'The ";" character is not valid. Use newlines to separate arguments and blocks, '
                "and commas to separate items in collection values.",
            )
        if kind == BAD_UTF8:
            return _Found(
                tok.start,
                "Invalid character encoding",
                "All input files must be UTF-8 encoded. Ensure that UTF-8 encoding is selected in "
                "your editor.",
            )
        if kind == QUOTED_NEWLINE:
            return _Found(tok.start, "Invalid multi-line string", _MULTILINE_STRING)
        if kind == INVALID:
            if tok.text in _CURLY:
                return _Found(
                    tok.start,
                    "Invalid character",
                    '"Curly quotes" are not valid here. These can sometimes be inadvertently '
                    "introduced when sharing code via documents or discussion forums. It might "
                    'help to replace the character with a "straight quote".',
                )
            # Terraform shows the line under the message; a one-line report names the character.
            code = ord(tok.text[0])
            name = unicodedata.name(tok.text[0], "")
            return _Found(
                tok.start,
                "Invalid character",
                "This character is not used within the language. "
                + (f"(U+{code:04X} {name})" if name else f"(U+{code:04X})"),
            )
    return None


_BINARY = {"||", "&&", "==", "!=", ">", ">=", "<", "<=", "+", "-", "*", "/", "%"}


class _Parser:
    """parser.go's recursive descent, raising :class:`_Found` at its first diagnostic."""

    def __init__(self, tokens: list[_Tok], text: str, path: str, lines: int = 0) -> None:
        self.tokens = tokens
        self.text = text
        self.path = path
        self.lines = lines  # lines of the file before ``text``
        self.i = 0
        self.newlines = [True]

    # --- the peeker (peeker.go): comments skipped; a line comment is a newline where they count
    def _next(self) -> tuple[_Tok, int]:
        tokens = self.tokens
        include = self.newlines[-1]
        i = self.i
        while i < len(tokens):
            tok = tokens[i]
            if tok.kind == COMMENT:
                if include and tok.text.endswith("\n"):
                    return _Tok(NEWLINE, tok.start, tok.end, "\n"), i + 1
                i += 1
                continue
            if tok.kind == NEWLINE and not include:
                i += 1
                continue
            return tok, i + 1
        return tokens[-1], len(tokens)

    def peek(self) -> _Tok:
        return self._next()[0]

    def read(self) -> _Tok:
        tok, self.i = self._next()
        return tok

    def prev(self) -> _Tok:
        return self.tokens[self.i - 1] if self.i else self.peek()

    # --- bodies
    def body(self, end: str) -> None:
        start = self.prev()
        names: dict[str, _Tok] = {}
        while True:
            tok = self.peek()
            if tok.kind == end:
                self.read()
                return
            if tok.kind == NEWLINE:
                self.read()
                continue
            if tok.kind == IDENT:
                name = self.body_item()
                if name is not None:
                    first = names.setdefault(name.text, name)
                    if first is not name:
                        raise _Found(
                            name.start,
                            "Attribute redefined",
                            f'The argument "{name.text}" was already set at {self.range(first)}. '
                            "Each argument may be set only once.",
                        )
                continue
            bad = self.read()
            if bad.kind == OQUOTE:
                raise _Found(
                    bad.start, "Invalid argument name", "Argument names must not be quoted."
                )
            if bad.kind == EOF:
                if end == "}":
                    raise _Found(start.start, "Unclosed configuration block", _UNCLOSED_BLOCK)
                raise _Found(
                    start.start,
                    "Unclosed configuration body",
                    "Found end of file before the end of this configuration body.",
                )
            raise _Found(bad.start, "Argument or block definition required", _BODY_ITEM)

    def body_item(self) -> _Tok | None:
        """An argument (its name returned) or a block (None)."""
        ident = self.read()
        nxt = self.peek()
        if nxt.kind == "=":
            self.attribute(single_line=False)
            return ident
        if nxt.kind in (OQUOTE, "{", IDENT):
            self.block(ident)
            return None
        raise _Found(ident.start, "Argument or block definition required", _BODY_ITEM + _USE_EQUALS)

    def attribute(self, single_line: bool) -> None:
        self.read()  # "="
        self.expression()
        if single_line:
            return
        end = self.peek()
        if end.kind in (NEWLINE, EOF):
            self.read()
            return
        if end.kind == ",":
            raise _Found(
                end.start,
                "Unexpected comma after argument",
                "Argument definitions must be separated by newlines, not commas. An argument "
                "definition must end with a newline.",
            )
        raise _Found(
            end.start,
            "Missing newline after argument",
            "An argument definition must end with a newline.",
        )

    def block(self, ident: _Tok) -> None:
        while True:
            tok = self.peek()
            if tok.kind == "{":
                opening = self.read()
                break
            if tok.kind == OQUOTE:
                self.quoted_label()
            elif tok.kind == IDENT:
                self.read()
            elif tok.kind == "=":
                raise _Found(
                    tok.start,
                    "Invalid block definition",
                    'The equals sign "=" indicates an argument definition, and must not be used '
                    "when defining a block.",
                )
            elif tok.kind == NEWLINE:
                raise _Found(
                    tok.start,
                    "Invalid block definition",
                    'A block definition must have block content delimited by "{" and "}", '
                    "starting on the same line as the block header.",
                )
            else:
                raise _Found(
                    tok.start,
                    "Invalid block definition",
                    'Either a quoted string block label or an opening brace ("{") is expected '
                    "here.",
                )
        if self.peek().kind in (NEWLINE, EOF, "}"):
            self.body("}")
        else:
            try:
                self.single_attribute_body(ident)
            except _Found as error:
                # parser.go recovers to the end of the line, then reports what follows the
                # single-line body *before* the body's own error.
                self.recover_after_body_item()
                after = self.peek()
                if after.kind in (",", NEWLINE):
                    self.single_line_end(after)
                raise error
            after = self.peek()
            if after.kind == "}":
                self.read()
            elif after.kind in (",", NEWLINE):
                self.single_line_end(after)
            elif after.kind == EOF:
                raise _Found(opening.start, "Unclosed configuration block", _UNCLOSED_BLOCK)
            else:
                raise _Found(
                    after.start,
                    "Invalid single-argument block definition",
                    "A single-line block definition must end with a closing brace immediately "
                    "after its single argument definition.",
                )
        eol = self.peek()
        if eol.kind in (NEWLINE, EOF):
            self.read()
            return
        raise _Found(
            eol.start,
            "Missing newline after block definition",
            "A block definition must end with a newline.",
        )

    def single_line_end(self, after: _Tok) -> None:
        """A single-line block's body followed by a comma or a newline instead of its "}"."""
        if after.kind == ",":
            raise _Found(
                after.start,
                "Invalid single-argument block definition",
                "Single-line block syntax can include only one argument definition. To define "
                "multiple arguments, use the multi-line block syntax with one argument "
                "definition per line.",
            )
        raise _Found(
            after.start,
            "Invalid single-argument block definition",
            "An argument definition on the same line as its containing block creates a "
            "single-line block definition, which must also be closed on the same line. "
            "Place the block's closing brace immediately after the argument definition.",
        )

    def recover(self, start: str, end: str) -> _Tok:
        """parser.go's recover(end): the next ``end`` at this nesting level, or the end of file."""
        nest = 0
        while True:
            tok = self.read()
            if tok.kind == start:
                nest += 1
            elif tok.kind == end:
                if nest < 1:
                    return tok
                nest -= 1
            elif tok.kind == EOF:
                return tok

    def recover_after_body_item(self) -> None:
        """parser.go's recoverAfterBodyItem: past the newline that ends the item."""
        opened: list[str] = []
        closers = {"}": "{", "]": "[", ")": "(", CQUOTE: OQUOTE, CHEREDOC: OHEREDOC}
        while True:
            tok = self.read()
            kind = tok.kind
            if (kind == NEWLINE and not opened) or kind == EOF:
                return
            if kind in ("{", "[", "(", OQUOTE, OHEREDOC, INTERP, CONTROL):
                opened.append(kind)
            elif kind in closers or kind == SEQ_END:
                wanted = (INTERP, CONTROL) if kind == SEQ_END else (closers[kind],)
                while opened and opened[-1] not in wanted:
                    opened.pop()
                if opened:
                    opened.pop()

    def single_attribute_body(self, block: _Tok) -> None:
        ident = self.read()
        if ident.kind != IDENT:
            raise _Found(ident.start, "Argument or block definition required", _BODY_ITEM)
        nxt = self.peek()
        if nxt.kind == "=":
            self.attribute(single_line=True)
            return
        if nxt.kind in (OQUOTE, "{", IDENT):
            raise _Found(
                ident.start,
                "Argument definition required",
                "A single-line block definition can contain only a single argument. If you meant "
                f'to define argument "{ident.text}", use an equals sign to assign it a value. To '
                "define a nested block, place it on a line of its own within its parent block.",
            )
        raise _Found(ident.start, "Argument or block definition required", _BODY_ITEM + _USE_EQUALS)

    def quoted_label(self) -> None:
        self.read()
        while True:
            tok = self.read()
            if tok.kind == CQUOTE:
                return
            if tok.kind == QUOTED_LIT:
                self.escapes(tok)
            elif tok.kind in (INTERP, CONTROL):
                which = "$" if tok.kind == INTERP else "%"
                raise _Found(
                    tok.start,
                    "Invalid string literal",
                    "Template sequences are not allowed in this string. To include a literal "
                    f'"{which}", double it (as "{which}{which}") to escape it.',
                )
            elif tok.kind == EOF:
                raise _Found(
                    tok.start,
                    "Unterminated string literal",
                    "Unable to find the closing quote mark before the end of the file.",
                )
            else:
                raise _Found(
                    tok.start,
                    "Invalid string literal",
                    "This item is not valid in a string literal.",
                )

    def escapes(self, tok: _Tok) -> None:
        """ParseStringLiteralToken's diagnostics for a quoted literal's escapes."""
        text = tok.text
        at = text.find("\\")
        while at >= 0:
            sel = text[at + 1 : at + 2]
            where = tok.start + at
            if sel in _ESCAPES:
                at = text.find("\\", at + 2)
                continue
            if sel in ("u", "U"):
                width = 4 if sel == "u" else 8
                digits = text[at + 2 : at + 2 + width]
                if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                    raise _Found(
                        where,
                        "Invalid escape sequence",
                        f"The \\{sel} escape sequence must be followed by "
                        f"{'four' if width == 4 else 'eight'} hexadecimal digits.",
                    )
                code = int(digits, 16)
                if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    raise _Found(
                        where,
                        "Invalid escape sequence",
                        f"Cannot encode character U+{code:04x} in UTF-8.",
                    )
                at = text.find("\\", at + 2 + width)
                continue
            if not sel:
                raise _Found(
                    where,
                    "Invalid escape sequence",
                    "Backslash must be followed by an escape sequence selector character.",
                )
            raise _Found(
                where,
                "Invalid escape sequence",
                f'The symbol "{sel}" is not a valid escape sequence selector.',
            )

    # --- expressions
    def expression(self) -> None:
        self.binary()
        if self.peek().kind != "?":
            return
        self.read()
        self.expression()
        colon = self.peek()
        if colon.kind != ":":
            raise _Found(
                colon.start,
                "Missing false expression in conditional",
                "The conditional operator (...?...:...) requires a false expression, delimited by "
                "a colon.",
            )
        self.read()
        self.expression()

    def binary(self) -> None:
        # Precedence decides the tree, not which token fails first: one loop for every level.
        self.with_traversals()
        while self.peek().kind in _BINARY:
            self.read()
            self.with_traversals()

    def with_traversals(self) -> None:
        self.term()
        self.traversals()

    def traversals(self) -> None:
        while True:
            nxt = self.peek()
            if nxt.kind == ".":
                self.read()
                attr = self.peek()
                if attr.kind == IDENT:
                    self.read()
                elif attr.kind == NUMBER:
                    self.read()
                    if "." in attr.text:
                        first, second = attr.text.split(".", 1)
                        raise _Found(
                            attr.start,
                            "Invalid legacy index syntax",
                            "When using the legacy index syntax, chaining two indexes together is "
                            "not permitted. Use the proper index syntax instead, like "
                            f"[{first}][{second}].",
                        )
                elif attr.kind == "*":
                    self.read()
                    while self.peek().kind == ".":
                        self.read()
                        step = self.peek()
                        if step.kind == NUMBER:
                            self.read()
                            if "." in step.text:
                                first, second = step.text.split(".", 1)
                                raise _Found(
                                    attr.start,
                                    "Invalid legacy index syntax",
                                    "When using the legacy index syntax, chaining two indexes "
                                    "together is not permitted. Use the proper index syntax with "
                                    "a full splat expression [*] instead, like "
                                    f"[{first}][{second}].",
                                )
                            continue
                        if step.kind != IDENT:
                            if step.kind == "*":
                                raise _Found(
                                    step.start,
                                    "Nested splat expression not allowed",
                                    "A splat expression (*) cannot be used inside another "
                                    "attribute-only splat expression.",
                                )
                            raise _Found(
                                attr.start,
                                "Invalid attribute name",
                                "An attribute name is required after a dot.",
                            )
                        self.read()
                else:
                    raise _Found(
                        attr.start,
                        "Invalid attribute name",
                        "An attribute name is required after a dot.",
                    )
            elif nxt.kind == "[":
                self.read()
                if self.peek().kind == "*":
                    self.read()
                    close = self.read()
                    if close.kind != "]":
                        # parser.go points at the token its recovery stops at (the diagnostic
                        # holds a pointer to `close`, which the recovery reassigns).
                        raise _Found(
                            self.recover("[", "]").start,
                            "Missing close bracket on splat index",
                            "The star for a full splat operator must be immediately followed by a "
                            'closing bracket ("]").',
                        )
                    self.traversals()
                else:
                    self.newlines.append(False)
                    self.expression()
                    close = self.read()
                    if close.kind != "]":
                        raise _Found(
                            self.recover("[", "]").start,  # as above
                            "Missing close bracket on index",
                            'The index operator must end with a closing bracket ("]").',
                        )
                    self.newlines.pop()
            else:
                return

    def term(self) -> None:
        start = self.peek()
        kind = start.kind
        if kind == "(":
            self.read()
            self.newlines.append(False)
            self.expression()
            close = self.peek()
            if close.kind != ")":
                raise _Found(
                    close.start,
                    "Unbalanced parentheses",
                    "Expected a closing parenthesis to terminate the expression.",
                )
            self.read()
            self.newlines.pop()
        elif kind == NUMBER:
            self.read()
        elif kind == IDENT:
            self.read()
            if self.peek().kind in ("(", "::"):
                self.call(start)
        elif kind in (OQUOTE, OHEREDOC):
            self.read()
            self.template(CQUOTE if kind == OQUOTE else CHEREDOC)
        elif kind in ("-", "!"):
            self.read()
            self.with_traversals()
        elif kind == "[":
            self.tuple_cons()
        elif kind == "{":
            self.object()
        elif kind == EOF:
            raise _Found(
                start.start,
                "Missing expression",
                "Expected the start of an expression, but found the end of the file.",
            )
        else:
            raise _Found(
                start.start,
                "Invalid expression",
                "Expected the start of an expression, but found an invalid expression token.",
            )

    def call(self, name: _Tok) -> None:
        opening = self.read()
        while opening.kind == "::":
            nxt = self.read()
            if nxt.kind != IDENT:
                raise _Found(
                    nxt.start,
                    "Missing function name",
                    "Function scope resolution symbol :: must be followed by a function name in "
                    "this scope.",
                )
            opening = self.read()
        if opening.kind != "(":
            raise _Found(
                opening.start,
                "Missing open parenthesis",
                "Function selector must be followed by an open parenthesis to begin the function "
                "call.",
            )
        self.newlines.append(False)
        while True:
            if self.peek().kind == ")":
                self.read()
                break
            self.expression()
            sep = self.read()
            if sep.kind == ")":
                break
            if sep.kind == "...":
                if self.peek().kind != ")":
                    raise _Found(
                        sep.start,
                        "Missing closing parenthesis",
                        "An expanded function argument (with ...) must be immediately followed "
                        "by closing parentheses.",
                    )
                self.read()
                break
            if sep.kind != ",":
                if sep.kind == EOF:
                    raise _Found(
                        name.start,
                        "Unterminated function call",
                        "There is no closing parenthesis for this function call before the end "
                        "of the file. This may be caused by incorrect parenthesis nesting "
                        "elsewhere in this file.",
                    )
                raise _Found(
                    sep.start,
                    "Missing argument separator",
                    "A comma is required to separate each function argument from the next.",
                )
            if self.peek().kind == ")":
                self.read()
                break
        self.newlines.pop()

    def tuple_cons(self) -> None:
        opening = self.read()
        self.newlines.append(False)
        if self.is_for():
            self.for_expression(opening, "]")
            self.newlines.pop()
            return
        while True:
            if self.peek().kind == "]":
                self.read()
                break
            self.expression()
            nxt = self.peek()
            if nxt.kind == "]":
                self.read()
                break
            if nxt.kind != ",":
                if nxt.kind == EOF:
                    raise _Found(
                        opening.start,
                        "Unterminated tuple constructor expression",
                        "There is no corresponding closing bracket before the end of the file. "
                        "This may be caused by incorrect bracket nesting elsewhere in this file.",
                    )
                raise _Found(
                    nxt.start,
                    "Missing item separator",
                    "Expected a comma to mark the beginning of the next item.",
                )
            self.read()
        self.newlines.pop()

    def is_for(self) -> bool:
        tok = self.peek()
        return tok.kind == IDENT and tok.text == "for"

    def object(self) -> None:
        opening = self.read()
        self.newlines.append(False)
        is_for = self.is_for()
        self.newlines.pop()
        if is_for:
            self.newlines.append(False)
            self.for_expression(opening, "}")
            self.newlines.pop()
            return
        unterminated = (
            "There is no corresponding closing brace before the end of the file. This may be "
            "caused by incorrect brace nesting elsewhere in this file."
        )
        self.newlines.append(True)
        while True:
            nxt = self.peek()
            if nxt.kind == NEWLINE:
                self.read()
                continue
            if nxt.kind == "}":
                self.read()
                break
            self.expression()
            nxt = self.peek()
            if nxt.kind not in ("=", ":"):
                if nxt.kind in (NEWLINE, ","):
                    raise _Found(
                        nxt.start,
                        "Missing attribute value",
                        'Expected an attribute value, introduced by an equals sign ("=").',
                    )
                if nxt.kind == IDENT:
                    raise _Found(
                        nxt.start,
                        "Missing key/value separator",
                        'Expected an equals sign ("=") to mark the beginning of the attribute '
                        "value. If you intended to given an attribute name containing periods or "
                        "spaces, write the name in quotes to create a string literal.",
                    )
                if nxt.kind == EOF:
                    raise _Found(
                        opening.start, "Unterminated object constructor expression", unterminated
                    )
                raise _Found(
                    nxt.start,
                    "Missing key/value separator",
                    'Expected an equals sign ("=") to mark the beginning of the attribute value.',
                )
            self.read()
            self.expression()
            nxt = self.peek()
            if nxt.kind == "}":
                self.read()
                break
            if nxt.kind not in (",", NEWLINE):
                if nxt.kind == EOF:
                    raise _Found(
                        opening.start, "Unterminated object constructor expression", unterminated
                    )
                raise _Found(
                    nxt.start,
                    "Missing attribute separator",
                    "Expected a newline or comma to mark the beginning of the next attribute.",
                )
            self.read()
        self.newlines.pop()

    def for_expression(self, opening: _Tok, close: str) -> None:
        self.newlines.append(False)
        self.read()  # "for"

        def fail(detail: str) -> _Found:
            return _Found(self.peek().start, "Invalid 'for' expression", detail)

        if self.peek().kind != IDENT:
            raise fail("For expression requires variable name after 'for'.")
        self.read()
        if self.peek().kind == ",":
            self.read()
            if self.peek().kind != IDENT:
                raise fail("For expression requires value variable name after comma.")
            self.read()
        tok = self.peek()
        if not (tok.kind == IDENT and tok.text == "in"):
            raise fail("For expression requires the 'in' keyword after its name declarations.")
        self.read()
        self.expression()
        if self.peek().kind != ":":
            raise fail("For expression requires a colon after the collection expression.")
        self.read()
        value = self.peek()
        self.expression()
        key = None
        if self.peek().kind == "=>":
            self.read()
            key = value
            self.expression()
        ellipsis = self.read() if self.peek().kind == "..." else None
        tok = self.peek()
        if tok.kind == IDENT and tok.text == "if":
            self.read()
            self.expression()
        if self.peek().kind != close:
            raise fail("Extra characters after the end of the 'for' expression.")
        self.read()
        if close == "]" and key is not None:
            raise _Found(
                key.start,
                "Invalid 'for' expression",
                "Key expression is not valid when building a tuple.",
            )
        if close == "]" and ellipsis is not None:
            raise _Found(
                ellipsis.start,
                "Invalid 'for' expression",
                "Grouping ellipsis (...) cannot be used when building a tuple.",
            )
        if close == "}" and key is None:
            raise _Found(
                value.start,
                "Invalid 'for' expression",
                "Key expression is required when building an object.",
            )
        self.newlines.pop()

    # --- templates (parser_template.go)
    def template(self, end: str) -> None:
        directives: list[tuple[str, _Tok]] = []
        while True:
            tok = self.read()
            if tok.kind == end:
                break
            if tok.kind == STRING_LIT:
                continue
            if tok.kind == QUOTED_LIT:
                self.escapes(tok)
            elif tok.kind == INTERP:
                self.newlines.append(False)
                self.expression()
                close = self.peek()
                if close.kind != SEQ_END:
                    if close.kind == EOF:
                        raise _Found(
                            tok.start,
                            "Unclosed template interpolation sequence",
                            "There is no closing brace for this interpolation sequence before the "
                            "end of the file. This might be caused by incorrect nesting inside the "
                            "given expression.",
                        )
                    if close.kind == ":":
                        raise _Found(
                            close.start,
                            "Extra characters after interpolation expression",
                            "Template interpolation doesn't expect a colon at this location. Did "
                            "you intend this to be a literal sequence to be processed as part of "
                            'another language? If so, you can escape it by starting with "$${" '
                            'instead of just "${".',
                        )
                    if close.kind in (CQUOTE, OQUOTE) and end == CQUOTE:
                        raise _Found(
                            tok.start,
                            "Unclosed template interpolation sequence",
                            "There is no closing brace for this interpolation sequence before the "
                            "end of the quoted template. This might be caused by incorrect nesting "
                            "inside the given expression.",
                        )
                    raise _Found(
                        close.start,
                        "Extra characters after interpolation expression",
                        _EXTRA_AFTER_INTERP,
                    )
                self.read()
                self.newlines.pop()
            elif tok.kind == CONTROL:
                self.newlines.append(False)
                self.directive(tok, directives)
                self.newlines.pop()
            else:
                raise _Found(
                    tok.start,
                    "Unterminated template string",
                    "No closing marker was found for the string.",
                )
        self.balance(directives, tok)

    def directive(self, opening: _Tok, directives: list[tuple[str, _Tok]]) -> None:
        kw = self.peek()
        if kw.kind != IDENT:
            raise _Found(
                kw.start,
                "Invalid template directive",
                'A template directive keyword ("if", "for", etc) is expected at the beginning of '
                "a %{ sequence.",
            )
        self.read()
        word = kw.text
        if word == "if":
            self.expression()
        elif word == "for":

            def fail(detail: str) -> _Found:
                return _Found(self.peek().start, "Invalid 'for' directive", detail)

            if self.peek().kind != IDENT:
                raise fail("For directive requires variable name after 'for'.")
            self.read()
            if self.peek().kind == ",":
                self.read()
                if self.peek().kind != IDENT:
                    raise fail("For directive requires value variable name after comma.")
                self.read()
            tok = self.peek()
            if not (tok.kind == IDENT and tok.text == "in"):
                raise fail("For directive requires 'in' keyword after names.")
            self.read()
            self.expression()
        elif word not in ("else", "endif", "endfor"):
            raise _Found(
                kw.start,
                "Invalid template control keyword",
                f'"{word}" is not a valid template control keyword.',
            )
        directives.append((word, opening))
        close = self.peek()
        if close.kind != SEQ_END:
            raise _Found(
                close.start,
                f"Extra characters in {word} marker",
                "Expected a closing brace to end the sequence, but found extra characters.",
            )
        self.read()

    def balance(self, directives: list[tuple[str, _Tok]], end: _Tok) -> None:
        """The template parser's checks that if/else/endif and for/endfor nest."""
        stack: list[list[object]] = []  # [word, token, seen else]
        for word, tok in directives:
            if word in ("if", "for"):
                stack.append([word, tok, False])
                continue
            top = stack[-1] if stack else None
            unbalanced = "The control directives within this template are unbalanced."
            if top is None:
                raise _Found(tok.start, f"Unexpected {word} directive", unbalanced)
            opener, at, seen_else = top
            assert isinstance(at, _Tok)
            where = self.range(at)
            if opener == "if":
                if word == "else" and not seen_else:
                    top[2] = True
                    continue
                if word == "endif":
                    stack.pop()
                    continue
                if word == "else":
                    raise _Found(
                        tok.start,
                        "Unexpected else directive",
                        f"Already in the else clause for the if started at {where}.",
                    )
                raise _Found(
                    tok.start,
                    f"Unexpected {word} directive",
                    f"Expecting an endif directive for the if started at {where}.",
                )
            if word == "endfor":
                stack.pop()
                continue
            if word == "else":
                raise _Found(
                    tok.start,
                    "Unexpected else directive",
                    "An else clause is not expected for a for directive.",
                )
            raise _Found(
                tok.start,
                f"Unexpected {word} directive",
                f"Expecting an endfor directive for the for started at {where}.",
            )
        if stack:
            opener, at, _ = stack[-1]
            assert isinstance(at, _Tok)
            closer = "endif" if opener == "if" else "endfor"
            raise _Found(
                end.start,
                "Unexpected end of template",
                f"The {opener} directive at {self.range(at)} is missing its corresponding "
                f"{closer} directive.",
            )

    def range(self, tok: _Tok) -> str:
        """hcl.Range.String() of a token: ``path:line,column-column``."""
        line, col = position(self.text, tok.start)
        end_line, end_col = position(self.text, tok.end)
        line, end_line = line + self.lines, end_line + self.lines
        if end_line == line:
            return f"{self.path}:{line},{col}-{end_col}"
        return f"{self.path}:{line},{col}-{end_line},{end_col}"


def position(text: str, at: int) -> tuple[int, int]:
    """1-based line and column (in characters) of offset ``at``."""
    line_start = text.rfind("\n", 0, at) + 1
    return text.count("\n", 0, at) + 1, at - line_start + 1


def first_diagnostic(data: bytes, path: str, start: int = 0) -> Diagnostic | None:
    """HashiCorp's first diagnostic for ``data`` (a ``.tf`` file), or None if it parses.

    ``start`` (at the start of a line, between two top-level items) skips a head of the file
    already known to be valid: a large file's chunks that parsed (the work is linear in what
    is read, about 1 s per MB)."""
    text = data[start:].decode("utf-8", "surrogateescape")
    if start == 0 and text.startswith("\ufeff"):
        text = text[1:]
    lines = data.count(b"\n", 0, start)
    tokens = scan(text)
    found = _lexer_diagnostic(tokens)
    if found is None:
        try:
            _Parser(tokens, text, path, lines).body(EOF)
        except _Found as exc:
            found = exc
        except RecursionError:
            return None
    if found is None:
        return None
    line, column = position(text, found.at)
    return Diagnostic(line + lines, column, found.summary, found.detail)
