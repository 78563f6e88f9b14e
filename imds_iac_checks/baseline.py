"""Baselines: accept the findings a legacy repository has today, fail only on new ones.

``check --write-baseline FILE`` records every unsuppressed finding by a fingerprint of what it
is — rule, file, resource address, setting — not where it is, so the entries survive lines
moving. ``check --baseline FILE`` then marks each finding the file lists as suppressed
(``"baseline"``): reported in JSON and SARIF, not counted for the exit code. A finding that
appears more often than the baseline recorded it (a second conditional branch) is new.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from imds_iac_checks.model import BASELINE, Finding

VERSION = 1


class BaselineError(ValueError):
    """A baseline file that cannot be read."""


def fingerprint(f: Finding) -> str:
    """Stable identity of a finding: survives edits that move lines."""
    key = "\0".join((f.rule_id, f.path, f.resource, f.setting or ""))
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def document(findings: list[Finding]) -> dict[str, Any]:
    entries = [
        {
            "fingerprint": fingerprint(f),
            "rule_id": f.rule_id,
            "path": f.path,
            "resource": f.resource,
            "setting": f.setting,
            "message": f.message,
        }
        for f in findings
        if f.suppressed is None
    ]
    entries.sort(key=lambda e: (e["path"], e["rule_id"], e["resource"], e["fingerprint"]))
    return {"version": VERSION, "tool": "imds-iac", "findings": entries}


def write(path: str, findings: list[Finding]) -> int:
    """Write the baseline atomically (a uniquely named temporary file in the same directory,
    fsynced and renamed over it); returns the number of entries."""
    from imds_iac_checks.fix.write import write_file

    doc = document(findings)
    data = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    write_file(path, data)
    return len(doc["findings"])


def load(path: str, limit: int) -> Counter[str]:
    """The fingerprints a baseline file lists (a regular file of at most ``limit`` bytes; 0:
    any size). Raises BaselineError."""
    from imds_iac_checks import source
    from imds_iac_checks.config import value_error

    try:
        doc = json.loads(source.read_regular(path, limit).decode("utf-8"))
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    except RecursionError:
        raise BaselineError(f"{path}: not a baseline file: nested too deeply") from None
    except ValueError as exc:  # not JSON, not UTF-8, a number of more than 4,300 digits
        raise BaselineError(f"{path}: not a baseline file: {value_error(exc)}") from None
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        raise BaselineError(f"{path}: not an imds-iac baseline (version {VERSION})")
    entries = doc.get("findings")
    if not isinstance(entries, list):
        raise BaselineError(f"{path}: not an imds-iac baseline: no findings list")
    return Counter(str(e.get("fingerprint")) for e in entries if isinstance(e, dict))


def apply(findings: list[Finding], known: Counter[str]) -> list[Finding]:
    """Mark the findings the baseline lists (each entry covers one finding)."""
    left = Counter(known)
    out = []
    for f in findings:
        fp = fingerprint(f)
        if f.suppressed is None and left[fp] > 0:
            left[fp] -= 1
            f = f._replace(suppressed=BASELINE)
        out.append(f)
    return out
