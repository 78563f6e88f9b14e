"""Every generator of ``tests/hostile/`` against the real command, with a fixed seed and a time
budget (``python scripts/fuzz.py --generated`` runs the same for longer)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

SEED = 20261201
BUDGET = 90  # seconds: every generator runs at least once, then round-robin until spent


@pytest.mark.slow
def test_generated_hostile_inputs() -> None:
    listed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "fuzz.py"), "--generated", "--list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    # One generator per class of the reliability guarantees at least (docs/reliability.md).
    areas = {name.split(".", 1)[0] for name in listed}
    assert len(listed) >= 10, listed
    assert len(areas) >= 3, areas
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "fuzz.py"),
            "--generated",
            "--seed",
            str(SEED),
            "--budget",
            str(BUDGET),
        ],
        capture_output=True,
        text=True,
        timeout=BUDGET + 600,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert " 0 failed" in proc.stdout
