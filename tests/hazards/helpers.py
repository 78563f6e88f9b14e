"""Assertions on payloads (see imds_iac_checks.model.Payload) shared by the hazard tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from imds_iac_checks.model import Payload


def holes(payload: Payload) -> list[tuple[int, int]]:
    """The runs of ``payload.text`` no piece covers, as (start, end)."""
    out, at = [], 0
    for piece in sorted(payload.pieces, key=lambda p: p.start):
        if piece.start > at:
            out.append((at, piece.start))
        at = max(at, piece.end)
    if at < len(payload.text):
        out.append((at, len(payload.text)))
    return out


def assert_pieces_map(payload: Payload, read: Callable[[str], bytes] | Path) -> None:
    """Every piece of ``payload`` is in order, inside its text and not overlapping the next; a
    verbatim piece (its text's UTF-8 length is its span's byte length) is exactly the bytes
    its span covers, with the span's lines and columns counted over those bytes; an escape
    piece covers more bytes than its text. ``read`` gives a file's bytes by its span path (a
    directory: paths relative to it)."""
    if isinstance(read, Path):
        base = read
        read = lambda path: (base / path).read_bytes()  # noqa: E731
    at = 0
    for piece in payload.pieces:
        assert at <= piece.start < piece.end <= len(payload.text), (piece, at)
        at = piece.end
        text = payload.text[piece.start : piece.end]
        span = piece.span
        data = read(span.path)
        written = data[span.start_byte : span.end_byte]
        if len(text.encode()) == span.end_byte - span.start_byte:
            assert written.decode() == text, (piece, written)
        else:
            assert len(text.encode()) < len(written), (piece, written)
        # Lines and columns: 1-based, columns in characters, the end exclusive.
        before = data[: span.start_byte].decode()
        assert span.line == before.count("\n") + 1, piece
        assert span.column == len(before) - (before.rfind("\n") + 1) + 1, piece
        upto = data[: span.end_byte].decode()
        assert span.end_line == upto.count("\n") + 1, piece
        assert span.end_column == len(upto) - (upto.rfind("\n") + 1) + 1, piece
