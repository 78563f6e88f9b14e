"""What ``imds-iac fix`` prints: each fix made, each finding left and why, a summary; or, with
``--diff``, a unified diff of every change."""

from __future__ import annotations

import difflib
from collections import Counter
from typing import TextIO

from imds_iac_checks.fix import Outcome, finding_key
from imds_iac_checks.report.text import (
    _BOLD,
    _CYAN,
    _GREEN,
    _RED,
    _YELLOW,
    _paint,
    _plural,
    error_line,
)
from imds_iac_checks.scan import exit_code as _scan_exit_code


def write(
    outcome: Outcome, out: TextIO, err: TextIO, *, color: bool = False, quiet: bool = False
) -> None:
    for p in outcome.fixed:
        f = p.finding
        where = _paint(f"{f.path}:{f.span.line}:{f.span.column}", _BOLD, color)
        label = _paint("fixed", _GREEN, color)
        extra = f" ({p.path})" if p.path != f.path else ""
        out.write(f"{where}: {f.rule_id} {label} [{f.resource}] {p.change}{extra}\n")
    reasons = {finding_key(f): why for f, why in outcome.not_fixed.items()}
    for f in outcome.after.findings:
        if f.suppressed is not None:
            continue
        where = _paint(f"{f.path}:{f.span.line}:{f.span.column}", _BOLD, color)
        code = _paint(f.rule_id, _RED if f.severity == "error" else _YELLOW, color)
        why = reasons.get(finding_key(f), "no automatic fix")
        out.write(f"{where}: {code} {f.message}\n")
        out.write(f"  {_paint('not fixed', _CYAN, color)}: {why}\n")
    for e in [*outcome.after.errors, *outcome.errors]:
        err.write(error_line(e, color) + "\n")
    if not quiet:
        out.write(summary(outcome) + "\n")


def summary(outcome: Outcome) -> str:
    fixed = len(outcome.fixed)
    files = len(outcome.changes)
    left = [f for f in outcome.after.findings if f.suppressed is None]
    head = (
        f"Fixed {_plural(fixed, 'finding')} in {_plural(files, 'file')}"
        if fixed
        else "Nothing fixed"
    )
    if not left:
        return f"{head}; no findings left."
    reasons = Counter(
        "unsafe" if "--unsafe-fixes" in why else "other" for f, why in outcome.not_fixed.items()
    )
    tail = f"{_plural(len(left), 'finding')} left"
    if reasons["unsafe"]:
        tail += f" ({reasons['unsafe']} with an unsafe fix: add --unsafe-fixes)"
    return f"{head}; {tail}."


def write_diff(outcome: Outcome, out: TextIO, err: TextIO, *, color: bool = False) -> None:
    for shown, (old, new) in sorted(outcome.changes.items()):
        out.write(unified_diff(shown, old, new))
    for e in outcome.before.errors:
        err.write(error_line(e, color) + "\n")
    n = len(outcome.fixed)
    if n:
        err.write(
            f"Would fix {_plural(n, 'finding')} in {_plural(len(outcome.changes), 'file')}; "
            f"{_plural(sum(f.suppressed is None for f in outcome.after.findings), 'finding')} "
            "would be left.\n"
        )
    else:
        err.write("No fixes to make.\n")


def unified_diff(shown: str, old: bytes, new: bytes) -> str:
    a = old.decode("utf-8", "surrogateescape").splitlines(keepends=True)
    b = new.decode("utf-8", "surrogateescape").splitlines(keepends=True)
    lines = []
    for line in difflib.unified_diff(a, b, f"a/{shown}", f"b/{shown}"):
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        lines.append(line)
    return "".join(lines).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def exit_code(outcome: Outcome, exit_zero: bool = False) -> int:
    if outcome.errors or outcome.after.errors:
        return 2
    return _scan_exit_code(outcome.after, exit_zero)
