"""Helpers for the shell and PowerShell analyser tests: payloads built directly."""

from __future__ import annotations

import shutil
from types import ModuleType

from imds_iac_checks.model import Found, Payload, Piece, Span
from tests.conftest import IN_CI


def payload(text: str, language: str = "shell", holes: tuple[tuple[int, int], ...] = ()) -> Payload:
    """The whole text as one literal piece, minus ``holes`` (ranges written as expressions)."""
    pieces = []
    at = 0
    for lo, hi in [*holes, (len(text), len(text))]:
        if lo > at:
            size = len(text[at:lo].encode())
            pieces.append(Piece(at, lo, Span("user-data.sh", at, at + size, 1, 1, 1, 1)))
        at = hi
    span = Span("user-data.sh", 0, len(text.encode()), 1, 1, 1, 1)
    return Payload(text, tuple(pieces), span, "script", language=language)


def found(module: ModuleType, text: str, language: str = "shell") -> list[Found]:
    return [f for f in module.find(payload(text, language)) if isinstance(f, Found)]


def nested(module: ModuleType, text: str) -> list[Payload]:
    return [p for p in module.find(payload(text)) if isinstance(p, Payload)]


def apply(text: str, founds: list[Found]) -> str:
    edits = sorted({e for f in founds for e in f.edits})
    out, at = [], 0
    for start, end, new in edits:
        assert start == end, "fixes only insert"
        out.append(text[at:start])
        out.append(new)
        at = end
    out.append(text[at:])
    return "".join(out)


def need_bash() -> bool:
    """Whether bash can be used; in CI its absence is a failure, not a skip."""
    if shutil.which("bash"):
        return True
    assert not IN_CI, "bash is required in CI to check fixed scripts"
    return False
