"""``--statistics``: how many findings each rule has, as ruff's ``--statistics`` prints them.

Text, one line per rule (most findings first): the count, the rule id, its name and a marker,
``12  <id>  <name>  [*]``.
``[*]``: ``imds-iac fix`` fixes at least one of them; ``[-]``: only with ``--unsafe-fixes``.
JSON: ``{"version": 1, "tool": ..., "statistics": [{"rule_id", "name", "severity", "count",
"fixable", "unsafe_fixable"}, ...]}`` (docs/json.md). Suppressed findings are not counted.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, TextIO

from imds_iac_checks import __version__
from imds_iac_checks.model import Finding
from imds_iac_checks.report.escape import escape
from imds_iac_checks.rules import REGISTRY

SCHEMA_VERSION = 1


def rows(findings: list[Finding]) -> list[dict[str, Any]]:
    """One row per rule with findings: most findings first, then by rule id."""
    active = [f for f in findings if f.suppressed is None]
    count = Counter(f.rule_id for f in active)
    safe = Counter(f.rule_id for f in active if f.fix == "safe")
    unsafe = Counter(f.rule_id for f in active if f.fix == "unsafe")
    severity = {f.rule_id: f.severity for f in active}
    out = []
    for rule_id in sorted(count, key=lambda r: (-count[r], r)):
        rule = REGISTRY.get(rule_id)
        out.append(
            {
                "rule_id": rule_id,
                "name": rule.name if rule is not None else None,
                "severity": severity[rule_id],
                "count": count[rule_id],
                "fixable": safe[rule_id],
                "unsafe_fixable": unsafe[rule_id],
            }
        )
    return out


def write(findings: list[Finding], out: TextIO) -> None:
    table = rows(findings)
    if not table:
        return
    count_width = max(len(str(r["count"])) for r in table)
    id_width = max(len(r["rule_id"]) for r in table)
    name_width = max(len(r["name"] or "") for r in table)
    for r in table:
        marker = "[*]" if r["fixable"] else "[-]" if r["unsafe_fixable"] else ""
        line = (
            f"{r['count']:>{count_width}}  {escape(r['rule_id']):<{id_width}}  "
            f"{escape(r['name'] or ''):<{name_width}}  {marker}"
        )
        out.write(line.rstrip() + "\n")


def write_json(findings: list[Finding], out: TextIO) -> None:
    doc = {
        "version": SCHEMA_VERSION,
        "tool": {"name": "imds-iac", "version": __version__},
        "statistics": rows(findings),
    }
    out.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
