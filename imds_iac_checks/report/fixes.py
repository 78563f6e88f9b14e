"""What ``imds-iac fix`` prints: each fix made, each finding left and why, a summary; or, with
``--diff``, a unified diff of every change."""

from __future__ import annotations

import difflib
import sys
from collections import Counter
from typing import TextIO

from imds_iac_checks.fix import Outcome, finding_key
from imds_iac_checks.report import DEFAULT, Options
from imds_iac_checks.report.escape import escape, escape_line, escape_path
from imds_iac_checks.report.text import (
    BOLD,
    CYAN,
    GREEN,
    error_line,
    paint,
    plural,
    rule_code,
)
from imds_iac_checks.scan import exit_code as _scan_exit_code


def write(outcome: Outcome, out: TextIO, options: Options = DEFAULT) -> None:
    color, err = options.color, sys.stderr if options.err is None else options.err
    for p in outcome.fixed:
        f = p.finding
        where = paint(f"{escape_path(f.path)}:{f.span.line}:{f.span.column}", BOLD, color)
        label = paint("fixed", GREEN, color)
        extra = f" ({escape(p.path)})" if p.path != f.path else ""
        change = f"[{escape(f.resource)}] {escape(p.change)}{extra}"
        out.write(f"{where}: {rule_code(f, color)} {label} {change}\n")
    reasons = {finding_key(f): why for f, why in outcome.not_fixed.items()}
    for f in outcome.after.findings:
        if f.suppressed is not None:
            continue
        where = paint(f"{escape_path(f.path)}:{f.span.line}:{f.span.column}", BOLD, color)
        code = rule_code(f, color)
        why = reasons.get(finding_key(f), "no automatic fix")
        out.write(f"{where}: {code} {escape(f.message)}\n")
        out.write(f"  {paint('not fixed', CYAN, color)}: {escape(why)}\n")
    for e in [*outcome.after.errors, *outcome.errors]:
        err.write(error_line(e, color) + "\n")
    if not options.quiet:
        out.write(summary(outcome) + "\n")


def summary(outcome: Outcome) -> str:
    fixed = len(outcome.fixed)
    files = len(outcome.changes)
    left = [f for f in outcome.after.findings if f.suppressed is None]
    head = (
        f"Fixed {plural(fixed, 'finding')} in {plural(files, 'file')}" if fixed else "Nothing fixed"
    )
    if not left:
        return f"{head}; no findings left."
    reasons = Counter(
        "unsafe" if "--unsafe-fixes" in why else "other" for f, why in outcome.not_fixed.items()
    )
    tail = f"{plural(len(left), 'finding')} left"
    if reasons["unsafe"]:
        tail += f" ({reasons['unsafe']} with an unsafe fix: add --unsafe-fixes)"
    return f"{head}; {tail}."


def write_diff(outcome: Outcome, out: TextIO, options: Options = DEFAULT) -> None:
    color, err = options.color, sys.stderr if options.err is None else options.err
    for shown, (old, new) in sorted(outcome.changes.items()):
        out.write(unified_diff(shown, old, new))
    for e in outcome.before.errors:
        err.write(error_line(e, color) + "\n")
    n = len(outcome.fixed)
    if n:
        err.write(
            f"Would fix {plural(n, 'finding')} in {plural(len(outcome.changes), 'file')}; "
            f"{plural(sum(f.suppressed is None for f in outcome.after.findings), 'finding')} "
            "would be left.\n"
        )
    else:
        err.write("No fixes to make.\n")


def _lines(data: bytes) -> list[str]:
    """Lines as ``patch`` and git see them: ended by LF only (``str.splitlines`` would also
    break at form feeds, U+2028 and other characters that are content to them)."""
    text = data.decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    out = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def _diff_line(line: str) -> str:
    """One line of the diff, made safe to print: the header's path and the content escaped as
    :func:`escape_line` does, but tabs kept, and a CR before the LF kept (CRLF files)."""
    body, newline = (line[:-1], "\n") if line.endswith("\n") else (line, "")
    cr = ""
    if newline and body.endswith("\r"):
        body, cr = body[:-1], "\r"
    return escape_line(body, tabs=True) + cr + newline


def unified_diff(shown: str, old: bytes, new: bytes) -> str:
    """A unified diff of one file. A file whose text holds control characters (other than tabs
    and CRLF line ends) gets them escaped, like every other line imds-iac prints: such a diff
    is for reading, not for ``patch``."""
    a, b = _lines(old), _lines(new)
    lines = []
    name = escape(shown)
    for line in difflib.unified_diff(a, b, f"a/{name}", f"b/{name}"):
        line = _diff_line(line)
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        lines.append(line)
    return "".join(lines)


def exit_code(outcome: Outcome, exit_zero: bool = False) -> int:
    if outcome.errors or outcome.after.errors:
        return 2
    return _scan_exit_code(outcome.after, exit_zero)
