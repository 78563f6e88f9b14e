"""Shared helpers: run the CLI in-process (fast) or as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from imds_iac_checks.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"
IN_CI = bool(os.environ.get("CI"))


class Run(NamedTuple):
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Call ``imds-iac`` in-process: ``cli("check", "x.tf", cwd=path)``."""

    def run(*args: str, cwd: Path | None = None) -> Run:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def run_process(*args: str, cwd: Path | None = None) -> Run:
    """The real console entry point, as a user runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "imds_iac_checks", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def findings(run: Run) -> list[tuple[str, str, int]]:
    """(rule, resource, line) of every finding, in report order."""
    return [(f["rule_id"], f["resource"], f["line"]) for f in run.json()["findings"]]


def require_tool(available: bool, what: str) -> None:
    """Skip when a test tool is missing on a developer machine, but fail under CI."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI but is not installed")
    pytest.skip(f"{what} is not installed")


@pytest.fixture(autouse=True, scope="session")
def _private_config_cache(tmp_path_factory: pytest.TempPathFactory):
    """Parsed configuration files are cached between runs: the tests use a cache of their own."""
    previous = os.environ.get("IMDS_IAC_CACHE_DIR")
    os.environ["IMDS_IAC_CACHE_DIR"] = str(tmp_path_factory.mktemp("config-cache"))
    yield
    if previous is None:
        os.environ.pop("IMDS_IAC_CACHE_DIR", None)
    else:
        os.environ["IMDS_IAC_CACHE_DIR"] = previous


@pytest.fixture(autouse=True)
def _no_terraform_variables_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``imds-iac`` reads ``TF_VAR_name`` as Terraform does: a developer's own must not change
    what the tests see (a test that wants one sets it)."""
    for name in [n for n in os.environ if n.startswith("TF_VAR_")]:
        monkeypatch.delenv(name)
