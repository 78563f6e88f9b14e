"""Suppressions: findings a team has decided to accept, with the reason they gave.

Honoured, so that a repository already annotated for other tools needs nothing new:

- ``# imds-iac: ignore[IMDS003] reason`` (also ``//``) in HCL and YAML: on the finding's line, or
  on the resource's first line or the comment line above it (then for the whole resource).
  ``ignore`` without a rule list means every rule.
- ``#checkov:skip=CKV_AWS_79:reason`` anywhere in a Terraform resource, as checkov reads it.
- CloudFormation resource ``Metadata``: ``imds-iac: {ignore: [IMDS003]}``,
  ``cfn-lint: {config: {ignore_checks: [E9002]}}`` and ``checkov: {skip: [{id: CKV_AWS_79}]}``
  (read by the CloudFormation adapter into ``Target.suppress``).

A suppressed finding is kept with ``suppressed`` set to its reason: reports show it as suppressed
(JSON, SARIF) and it does not count for the exit code.
"""

import os
import re
from collections.abc import Callable
from typing import Any

from imds_iac_checks import source
from imds_iac_checks.model import Finding, Target
from imds_iac_checks.rules import peers as rule_peers

_INLINE = r"(?:#|//)\s*imds-iac:\s*ignore(?:\[([^\]]*)\])?[ \t]*([^\r\n]*)"
_CHECKOV = r"(?:#|//)\s*checkov:skip=([A-Za-z0-9_]+)(?::([^\r\n]*))?"


class _FileNotes:
    """The suppression comments of one file: line -> [(rules, reason)]."""

    def __init__(self, data: bytes) -> None:
        self.inline: dict[int, list[tuple[frozenset[str] | None, str]]] = {}
        self.checkov: dict[int, list[tuple[frozenset[str], str]]] = {}
        self.comment_only: set[int] = set()
        if b"imds-iac:" not in data and b"checkov:skip" not in data:
            return
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            for m in re.finditer(_INLINE, line):
                rules = (
                    frozenset(r.strip().upper() for r in m.group(1).split(",") if r.strip())
                    if m.group(1) is not None
                    else None
                )
                reason = m.group(2).strip() or "no reason given"
                self.inline.setdefault(number, []).append((rules, f"imds-iac: ignore: {reason}"))
                if line.lstrip().startswith(("#", "//")):
                    self.comment_only.add(number)
            for m in re.finditer(_CHECKOV, line):
                mapped = rule_peers().get(m.group(1).upper())
                if mapped:
                    reason = (m.group(2) or "").strip() or "no reason given"
                    entry = (frozenset(mapped), f"checkov:skip={m.group(1)}: {reason}")
                    self.checkov.setdefault(number, []).append(entry)

    def __bool__(self) -> bool:
        return bool(self.inline or self.checkov)


def apply(
    findings: list[Finding], origins: dict[Finding, Any], cwd: str, files: source.Files
) -> list[Finding]:
    """The findings, with ``suppressed`` set on those a suppression covers (the comments are
    read through ``files``)."""
    notes: dict[str, _FileNotes] = {}

    def of(path: str) -> _FileNotes:
        if path not in notes:
            try:
                notes[path] = _FileNotes(files.read(os.path.join(cwd, path)))
            except OSError:
                notes[path] = _FileNotes(b"")
        return notes[path]

    out = []
    for f in findings:
        origin = origins.get(f)
        target = origin[0] if origin is not None else None
        reason = _reason(f, target, of)
        out.append(f._replace(suppressed=reason) if reason else f)
        if reason and origin is not None:
            origins[out[-1]] = origin
    return out


def _reason(f: Finding, target: Target | None, of: Callable[[str], _FileNotes]) -> str | None:
    if target is not None:
        for rule, why in target.suppress:
            if rule == f.rule_id:
                return why
    here = of(f.path)
    if here:
        lines = [f.span.line]
        if f.span.line - 1 in here.comment_only:
            lines.append(f.span.line - 1)
        for line in lines:
            for rules, why in here.inline.get(line, ()):
                if rules is None or f.rule_id in rules:
                    return str(why)
    if target is None or not target.path.endswith(".tf"):
        return None
    where = of(target.path)
    if not where:
        return None
    header = target.header.line
    for line in (header, header - 1):
        if line == header - 1 and line not in where.comment_only:
            continue
        for rules, why in where.inline.get(line, ()):
            if rules is None or f.rule_id in rules:
                return str(why)
    for line in range(target.span.line, target.span.end_line + 1):
        for rules, why in where.checkov.get(line, ()):
            if f.rule_id in rules:
                return str(why)
    return None
