"""What ``imds-iac fix`` prints: each fix made, each finding left and why, a summary; or, with
``--diff``, a unified diff of every change; or, with ``--format json``, all of it as data."""

from __future__ import annotations

import difflib
import json
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any, TextIO

from imds_iac_checks import __version__
from imds_iac_checks.fix import Outcome, finding_key
from imds_iac_checks.model import Finding
from imds_iac_checks.project import rule_url
from imds_iac_checks.report import DEFAULT, Options
from imds_iac_checks.report.escape import escape, escape_line, escape_message, escape_path
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

SCHEMA_VERSION = 1  # of ``fix --format json`` (docs/json.md)


def write(outcome: Outcome, out: TextIO, options: Options = DEFAULT) -> None:
    color, err = options.color, sys.stderr if options.err is None else options.err
    for p in outcome.fixed:
        f = p.finding
        where = paint(f"{escape_path(f.path)}:{f.span.line}:{f.span.column}", BOLD, color)
        label = paint("fixed", GREEN, color)
        extra = f" ({escape(p.path)})" if p.path != f.path else ""
        change = f"[{escape(f.resource)}] {escape(p.change)}{extra}"
        out.write(f"{where}: {rule_code(f, color)} {label} {change}\n")
    _write_left(outcome, out, color)
    for e in [*outcome.after.errors, *outcome.errors]:
        err.write(error_line(e, color) + "\n")
    if not options.quiet:
        out.write(summary(outcome) + "\n")


def _write_left(outcome: Outcome, out: TextIO, color: bool) -> None:
    """Each finding left after the fix (with ``--diff``: that the diff leaves), and why it was
    not fixed: the same lines with and without ``--diff``."""
    reason = _reasons(outcome)
    for f in outcome.after.findings:
        if f.suppressed is not None:
            continue
        where = paint(f"{escape_path(f.path)}:{f.span.line}:{f.span.column}", BOLD, color)
        out.write(f"{where}: {rule_code(f, color)} {escape_message(f.message)}\n")
        out.write(f"  {paint('not fixed', CYAN, color)}: {escape(reason(f))}\n")


def _reasons(outcome: Outcome) -> Callable[[Finding], str]:
    """Why each finding left after the fix was not fixed. A finding of the rescan is matched
    with its finding before the fix: the same finding (its file unchanged), else one with its
    key and message (lines moved), else one with its key. Several findings share a key (the
    calls of one script: rule, file, no setting): their reasons are kept apart by the first
    two."""
    exact = outcome.not_fixed
    by_message = {(finding_key(f), f.message): why for f, why in exact.items()}
    by_key = {finding_key(f): why for f, why in exact.items()}

    def reason(f: Finding) -> str:
        why = exact.get(f)
        if why is None:
            key = finding_key(f)
            why = by_message.get((key, f.message)) or by_key.get(key)
        return why or "no automatic fix"

    return reason


def summary(outcome: Outcome) -> str:
    fixed = len(outcome.fixed)
    files = len(outcome.changes)
    head = (
        f"Fixed {plural(fixed, 'finding')} in {plural(files, 'file')}" if fixed else "Nothing fixed"
    )
    failed = {e.path for e in (*outcome.before.errors, *outcome.after.errors)}
    unwritten = {e.path for e in outcome.errors} - failed
    # A file that could not be scanned may hold findings nobody saw: never "no findings left".
    unscanned = f"\n{plural(len(failed), 'file')} could not be scanned." if failed else ""
    if unwritten:
        unscanned += f"\n{plural(len(unwritten), 'file')} could not be written."
    left, unsafe = _left(outcome)
    if not left:
        return f"{head}; no findings left{' in the files scanned' if failed else ''}.{unscanned}"
    return f"{head}; {plural(left, 'finding')} left{unsafe}.{unscanned}"


def _left(outcome: Outcome) -> tuple[int, str]:
    """How many findings are left after the fix, and `` (1 with an unsafe fix: add
    --unsafe-fixes)`` when ``--unsafe-fixes`` would fix some of them ("" when not)."""
    left = sum(f.suppressed is None for f in outcome.after.findings)
    unsafe = sum(
        "--unsafe-fixes" in why for f, why in outcome.not_fixed.items() if f.suppressed is None
    )
    return left, f" ({unsafe} with an unsafe fix: add --unsafe-fixes)" if unsafe else ""


def write_diff(outcome: Outcome, out: TextIO, options: Options = DEFAULT) -> None:
    """The diff on ``out`` (standard output: nothing else, so that it can be piped to
    ``patch``/``git apply``); on standard error each finding the diff leaves and why — what
    ``fix`` without ``--diff`` prints: a fix outside the paths given, one verification
    rejected, an unsafe fix not enabled — then the errors and, unless ``-q``, the summary
    (ruff's "Would fix ..." / "No errors would be fixed ...")."""
    color, err = options.color, sys.stderr if options.err is None else options.err
    for shown, (old, new) in sorted(outcome.changes.items()):
        out.write(unified_diff(shown, old, new))
    _write_left(outcome, err, color)
    for e in outcome.before.errors:
        err.write(error_line(e, color) + "\n")
    if options.quiet:
        return
    n, (left, unsafe) = len(outcome.fixed), _left(outcome)
    if n:
        files = plural(len(outcome.changes), "file")
        err.write(
            f"Would fix {plural(n, 'finding')} in {files}; "
            f"{plural(left, 'finding')} would be left{unsafe}.\n"
        )
    elif left:
        err.write(f"No fixes to make; {plural(left, 'finding')} left{unsafe}.\n")
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
    name = escape(shown).lstrip("/")  # an absolute path: a/tmp/x.tf, as git writes it
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


def _location(f: Finding) -> dict[str, Any]:
    return {
        "rule_id": f.rule_id,
        "severity": f.severity,
        "message": f.message,
        "path": f.path,
        "line": f.span.line,
        "column": f.span.column,
        "end_line": f.span.end_line,
        "end_column": f.span.end_column,
        "resource": f.resource,
        "url": rule_url(f.rule_id),
    }


def document(outcome: Outcome, *, diff: bool = False) -> dict[str, Any]:
    """``fix --format json`` as plain data: every finding with what became of it, the files
    changed, the errors and a summary (schema: docs/json.md). ``diff``: nothing was written
    (``--diff``), each file carries its diff."""
    found: list[dict[str, Any]] = []
    for p in outcome.fixed:
        entry = _location(p.finding)
        entry.update(status="fixed", fix=p.safety, change=p.change, edited_path=p.path, reason=None)
        found.append(entry)
    reason = _reasons(outcome)
    left = [f for f in outcome.after.findings if f.suppressed is None]
    for f in left:
        entry = _location(f)
        entry.update(
            status="left",
            fix=f.fix,
            change=None,
            edited_path=None,
            reason=reason(f),
        )
        found.append(entry)
    found.sort(key=lambda e: (e["path"], e["line"], e["column"], e["rule_id"], e["status"]))
    per_file = Counter(p.path for p in outcome.fixed)
    files = []
    for shown, (old, new) in sorted(outcome.changes.items()):
        item: dict[str, Any] = {"path": shown, "fixes": per_file.get(shown, 0)}
        if diff:
            item["diff"] = unified_diff(shown, old, new)
        files.append(item)
    errors = sorted(
        {*outcome.before.errors, *outcome.after.errors, *outcome.errors},
        key=lambda e: (e.path, e.line, e.column, e.message),
    )
    unsafe_left = sum(
        "--unsafe-fixes" in why for f, why in outcome.not_fixed.items() if f.suppressed is None
    )
    return {
        "version": SCHEMA_VERSION,
        "tool": {"name": "imds-iac", "version": __version__},
        "findings": found,
        "files": files,
        "errors": [
            {
                "path": e.path,
                "line": e.line if e.line > 0 else None,
                "column": e.column if e.line > 0 else None,
                "message": e.message,
            }
            for e in errors
        ],
        "summary": {
            "fixed": len(outcome.fixed),
            "left": len(left),
            "left_with_unsafe_fix": unsafe_left,
            "files_changed": len(outcome.changes),
            "written": not diff and bool(outcome.changes),
            "errors": len(errors),
        },
    }


def write_json(outcome: Outcome, out: TextIO, *, diff: bool = False) -> None:
    out.write(json.dumps(document(outcome, diff=diff), indent=2, ensure_ascii=False) + "\n")
