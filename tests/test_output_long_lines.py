"""The full text report on many findings in one long line (a minified policy, `imds-iac scp
--minify`, a generated template): each finding shows its window of the line, and the time grows
with the findings, not with findings times the line's length."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from imds_iac_checks.cli import main

WEAK = {
    "Effect": "Deny",
    "Action": "ec2:RunInstances",
    "Resource": "arn:aws:ec2:*:*:instance/*",
    "Condition": {"StringEquals": {"ec2:MetadataHttpTokens": "optional"}},
}


def _minified(path: Path, count: int) -> None:
    statements = [{"Sid": f"S{i}", **WEAK} for i in range(count)]
    path.write_text(json.dumps({"Version": "2012-10-17", "Statement": statements}))


def test_each_finding_shows_its_own_window_of_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _minified(tmp_path / "scp.min.json", 40)
    assert main(["check", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    shown = [(line, lines[i + 1]) for i, line in enumerate(lines) if line.startswith("1 | ")]
    assert len(shown) == 40
    for i, (window, carets) in enumerate(shown):
        assert len(window) <= len("1 | ") + 2 + 120, window
        # the carets sit under this finding's operator, cut out of the long line around it
        at = carets.index("^")
        assert window[at : at + len('"StringEquals"')] == '"StringEquals"', (window, carets)
        assert carets.count("^") == len('"StringEquals"')
        if 0 < i < 39:
            assert window.startswith("1 | …") and window.endswith("…")
            assert f'"Sid": "S{i + 1}"' in window  # the next statement begins after it
    assert len({window for window, _ in shown}) == 40


def test_thousands_of_findings_on_one_line_cost_linear_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    small.mkdir()
    large.mkdir()
    _minified(small / "scp.json", 300)
    _minified(large / "scp.json", 3000)
    times = []
    for tree in (small, large):
        start = time.perf_counter()
        assert main(["check", str(tree)]) == 1
        times.append(time.perf_counter() - start)
        capsys.readouterr()
    # 10x the findings on a 10x longer line: about 10x the time (quadratic would be 100x)
    assert times[1] < 30 * max(times[0], 0.02), times
