"""``--format concise``: one line a finding, ``path:line:col: RULE message``, then the summary
(ruff's ``concise``). For editors' problem matchers, ``grep`` and logs; ``full`` (the default)
adds the source."""

from __future__ import annotations

import sys
from typing import TextIO

from imds_iac_checks.report import DEFAULT, Options
from imds_iac_checks.report.escape import escape_message
from imds_iac_checks.report.text import BOLD, error_line, location, paint, rule_code, summary
from imds_iac_checks.scan import ScanResult


def write(result: ScanResult, out: TextIO, options: Options = DEFAULT) -> None:
    color, err = options.color, sys.stderr if options.err is None else options.err
    for f in result.findings:
        if f.suppressed is not None:
            continue
        where = paint(location(f), BOLD, color)
        # why `imds-iac fix` leaves it, on the same line (one line a finding)
        why = f" (no automatic fix: {f.fix_note})" if f.fix is None and f.fix_note else ""
        out.write(f"{where}: {rule_code(f, color)} {escape_message(f.message + why)}\n")
    for e in result.errors:
        err.write(error_line(e, color) + "\n")
    if options.quiet:
        return
    out.write(summary(result, color) + "\n")
