"""Peer conformance: every difference from checkov, trivy, KICS and semgrep is explained, and
docs/conformance.md shows the script's current output."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT, SHARED, require_tool

CORPUS = SHARED / "peer-corpus"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "conformance.py"), str(CORPUS), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def test_no_unexplained_difference() -> None:
    require_tool(CORPUS.is_dir(), "the peer corpus (../shared/peer-corpus)")
    run = _run("--check")
    assert run.returncode == 0, run.stderr
    assert "0 unexpected" in run.stdout
    assert run.stderr == ""


def test_docs_show_the_current_table() -> None:
    require_tool(CORPUS.is_dir(), "the peer corpus (../shared/peer-corpus)")
    table = _run().stdout.rstrip()
    doc = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    marker = "<!-- conformance-table:start -->\n"
    start = doc.index(marker) + len(marker)
    end = doc.index("\n<!-- conformance-table:end -->")
    assert doc[start:end] == table, "regenerate the table: python scripts/conformance.py CORPUS"
    # The prose summary quotes the same counts as the script.
    counts = table.splitlines()[-1].replace(" verdicts:", " peer verdicts:")
    assert counts in doc
