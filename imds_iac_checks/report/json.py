"""Machine-readable output. The schema (``version`` 1) is documented in the README and stable:
new keys may be added, existing keys keep their names and meaning."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, TextIO

from imds_iac_checks import __version__
from imds_iac_checks.engine import RULES
from imds_iac_checks.scan import ScanResult

SCHEMA_VERSION = 1


def document(result: ScanResult) -> dict[str, Any]:
    active = [f for f in result.findings if f.suppressed is None]
    by_rule = Counter(f.rule_id for f in active)
    by_sev = Counter(f.severity for f in active)
    return {
        "version": SCHEMA_VERSION,
        "tool": {"name": "imds-iac", "version": __version__},
        "findings": [
            {
                "rule_id": f.rule_id,
                "severity": f.severity,
                "message": f.message,
                "path": f.path,
                "line": f.span.line,
                "column": f.span.column,
                "end_line": f.span.end_line,
                "end_column": f.span.end_column,
                "resource": f.resource,
                "kind": f.kind,
                "fixable": f.fixable,
                "fix": f.fix,
                "fix_note": f.fix_note,
                "suppressed": f.suppressed,
            }
            for f in result.findings
        ],
        "errors": [
            {
                "path": e.path,
                "line": e.line if e.line > 0 else None,
                "column": e.column if e.line > 0 else None,
                "message": e.message,
            }
            for e in result.errors
        ],
        "summary": {
            "files_scanned": result.files,
            "targets": result.targets,
            "findings": len(active),
            "errors": len(result.errors),
            "fail_on": result.fail_on,
            "by_severity": {s: by_sev.get(s, 0) for s in ("error", "warning")},
            "by_rule": {r: by_rule.get(r, 0) for r in RULES},
            "suppressed": len(result.findings) - len(active),
        },
    }


def write(result: ScanResult, out: TextIO) -> None:
    json.dump(document(result), out, indent=2, ensure_ascii=False)
    out.write("\n")
