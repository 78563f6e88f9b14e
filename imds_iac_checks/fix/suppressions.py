"""Removing dead codes from ``imds-iac: ignore`` comments: the fix of the rule that judges
suppressions (as ruff removes an unused ``noqa`` code).

A dead code leaves the list (``ignore[IMDS002, IMDS003]`` -> ``ignore[IMDS002]``); when no code
is left, or a bare ``ignore`` is dead, the whole comment goes with its reason: an end-of-line
comment with the blanks before it, a comment on a line of its own with its line.
"""

from imds_iac_checks.fix.edits import Edit
from imds_iac_checks.suppress import Comment, comments


def removals(data: bytes, path: str, dead: set[int]) -> dict[int, tuple[Edit, str]]:
    """For each dead code of ``data`` (by its first byte; a bare ``ignore`` by its comment's
    first byte): the edit that removes every dead code of its comment, and what it does. The
    codes of one comment share one edit."""
    out: dict[int, tuple[Edit, str]] = {}
    for c in comments(data, path):
        starts = [c.start] if c.codes is None else [code.start for code in c.codes]
        gone = [s for s in starts if s in dead]
        if not gone:
            continue
        assert c.codes is not None or gone == [c.start]
        kept = [code.text for code in c.codes or () if code.start not in dead]
        if kept:
            removed = ", ".join(code.text for code in c.codes or () if code.start in dead)
            edit = Edit(c.list_start, c.list_end, ", ".join(kept).encode())
            change = f"removed {removed} from the suppression on line {c.line}"
        else:
            edit = _whole(data, c)
            change = f"removed the suppression comment on line {c.line}"
        for s in gone:
            out[s] = (edit, change)
    return out


def _whole(data: bytes, c: Comment) -> Edit:
    """The edit removing comment ``c``: its line (with its line break) when nothing else is on
    it, else the comment and the blanks before it. Lines end at ``\r\n``, ``\n`` or ``\r``."""
    if not c.comment_only:
        start = c.start
        while start > 0 and data[start - 1 : start] in (b" ", b"\t"):
            start -= 1
        return Edit(start, c.end, b"")
    start = max(data.rfind(b"\n", 0, c.start), data.rfind(b"\r", 0, c.start)) + 1
    end = c.end  # the end of the comment is the end of its line
    if data[end : end + 2] == b"\r\n":
        return Edit(start, end + 2, b"")
    if end < len(data):
        return Edit(start, end + 1, b"")
    # the last line, without a line break: the break before it goes instead
    if start >= 2 and data[start - 2 : start] == b"\r\n":
        start -= 2
    elif start >= 1:
        start -= 1
    return Edit(start, end, b"")
