"""Launch-template inheritance, end to end through the CLI, in Terraform and CloudFormation."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import findings, write

TEMPLATES = """
resource "aws_launch_template" "secure" {
  name = "secure-lt"

  metadata_options {
    http_tokens = "required"
  }
}

resource "aws_launch_template" "weak" {
  name_prefix = "weak-"
}
"""

INSTANCES = """
resource "aws_instance" "by_id" {
  launch_template {
    id      = aws_launch_template.secure.id
    version = "$Latest"
  }
}

resource "aws_instance" "by_literal_name" {
  launch_template {
    name = "secure-lt"
  }
}

resource "aws_spot_instance_request" "weak_user" {
  launch_template {
    id = aws_launch_template.weak.id
  }
}

resource "aws_instance" "also_weak" {
  launch_template {
    name = aws_launch_template.weak.name
  }
}

resource "aws_instance" "own_settings" {
  launch_template {
    id = aws_launch_template.secure.id
  }

  metadata_options {
    http_put_response_hop_limit = 3
  }
}

resource "aws_instance" "from_variable" {
  launch_template {
    id = var.launch_template_id
  }
}

resource "aws_instance" "elsewhere" {
  launch_template {
    name = "platform-shared"
  }
}
"""


def test_terraform_inheritance_across_files_of_a_module(cli, tmp_path: Path) -> None:
    write(tmp_path, "app/templates.tf", TEMPLATES)
    write(tmp_path, "app/instances.tf", INSTANCES)
    run = cli("check", "--format", "json", "app", cwd=tmp_path)
    assert findings(run) == [
        ("IMDS003", "aws_instance.own_settings", 32),
        ("IMDS004", "aws_instance.from_variable", 38),
        ("IMDS004", "aws_instance.elsewhere", 44),
        ("IMDS001", "aws_launch_template.weak", 9),
    ]
    messages = {f["resource"]: f["message"] for f in run.json()["findings"]}
    assert messages["aws_launch_template.weak"].endswith(
        "(launch template of aws_spot_instance_request.weak_user, aws_instance.also_weak)"
    )
    assert (
        "var.launch_template_id, which could not be resolved"
        in messages["aws_instance.from_variable"]
    )
    assert '"platform-shared" (not in this module or stack)' in messages["aws_instance.elsewhere"]


def test_templates_in_another_module_are_not_used(cli, tmp_path: Path) -> None:
    write(tmp_path, "templates/main.tf", TEMPLATES)
    write(tmp_path, "instances/main.tf", INSTANCES)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    unresolved = {r for rule, r, _ in findings(run) if rule == "IMDS004"}
    assert "aws_instance.by_id" in unresolved  # a different directory is a different module


CFN = """
Resources:
  SecureTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateName: secure
      LaunchTemplateData:
        MetadataOptions:
          HttpTokens: required
  WeakTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        ImageId: ami-0c55b159cbfafe1f0
  ById:
    Type: AWS::EC2::Instance
    Properties:
      LaunchTemplate:
        LaunchTemplateId: !Ref SecureTemplate
        Version: !GetAtt SecureTemplate.LatestVersionNumber
  ByName:
    Type: AWS::EC2::Instance
    Properties:
      LaunchTemplate:
        LaunchTemplateName: secure
        Version: "1"
  ByGetAtt:
    Type: AWS::EC2::Instance
    Properties:
      LaunchTemplate:
        LaunchTemplateId: !GetAtt WeakTemplate.LaunchTemplateId
        Version: "1"
  FromParameter:
    Type: AWS::EC2::Instance
    Properties:
      LaunchTemplate:
        LaunchTemplateId: !Ref TemplateIdParameter
        Version: "1"
"""


def test_cloudformation_inheritance(cli, tmp_path: Path) -> None:
    write(tmp_path, "stack.yaml", CFN)
    run = cli("check", "--format", "json", "stack.yaml", cwd=tmp_path)
    assert findings(run) == [
        ("IMDS001", "WeakTemplate", 10),
        ("IMDS004", "FromParameter", 36),
    ]
    weak = run.json()["findings"][0]["message"]
    assert weak.endswith("(launch template of ByGetAtt)")
