"""Where the scan finds guardrail policies beyond one document per file: the policies by name
that `imds-iac scp --split` prints (kept as one file in an org repository), and a Terraform
policy whose text is in a template file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imds_iac_checks.cli import main


def _check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["check", str(path), "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_the_split_policies_scp_prints_are_read_back_one_by_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scp", "--split"]) == 0
    split = capsys.readouterr().out
    names = list(json.loads(split))
    assert len(names) == 4
    (tmp_path / "guardrails.json").write_text(split)
    code, out = _check(tmp_path, capsys)
    assert (code, out["summary"]["policies"], out["findings"]) == (0, 4, [])
    # a weakened copy: the finding names the policy it is in
    (tmp_path / "guardrails.json").write_text(split.replace('"StringNotEquals"', '"StringEquals"'))
    code, out = _check(tmp_path, capsys)
    assert code == 1
    (finding,) = out["findings"]
    tokens = next(name for name in names if "tokens" in name)
    assert finding["message"].startswith(f"[{tmp_path / 'guardrails.json'} {tokens} statement")


def test_a_mapping_of_other_things_is_no_policy_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # names a marker, but its values are not all policy documents
    (tmp_path / "notes.json").write_text(
        json.dumps(
            {
                "guardrail": {"Version": "2012-10-17", "Statement": []},
                "owner": "platform team",
                "keys": ["ec2:MetadataHttpTokens"],
            }
        )
    )
    code, out = _check(tmp_path, capsys)
    assert (code, out["summary"]["policies"]) == (0, 0)


def test_a_terraform_policy_from_a_template_file_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_organizations_policy" "imds" {\n'
        '  name    = "imds"\n'
        '  content = templatefile("${path.module}/scp.json.tpl", { account = "123456789012" })\n'
        "}\n"
    )
    (tmp_path / "scp.json.tpl").write_text(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": '
        '"ec2:RunInstances", "Resource": "arn:aws:ec2:*:${account}:instance/*", '
        '"Condition": {"StringEquals": {"ec2:MetadataHttpTokens": "required"}}}]}\n'
    )
    code, out = _check(tmp_path, capsys)
    assert code == 0  # a warning
    assert out["summary"]["policies"] == 1
    (finding,) = out["findings"]
    assert "could not be judged" in finding["message"]
    assert finding["path"].endswith("main.tf")
