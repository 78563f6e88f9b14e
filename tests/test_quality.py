"""The project's own habits, enforced: ruff lint and format, mypy on the package."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from tests.conftest import ROOT, require_tool


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_lint() -> None:
    require_tool(importlib.util.find_spec("ruff") is not None, "ruff")
    run = _run(sys.executable, "-m", "ruff", "check", "imds_iac_checks", "tests", "scripts")
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff_format() -> None:
    require_tool(importlib.util.find_spec("ruff") is not None, "ruff")
    run = _run(
        sys.executable, "-m", "ruff", "format", "--check", "imds_iac_checks", "tests", "scripts"
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_mypy() -> None:
    require_tool(importlib.util.find_spec("mypy") is not None, "mypy")
    run = _run(sys.executable, "-m", "mypy")
    assert run.returncode == 0, run.stdout + run.stderr


def test_cli_import_stays_light() -> None:
    """``import imds_iac_checks.cli`` must not pull in YAML, TOML, argparse or the HCL parser:
    they load only when a command needs them."""
    code = (
        "import sys, imds_iac_checks.cli; "
        "heavy = {'ruamel', 'ruamel.yaml', 'tomllib', 'tomli', 'argparse', 'tree_sitter', "
        "'json', 'dataclasses', 'inspect', 'shutil'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    run = _run(sys.executable, "-c", code)
    assert run.stdout.strip() == "[]", run.stdout + run.stderr


def test_checking_a_tf_file_loads_no_yaml_or_toml(tmp_path) -> None:
    tf = tmp_path / "one.tf"
    tf.write_text((ROOT / "tests/data/hcl/valid/dynamic_block.tf").read_text())
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "not-imds-iac-configured"\n')
    code = (
        "import sys; from imds_iac_checks.cli import main; "
        f"main(['check', '-q', {str(tf)!r}]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'ruamel', 'tomllib', 'tomli', 'argparse', 'shutil', 'dataclasses', 'inspect', 'json'} "
        "or m in {'imds_iac_checks.formats.data', 'imds_iac_checks.formats.doc', "
        "'imds_iac_checks.formats.terraform.registry', 'imds_iac_checks.catalog'}))"
    )
    run = _run(sys.executable, "-c", code)
    assert run.stdout.strip().splitlines()[-1] == "[]", run.stdout + run.stderr
