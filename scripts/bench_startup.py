#!/usr/bin/env python3
"""Start-up benchmark: ``imds-iac check one.tf`` against ``python -c pass`` (and checkov).

    python3 -m venv /tmp/bench && /tmp/bench/bin/pip install .
    /tmp/bench/bin/python scripts/bench_startup.py [--runs 60] [--checkov PATH] [FILE.tf]

The file (default: the storefront fixture, 5 KB, four findings) is copied to a fresh temporary
directory, once alone and once beside a ``.imds-iac.toml``. Run it from a regular (non-editable)
install: pip compiles the package's bytecode at install time,
as it does for users, whereas an editable install under ``PYTHONDONTWRITEBYTECODE=1`` recompiles
every module on every run. Commands are run interleaved (A B C A B C ...) so that load on the
machine hits all of them alike; the report gives the median and minimum wall time and the ratio
of medians. Exit 1 when ``imds-iac`` takes 3x ``python -c pass`` or more (issue 2's budget).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT / "fixtures" / "terraform" / "storefront" / "main.tf"
BUDGET = 3.0


def _time(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="imds-iac start-up benchmark")
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--checkov", help="checkov executable to compare with (optional)")
    args = parser.parse_args(argv)

    bindir = Path(sys.executable).parent
    imds = shutil.which("imds-iac", path=str(bindir)) or shutil.which("imds-iac")
    if imds is None:
        parser.error("imds-iac is not installed next to this Python")
    source = args.file.resolve()
    # Copies in fresh directories, so that no configuration file above the repository decides the
    # figures: one without configuration (the budgeted case), one with a .imds-iac.toml beside it.
    work = Path(tempfile.mkdtemp(prefix="imds-bench-"))
    (work / "plain").mkdir()
    (work / "configured").mkdir()
    target = work / "plain" / "one.tf"
    target.write_bytes(source.read_bytes())
    (work / "configured" / "one.tf").write_bytes(source.read_bytes())
    (work / "configured" / ".imds-iac.toml").write_text(
        'hop-limit = 1\nignore = ["IMDS004"]\n\n[per-path]\n"eks/**" = { hop-limit = 2 }\n'
    )
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "imds-iac check one.tf": [imds, "check", "-q", str(target)],
        "imds-iac check one.tf (with .imds-iac.toml)": [
            imds,
            "check",
            "-q",
            str(work / "configured" / "one.tf"),
        ],
    }
    if args.checkov:
        commands["checkov -f one.tf (CKV_AWS_79,CKV_AWS_341)"] = [
            args.checkov,
            "-f",
            str(target),
            "--check",
            "CKV_AWS_79,CKV_AWS_341",
            "--quiet",
            "--compact",
            "--skip-download",
        ]
    cwd = target.parent
    for cmd in commands.values():  # warm the page cache and bytecode
        for _ in range(3 if "checkov" not in cmd[0] else 1):
            _time(cmd, cwd)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    heavy = {name for name in commands if "checkov" in name}
    for i in range(args.runs):
        for name, cmd in commands.items():
            if name in heavy and i >= max(5, args.runs // 10):
                continue  # checkov takes seconds: a few runs are enough
            samples[name].append(_time(cmd, cwd))

    base = statistics.median(samples["python -c pass"])
    print(f"python {sys.version.split()[0]} on {os.cpu_count()} cores; file {source}")
    print(f"{'command':<58} {'runs':>4} {'median':>9} {'min':>9} {'ratio':>7}")
    for name, times in samples.items():
        med = statistics.median(times)
        print(
            f"{name:<58} {len(times):>4} {med * 1000:>7.1f}ms {min(times) * 1000:>7.1f}ms "
            f"{med / base:>6.2f}x"
        )
    ours = statistics.median(samples["imds-iac check one.tf"]) / base
    print(f"\nimds-iac / python -c pass = {ours:.2f}x (budget {BUDGET:.0f}x)")
    return 0 if ours < BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
