"""Checks shared by the CloudFormation / EC2 API user-data tests: where a payload's pieces are
written, and what an insertion through a piece's escape does to the file."""

from collections.abc import Mapping

from imds_iac_checks.fix.escape import encode
from imds_iac_checks.model import Payload, Piece


def verbatim(payload: Payload, piece: Piece) -> bool:
    size = piece.span.end_byte - piece.span.start_byte
    return size == len(payload.text[piece.start : piece.end].encode("utf-8"))


def assert_pieces_map(payload: Payload, files: Mapping[str, bytes]) -> None:
    """Every piece lies in its file where its span says: a piece written as is has exactly its
    text's bytes there, at the line and column the span gives; an escape is more bytes than its
    text. Pieces are in order, do not overlap, and lie inside the payload's span."""
    previous = 0
    for piece in payload.pieces:
        assert previous <= piece.start < piece.end <= len(payload.text), piece
        previous = piece.end
        data = files[piece.span.path]
        written = data[piece.span.start_byte : piece.span.end_byte]
        text = payload.text[piece.start : piece.end]
        if verbatim(payload, piece):
            assert written == text.encode("utf-8"), (text, written)
        else:
            assert len(written) > len(text.encode("utf-8")), (text, written)
        before = data[: piece.span.start_byte].decode("utf-8")
        assert piece.span.line == before.count("\n") + 1, piece
        assert piece.span.column == len(before) - (before.rfind("\n") + 1) + 1, piece
        span = payload.span
        assert span.start_byte <= piece.span.start_byte <= piece.span.end_byte <= span.end_byte


def line_starts(payload: Payload) -> list[int]:
    """Offsets in the payload's text where a line starts inside a piece that can take text."""
    out = []
    for at in [0] + [i + 1 for i, c in enumerate(payload.text) if c == "\n"]:
        if at >= len(payload.text):
            continue
        for piece in payload.pieces:
            if piece.start == at and piece.escape:
                out.append(at)
                break
    return out


def insert(payload: Payload, data: bytes, at: int, text: str) -> bytes:
    """The file with ``text`` inserted at payload offset ``at`` (the start of a piece),
    written with that piece's escape."""
    piece = next(p for p in payload.pieces if p.start == at)
    encoded = encode(piece.escape, text)
    assert encoded is not None, piece.escape
    where = piece.span.start_byte
    return data[:where] + encoded.encode("utf-8") + data[where:]
