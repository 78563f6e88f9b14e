"""``--format full``, the default (``text`` is the same): each finding with the source it points
at, in the shape of ruff's ``full`` format (ruff 0.12 and later)::

    IMDS002 [*] [aws_instance.web] http_tokens is "optional"; set it to "required"
      --> main.tf:19:19
       |
    17 |   ami = "ami-0c55b159cbfafe1f0"
    18 |   metadata_options {
    19 |     http_tokens = "optional"
       |                   ^^^^^^^^^^
    20 |   }
    21 | }
       |
    help: set http_tokens to "required"

``[*]``: ``imds-iac fix`` fixes it (a safe fix); an unsafe fix gets a ``note:`` saying what it
edits. A span over several lines is drawn with ruff's (and rustc's) margin lines; long spans
show their first and last lines. Source text is shown as the scan's :class:`~imds_iac_checks.
source.Files` reads it now: a file that vanished, or changed so that the finding no longer lands
where it did, gets a ``note:`` instead of source. Tabs are shown as four spaces, control
characters escaped as in every human-readable report, lines longer than :data:`MAX_WIDTH`
columns cut around the span with ``…``.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from bisect import bisect_left, bisect_right
from typing import TextIO

from imds_iac_checks.model import Finding, Span
from imds_iac_checks.report import DEFAULT, Options
from imds_iac_checks.report.escape import escape, escape_message
from imds_iac_checks.report.text import (
    BLUE,
    BOLD,
    CYAN,
    RED,
    YELLOW,
    error_line,
    location,
    paint,
    rule_code,
    summary,
)
from imds_iac_checks.scan import ScanResult
from imds_iac_checks.source import read_regular

CONTEXT = 2  # lines shown before and after the span (blank lines at the edges left out)
MAX_WIDTH = 120  # columns of a source line shown
MAX_SPAN_LINES = 8  # a longer span shows its first and last lines, "..." between
_TAB = "    "
_CI_MARKER = re.compile(r"##(?=\w*\[)")  # what escape() defuses: a CI command marker


def write(result: ScanResult, out: TextIO, options: Options = DEFAULT) -> None:
    color, err = options.color, sys.stderr if options.err is None else options.err
    sources: dict[str, _Source] = {}
    for f in result.findings:
        if f.suppressed is not None:
            continue
        source = sources.get(f.path)
        if source is None:
            source = sources[f.path] = _Source.read(f.path, options)
        out.write("\n".join(render(f, source, color)) + "\n\n")
    for e in result.errors:
        err.write(error_line(e, color) + "\n")
    if options.quiet:
        return
    out.write(summary(result, color) + "\n")


class _Source:
    """A file's lines as the report reads them again (None: it could not be read), and its
    bytes' line offsets, to tell whether a finding still lands where the scan saw it."""

    __slots__ = ("lines", "problem", "starts", "utf8")

    def __init__(self, lines: list[str] | None, problem: str = "") -> None:
        self.lines, self.problem = lines, problem
        self.starts: list[int] = []  # byte offset of each line (UTF-8 files)
        self.utf8 = False

    @classmethod
    def read(cls, path: str, options: Options) -> _Source:
        full = path if os.path.isabs(path) else os.path.join(options.cwd or os.getcwd(), path)
        try:
            data = options.files.read(full) if options.files is not None else read_regular(full)
        except OSError as exc:
            return cls(None, f"{escape(path)} cannot be read now ({exc.strerror or exc})")
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            try:
                text = data.decode("utf-16")
            except UnicodeDecodeError:
                return cls(None, f"{escape(path)} is no longer valid UTF-16")
            return cls([line.removesuffix("\r") for line in text.split("\n")])
        lines: list[str] = []
        source = cls(lines)
        source.utf8 = True
        offset = 3 if data.startswith(b"\xef\xbb\xbf") else 0
        for raw in data[offset:].split(b"\n"):
            source.starts.append(offset)
            offset += len(raw) + 1
            lines.append(raw.decode("utf-8", "surrogateescape").removesuffix("\r"))
        return source

    def check(self, span: Span) -> str:
        """Why the span cannot be shown from these lines ("" when it can)."""
        if self.lines is None:
            return self.problem
        lines = self.lines
        fits = (
            1 <= span.line <= len(lines)
            and span.line <= span.end_line <= len(lines)
            and 1 <= span.column <= len(lines[span.line - 1]) + 1
            and 1 <= span.end_column <= len(lines[span.end_line - 1]) + 1
        )
        if fits and self.utf8:
            text = lines[span.line - 1][: span.column - 1]
            at = self.starts[span.line - 1] + len(text.encode("utf-8", "surrogateescape"))
            fits = at == span.start_byte or at - self.starts[0] == span.start_byte
        return "" if fits else f"{escape(span.path)} has changed since it was scanned"


def render(f: Finding, source: _Source, color: bool) -> list[str]:
    """The lines of one finding in the full format (no blank line after)."""
    span = f.span
    mark = f" [{paint('*', CYAN, color)}]" if f.fix == "safe" else ""
    out = [f"{rule_code(f, color)}{mark} {paint(escape_message(f.message), BOLD, color)}"]
    problem = source.check(span)
    if problem or source.lines is None:
        out.append(f"{paint('-->', BLUE, color)} {location(f)}")
        out.append(f"{paint('note', YELLOW, color)}: source not shown: {problem}")
    else:
        out += _snippet(f, span, source.lines, color)
    if f.help:
        out.append(f"{paint('help', CYAN, color)}: {escape(f.help)}")
    if f.fix == "unsafe":
        what = f" ({escape(f.fix_note)})" if f.fix_note else ""
        out.append(
            f"{paint('note', YELLOW, color)}: an unsafe fix{what}: "
            "`imds-iac fix --unsafe-fixes` applies it"
        )
    elif f.fix is None and f.fix_note:
        # why `imds-iac fix` leaves it (a value others read too, one given on the command
        # line): said here as `fix` says it, so nobody waits for a fix that will not come
        out.append(
            f"{paint('note', YELLOW, color)}: no automatic fix: {escape_message(f.fix_note)}"
        )
    return out


def _snippet(f: Finding, span: Span, lines: list[str], color: bool) -> list[str]:
    line, column, end_line, end_column = span.line, span.column, span.end_line, span.end_column
    if end_line > line and end_column == 1:  # ends just after a line break: on the line before
        end_line -= 1
        end_column = len(lines[end_line - 1]) + 1
    if end_line == line and end_column <= column:
        end_column = column + 1  # an empty span: one caret
    multi = end_line > line
    first, last = max(1, line - CONTEXT), min(len(lines), end_line + CONTEXT)
    while first < line and not lines[first - 1].strip():
        first += 1
    while last > end_line and not lines[last - 1].strip():
        last -= 1
    shown = list(range(first, last + 1))
    if multi and end_line - line + 1 > MAX_SPAN_LINES:
        keep = MAX_SPAN_LINES // 2
        shown = [n for n in shown if n < line + keep or n > end_line - keep]
    width = len(str(last))
    gutter = paint(" " * width + " |", BLUE, color)
    caret = RED if f.severity == "error" else YELLOW
    out = [f"{' ' * width}{paint('-->', BLUE, color)} {location(f)}", gutter]
    previous = 0
    for n in shown:
        if previous and n != previous + 1:
            out.append(paint("...", BLUE, color))
        previous = n
        text = _line(lines[n - 1])
        if not multi:
            window = text.window(column, end_column)
            out.append(f"{paint(f'{n:<{width}} |', BLUE, color)} {window.text}".rstrip())
            if n == line:
                start, stop = window.cells(column, end_column)
                marks = " " * start + paint("^" * max(stop - start, 1), caret, color)
                out.append(f"{gutter} {marks}")
            continue
        window = text.window(1, 1)
        margin = "  "
        if n == line and not lines[n - 1][: column - 1].strip():
            margin = "/ "
        elif line < n <= end_line:
            margin = "| "
        if margin.strip():
            margin = paint(margin[0], caret, color) + " "
        out.append(f"{paint(f'{n:<{width}} |', BLUE, color)} {margin}{window.text}".rstrip())
        if n == line and not margin.strip():  # the span starts after other text: a line to it
            start = window.cells(column, column + 1)[0]
            out.append(f"{gutter}  {paint('_' * (start + 1) + '^', caret, color)}")
        elif n == end_line:
            stop = window.cells(end_column - 1, end_column)[0]
            out.append(f"{gutter} {paint('|' + '_' * (stop + 1) + '^', caret, color)}")
    if out[-1] != gutter and not out[-1].startswith(gutter + " "):
        out.append(gutter)  # ruff closes the margin after a source line, not after carets
    return out


class _Window(tuple[str, list[int], int]):
    """A source line as shown: its text, the display column of each character (and one past
    the last), and where the shown part starts."""

    @property
    def text(self) -> str:
        return self[0]

    def cells(self, column: int, end_column: int) -> tuple[int, int]:
        """The display columns, in the shown text, of characters ``column`` (1-based) up to
        ``end_column`` (exclusive), clipped to what is shown."""
        starts, lo = self[1], self[2]
        shown = len(self[0])

        def at(c: int) -> int:
            i = min(max(c - 1, 0), len(starts) - 1)
            return min(max(starts[i] - lo, 0), shown)

        return at(column), max(at(end_column), at(column))


def _line(text: str) -> _Line:
    """The :class:`_Line` of ``text``, kept for the findings that follow on the same line (a
    minified policy holds hundreds on one): the last few lines shown are remembered."""
    known = _LINES.get(text)
    if known is None:
        if len(_LINES) >= 8:
            _LINES.pop(next(iter(_LINES)))
        known = _LINES[text] = _Line(text)
    return known


class _Line:
    """One line of source: what each character looks like when shown (tabs as four spaces,
    control characters escaped, wide characters two columns, combining marks none)."""

    __slots__ = ("parts", "starts")

    def __init__(self, text: str) -> None:
        defused = {m.start() + 1 for m in _CI_MARKER.finditer(text)}
        if text.isascii() and text.isprintable() and not defused:
            self.parts = list(text)
        else:
            self.parts = [_show(ch) for ch in text]
            for i in defused:
                self.parts[i] = "\\x23"
        starts, col = [], 0
        for part in self.parts:
            starts.append(col)
            col += _width(part)
        starts.append(col)
        self.starts = starts

    def window(self, column: int, end_column: int) -> _Window:
        """The line cut to :data:`MAX_WIDTH` columns around characters ``column`` up to
        ``end_column``, ``…`` where it is cut."""
        total = self.starts[-1]
        if total <= MAX_WIDTH:
            return _Window(("".join(self.parts), self.starts, 0))
        i = min(max(column - 1, 0), len(self.parts))
        start = self.starts[i]
        # The span with 20 columns before it, the window filled to the end of the line if it can.
        lo = 0 if start < MAX_WIDTH - 20 else max(0, min(start - 20, total - MAX_WIDTH))
        hi = lo + MAX_WIDTH
        # The characters that start at or after lo and end by hi: a run (starts never decrease),
        # found by bisection so that many findings on one long line cost no scan of it each.
        begin = bisect_left(self.starts, lo, 0, len(self.parts))
        stop = bisect_right(self.starts, hi, 1) - 1  # parts k < stop end by hi
        chosen = range(begin, max(begin, stop))
        text = "".join(self.parts[begin : max(begin, stop)])
        first = self.starts[chosen[0]] if chosen else lo
        if lo > 0:
            text = "…" + text
            first -= 1
        if chosen and chosen[-1] < len(self.parts) - 1:
            text += "…"
        return _Window((text, self.starts, first))


_LINES: dict[str, _Line] = {}


def _show(ch: str) -> str:
    if ch == "\t":
        return _TAB
    if ch.isprintable():
        return ch
    return escape(ch)


def _width(part: str) -> int:
    if len(part) != 1 or part.isascii():
        return len(part)
    if unicodedata.combining(part):
        return 0
    return 2 if unicodedata.east_asian_width(part) in ("W", "F") else 1
