"""Suppressions of guardrail policy findings (IMDS010 and any rule that judges policies): a
Terraform block's first line or the comment above it, a checkov skip inside the block, a
CloudFormation resource's Metadata (imds-iac, cfn-lint and checkov entries), as for targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imds_iac_checks.cli import main
from imds_iac_checks.rules import REGISTRY

WEAK_TF = """\
{comment}resource "aws_organizations_policy" "legacy" {{
  name = "legacy-imds"
{inside}  content = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Effect    = "Deny"
      Action    = "ec2:RunInstances"
      Resource  = "arn:aws:ec2:*:*:instance/*"
      Condition = {{ StringEquals = {{ "ec2:MetadataHttpTokens" = "{value}" }} }}
    }}]
  }})
}}
"""

WEAK_CFN = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  LegacyScp:
    Type: AWS::Organizations::Policy
{metadata}    Properties:
      Name: legacy
      Type: SERVICE_CONTROL_POLICY
      Content:
        Version: "2012-10-17"
        Statement:
          - Effect: Deny
            Action: ec2:RunInstances
            Resource: arn:aws:ec2:*:*:instance/*
            Condition:
              StringEquals:
                ec2:MetadataHttpTokens: optional
"""


def policy_rules() -> list[str]:
    return [rule.id for rule in REGISTRY.values() if rule.policy is not None]


def scan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["check", str(tmp_path), "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("comment", "inside"),
    [
        ("# imds-iac: ignore[{rule}] legacy OU, replaced in Q3\n", ""),
        ("", "  #checkov:skip={checkov}: legacy OU\n"),
    ],
)
def test_a_terraform_policy_is_suppressed_at_its_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], comment: str, inside: str
) -> None:
    (rule_id,) = policy_rules()
    rule = REGISTRY[rule_id]
    assert rule.checkov is not None
    text = WEAK_TF.format(
        comment=comment.format(rule=rule_id),
        inside=inside.format(checkov=rule.checkov),
        value="optional",
    )
    (tmp_path / "scp.tf").write_text(text)
    code, out = scan(tmp_path, capsys)
    assert code == 0
    (finding,) = out["findings"]
    assert finding["rule_id"] == rule_id
    assert finding["suppressed"]
    assert out["summary"]["suppressed"] == 1


def test_an_ignore_on_a_correct_terraform_policy_is_reported_unused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (rule_id,) = policy_rules()
    comment = f"# imds-iac: ignore[{rule_id}] legacy OU\n"
    (tmp_path / "scp.tf").write_text(
        WEAK_TF.format(comment=comment, inside="", value="required").replace(
            "StringEquals", "StringNotEquals"
        )
    )
    code, out = scan(tmp_path, capsys)
    (finding,) = out["findings"]
    assert REGISTRY[finding["rule_id"]].audit is not None  # the unused-suppression rule
    assert finding["line"] == 1
    assert code == 0  # a warning


@pytest.mark.parametrize(
    "entry",
    [
        "      imds-iac:\n        ignore:\n          - {rule}\n",
        "      cfn-lint:\n        config:\n          ignore_checks:\n            - {cfn}\n",
        "      checkov:\n        skip:\n          - id: {checkov}\n            comment: legacy\n",
    ],
)
def test_a_cloudformation_policy_is_suppressed_by_its_resource_metadata(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: str
) -> None:
    (rule_id,) = policy_rules()
    rule = REGISTRY[rule_id]
    assert rule.cfn_lint is not None and rule.checkov is not None
    metadata = "    Metadata:\n" + entry.format(
        rule=rule_id, cfn=rule.cfn_lint.id, checkov=rule.checkov
    )
    (tmp_path / "scp.yaml").write_text(WEAK_CFN.format(metadata=metadata))
    code, out = scan(tmp_path, capsys)
    assert code == 0
    (finding,) = out["findings"]
    assert finding["rule_id"] == rule_id and finding["suppressed"]


def test_without_a_suppression_the_findings_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "scp.tf").write_text(WEAK_TF.format(comment="", inside="", value="optional"))
    (tmp_path / "scp.yaml").write_text(WEAK_CFN.format(metadata=""))
    code, out = scan(tmp_path, capsys)
    assert code == 1
    assert [f["suppressed"] for f in out["findings"]] == [None, None]
    assert [(Path(f["path"]).name, f["line"]) for f in out["findings"]] == [
        ("scp.tf", 9),
        ("scp.yaml", 15),
    ]
