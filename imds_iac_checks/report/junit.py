"""JUnit XML, as CI systems show test results: one test case per finding.

One ``<testsuite>`` per rule; each finding is a ``<testcase>`` with one ``<failure>`` (errors)
or, for warnings, ``<failure type="warning">`` as well, so that every finding is visible in a CI
test view; suppressed findings are ``<skipped>`` with their reason. Files that could not be
scanned are ``<error>`` test cases of a suite of their own.

Paths, resources and messages have control characters escaped as in the text report
(:mod:`imds_iac_checks.report.escape`) before XML escaping: what XML 1.0 cannot hold (C0
controls, lone surrogates, U+FFFE, U+FFFF) never reaches the document, and the CI view shows
one line per value.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TextIO
from xml.sax.saxutils import escape as _xml
from xml.sax.saxutils import quoteattr as _xml_attr

from imds_iac_checks.engine import RULES
from imds_iac_checks.model import Finding
from imds_iac_checks.report import DEFAULT, Options
from imds_iac_checks.report.escape import escape as _escape
from imds_iac_checks.scan import ScanResult


def escape(text: str) -> str:
    """Element text: control characters escaped, then ``&``, ``<``, ``>``."""
    return _xml(_escape(text))


def quoteattr(text: str) -> str:
    """A quoted attribute value: control characters escaped, then XML's quoting."""
    return _xml_attr(_escape(text))


def _case(f: Finding) -> str:
    path, message = _escape(f.path), _escape(f.message)
    name = _xml_attr(f"{path}:{f.span.line}:{f.span.column} {_escape(f.resource)}")
    classname = _xml_attr(f"{_escape(f.rule_id)}.{path}")
    where = f"{path}:{f.span.line}:{f.span.column}"
    head = (
        f"    <testcase name={name} classname={classname} file={_xml_attr(path)} "
        f'line="{f.span.line}">'
    )
    if f.suppressed is not None:
        body = f"      <skipped message={quoteattr('suppressed: ' + f.suppressed)}/>"
    else:
        body = (
            f"      <failure message={_xml_attr(message)} type={quoteattr(f.severity)}>"
            f"{_xml(where)}: {escape(f.rule_id)} {_xml(message)}</failure>"
        )
    return f"{head}\n{body}\n    </testcase>"


def write(result: ScanResult, out: TextIO, options: Options = DEFAULT) -> None:
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for f in result.findings:
        by_rule[f.rule_id].append(f)
    failures = sum(f.suppressed is None for f in result.findings)
    total = len(result.findings) + len(result.errors)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(
        f'<testsuites name="imds-iac" tests="{total}" failures="{failures}" '
        f'errors="{len(result.errors)}">\n'
    )
    for rule_id in RULES:
        findings = by_rule.get(rule_id, [])
        if not findings:
            continue
        skipped = sum(f.suppressed is not None for f in findings)
        out.write(
            f'  <testsuite name="{rule_id} {RULES[rule_id].name}" tests="{len(findings)}" '
            f'failures="{len(findings) - skipped}" errors="0" skipped="{skipped}">\n'
        )
        for f in findings:
            out.write(_case(f) + "\n")
        out.write("  </testsuite>\n")
    if result.errors:
        out.write(
            f'  <testsuite name="scan errors" tests="{len(result.errors)}" failures="0" '
            f'errors="{len(result.errors)}">\n'
        )
        for e in result.errors:
            where = e.path if e.line <= 0 else f"{e.path}:{e.line}:{e.column}"
            out.write(
                f'    <testcase name={quoteattr(where)} classname="scan">\n'
                f"      <error message={quoteattr(e.message)}>{escape(where)}: "
                f"{escape(e.message)}</error>\n    </testcase>\n"
            )
        out.write("  </testsuite>\n")
    out.write("</testsuites>\n")
