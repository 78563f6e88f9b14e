"""GitLab Code Quality report (``artifacts:reports:codequality``): a JSON array of issues with
``description``, ``check_name``, ``fingerprint``, ``severity`` and ``location.path/lines``.
Suppressed findings are left out (GitLab has no suppressed state); files that could not be
scanned are issues of their own. Descriptions, which GitLab shows as text, have control
characters escaped as in the text report; paths stay as they are (JSON escapes them)."""

from __future__ import annotations

import hashlib
from typing import Any, TextIO

from imds_iac_checks.baseline import fingerprint
from imds_iac_checks.report import DEFAULT, Options, encode
from imds_iac_checks.report.escape import escape
from imds_iac_checks.scan import ScanResult

SEVERITY = {"error": "major", "warning": "minor"}


def document(result: ScanResult) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = [
        {
            "type": "issue",
            "check_name": f.rule_id,
            "description": escape(f"{f.rule_id} {f.message}"),
            "categories": ["Security"],
            "severity": SEVERITY[f.severity],
            "fingerprint": fingerprint(f),
            "location": {"path": f.path, "lines": {"begin": f.span.line, "end": f.span.end_line}},
        }
        for f in result.findings
        if f.suppressed is None
    ]
    for e in result.errors:
        key = f"{e.path}\0{e.message}".encode("utf-8", "surrogateescape")
        issues.append(
            {
                "type": "issue",
                "check_name": "scan-error",
                "description": f"imds-iac could not scan this file: {escape(e.message)}",
                "categories": ["Bug Risk"],
                "severity": "critical",
                "fingerprint": hashlib.sha256(key).hexdigest()[:32],
                "location": {"path": e.path, "lines": {"begin": max(e.line, 1)}},
            }
        )
    return issues


def write(result: ScanResult, out: TextIO, options: Options = DEFAULT) -> None:
    out.write(encode.dumps(document(result)) + "\n")
