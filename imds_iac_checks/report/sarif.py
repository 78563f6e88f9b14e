"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

Rules come from the catalog (``rules/*.toml``) with their full help; results carry URIs relative
to ``%SRCROOT%`` (the working directory), regions with character columns, the resource as a
logical location, a ``partialFingerprints`` entry that survives lines moving, and suppressions
(inline, metadata, baseline) as SARIF suppressions rather than dropped results. Files that could
not be scanned are tool execution notifications.
"""

from __future__ import annotations

import os
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from imds_iac_checks import __version__, catalog
from imds_iac_checks.baseline import fingerprint
from imds_iac_checks.model import BASELINE, Finding
from imds_iac_checks.project import HOMEPAGE, rule_url
from imds_iac_checks.report import DEFAULT, Options, encode
from imds_iac_checks.scan import ScanResult

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = HOMEPAGE  # [project.urls] Homepage
LEVELS = {"error": "error", "warning": "warning"}


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def _rule(rule: dict[str, Any]) -> dict[str, Any]:
    from imds_iac_checks.rules import REGISTRY

    declared = REGISTRY[rule["id"]]
    markdown = catalog.render_markdown(rule)
    return {
        "id": rule["id"],
        "name": declared.class_name,
        "shortDescription": {"text": _sentence(rule["title"])},
        "fullDescription": {"text": _sentence(rule["summary"])},
        "help": {"text": catalog.render_text(rule), "markdown": markdown},
        # The rule's own page (docs/rules/<id>.md); the AWS references are in its help text.
        "helpUri": rule_url(rule["id"]),
        "defaultConfiguration": {"level": LEVELS[rule["severity"]]},
        "properties": {
            "tags": ["security", "aws", "ec2", "imds", *sorted(rule.get("peers", {}))],
            # GitHub code scanning ranks security results by this (CVSS-like, 0.0-10.0).
            "security-severity": declared.security_severity,
            "precision": declared.precision,
        },
    }


def artifact_uri(path: str) -> dict[str, str]:
    """A SARIF artifact location for a reported path: a relative path as a relative URI against
    %SRCROOT%, an absolute one as a ``file:`` URI. Both are percent-encoded (RFC 3986): every
    byte but letters, digits, ``-._~`` and ``/`` — so ``with space/main.tf`` is
    ``with%20space/main.tf``, a directory literally named ``pct%25x`` is ``pct%2525x``, and a
    name that is not UTF-8 keeps its bytes (``%FF``). ``urllib.parse.unquote`` gives the path
    back."""
    if os.path.isabs(path):
        return {"uri": Path(path).as_uri()}
    uri = quote(Path(path).as_posix(), safe="/", errors="surrogateescape")
    return {"uri": uri, "uriBaseId": "%SRCROOT%"}


def _physical(
    path: str, region: dict[str, int] | None, cache: dict[str, dict[str, str]] | None = None
) -> dict[str, Any]:
    """A SARIF physical location: relative paths against %SRCROOT%, absolute ones as file URIs."""
    artifact = None if cache is None else cache.get(path)
    if artifact is None:
        artifact = artifact_uri(path)
        if cache is not None:
            cache[path] = artifact
    out: dict[str, Any] = {"artifactLocation": dict(artifact)}
    if region is not None:
        out["region"] = region
    return out


def _result(f: Finding, index: dict[str, int], uris: dict[str, dict[str, str]]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": index[f.rule_id],
        "level": LEVELS[f.severity],
        "message": {"text": _sentence(f.message)},
        "locations": [
            {
                "physicalLocation": _physical(
                    f.path,
                    {
                        "startLine": f.span.line,
                        "startColumn": f.span.column,
                        "endLine": f.span.end_line,
                        "endColumn": f.span.end_column,
                    },
                    uris,
                ),
                "logicalLocations": [{"fullyQualifiedName": f.resource, "kind": "resource"}],
            }
        ],
        "partialFingerprints": {"imdsIacFinding/v1": fingerprint(f)},
    }
    if f.suppressed is not None:
        kind = "external" if f.suppressed == BASELINE else "inSource"
        item["suppressions"] = [{"kind": kind, "justification": f.suppressed}]
    if f.fix is not None:
        item["properties"] = {"fix": f.fix}
    return item


def _results_text(findings: list[Finding], index: dict[str, int]) -> str:
    """The ``results`` array as ``json.dumps(indent=2)`` writes it at its depth (eight spaces),
    one template per result: what :func:`_result` builds, several times faster than building
    and encoding the dicts (a test compares the two)."""
    if not findings:
        return "[]"
    s = encode_basestring
    artifacts: dict[str, str] = {}
    items = []
    for f in findings:
        artifact = artifacts.get(f.path)
        if artifact is None:
            artifact = encode.dumps(artifact_uri(f.path)).replace("\n", "\n" + " " * 16)
            artifacts[f.path] = artifact
        span = f.span
        tail = ""
        if f.suppressed is not None:
            kind = "external" if f.suppressed == BASELINE else "inSource"
            tail += (
                ',\n          "suppressions": [\n            {\n'
                f'              "kind": "{kind}",\n'
                f'              "justification": {s(f.suppressed)}\n'
                "            }\n          ]"
            )
        if f.fix is not None:
            tail += f',\n          "properties": {{\n            "fix": {s(f.fix)}\n          }}'
        items.append(
            "        {\n"
            f'          "ruleId": {s(f.rule_id)},\n'
            f'          "ruleIndex": {index[f.rule_id]},\n'
            f'          "level": {s(LEVELS[f.severity])},\n'
            '          "message": {\n'
            f'            "text": {s(_sentence(f.message))}\n'
            "          },\n"
            '          "locations": [\n'
            "            {\n"
            '              "physicalLocation": {\n'
            f'                "artifactLocation": {artifact},\n'
            '                "region": {\n'
            f'                  "startLine": {span.line},\n'
            f'                  "startColumn": {span.column},\n'
            f'                  "endLine": {span.end_line},\n'
            f'                  "endColumn": {span.end_column}\n'
            "                }\n"
            "              },\n"
            '              "logicalLocations": [\n'
            "                {\n"
            f'                  "fullyQualifiedName": {s(f.resource)},\n'
            '                  "kind": "resource"\n'
            "                }\n"
            "              ]\n"
            "            }\n"
            "          ],\n"
            '          "partialFingerprints": {\n'
            f'            "imdsIacFinding/v1": "{fingerprint(f)}"\n'
            f"          }}{tail}\n"
            "        }"
        )
    return "[\n" + ",\n".join(items) + "\n      ]"


def document(result: ScanResult, cwd: str, *, results: Any = None) -> dict[str, Any]:
    """The SARIF log as plain data (``results`` replaces the list of results when given)."""
    rules = catalog.load()
    order = list(rules)
    index = {rule_id: i for i, rule_id in enumerate(order)}
    uris: dict[str, dict[str, str]] = {}
    if results is None:
        results = [_result(f, index, uris) for f in result.findings]
    notifications = [
        {
            "level": "error",
            "message": {"text": _sentence(e.message)},
            "locations": [
                {
                    "physicalLocation": _physical(
                        e.path,
                        {"startLine": e.line, "startColumn": max(e.column, 1)}
                        if e.line > 0
                        else None,
                        uris,
                    )
                }
            ],
        }
        for e in result.errors
    ]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "imds-iac",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(rules[r]) for r in order],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path(cwd).as_uri().rstrip("/") + "/"}},
                "invocations": [
                    {
                        "executionSuccessful": not result.errors,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def dumps(result: ScanResult, cwd: str) -> str:
    """The SARIF log as ``json.dumps(document(result, cwd), indent=2, ensure_ascii=False)``
    writes it (lone surrogates as ``\\u`` escapes)."""
    index = {rule_id: i for i, rule_id in enumerate(catalog.load())}
    results = encode.Raw(_results_text(result.findings, index))
    return encode.dumps(document(result, cwd, results=results))


def write(result: ScanResult, out: TextIO, options: Options = DEFAULT) -> None:
    out.write(dumps(result, options.cwd or os.getcwd()) + "\n")
