"""The bundled fixtures carry their expected findings as comments: a line that should get a
finding ends with ``# imds-expect: IMDS002`` (several: ``IMDS002, IMDS003``). This test scans the
whole fixtures tree through the CLI and requires exactly those findings, line by line."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from tests.conftest import FIXTURES, findings

EXPECT = re.compile(r"(?:#|//)\s*imds-expect:\s*([A-Z0-9, ]+)")


def expected_findings(root: Path) -> Counter[tuple[str, int, str]]:
    expected: Counter[tuple[str, int, str]] = Counter()
    for path in sorted(root.rglob("*.tf")):
        rel = path.relative_to(root.parent.parent).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = EXPECT.search(line)
            if match:
                for rule in filter(None, (r.strip() for r in match.group(1).split(","))):
                    expected[(rel, number, rule)] += 1
    return expected


def test_terraform_fixtures_give_exactly_the_annotated_findings(cli) -> None:
    root = FIXTURES / "terraform"
    run = cli("check", "--format", "json", "fixtures/terraform", cwd=FIXTURES.parent)
    doc = run.json()
    assert doc["errors"] == []
    actual = Counter((f["path"], f["line"], f["rule_id"]) for f in doc["findings"])
    expected = expected_findings(root)
    missing = sorted((expected - actual).elements())
    unexpected = sorted((actual - expected).elements())
    assert (missing, unexpected) == ([], [])
    assert len(findings(run)) >= 20
    # Every rule and every resource kind is exercised by the fixtures.
    assert {rule for _, _, rule in expected} == {"IMDS001", "IMDS002", "IMDS003", "IMDS004"}
    kinds = {f["kind"] for f in doc["findings"]}
    assert len(kinds) == 7, kinds
    assert run.code == 1


def test_a_fixture_project_scans_clean(cli) -> None:
    run = cli("check", "fixtures/terraform/secure-baseline", cwd=FIXTURES.parent)
    assert run.code == 0, run.out
    assert run.out.startswith("No findings")
