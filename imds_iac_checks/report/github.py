"""GitHub Actions workflow commands: one annotation per finding on the pull request's diff.

``::error file=PATH,line=L,col=C,endLine=L2,endColumn=C2,title=IMDS002::message``, with the
property and message escaping GitHub documents (``%``, CR, LF; and ``:`` ``,`` in properties).
Warnings use ``::warning``; files that could not be scanned are ``::error`` annotations too.
"""

from __future__ import annotations

from typing import TextIO

from imds_iac_checks.report import DEFAULT, Options
from imds_iac_checks.report.escape import escape
from imds_iac_checks.scan import ScanResult


def _data(text: str) -> str:
    """A command's message: control characters escaped as in every other report (so that no
    value can end the line), then GitHub's own escaping of ``%``, CR and LF."""
    return escape(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    """A property value: as :func:`_data`, and ``:`` ``,`` (which end a property) escaped."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def write(result: ScanResult, out: TextIO, options: Options = DEFAULT) -> None:
    for f in result.findings:
        if f.suppressed is not None:
            continue
        level = "error" if f.severity == "error" else "warning"
        props = ",".join(
            f"{k}={_prop(str(v))}"
            for k, v in (
                ("file", f.path),
                ("line", f.span.line),
                ("col", f.span.column),
                ("endLine", f.span.end_line),
                ("endColumn", f.span.end_column),
                ("title", f"{f.rule_id} {f.resource}"),
            )
        )
        out.write(f"::{level} {props}::{_data(f.rule_id + ' ' + f.message)}\n")
    for e in result.errors:
        fields = [f"file={_prop(e.path)}"]
        if e.line > 0:
            fields += [f"line={e.line}", f"col={e.column}"]
        fields.append("title=imds-iac could not scan this file")
        out.write(f"::error {','.join(fields)}::{_data(e.message)}\n")
