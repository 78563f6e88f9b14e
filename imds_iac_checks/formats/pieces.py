"""Building :class:`~imds_iac_checks.model.Payload` objects from text read out of a file:
literal runs (pieces) and holes, located through a :class:`~imds_iac_checks.formats.doc.Locator`
(character offsets of the file's decoded text), and the decoding of quoted strings into runs
(JSON, HCL, YAML double- and single-quoted) so that every piece maps to the bytes that wrote it."""

from __future__ import annotations

import codecs
import re
from bisect import bisect_right
from collections.abc import Iterable

from imds_iac_checks.formats.doc import Locator
from imds_iac_checks.model import Payload, Piece, ScanError, Span


class Builder:
    """Accumulates a payload's text: literal runs of the file (pieces) and holes."""

    def __init__(self, loc: Locator) -> None:
        self.loc = loc
        self.parts: list[str] = []
        self.pieces: list[Piece] = []
        self.at = 0

    def literal(self, start: int, end: int, escape: str) -> None:
        """The file's text[start:end] as it is (character offsets)."""
        if start >= end:
            return
        text = self.loc.text[start:end]
        self.pieces.append(Piece(self.at, self.at + len(text), self.loc.span(start, end), escape))
        self._add(text)

    def escaped(self, value: str, start: int, end: int, escape: str) -> None:
        """``value`` written as one escape at text[start:end] (``\\"`` for ``"``)."""
        self.pieces.append(Piece(self.at, self.at + len(value), self.loc.span(start, end), escape))
        self._add(value)

    def hole(self, text: str) -> None:
        self._add(text)

    def _add(self, text: str) -> None:
        self.parts.append(text)
        self.at += len(text)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def payload(
        self,
        span: Span,
        what: str,
        language: str = "",
        no_fix: str = "",
        owner: str = "",
        holes: str | None = None,
    ) -> Payload:
        """The payload built; ``holes`` (a regular expression) marks text that is evaluated
        before the instance sees it (Jinja ``{{ }}``, Packer ``{{user `x`}}``): no piece there."""
        built = Payload(self.text, tuple(self.pieces), span, what, language, no_fix, owner)
        if holes:
            built = cut(built, [m.span() for m in re.finditer(holes, built.text)])
        return built


def cut(payload: Payload, ranges: Iterable[tuple[int, int]]) -> Payload:
    """``payload`` with no piece over ``ranges`` (text kept: they become holes)."""
    pieces = list(payload.pieces)
    for lo, hi in ranges:
        if lo >= hi:
            continue
        out: list[Piece] = []
        for piece in pieces:
            if piece.end <= lo or hi <= piece.start:
                out.append(piece)
                continue
            probe = payload._replace(pieces=(piece,))
            for a, b in ((piece.start, lo), (hi, piece.end)):
                if a < b:
                    span = probe.located(a, b)
                    if span is not None:
                        out.append(Piece(a, b, span, piece.escape))
        pieces = out
    return payload._replace(pieces=tuple(pieces))


class ByteChars:
    """Byte offsets of a UTF-8 text -> character offsets (for parsers that count bytes)."""

    def __init__(self, data: bytes) -> None:
        self.leads: list[int] = []
        self.extra: list[int] = []
        if not data.isascii():
            total = 0
            for m in re.finditer(rb"[\xc0-\xff]", data):
                byte = m.group()[0]
                total += 3 if byte >= 0xF0 else 2 if byte >= 0xE0 else 1
                self.leads.append(m.start())
                self.extra.append(total)

    def char(self, byte: int) -> int:
        index = bisect_right(self.leads, byte - 1) - 1
        return byte - (self.extra[index] if index >= 0 else 0)


# --- quoted strings --------------------------------------------------------------------------

_JSON_ESCAPE = re.compile(r'\\(?:u[0-9a-fA-F]{4}|["\\/bfnrt])')
_JSON_SIMPLE = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}


def json_string(b: Builder, start: int, end: int, escape: str) -> None:
    """The JSON string body text[start:end] (between its quotes): literal runs and one escape
    piece per escape sequence (a surrogate pair is two pieces, joined by the decoder)."""
    text = b.loc.text
    at = start
    for m in _JSON_ESCAPE.finditer(text, start, end):
        b.literal(at, m.start(), escape)
        seq = m.group()
        value = chr(int(seq[2:], 16)) if seq[1] == "u" else _JSON_SIMPLE[seq[1]]
        b.escaped(value, m.start(), m.end(), escape)
        at = m.end()
    b.literal(at, end, escape)


_HCL_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[\"\\nrt])|\$\$\{|%%\{")
_HCL_SIMPLE = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}


def hcl_literal(b: Builder, start: int, end: int, escape: str) -> None:
    """An HCL quoted template's literal run text[start:end]: escapes (``\\"``, ``$${``) as
    escape pieces."""
    text = b.loc.text
    at = start
    for m in _HCL_ESCAPE.finditer(text, start, end):
        b.literal(at, m.start(), escape)
        seq = m.group()
        if seq in ("$${", "%%{"):
            value = seq[1:]
        elif seq[1] in "uU":
            value = chr(int(seq[2:], 16))
        else:
            value = _HCL_SIMPLE[seq[1]]
        b.escaped(value, m.start(), m.end(), escape)
        at = m.end()
    b.literal(at, end, escape)


# YAML double-quoted escapes (YAML 1.2, 5.7).
_YAML_DQ_SIMPLE = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85",
    "_": "\xa0", "L": "\u2028", "P": "\u2029",
}  # fmt: skip
_YAML_DQ_ESCAPE = re.compile(
    r'\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0abt\tnvfre "/\\N_LP])'
)


def yaml_scalar(b: Builder, start: int, end: int, value: str) -> bool:
    """A YAML scalar written at text[start:end] whose value is ``value``: pieces where the
    source writes the value (a literal block scalar line by line, escape ``indent:<ws>``; a
    quoted scalar's runs, ``yaml-dq``/``yaml-sq``; a plain scalar's lines, escape "": text
    inserted there could change how the scalar is read). Returns False (and adds nothing) when
    the runs do not rebuild ``value``; the caller then adds it as a hole."""
    text = b.loc.text
    probe = Builder(b.loc)
    head = text[start : start + 1]
    if head == '"':
        _dq(probe, start + 1, end - 1)
    elif head == "'":
        _sq(probe, start + 1, end - 1)
    elif head in ("|", ">"):
        _block(probe, start, end, value, head == "|")
    else:
        _plain(probe, start, end, value)
    if probe.text != value:
        return False
    b.pieces.extend(p._replace(start=p.start + b.at, end=p.end + b.at) for p in probe.pieces)
    b.parts.append(probe.text)
    b.at += len(probe.text)
    return True


def _dq(b: Builder, start: int, end: int) -> None:
    text = b.loc.text
    at = start
    pos = start
    while pos < end:
        ch = text[pos]
        if ch == "\\":
            m = _YAML_DQ_ESCAPE.match(text, pos, end)
            b.literal(at, pos, "yaml-dq")
            if m is None:  # an escaped line break: the break and the next line's indent vanish
                nl = re.compile(r"\\\r?\n[ \t]*").match(text, pos, end)
                if nl is None:
                    return
                at = pos = nl.end()
                continue
            seq = m.group()
            value = chr(int(seq[2:], 16)) if seq[1] in "xuU" else _YAML_DQ_SIMPLE[seq[1]]
            b.escaped(value, m.start(), m.end(), "yaml-dq")
            at = pos = m.end()
        elif ch in "\r\n":
            pos = _fold(b, at, pos, end, "yaml-dq")
            at = pos
        else:
            pos += 1
    b.literal(at, end, "yaml-dq")


def _sq(b: Builder, start: int, end: int) -> None:
    text = b.loc.text
    at = start
    pos = start
    while pos < end:
        if text.startswith("''", pos):
            b.literal(at, pos, "yaml-sq")
            b.escaped("'", pos, pos + 2, "yaml-sq")
            at = pos = pos + 2
        elif text[pos] in "\r\n":
            pos = _fold(b, at, pos, end, "yaml-sq")
            at = pos
        else:
            pos += 1
    b.literal(at, end, "yaml-sq")


_BREAKS = re.compile(r"[ \t]*((?:\r?\n[ \t]*)+)")


def _fold(b: Builder, at: int, pos: int, end: int, escape: str) -> int:
    """A line break in a flow scalar: trailing blanks dropped, one break is a space, n breaks
    are n-1 newlines (a hole: the source writes them differently)."""
    text = b.loc.text
    stop = pos
    while stop > at and text[stop - 1] in " \t":
        stop -= 1
    b.literal(at, stop, escape)
    m = _BREAKS.match(text, stop, end)
    assert m is not None
    breaks = m.group(1).count("\n")
    b.hole(" " if breaks == 1 else "\n" * (breaks - 1))
    return m.end()


def _block(b: Builder, start: int, end: int, value: str, literal: bool) -> None:
    """A block scalar: each content line (its indentation cut) is a piece when the value holds
    it there; a literal block's line (with its line break) takes ``indent:<ws>``."""
    text = b.loc.text
    header_end = text.find("\n", start, end)
    if header_end < 0:
        return
    lines = text[header_end + 1 : end].split("\n")
    pos = header_end + 1
    indent: str | None = None
    cursor = 0
    for number, line in enumerate(lines):
        line_start = pos
        pos += len(line) + 1
        content = line.rstrip("\r")
        if not content.strip():
            continue
        if indent is None:
            indent = content[: len(content) - len(content.lstrip(" "))]
        if not content.startswith(indent):
            break
        body_start = line_start + len(indent)
        body = text[body_start : line_start + len(line)]
        has_break = number < len(lines) - 1 and pos <= end
        found = value.find(body, cursor)
        if found < 0:
            break
        if found > cursor:
            b.hole(value[cursor:found])
        if literal:
            with_break = body + "\n" if has_break else body
            if value.startswith(with_break, found):
                b.literal(body_start, body_start + len(with_break), f"indent:{indent}")
                cursor = found + len(with_break)
                continue
        b.literal(body_start, body_start + len(body), "")
        cursor = found + len(body)
    if cursor < len(value):
        b.hole(value[cursor:])


def _plain(b: Builder, start: int, end: int, value: str) -> None:
    """A plain scalar: its lines (folded by single spaces), no insertion."""
    text = b.loc.text
    cursor = 0
    for m in re.finditer(r"[^\r\n]+", text[start:end]):
        line = m.group().strip(" \t")
        if not line:
            continue
        lo = start + m.start() + (len(m.group()) - len(m.group().lstrip(" \t")))
        found = value.find(line, cursor)
        if found < 0:
            break
        if found > cursor:
            b.hole(value[cursor:found])
        b.literal(lo, lo + len(line), "")
        cursor = found + len(line)
    if cursor < len(value):
        b.hole(value[cursor:])


# Byte order marks of the encodings other than UTF-8 a script may be saved in (Windows
# PowerShell 5 writes UTF-16 LE with a BOM); UTF-32 first: its LE mark begins with UTF-16 LE's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)
# An undecodable byte of a file that is mostly UTF-8 (``surrogateescape``: U+DC80..U+DCFF).
_UNDECODABLE = re.compile("[\udc80-\udcff]")
# Holes cut for undecodable bytes in one file; past them, the rest of the file is one hole.
MAX_UNDECODABLE = 1024
# A whole file's text is cut, at line ends, into pieces of about this many characters: a
# finding placed in a piece counts lines and bytes from the piece's start.
PIECE_SIZE = 1 << 16


def wide_encoding(data: bytes) -> tuple[str, str] | None:
    """(codec, name) of a file that starts with a UTF-16 or UTF-32 byte order mark."""
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            return codec, name
    return None


def file_text(data: bytes) -> str | None:
    """The file as text, or None for a file that is not text.

    UTF-8 (a BOM kept) as it is; UTF-16/UTF-32 with a byte order mark decoded (the BOM kept,
    as U+FEFF); UTF-8 with bytes that do not decode (a Latin-1 ``é`` in a comment) with each
    such byte as a lone surrogate (``surrogateescape``: :func:`whole_file` makes it a hole). A
    file with a NUL byte that is none of these is binary: None."""
    wide = wide_encoding(data)
    if wide is not None:
        try:
            return "\ufeff" + data[len(_bom_of(data)) :].decode(wide[0])
        except UnicodeDecodeError:
            return None
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape")


# A binary file (one :func:`file_text` cannot read) is skipped in silence unless its bytes name
# the metadata service: then it may well be a script in an encoding this tool does not read,
# and the scan says it was not scanned (a ScanError: exit status 2) rather than pass it.
_IMDS_BYTES = (b"169.254.169.254", b"fd00:ec2::254", b"instance-data")


def not_text(shown: str, data: bytes) -> list[ScanError]:
    """The error for a file of a script kind that is not text, or none when it cannot hold an
    IMDS call."""
    if any(marker in data for marker in _IMDS_BYTES):
        return [ScanError(shown, 0, 0, "not a text file: not scanned")]
    return []


def undecodable_holes(payloads: list[Payload], text: str) -> list[Payload]:
    """Payloads read from a locator text in which each byte that did not decode stands as
    U+001A (:func:`located_text`): no piece over those stand-ins (never edited)."""
    if "\x1a" not in text:
        return payloads
    return [cut(p, [(m.start(), m.end()) for m in re.finditer("\x1a", p.text)]) for p in payloads]


def located_text(text: str) -> str:
    """``text`` for a :class:`Locator`: each undecodable byte (a lone surrogate, three bytes
    in UTF-8) as one ASCII character, so that byte offsets count the file's bytes."""
    return _UNDECODABLE.sub("\x1a", text)


def _bom_of(data: bytes) -> bytes:
    for bom, _, _ in _BOMS:
        if data.startswith(bom):
            return bom
    return b""


def whole_file(shown: str, data: bytes, text: str, what: str, language: str = "") -> Payload:
    """A file whose whole text runs, written as is (escape ``raw``); ``text`` is what
    :func:`file_text` made of ``data``. A byte order mark is not text.

    A UTF-16/UTF-32 file is read but cannot be edited byte for byte: a payload without pieces
    (findings point at its first line; ``no_fix`` says why). A byte that does not decode as
    UTF-8 is a hole (U+FFFD in the payload: read, never edited); the runs between such bytes
    are pieces, so findings and fixes elsewhere map exactly."""
    wide = wide_encoding(data)
    if wide is not None:
        body = text[1:] if text.startswith("\ufeff") else text
        first = body.split("\n", 1)[0].rstrip("\r")
        bom = len(_bom_of(data))
        line_bytes = len(first.encode(wide[0]))
        span = Span(shown, bom, bom + line_bytes, 1, 1, 1, len(first) + 1)
        no_fix = (
            f"the file is {wide[1]}: convert it to UTF-8 to have it fixed, or add the token "
            "request by hand"
        )
        return Payload(body, (), span, what, language, no_fix)
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    body = text[1:] if start else text
    span = _file_span(shown, data, body, start)
    bad = [m.start() for m in _UNDECODABLE.finditer(body)] if not data.isascii() else []
    if not bad and len(body) <= PIECE_SIZE:
        return Payload(body, (Piece(0, len(body), span, "raw"),), span, what, language)
    # The locator counts one byte per undecodable byte (its stand-in is ASCII); the pieces
    # never cover a stand-in.
    located = located_text(text) if bad else text
    b = Builder(Locator(shown, located))
    offset = 1 if start else 0  # the BOM, one character of the located text
    at = 0
    for index, position in enumerate(bad):
        if index == MAX_UNDECODABLE:
            b.hole(_UNDECODABLE.sub("\ufffd", body[at:]))
            at = len(body)
            break
        _chunks(b, offset, at, position)
        b.hole("\ufffd")
        at = position + 1
    _chunks(b, offset, at, len(body))
    return b.payload(span, what, language)


def _chunks(b: Builder, offset: int, start: int, end: int) -> None:
    """``body[start:end]`` as pieces of about :data:`PIECE_SIZE` characters cut after line
    breaks (``offset``: where the body starts in the located text, after a BOM)."""
    text = b.loc.text
    at = start
    while end - at > PIECE_SIZE:
        cut = text.find("\n", offset + at + PIECE_SIZE, offset + end)
        if cut < 0:
            break
        b.literal(offset + at, offset + cut + 1, "raw")
        at = cut + 1
    b.literal(offset + at, offset + end, "raw")


def _file_span(shown: str, data: bytes, body: str, start: int) -> Span:
    lines = body.count("\n")
    last = body.rfind("\n")
    end_column = (len(body) - last) if lines else len(body) + 1
    return Span(shown, start, len(data), 1, 1, lines + 1, end_column)
