"""From what an analyser found in a payload to a :class:`~imds_iac_checks.model.Hazard`: the
span a finding points at and the byte-range edits of its fix, through the payload's pieces."""

from collections.abc import Iterable

from imds_iac_checks.model import Found, Hazard, Host, Payload, Piece, Span


def hazard(payload: Payload, found: Found, hosts: Iterable[Host] = ()) -> Hazard:
    """``found`` placed in its file: at the call (or pin) when it is written in one piece, else
    at the first piece it touches, else at the whole payload; with its edits mapped to files,
    or none (and ``no_fix`` says why) when one of them falls outside a piece, or in a piece
    that cannot hold inserted text."""
    span = payload.located(found.start, found.end) or _touching(payload, found) or payload.span
    edits: list[tuple[str, int, int, bytes]] = []
    no_fix = found.no_fix or payload.no_fix
    if found.edits and not no_fix:
        for start, end, text in found.edits:
            placed = _edit(payload, start, end, text)
            if isinstance(placed, str):
                no_fix = placed
                edits = []
                break
            edits.append(placed)
    return Hazard(
        kind=found.kind,
        span=span,
        what=found.what,
        payload=payload.what,
        owner=payload.owner,
        hosts=tuple(hosts),
        edits=tuple(edits) if not no_fix else (),
        change=found.change if not no_fix else "",
        no_fix=no_fix if not edits else "",
        details=found.details,
    )


def _touching(payload: Payload, found: Found) -> Span | None:
    """The first line of the found text that is written in a piece: a call that runs over a
    hole (``curl ${url}``) points at its literal start."""
    for piece in payload.pieces:
        lo, hi = max(found.start, piece.start), min(found.end, piece.end)
        if lo < hi:
            span = payload.located(lo, hi)
            if span is not None:
                return span
    return _between(payload, found)


def _between(payload: Payload, found: Found) -> Span | None:
    """A call wholly inside a hole (the value of an interpolation: ``$(${local.fetch})``): the
    text between the pieces around it, when both are in one file — the interpolation as
    written."""
    before = [p for p in payload.pieces if p.end <= found.start]
    after = [p for p in payload.pieces if p.start >= found.end]
    if not before or not after:
        return None
    left, right = before[-1].span, after[0].span
    if left.path != right.path or left.end_byte > right.start_byte:
        return None
    return Span(
        left.path,
        left.end_byte,
        right.start_byte,
        left.end_line,
        left.end_column,
        right.line,
        right.column,
    )


def _edit(payload: Payload, start: int, end: int, text: str) -> tuple[str, int, int, bytes] | str:
    """One payload edit as a file edit, or why it cannot be made."""
    from imds_iac_checks.fix.escape import encode

    piece = _piece(payload.pieces, start, end)
    if piece is None:
        return f"the {payload.what} is not written literally where the fix must edit it"
    located = payload.located(start, end) if start < end else _point(payload, piece, start)
    if located is None:
        return f"the {payload.what} is not written literally where the fix must edit it"
    encoded = encode(piece.escape, text)
    if encoded is None:
        return f"the fix cannot be written inside this {payload.what}'s quoting; edit it by hand"
    return (located.path, located.start_byte, located.end_byte, encoded.encode("utf-8"))


def _piece(pieces: Iterable[Piece], start: int, end: int) -> Piece | None:
    """The piece an edit of ``[start, end)`` falls in; an insertion at a boundary between two
    pieces goes into the one that begins there (before the text it precedes)."""
    candidates = [p for p in pieces if p.start <= start and end <= p.end]
    if not candidates:
        return None
    if start == end:
        beginning = [p for p in candidates if p.start == start]
        if beginning:
            return beginning[0]
    return candidates[0]


def _point(payload: Payload, piece: Piece, at: int) -> Span | None:
    """The empty span at ``at`` inside ``piece`` (an insertion point)."""
    if at == piece.start:
        s = piece.span
        return Span(s.path, s.start_byte, s.start_byte, s.line, s.column, s.line, s.column)
    if at == piece.end:
        s = piece.span
        return Span(
            s.path, s.end_byte, s.end_byte, s.end_line, s.end_column, s.end_line, s.end_column
        )
    located = payload.located(piece.start, at)
    if located is None:
        return None
    return Span(
        located.path,
        located.end_byte,
        located.end_byte,
        located.end_line,
        located.end_column,
        located.end_line,
        located.end_column,
    )
