"""Byte-range edits and the small text facts every format's fixer needs."""

from typing import NamedTuple


class Edit(NamedTuple):
    """Replace ``data[start:end]`` with ``text`` (``start == end``: an insertion)."""

    start: int
    end: int
    text: bytes


class NoFix(Exception):
    """A finding whose fix cannot be built: the message says why, for the user."""


def apply(data: bytes, edits: list[Edit]) -> bytes:
    """Apply non-overlapping edits (any order). Raises ValueError when two overlap."""
    out = []
    position = len(data)
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        if edit.end > position:
            raise ValueError("overlapping edits")
        out.append(data[edit.end : position])
        out.append(edit.text)
        position = edit.start
    out.append(data[:position])
    return b"".join(reversed(out))


def newline(data: bytes) -> bytes:
    """The file's line ending: that of its first line (``\\n`` when it has none)."""
    index = data.find(b"\n")
    if index > 0 and data[index - 1 : index] == b"\r":
        return b"\r\n"
    return b"\n"


def line_start(data: bytes, offset: int) -> int:
    return data.rfind(b"\n", 0, offset) + 1


def next_line(data: bytes, offset: int) -> int:
    """The offset just past the end of the line holding ``offset`` (past its newline)."""
    index = data.find(b"\n", offset)
    return len(data) if index < 0 else index + 1


def indentation(data: bytes, offset: int) -> bytes:
    """The leading whitespace of the line holding ``offset``."""
    start = line_start(data, offset)
    end = start
    while end < len(data) and data[end : end + 1] in (b" ", b"\t"):
        end += 1
    return data[start:end]


def starts_line(data: bytes, offset: int) -> bool:
    """Only whitespace between the start of the line and ``offset``."""
    before = data[line_start(data, offset) : offset]
    return not before.removeprefix(b"\xef\xbb\xbf").strip(b" \t")


def indent_unit(outer: bytes, inner: bytes) -> bytes:
    """One level of indentation, from a line and a line nested in it (two spaces if unclear)."""
    if inner.startswith(outer) and len(inner) > len(outer):
        return inner[len(outer) :]
    return b"\t" if outer.startswith(b"\t") else b"  "
