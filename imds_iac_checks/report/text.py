"""Human-readable output in the style of ruff: ``path:line:col: RULE message``, then a summary."""

from __future__ import annotations

import sys
from collections import Counter
from typing import TextIO

from imds_iac_checks.model import BASELINE, ScanError
from imds_iac_checks.report import DEFAULT, Options
from imds_iac_checks.report.escape import escape, escape_path
from imds_iac_checks.scan import ScanResult

_RESET = "\033[0m"
BOLD = "\033[1m"
RED = "\033[31m"
YELLOW = "\033[33m"
CYAN = "\033[36m"
GREEN = "\033[32m"


def paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def error_line(error: ScanError, color: bool = False) -> str:
    """``path:line:col: message``, with control characters in the path and message escaped."""
    path = escape_path(error.path)
    where = path if error.line <= 0 else f"{path}:{error.line}:{error.column}"
    return f"{paint(where, BOLD, color)}: {escape(error.message)}"


def write(result: ScanResult, out: TextIO, options: Options = DEFAULT) -> None:
    color, err = options.color, sys.stderr if options.err is None else options.err
    for f in result.findings:
        if f.suppressed is not None:
            continue
        where = paint(f"{escape_path(f.path)}:{f.span.line}:{f.span.column}", BOLD, color)
        code = paint(f.rule_id, RED if f.severity == "error" else YELLOW, color)
        out.write(f"{where}: {code} {escape(f.message)}\n")
    for e in result.errors:
        err.write(error_line(e, color) + "\n")
    if options.quiet:
        return
    out.write(summary(result, color) + "\n")


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary(result: ScanResult, color: bool = False) -> str:
    scanned = f"{plural(result.files, 'file')}, {plural(result.targets, 'target')} scanned"
    problems = ""
    if result.errors:
        problems = f"; {plural(len(result.errors), 'file')} could not be scanned"
    active = [f for f in result.findings if f.suppressed is None]
    quiet = len(result.findings) - len(active)
    if quiet:
        baseline = sum(f.suppressed == BASELINE for f in result.findings)
        kinds = [
            f"{quiet - baseline} suppressed" if quiet - baseline else "",
            f"{baseline} in the baseline" if baseline else "",
        ]
        problems += "; " + ", ".join(k for k in kinds if k)
    if not active:
        head = paint("No findings", GREEN, color) if not result.errors else "No findings"
        return f"{head} ({scanned}){problems}."
    by_sev = Counter(f.severity for f in active)
    parts = [plural(by_sev[s], s) for s in ("error", "warning") if by_sev[s]]
    files = len({f.path for f in active})
    head = paint(f"Found {plural(len(active), 'finding')}", BOLD, color)
    line = f"{head} ({', '.join(parts)}) in {plural(files, 'file')} ({scanned}){problems}."
    safe = sum(f.fix == "safe" for f in active)
    unsafe = sum(f.fix == "unsafe" for f in active)
    if safe or unsafe:
        line += f"\n{safe} fixable with `imds-iac fix`"
        if unsafe:
            line += f" ({unsafe} more with `imds-iac fix --unsafe-fixes`)"
        line += "."
    return line
