"""CKV_IMDS_9, IMDS009 in the checkov plugin: Terraform ``aws_ami`` judged as ``imds-iac check``
judges it, and no verdict on resources that are not AMIs."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imds_iac_checks.adapters import checkov_targets
from tests.conftest import ROOT, require_tool, run_process, write

PLUGIN = ROOT / "imds_iac_checks" / "adapters" / "checkov"

AMIS = """
resource "aws_ami" "legacy" {
  name                = "legacy-2026-11"
  virtualization_type = "hvm"
  root_device_name    = "/dev/xvda"
}

resource "aws_ami" "golden" {
  name                = "golden-2026-12"
  virtualization_type = "hvm"
  root_device_name    = "/dev/xvda"
  imds_support        = "v2.0"
}

resource "aws_ami" "blank" {
  name                = "blank-2026-12"
  virtualization_type = "hvm"
  root_device_name    = "/dev/xvda"
  imds_support        = ""
}

variable "imds_support" {
  type = string
}

resource "aws_ami" "given" {
  name                = "given-2026-12"
  virtualization_type = "hvm"
  root_device_name    = "/dev/xvda"
  imds_support        = var.imds_support
}

resource "aws_instance" "web" {
  ami           = aws_ami.golden.id
  instance_type = "t3.micro"
}
"""


def test_conf_conversion() -> None:
    def verdict(conf: dict[str, list[str]]) -> str:
        target = checkov_targets.terraform_target(conf, "aws_ami")
        assert target is not None
        return checkov_targets.verdict([target], "IMDS009")

    assert verdict({"name": ["golden"]}) == "FAILED"
    assert verdict({"name": ["golden"], "imds_support": [""]}) == "FAILED"
    assert verdict({"name": ["golden"], "imds_support": ["v2.0"]}) == "PASSED"
    assert verdict({"name": ["golden"], "imds_support": ["${var.x}"]}) == "UNKNOWN"
    assert checkov_targets.evaluated_keys("terraform", "aws_ami", "IMDS009") == ["imds_support"]


@pytest.mark.slow
def test_checkov_agrees_with_imds_iac_check(tmp_path: Path) -> None:
    require_tool(importlib.util.find_spec("checkov") is not None, "checkov")
    write(tmp_path, "images/main.tf", AMIS)
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "checkov.main", "--skip-download", "-d", str(tmp_path)),
            *("--framework", "terraform", "--external-checks-dir", str(PLUGIN)),
            *("--check", "CKV_IMDS_9", "-o", "json"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    assert proc.stdout.strip(), proc.stderr[-3000:]
    assert "Failed to run check CKV_IMDS" not in proc.stderr, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    results = report["results"]
    verdicts = {
        r["resource"]: r["check_result"]["result"]
        for group in ("failed_checks", "passed_checks")
        for r in results.get(group, [])
    }
    # checkov has no "unknown" result: the variable's AMI gets none (UNKNOWN is not reported).
    assert verdicts == {
        "aws_ami.legacy": "FAILED",
        "aws_ami.blank": "FAILED",
        "aws_ami.golden": "PASSED",
    }
    run = run_process("check", "--format", "json", "--select", "IMDS009,IMDS004", ".", cwd=tmp_path)
    found = {(f["rule_id"], f["resource"]) for f in run.json()["findings"]}
    assert found == {
        ("IMDS009", "aws_ami.legacy"),
        ("IMDS009", "aws_ami.blank"),
        ("IMDS004", "aws_ami.given"),
    }
