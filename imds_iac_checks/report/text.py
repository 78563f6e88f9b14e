"""What the two human-readable formats share (``full``, the default, and ``concise``; ``text`` is
``full``): colours, the rule code as a link to its documentation, scan-error lines, the summary.
The fix report (:mod:`imds_iac_checks.report.fixes`) uses them too."""

from __future__ import annotations

from collections import Counter

from imds_iac_checks.model import BASELINE, Finding, ScanError
from imds_iac_checks.project import rule_url
from imds_iac_checks.report.escape import escape, escape_path
from imds_iac_checks.scan import ScanResult

_RESET = "\033[0m"
BOLD = "\033[1m"
RED = "\033[31m"
YELLOW = "\033[33m"
CYAN = "\033[36m"
GREEN = "\033[32m"
BLUE = "\033[94m"


def paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def link(text: str, url: str) -> str:
    """``text`` as an OSC 8 terminal hyperlink to ``url`` (as ruff prints rule codes): terminals
    that support it make it clickable, others show ``text``. Only with colour on: the escape
    sequences are for a terminal, never for a file or a pipe."""
    return f"\033]8;;{url}\033\\{text}\033]8;;\033\\"


def rule_code(f: Finding, color: bool) -> str:
    """The finding's rule code: coloured by severity and linked to the rule's page with colour
    on, plain otherwise."""
    code = escape(f.rule_id)
    if not color:
        return code
    return paint(link(code, rule_url(code)), RED if f.severity == "error" else YELLOW, True)


def location(f: Finding) -> str:
    """``path:line:column`` of a finding, its path escaped."""
    return f"{escape_path(f.path)}:{f.span.line}:{f.span.column}"


def error_line(error: ScanError, color: bool = False) -> str:
    """``path:line:col: message``, with control characters in the path and message escaped."""
    path = escape_path(error.path)
    where = path if error.line <= 0 else f"{path}:{error.line}:{error.column}"
    return f"{paint(where, BOLD, color)}: {escape(error.message)}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary(result: ScanResult, color: bool = False) -> str:
    """What the scan found, counted by severity (``severity: 2 error, 1 warning`` — the words of
    ``--fail-on``: "errors" alone would read like files that could not be scanned); what
    ``imds-iac fix`` can do about it; and, on a line of its own, the files that could not be
    scanned (exit code 2)."""
    scanned = f"{plural(result.files, 'file')}, {plural(result.targets, 'target')}"
    if result.policies:
        scanned += f", {plural(len(result.policies), 'policy').replace('policys', 'policies')}"
    scanned += " scanned"
    quiet_part = ""
    active = [f for f in result.findings if f.suppressed is None]
    quiet = len(result.findings) - len(active)
    if quiet:
        baseline = sum(f.suppressed == BASELINE for f in result.findings)
        kinds = [
            f"{quiet - baseline} suppressed" if quiet - baseline else "",
            f"{baseline} in the baseline" if baseline else "",
        ]
        quiet_part = "; " + ", ".join(k for k in kinds if k)
    lines = []
    if not active:
        head = paint("No findings", GREEN, color) if not result.errors else "No findings"
        lines.append(f"{head} ({scanned}){quiet_part}.")
    else:
        by_sev = Counter(f.severity for f in active)
        parts = [f"{by_sev[s]} {s}" for s in ("error", "warning") if by_sev[s]]
        files = len({f.path for f in active})
        head = paint(f"Found {plural(len(active), 'finding')}", BOLD, color)
        lines.append(
            f"{head} (severity: {', '.join(parts)}) in {plural(files, 'file')} "
            f"({scanned}){quiet_part}."
        )
        safe = sum(f.fix == "safe" for f in active)
        unsafe = sum(f.fix == "unsafe" for f in active)
        if safe and unsafe:
            lines.append(
                f"{safe} fixable with `imds-iac fix` "
                f"({unsafe} more with `imds-iac fix --unsafe-fixes`)."
            )
        elif safe:
            lines.append(f"{safe} fixable with `imds-iac fix`.")
        elif unsafe:
            lines.append(f"{unsafe} fixable with `imds-iac fix --unsafe-fixes`.")
    if result.errors:
        lines.append(
            paint(f"{plural(len(result.errors), 'file')} could not be scanned.", RED, color)
        )
    return "\n".join(lines)
