"""The pure functions of scripts/real_world.py (the tables of docs/real-world.md)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("real_world", ROOT / "scripts" / "real_world.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["real_world"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


rw = _script()


def test_findings_text() -> None:
    assert rw.findings_text({}) == "0"
    assert rw.findings_text({"IMDS003": 5, "IMDS001": 0}) == "5 IMDS003"
    assert (
        rw.findings_text({"IMDS004": 2, "IMDS001": 113, "IMDS002": 2})
        == "117: 113 IMDS001, 2 IMDS002, 2 IMDS004"
    )


def test_resource_key_drops_indexes_and_instance_counts() -> None:
    assert rw.resource_key('module.eks.module.g["a.b"].aws_launch_template.this[0]') == (
        "module.eks.module.g.aws_launch_template.this"
    )
    assert rw.resource_key("aws_instance.web") == "aws_instance.web"
    assert (
        rw.resource_key("module.x.aws_instance.this (2 instances)") == "module.x.aws_instance.this"
    )


def test_unmatched_names_only_checkov_failures_on_resources_we_do_not_name() -> None:
    checkov = [
        {
            "check_id": "CKV_AWS_79",
            "resource": "module.a.aws_instance.this[0]",
            "file_path": "/main.tf",
            "file_line_range": [3, 9],
        },
        {
            "check_id": "CKV_AWS_341",
            "resource": "aws_launch_template.lt",
            "file_path": "/lt.tf",
            "file_line_range": [1, 4],
        },
    ]
    ours = [{"rule_id": "IMDS001", "resource": 'module.a["k"].aws_instance.this'}]
    assert rw.unmatched(checkov, ours) == ["CKV_AWS_341 aws_launch_template.lt at /lt.tf:1"]


def test_checkov_failures_takes_one_report_or_a_list() -> None:
    one = {"check_type": "terraform", "results": {"failed_checks": [{"check_id": "CKV_AWS_79"}]}}
    assert len(rw.checkov_failures(one)) == 1
    assert len(rw.checkov_failures([one, one, {"results": {}}])) == 2


@pytest.mark.slow
def test_summarise_and_row_from_a_real_report(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_instance" "web" {\n  ami = "ami-1"\n}\n'
        'module "far" {\n  source = "example.com/org/thing/aws"\n}\n'
    )
    out = subprocess.run(
        [sys.executable, "-m", "imds_iac_checks", "check", "--format", "json", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT)},
    ).stdout
    row = rw.summarise(json.loads(out))
    assert (row.files, row.errors) == (1, 0)
    assert row.by_rule == {"IMDS001": 1, "IMDS004": 1}
    line = rw.check_row("o+n", "abc1234", row, 0.25, 20.4)
    assert line == "| o/n (abc1234) | 1 | 2 | 2: 1 IMDS001, 1 IMDS004 | 0 | 1 | 0.25 s / 20 MB |"


def test_cfn_lint_errors_counts_errors_by_file_and_rule(tmp_path: Path) -> None:
    matches = [
        {"Level": "Error", "Filename": str(tmp_path / "a.yaml"), "Rule": {"Id": "E3001"}},
        {"Level": "Error", "Filename": str(tmp_path / "a.yaml"), "Rule": {"Id": "E3001"}},
        {"Level": "Warning", "Filename": str(tmp_path / "a.yaml"), "Rule": {"Id": "W3011"}},
    ]
    assert rw.cfn_lint_errors(matches, tmp_path) == {("a.yaml", "E3001"): 2}
