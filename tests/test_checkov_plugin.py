"""The checkov plugin (``imds-iac plugin-path checkov``): CKV_IMDS_1-3 run inside real checkov and
agree with ``imds-iac check --select IMDS001,IMDS002,IMDS003``.

Two checkov runs (checkov takes seconds to start): one over literal cases written here
(Terraform, a plan, CloudFormation YAML and JSON), one over bundled fixtures. Each compares
checkov's FAILED results with imds-iac's findings by (project directory, rule, resource); every
difference must be one that docs/checkov.md documents, and is asserted here by name.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from imds_iac_checks.adapters import checkov_targets
from imds_iac_checks.rules import REGISTRY
from tests.conftest import FIXTURES, ROOT, require_tool, run_process, write

CHECKS = "CKV_IMDS_1,CKV_IMDS_2,CKV_IMDS_3"
PLUGIN = ROOT / "imds_iac_checks" / "adapters" / "checkov"
Key = tuple[str, str, str]  # (project directory, rule id, resource)
RANK = {"FAILED": 3, "SKIPPED": 2, "PASSED": 1}  # the worst verdict wins when keys coincide


def _checkov_available() -> bool:
    return importlib.util.find_spec("checkov") is not None


# checkov check id -> imds-iac rule id
CHECK_RULES = {rule.checkov: rule.id for rule in REGISTRY.values() if rule.checkov}


def run_checkov(
    root: Path, env: dict[str, str] | None = None, checks: str = CHECKS
) -> dict[Key, str]:
    """checkov over ``root`` with only the plugin's checks: (project, rule, resource) -> result.

    checkov runs in this interpreter (``python -m checkov.main``), so it imports the same
    imds_iac_checks as the test."""
    cmd = [
        sys.executable,
        "-m",
        "checkov.main",
        "--skip-download",  # no network: checkov would fetch its guidelines otherwise
        "-d",
        str(root),
        "--framework",
        "terraform",
        "terraform_plan",
        "cloudformation",
        "--external-checks-dir",
        str(PLUGIN),
        "--check",
        checks,
        "-o",
        "json",
    ]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "LOG_LEVEL": "WARNING", **(env or {})},
    )
    assert proc.stdout.strip(), proc.stderr[-3000:]
    assert "Failed to run check CKV_IMDS" not in proc.stderr, proc.stderr[-3000:]
    reports = json.loads(proc.stdout)
    out: dict[Key, str] = {}
    for report in reports if isinstance(reports, list) else [reports]:
        kind = report.get("check_type")
        for group in ("failed_checks", "passed_checks", "skipped_checks"):
            for result in report.get("results", {}).get(group, []):
                resource = result["resource"]
                if kind == "cloudformation":
                    resource = resource.split(".", 1)[1]  # AWS::EC2::Instance.Web -> Web
                project = result["file_path"].lstrip("/").split("/")[0]
                rule = CHECK_RULES[result["check_id"]]
                _merge(out, (project, rule, resource), result["check_result"]["result"])
    return out


def _merge(out: dict[Key, str], key: Key, verdict: str) -> None:
    if RANK[verdict] > RANK.get(out.get(key, ""), 0):
        out[key] = verdict


def aligned(results: dict[Key, str], found: set[Key]) -> dict[Key, str]:
    """checkov's results named as imds-iac names resources: checkov expands ``count`` into
    ``builder[0]``, ``builder[1]`` ...; imds-iac reports a counted resource once, as ``builder``,
    unless its settings differ by ``count.index`` (then ``replica[2]``). The worst verdict wins."""
    out: dict[Key, str] = {}
    for (project, rule, resource), verdict in results.items():
        key = (project, rule, resource)
        if key not in found:
            key = (project, rule, re.sub(r"\[\d+\]$", "", resource))
        _merge(out, key, verdict)
    return out


def run_imds_iac(root: Path) -> tuple[set[Key], set[Key], set[Key]]:
    """``imds-iac check`` over ``root``: (IMDS001-003 findings, suppressed ones, IMDS004)."""
    run = run_process("check", "--format", "json", "--select", "ALL", ".", cwd=root)
    assert run.code in (0, 1), run.err
    found: set[Key] = set()
    suppressed: set[Key] = set()
    unknown: set[Key] = set()
    for f in run.json()["findings"]:
        resource = f["resource"]
        if f["kind"].startswith("AWS::"):
            resource = resource.split(".")[0]  # Fleet.LaunchTemplateConfigs[0]... -> Fleet
        key = (f["path"].split("/")[0], f["rule_id"], resource)
        if REGISTRY[f["rule_id"]].hazard is not None:
            continue  # code that runs on instances: not a check of the plugin
        if f["rule_id"] == "IMDS004":
            unknown.add(key)
        elif f["suppressed"]:
            suppressed.add(key)
        else:
            found.add(key)
    return found, suppressed, unknown


def failed(results: dict[Key, str]) -> set[Key]:
    return {key for key, verdict in results.items() if verdict == "FAILED"}


def plan_with_unknown_block(path: Path) -> None:
    """The bundled plan, with ``aws_instance.fresh`` (metadata_options known only after apply)
    in planned_values as well, as Terraform writes it."""
    plan = json.loads((FIXTURES / "terraform-plan" / "plan.json").read_text())
    plan["planned_values"]["root_module"]["resources"].append(
        {
            "address": "aws_instance.fresh",
            "mode": "managed",
            "type": "aws_instance",
            "name": "fresh",
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "schema_version": 1,
            "values": {"ami": "ami-0c55b159cbfafe1f0", "instance_type": "t3.micro"},
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(plan, indent=2))


# --- literal cases ------------------------------------------------------------------------------

TERRAFORM = """
variable "legacy" {
  type = bool
}
variable "unset" {
  type = string
}
variable "tokens" {
  default = "optional"
}

resource "aws_instance" "no_options" {
  ami = "ami-1"
}
resource "aws_instance" "optional" {
  ami = "ami-1"
  metadata_options {
    http_tokens = "optional"
  }
}
resource "aws_instance" "required" {
  ami = "ami-1"
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}
resource "aws_instance" "no_tokens" {
  ami = "ami-1"
  metadata_options {
    http_endpoint = "enabled"
  }
}
resource "aws_instance" "null_tokens" {
  ami = "ami-1"
  metadata_options {
    http_tokens = null
  }
}
resource "aws_instance" "hop3" {
  ami = "ami-1"
  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 3
  }
}
resource "aws_launch_template" "hop_string" {
  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = "2"
  }
}
resource "aws_launch_template" "no_options" {
  name_prefix = "x-"
}
resource "aws_launch_configuration" "disabled" {
  image_id      = "ami-1"
  instance_type = "t3.micro"
  metadata_options {
    http_endpoint               = "disabled"
    http_tokens                 = "optional"
    http_put_response_hop_limit = 5
  }
}
resource "aws_spot_instance_request" "spot" {
  ami = "ami-1"
  metadata_options {
    http_tokens = "optional"
  }
}
resource "aws_instance" "from_template" {
  ami = "ami-1"
  launch_template {
    id = aws_launch_template.hop_string.id
  }
}
resource "aws_sagemaker_notebook_instance" "v1" {
  name          = "v1"
  role_arn      = "arn:aws:iam::123456789012:role/x"
  instance_type = "ml.t3.medium"
  instance_metadata_service_configuration {
    minimum_instance_metadata_service_version = "1"
  }
}
resource "aws_sagemaker_notebook_instance" "v2" {
  name          = "v2"
  role_arn      = "arn:aws:iam::123456789012:role/x"
  instance_type = "ml.t3.medium"
  instance_metadata_service_configuration {
    minimum_instance_metadata_service_version = "2"
  }
}
resource "aws_sagemaker_notebook_instance" "none" {
  name          = "none"
  role_arn      = "arn:aws:iam::123456789012:role/x"
  instance_type = "ml.t3.medium"
}
resource "aws_imagebuilder_infrastructure_configuration" "none" {
  name                  = "none"
  instance_profile_name = "builder"
}
resource "aws_imagebuilder_infrastructure_configuration" "hop2" {
  name                  = "hop2"
  instance_profile_name = "builder"
  instance_metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }
}
resource "aws_ec2_instance_metadata_defaults" "no_preference" {
  http_tokens                 = "no-preference"
  http_put_response_hop_limit = -1
}
resource "aws_ec2_instance_metadata_defaults" "hop2" {
  http_tokens                 = "required"
  http_put_response_hop_limit = 2
}
resource "aws_instance" "from_variable" {
  ami = "ami-1"
  metadata_options {
    http_tokens = var.tokens
  }
}
resource "aws_instance" "unresolved" {
  ami = "ami-1"
  metadata_options {
    http_tokens = var.unset
  }
}
resource "aws_instance" "conditional" {
  ami = "ami-1"
  metadata_options {
    http_tokens = var.legacy ? "optional" : "required"
  }
}
resource "aws_instance" "each" {
  for_each = toset(["a", "b"])
  ami      = "ami-1"
  metadata_options {
    http_tokens = each.key == "a" ? "optional" : "required"
  }
}
resource "aws_launch_template" "dynamic_empty" {
  dynamic "metadata_options" {
    for_each = []
    content {
      http_tokens = "required"
    }
  }
}
resource "aws_instance" "skipped" {
  # checkov:skip=CKV_IMDS_2: legacy agent, replaced in Q3
  ami = "ami-1"
  metadata_options {
    http_tokens = "optional"
  }
}
module "node" {
  source = "./modules/node"
  tokens = "optional"
}
"""

MODULE = """
variable "tokens" {
  default = "required"
}
resource "aws_instance" "this" {
  ami = "ami-1"
  metadata_options {
    http_tokens = var.tokens
  }
}
"""

CFN_YAML = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Tokens:
    Type: String
    Default: optional
  NoDefault:
    Type: String
Mappings:
  Env:
    prod:
      Tokens: optional
Conditions:
  IsProd: !Equals [!Ref "AWS::StackName", prod]
Resources:
  NoOptions:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
  Optional:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      MetadataOptions:
        HttpTokens: optional
  Required:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      MetadataOptions:
        HttpTokens: required
        HttpPutResponseHopLimit: 1
  NoTokens:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      MetadataOptions:
        HttpEndpoint: enabled
  Hop3:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      MetadataOptions:
        HttpTokens: required
        HttpPutResponseHopLimit: 3
  Disabled:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      MetadataOptions:
        HttpEndpoint: disabled
        HttpTokens: optional
  Template:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        MetadataOptions:
          HttpTokens: required
          HttpPutResponseHopLimit: "2"
  TemplateNoOptions:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        ImageId: ami-1
  FromTemplate:
    Type: AWS::EC2::Instance
    Properties:
      LaunchTemplate:
        LaunchTemplateId: !Ref Template
        Version: "1"
  ConfigNoOptions:
    Type: AWS::AutoScaling::LaunchConfiguration
    Properties:
      ImageId: ami-1
      InstanceType: t3.micro
  FromParameter:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      MetadataOptions:
        HttpTokens: !Ref Tokens
  FromMapping:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      MetadataOptions:
        HttpTokens: !FindInMap [Env, prod, Tokens]
  Unresolved:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      MetadataOptions:
        HttpTokens: !Ref NoDefault
  Conditional:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      MetadataOptions:
        HttpTokens: !If [IsProd, required, optional]
  NoValueHop:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      MetadataOptions:
        HttpTokens: required
        HttpPutResponseHopLimit: !If [IsProd, 3, !Ref "AWS::NoValue"]
  WholeBlockIf:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      MetadataOptions: !If
        - IsProd
        - HttpTokens: required
        - !Ref AWS::NoValue
  NotebookV1:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      InstanceType: ml.t3.medium
      RoleArn: arn:aws:iam::123456789012:role/x
      InstanceMetadataServiceConfiguration:
        MinimumInstanceMetadataServiceVersion: "1"
  NotebookNone:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      InstanceType: ml.t3.medium
      RoleArn: arn:aws:iam::123456789012:role/x
  ImageBuilderHop:
    Type: AWS::ImageBuilder::InfrastructureConfiguration
    Properties:
      Name: hop
      InstanceProfileName: builder
      InstanceMetadataOptions:
        HttpTokens: required
        HttpPutResponseHopLimit: 2
  StreamFleet:
    Type: AWS::AppStream::Fleet
    Properties:
      InstanceType: stream.standard.small
      DisableIMDSV1: false
  StreamBuilder:
    Type: AWS::AppStream::ImageBuilder
    Properties:
      InstanceType: stream.standard.small
      DisableIMDSV1: true
  BlockBuilder:
    Type: AWS::AppStream::AppBlockBuilder
    Properties:
      InstanceType: stream.standard.small
  Workspace:
    Type: AWS::WorkspacesInstances::WorkspaceInstance
    Properties:
      ManagedInstance:
        ImageId: ami-1
        InstanceType: t3.micro
        MetadataOptions:
          HttpTokens: optional
  Fleet:
    Type: AWS::EC2::EC2Fleet
    Properties:
      TargetCapacitySpecification:
        TotalTargetCapacity: 1
      LaunchTemplateConfigs:
        - LaunchTemplateSpecification:
            LaunchTemplateId: lt-1
            Version: "1"
          Overrides:
            - InstanceType: t3.micro
              MetadataOptions:
                HttpTokens: optional
                HttpPutResponseHopLimit: 2
  EmrString:
    Type: AWS::EMR::SecurityConfiguration
    Properties:
      SecurityConfiguration: |
        {"InstanceMetadataServiceConfiguration":
        {"MinimumInstanceMetadataServiceVersion": 1}}
  EmrMap:
    Type: AWS::EMR::SecurityConfiguration
    Properties:
      SecurityConfiguration:
        InstanceMetadataServiceConfiguration:
          MinimumInstanceMetadataServiceVersion: 2
          HttpPutResponseHopLimit: 3
  EmrNone:
    Type: AWS::EMR::SecurityConfiguration
    Properties:
      SecurityConfiguration:
        EncryptionConfiguration:
          EnableInTransitEncryption: true
"""

CFN_JSON: dict[str, Any] = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "AWS::StackName"}, "prod"]},
        "Never": {"Fn::Equals": ["a", "b"]},
    },
    "Resources": {
        "NoOptions": {"Type": "AWS::EC2::Instance", "Properties": {"ImageId": "ami-1"}},
        "Optional": {
            "Type": "AWS::EC2::Instance",
            "Properties": {"ImageId": "ami-1", "MetadataOptions": {"HttpTokens": "optional"}},
        },
        "Hop3": {
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {
                "LaunchTemplateData": {
                    "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 3}
                }
            },
        },
        "Conditional": {
            "Type": "AWS::EC2::Instance",
            "Properties": {
                "ImageId": "ami-1",
                "MetadataOptions": {"HttpTokens": {"Fn::If": ["IsProd", "optional", "required"]}},
            },
        },
        # Documented difference: imds-iac decides Never (false) and reads only "required";
        # a checkov resource check cannot see the template's Conditions and reads both branches.
        "StaticCondition": {
            "Type": "AWS::EC2::Instance",
            "Properties": {
                "ImageId": "ami-1",
                "MetadataOptions": {"HttpTokens": {"Fn::If": ["Never", "optional", "required"]}},
            },
        },
        "Skipped": {
            "Type": "AWS::EC2::Instance",
            "Metadata": {"checkov": {"skip": [{"id": "CKV_IMDS_1", "comment": "legacy"}]}},
            "Properties": {"ImageId": "ami-1"},
        },
    },
}


@pytest.fixture(scope="module")
def literal_cases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("checkov-literal")
    write(root, "tf/main.tf", TERRAFORM)
    write(root, "tf/modules/node/main.tf", MODULE)
    plan_with_unknown_block(root / "plan" / "plan.json")
    write(root, "cfn-yaml/stack.yaml", CFN_YAML)
    (root / "cfn-json").mkdir()
    (root / "cfn-json" / "stack.json").write_text(json.dumps(CFN_JSON, indent=2))
    return root


@pytest.fixture(scope="module")
def literal_results(literal_cases: Path) -> tuple[dict[Key, str], set[Key], set[Key], set[Key]]:
    require_tool(_checkov_available(), "checkov")
    # EVAL_TF_PLAN_AFTER_UNKNOWN: checkov marks plan values known only after apply (docs/checkov.md)
    results = run_checkov(literal_cases, {"EVAL_TF_PLAN_AFTER_UNKNOWN": "true"})
    found, suppressed, unknown = run_imds_iac(literal_cases)
    return aligned(results, found), found, suppressed, unknown


EXPECTED_LITERAL = {
    ("tf", "IMDS001", "aws_instance.no_options"),
    ("tf", "IMDS002", "aws_instance.optional"),
    ("tf", "IMDS002", "aws_instance.no_tokens"),
    ("tf", "IMDS002", "aws_instance.null_tokens"),
    ("tf", "IMDS003", "aws_instance.hop3"),
    ("tf", "IMDS003", "aws_launch_template.hop_string"),
    ("tf", "IMDS001", "aws_launch_template.no_options"),
    ("tf", "IMDS002", "aws_spot_instance_request.spot"),
    ("tf", "IMDS002", "aws_sagemaker_notebook_instance.v1"),
    ("tf", "IMDS001", "aws_sagemaker_notebook_instance.none"),
    ("tf", "IMDS001", "aws_imagebuilder_infrastructure_configuration.none"),
    ("tf", "IMDS003", "aws_imagebuilder_infrastructure_configuration.hop2"),
    ("tf", "IMDS002", "aws_ec2_instance_metadata_defaults.no_preference"),
    ("tf", "IMDS003", "aws_ec2_instance_metadata_defaults.hop2"),
    ("tf", "IMDS002", "aws_instance.from_variable"),
    ("tf", "IMDS002", "aws_instance.conditional"),
    ("tf", "IMDS002", 'aws_instance.each["a"]'),
    ("tf", "IMDS001", "aws_launch_template.dynamic_empty"),
    ("tf", "IMDS002", "module.node.aws_instance.this"),
    ("plan", "IMDS002", "aws_instance.bastion"),
    ("plan", "IMDS003", "module.app.module.nodes.aws_launch_template.node[0]"),
    ("plan", "IMDS001", "module.app.module.nodes.aws_launch_template.node[1]"),
    ("cfn-yaml", "IMDS001", "NoOptions"),
    ("cfn-yaml", "IMDS002", "Optional"),
    ("cfn-yaml", "IMDS002", "NoTokens"),
    ("cfn-yaml", "IMDS003", "Hop3"),
    ("cfn-yaml", "IMDS003", "Template"),
    ("cfn-yaml", "IMDS001", "TemplateNoOptions"),
    ("cfn-yaml", "IMDS001", "ConfigNoOptions"),
    ("cfn-yaml", "IMDS002", "FromParameter"),
    ("cfn-yaml", "IMDS002", "FromMapping"),
    ("cfn-yaml", "IMDS002", "Conditional"),
    ("cfn-yaml", "IMDS003", "NoValueHop"),
    ("cfn-yaml", "IMDS002", "NotebookV1"),
    ("cfn-yaml", "IMDS001", "NotebookNone"),
    ("cfn-yaml", "IMDS003", "ImageBuilderHop"),
    ("cfn-yaml", "IMDS002", "StreamFleet"),
    ("cfn-yaml", "IMDS002", "BlockBuilder"),
    ("cfn-yaml", "IMDS002", "Workspace"),
    ("cfn-yaml", "IMDS002", "Fleet"),
    ("cfn-yaml", "IMDS003", "Fleet"),
    ("cfn-yaml", "IMDS002", "EmrString"),
    ("cfn-yaml", "IMDS003", "EmrMap"),
    ("cfn-yaml", "IMDS001", "EmrNone"),
    ("cfn-json", "IMDS001", "NoOptions"),
    ("cfn-json", "IMDS002", "Optional"),
    ("cfn-json", "IMDS003", "Hop3"),
    ("cfn-json", "IMDS002", "Conditional"),
}


@pytest.mark.slow
def test_literal_cases_same_verdicts_as_imds_iac_check(literal_results: Any) -> None:
    results, found, _, _ = literal_results
    assert found == EXPECTED_LITERAL  # the cases say what they mean
    documented = {("cfn-json", "IMDS002", "StaticCondition")}  # see CFN_JSON
    assert failed(results) == found | documented
    # checkov saw every resource: each check passed somewhere in every project
    assert {project for project, _, _ in results} == {"tf", "plan", "cfn-yaml", "cfn-json"}
    assert results[("tf", "IMDS002", "aws_instance.required")] == "PASSED"
    assert results[("cfn-yaml", "IMDS002", "Disabled")] == "PASSED"


@pytest.mark.slow
def test_unknown_values_are_neither_passed_nor_failed(literal_results: Any) -> None:
    """What imds-iac reports as IMDS004 is CheckResult.UNKNOWN: left out of checkov's report."""
    results, _, _, unknown = literal_results
    for project, resource, rules in (
        ("tf", "aws_instance.unresolved", ("IMDS002",)),
        ("plan", "aws_instance.fresh", ("IMDS001", "IMDS002", "IMDS003")),
        ("cfn-yaml", "Unresolved", ("IMDS002",)),
        ("cfn-yaml", "WholeBlockIf", ("IMDS001", "IMDS002", "IMDS003")),
    ):
        assert (project, "IMDS004", resource) in unknown
        for rule in rules:
            assert (project, rule, resource) not in results
    assert results[("tf", "IMDS003", "aws_instance.unresolved")] == "PASSED"


@pytest.mark.slow
def test_checkov_skips_and_imds_iac_suppressions_agree(literal_results: Any) -> None:
    results, _, suppressed, _ = literal_results
    assert results[("tf", "IMDS002", "aws_instance.skipped")] == "SKIPPED"
    assert results[("cfn-json", "IMDS001", "Skipped")] == "SKIPPED"
    assert suppressed == {
        ("tf", "IMDS002", "aws_instance.skipped"),
        ("cfn-json", "IMDS001", "Skipped"),
    }


# --- bundled fixtures ---------------------------------------------------------------------------

# Differences docs/checkov.md documents (section "Measured on the bundled fixtures").
ONLY_CHECKOV = {
    # checkov substitutes var.pools but cannot evaluate can(): the conditional stays text, read as
    # both branches; imds-iac evaluates can() to true and reads only "required".
    ("evaluation", "IMDS002", "aws_instance.can_and_tostring"),
    # Without EVAL_TF_PLAN_AFTER_UNKNOWN, a block known only after apply is absent for checkov.
    ("plan-unknown", "IMDS001", "aws_instance.fresh"),
    # Module calls off by default (count = var.x ? 1 : 0, count = var.y != null ? 1 : 0): checkov
    # renders their resources as if created, without the call's index. imds-iac evaluates
    # module.bastion with var.enable_bastion flipped (its finding is module.bastion[0]...: below)
    # and names module.jump, whose condition gives no value to flip to, as an IMDS004 warning.
    ("fleet", "IMDS001", "module.bastion.aws_instance.this"),
    ("fleet", "IMDS001", "module.jump[0].aws_instance.this"),
}
ONLY_IMDS_IAC = {
    # checkov renders the dynamic block although its for_each is [] (the condition on a null
    # variable is not evaluated), with the iterator value unresolved.
    ("evaluation", "IMDS001", "aws_launch_template.dynamic_over_empty"),
    # checkov mis-evaluates the for expression to the text "[null, null]": unknown here.
    ("evaluation", "IMDS002", "aws_instance.for_expression"),
    # checkov does not follow a local nested stack: the values the parent passes are imds-iac's.
    ("cfn-nested", "IMDS002", "Workers/WorkerTemplate"),
    ("cfn-nested", "IMDS003", "Workers/WorkerTemplate"),
    # Off under the defaults only (count = var.create_bastion ? 1 : 0, a Condition false for the
    # default PHPVersion): checkov leaves the resource out; imds-iac evaluates it under the input
    # that creates it and says so.
    ("bastion", "IMDS001", "aws_instance.bastion[0]"),
    ("cfn-php-tier.yaml", "IMDS001", "LegacyHost"),
    ("fleet", "IMDS001", "module.bastion[0].aws_instance.this"),
}


@pytest.mark.slow
def test_bundled_fixtures(tmp_path: Path) -> None:
    """Every Terraform project and CloudFormation template under fixtures/, and the plan."""
    require_tool(_checkov_available(), "checkov")
    projects = sorted(p.name for p in (FIXTURES / "terraform").iterdir() if p.is_dir())
    for project in projects:
        shutil.copytree(FIXTURES / "terraform" / project, tmp_path / project)
    templates = sorted(p for p in (FIXTURES / "cloudformation").iterdir() if p.suffix != ".expect")
    for template in templates:  # one directory each: logical ids repeat across templates
        copy = shutil.copytree if template.is_dir() else shutil.copy
        (tmp_path / f"cfn-{template.name}").mkdir()
        copy(template, tmp_path / f"cfn-{template.name}" / template.name)
    (tmp_path / "plan").mkdir()
    shutil.copy(FIXTURES / "terraform-plan" / "plan.json", tmp_path / "plan")
    plan_with_unknown_block(tmp_path / "plan-unknown" / "plan.json")
    found, _, _ = run_imds_iac(tmp_path)
    results = aligned(run_checkov(tmp_path), found)

    assert failed(results) - found == ONLY_CHECKOV
    assert found - failed(results) == ONLY_IMDS_IAC
    for key in ONLY_IMDS_IAC:
        assert results.get(key) in ("PASSED", None)
    # the fixtures the issue names agree exactly, and are not trivially empty
    for project in ("storefront", "cfn-web-stack.yaml", "plan"):
        mine = {key for key in found if key[0] == project}
        assert mine, project
        assert {key for key in failed(results) if key[0] == project} == mine
    # remote-modules has no resource of its own: its instances are in modules not on disk
    # (imds-iac's IMDS004 warnings, which checkov has no check for).
    seen = {*projects, *(f"cfn-{t.name}" for t in templates)} - {"remote-modules"}
    assert {key[0] for key in results} >= seen


# --- the plugin's files and conversion (no checkov needed) --------------------------------------


def test_plugin_path_prints_a_loadable_directory() -> None:
    run = run_process("plugin-path", "checkov")
    directory = Path(run.out.strip())
    assert directory == PLUGIN
    assert (directory / "__init__.py").is_file()  # checkov loads only directories with one
    modules = sorted(p.name for p in directory.glob("*.py") if p.name != "__init__.py")
    assert modules == ["imds_iac_cloudformation.py", "imds_iac_terraform.py"]
    for name in modules:  # loaded as standalone modules: no relative imports
        assert not re.search(r"^from \.", (directory / name).read_text(), re.M)


def test_check_ids_names_and_guidelines() -> None:
    info = checkov_targets.check_info("IMDS002")
    assert info.check_id == "CKV_IMDS_2"
    assert info.name == "IMDSv2 session tokens are not required (imds-iac IMDS002)"
    assert info.guideline == "https://github.com/imds-iac/imds-iac/blob/main/docs/rules/IMDS002.md"
    assert [checkov_targets.check_id(r) for r in checkov_targets.rule_ids()] == [
        "CKV_IMDS_1",
        "CKV_IMDS_2",
        "CKV_IMDS_3",
        "CKV_IMDS_9",
        "CKV_IMDS_10",
    ]
    # AMIs: Terraform only (CloudFormation registers none), and only on AMI resource types.
    assert checkov_targets.rule_ids("cloudformation") == (
        "IMDS001",
        "IMDS002",
        "IMDS003",
        "IMDS010",
    )
    # Organizations policies: the guardrail rule's statements, declarative policies' defaults.
    assert checkov_targets.terraform_types("IMDS010") == ("aws_organizations_policy",)
    assert "aws_organizations_policy" in checkov_targets.terraform_types("IMDS002")
    assert "AWS::Organizations::Policy" in checkov_targets.cloudformation_types("IMDS003")
    assert "AWS::Organizations::Policy" not in checkov_targets.cloudformation_types("IMDS001")
    assert checkov_targets.terraform_types("IMDS009") == ("aws_ami",)
    assert "aws_ami" not in checkov_targets.terraform_types("IMDS002")


def _tf(conf: dict[str, Any], rule: str, kind: str = "aws_instance", hop: int = 1) -> str:
    target = checkov_targets.terraform_target(conf, kind)
    assert target is not None
    return checkov_targets.verdict([target], rule, hop)


def test_terraform_conf_conversion() -> None:
    options = {"metadata_options": [{"http_tokens": ["optional"]}]}
    assert _tf(options, "IMDS002") == "FAILED"
    assert _tf({"metadata_options": [{"http_tokens": ["required"]}]}, "IMDS002") == "PASSED"
    assert _tf({"metadata_options": [{"http_tokens": ["var.x"]}]}, "IMDS002") == "UNKNOWN"
    assert _tf({"metadata_options": [{"http_tokens": ["${var.x}"]}]}, "IMDS002") == "UNKNOWN"
    conditional = {"metadata_options": [{"http_tokens": ['var.a ? "required" : "optional"']}]}
    assert _tf(conditional, "IMDS002") == "FAILED"
    both_good = {"metadata_options": [{"http_tokens": ['var.a ? "required" : ("required")']}]}
    assert _tf(both_good, "IMDS002") == "PASSED"
    nested = 'var.a ? "required" : var.b == "x" ? "required" : "optional"'
    assert _tf({"metadata_options": [{"http_tokens": [nested]}]}, "IMDS002") == "FAILED"
    not_literal = 'var.a ? "required" : lookup(var.m, "k")'
    assert _tf({"metadata_options": [{"http_tokens": [not_literal]}]}, "IMDS002") == "UNKNOWN"
    hop = {"metadata_options": [{"http_tokens": ["required"], "http_put_response_hop_limit": [2]}]}
    assert _tf(hop, "IMDS003") == "FAILED"
    assert _tf(hop, "IMDS003", hop=2) == "PASSED"
    # plan JSON as checkov presents it: an empty block list, a block known only after apply
    assert _tf({"metadata_options": [[]], "__change_actions__": ["create"]}, "IMDS001") == "FAILED"
    after_apply = {"metadata_options": ["true_after_unknown"], "__change_actions__": ["create"]}
    assert _tf(after_apply, "IMDS001") == "UNKNOWN"
    defaults = {"http_tokens": ["required"], "http_put_response_hop_limit": [-1]}
    assert _tf(defaults, "IMDS003", "aws_ec2_instance_metadata_defaults") == "PASSED"
    assert _tf({"launch_template": [{"id": ["lt-1"]}]}, "IMDS001") == "PASSED"


def test_cloudformation_conf_conversion() -> None:
    def verdict(props: dict[str, Any], rule: str, kind: str = "AWS::EC2::Instance") -> str:
        conf = {"Type": kind, "Properties": {**props, "__startline__": 1, "__endline__": 2}}
        targets = checkov_targets.cloudformation_targets(conf, kind)
        return checkov_targets.verdict(targets, rule, 1)

    assert verdict({}, "IMDS001") == "FAILED"
    if_ = {"Fn::If": ["C", "required", {"Ref": "AWS::NoValue"}], "__startline__": 3}
    assert verdict({"MetadataOptions": {"HttpTokens": if_}}, "IMDS002") == "FAILED"
    assert verdict({"MetadataOptions": {"HttpTokens": {"Ref": "P"}}}, "IMDS002") == "UNKNOWN"
    assert verdict({"DisableIMDSV1": True}, "IMDS002", "AWS::AppStream::Fleet") == "PASSED"
    assert verdict({"DisableIMDSV1": "false"}, "IMDS002", "AWS::AppStream::Fleet") == "FAILED"


def test_hop_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(checkov_targets.HOP_LIMIT_ENV, "2")
    assert checkov_targets.hop_limit() == 2
    monkeypatch.setenv(checkov_targets.HOP_LIMIT_ENV, "0")
    with pytest.raises(ValueError, match="IMDS_IAC_HOP_LIMIT"):
        checkov_targets.hop_limit()
    monkeypatch.delenv(checkov_targets.HOP_LIMIT_ENV)
    assert checkov_targets.hop_limit() == 1


# --- Organizations policies: guardrails (SCPs) and EC2 declarative policies ----------------------

# The checks on Organizations policies: the rule that judges statements, and the rules on the
# account defaults an EC2 declarative policy sets (those whose check runs on the policy type).
POLICY_CHECK = next(rule.checkov for rule in REGISTRY.values() if rule.policy and rule.checkov)
POLICY_RULE = CHECK_RULES[POLICY_CHECK]
DEFAULTS_CHECKS = [
    rule.checkov
    for rule in REGISTRY.values()
    if rule.checkov
    and rule.policy is None
    and checkov_targets.TERRAFORM_POLICY in checkov_targets.terraform_types(rule.id)
]

# How org repositories write SCPs and declarative policies in Terraform.
TERRAFORM_POLICIES = """
variable "max_hop_limit" {
  description = "The highest hop limit launches may ask for"
  type        = number
  default     = 2
}

variable "container_hop_limit" {
  description = "Set per environment in the pipeline"
  type        = number
}

locals {
  tokens = "required"
}

# jsonencode: checkov evaluates it (and var.max_hop_limit) into a mapping
resource "aws_organizations_policy" "jsonencode" {
  name = "imdsv2-guardrails"
  type = "SERVICE_CONTROL_POLICY"
  content = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "RequireImdsV2"
        Effect   = "Deny"
        Action   = "ec2:RunInstances"
        Resource = "arn:aws:ec2:*:*:instance/*"
        Condition = {
          StringNotEquals = {
            "ec2:MetadataHttpTokens" = local.tokens
          }
        }
      },
      {
        Sid      = "MaxImdsHopLimit"
        Effect   = "Deny"
        Action   = "ec2:RunInstances"
        Resource = "arn:aws:ec2:*:*:instance/*"
        Condition = {
          NumericGreaterThan = {
            "ec2:MetadataHttpPutResponseHopLimit" = var.max_hop_limit
          }
        }
      },
    ]
  })
}

# a heredoc: checkov parses the JSON into a mapping
resource "aws_organizations_policy" "heredoc" {
  name    = "imdsv2-launches"
  content = <<EOT
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "RequireImdsV2",
      "Effect": "Deny",
      "Action": "ec2:RunInstances",
      "Resource": "arn:aws:ec2:*:*:instance/*",
      "Condition": {"StringEquals": {"ec2:MetadataHttpTokens": "required"}}
    }
  ]
}
EOT
}

resource "aws_organizations_policy" "heredoc_interpolated" {
  name    = "imdsv2-launches-interpolated"
  content = <<-EOT
    {
      "Version": "2012-10-17",
      "Statement": {
        "Effect": "Deny",
        "Action": "ec2:RunInstances",
        "Resource": "arn:aws:ec2:*:*:instance/*",
        "Condition": {"StringNotEquals": {"ec2:MetadataHttpTokens": "${local.tokens}"}}
      }
    }
  EOT
}

# a variable checkov cannot resolve: not judged
resource "aws_organizations_policy" "unresolved" {
  name = "imdsv2-hop-limit"
  content = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Deny"
      Action    = "ec2:RunInstances"
      Resource  = "arn:aws:ec2:*:*:instance/*"
      Condition = {
        NumericGreaterThan = { "ec2:MetadataHttpPutResponseHopLimit" = var.container_hop_limit }
      }
    }]
  })
}

# checkov does not evaluate data.aws_iam_policy_document nor file(): not judged
data "aws_iam_policy_document" "imds" {
  statement {
    sid       = "RequireImdsV2"
    effect    = "Deny"
    actions   = ["ec2:RunInstances"]
    resources = ["arn:aws:ec2:*:*:instance/*"]
    condition {
      test     = "StringEquals"
      variable = "ec2:MetadataHttpTokens"
      values   = ["optional"]
    }
  }
}

resource "aws_organizations_policy" "document" {
  name    = "imdsv2-document"
  content = data.aws_iam_policy_document.imds.json
}

resource "aws_organizations_policy" "from_file" {
  name    = "imdsv2-file"
  content = file("${path.module}/policies/imdsv2.json")
}

resource "aws_organizations_policy" "ec2_defaults" {
  name = "ec2-imds-defaults"
  type = "DECLARATIVE_POLICY_EC2"
  content = jsonencode({
    ec2_attributes = {
      instance_metadata_defaults = {
        http_tokens                 = { "@@assign" = "optional" }
        http_put_response_hop_limit = { "@@assign" = "2" }
      }
    }
  })
}

resource "aws_organizations_policy" "tags" {
  name    = "tag-policy"
  type    = "TAG_POLICY"
  content = jsonencode({ tags = { team = { tag_key = { "@@assign" = "Team" } } } })
}
"""


@pytest.mark.slow
def test_guardrail_and_declarative_policies(cli: Any, tmp_path: Path) -> None:
    """The policy check fails weakened SCPs, the account-defaults checks fail weak declarative
    policies, ``imds-iac scp`` output passes, and what checkov could not evaluate gets no
    result. On CloudFormation, checkov's failures are ``imds-iac check``'s findings."""
    require_tool(_checkov_available(), "checkov")
    write(tmp_path, "tf-policies/main.tf", TERRAFORM_POLICIES)
    write(
        tmp_path,
        "tf-policies/policies/imdsv2.json",
        (FIXTURES / "guardrails" / "deny-optional-tokens.json").read_text(),
    )
    guardrails = FIXTURES / "guardrails" / "cloudformation"
    (tmp_path / "cfn-guardrails").mkdir()
    for name in ("imds-guardrails.yaml", "imds-guardrails.json"):
        shutil.copy(guardrails / name, tmp_path / "cfn-guardrails" / name)
    generated = {
        "tf-scp/main.tf": ["--format", "terraform"],
        "tf-split/main.tf": ["--format", "terraform", "--split", "--target", "ou-ab12-test0001"],
        "tf-defaults/main.tf": ["--declarative", "--format", "terraform"],
        "cfn-scp/scp.yaml": [
            "--format",
            "cloudformation",
            "--exempt-principal",
            "arn:aws:iam::*:role/BreakGlass",
        ],
        "cfn-defaults/defaults.yaml": ["--declarative", "--format", "cloudformation"],
    }
    for name, args in generated.items():
        run = cli("scp", "-q", *args)
        assert run.code == 0, run.err
        write(tmp_path, name, run.out)
    checks = ",".join([POLICY_CHECK, *DEFAULTS_CHECKS])
    results = run_checkov(tmp_path, checks=checks)

    defaults = [CHECK_RULES[c] for c in DEFAULTS_CHECKS]
    tokens, hop = sorted(defaults)  # the rules on tokens and on the hop limit
    tf = {(rule, res): v for (project, rule, res), v in results.items() if project == "tf-policies"}
    assert tf == {
        (POLICY_RULE, "aws_organizations_policy.jsonencode"): "FAILED",  # hop limit 2
        (POLICY_RULE, "aws_organizations_policy.heredoc"): "FAILED",  # StringEquals required
        (POLICY_RULE, "aws_organizations_policy.heredoc_interpolated"): "PASSED",
        (tokens, "aws_organizations_policy.ec2_defaults"): "FAILED",
        (hop, "aws_organizations_policy.ec2_defaults"): "FAILED",
        # content = data.aws_iam_policy_document.imds.json is text to checkov: the data check
        # judges the document itself (StringEquals optional)
        (POLICY_RULE, "aws_iam_policy_document.imds"): "FAILED",
    }  # unresolved, document, from_file, tags: UNKNOWN, not in checkov's report
    # imds-iac scp's output passes every check that runs on it.
    for project in ("tf-scp", "tf-split", "tf-defaults", "cfn-scp", "cfn-defaults"):
        mine = {key: v for key, v in results.items() if key[0] == project}
        assert mine and set(mine.values()) == {"PASSED"}, (project, mine)
    assert len([k for k in results if k[0] == "tf-split"]) == 4  # one policy per statement
    assert {k[1] for k in results if k[0] == "tf-defaults"} == set(defaults)

    # CloudFormation: the same verdicts as imds-iac check (Content as a mapping, a JSON string,
    # Fn::Sub of a JSON string, a declarative policy in a block scalar and in a JSON string).
    found, _, _ = run_imds_iac(tmp_path / "cfn-guardrails")
    found = {
        ("cfn-guardrails", rule, res) for _, rule, res in found if rule in CHECK_RULES.values()
    }
    cfn = {key: v for key, v in results.items() if key[0] == "cfn-guardrails"}
    assert (
        failed(cfn)
        == found
        == {
            ("cfn-guardrails", POLICY_RULE, "ImdsV2ServiceControlPolicy"),
            ("cfn-guardrails", tokens, "Ec2InstanceMetadataDefaults"),
            ("cfn-guardrails", hop, "Ec2InstanceMetadataDefaults"),
            ("cfn-guardrails", tokens, "SandboxImdsDefaults"),
        }
    )
    assert cfn[("cfn-guardrails", POLICY_RULE, "SandboxRoleCredentialsScp")] == "PASSED"  # Fn::Sub
    assert cfn[("cfn-guardrails", POLICY_RULE, "SandboxImdsScp")] == "PASSED"  # a JSON string
    assert cfn[("cfn-guardrails", hop, "SandboxImdsDefaults")] == "PASSED"  # -1: no preference


def test_organizations_policy_conversion() -> None:
    """Organizations policies as checkov 3.3 hands them over (recorded from real runs)."""

    def tf(content: Any, rule: str = POLICY_RULE, type_: str | None = None, hop: int = 1) -> str:
        conf: dict[str, Any] = {"content": [content], "__address__": "aws_organizations_policy.x"}
        if type_ is not None:
            conf["type"] = [type_]
        return checkov_targets.organizations_verdict(conf, "terraform", rule, hop)

    def cfn(content: Any, rule: str = POLICY_RULE, type_: str = "SERVICE_CONTROL_POLICY") -> str:
        props = {"Type": type_, "Content": content, "__startline__": 3, "__endline__": 9}
        conf = {"Type": "AWS::Organizations::Policy", "Properties": props}
        return checkov_targets.organizations_verdict(conf, "cloudformation", rule, 1)

    def statement(operator: str, key: str, value: Any) -> dict[str, Any]:
        return {
            "Effect": "Deny",
            "Action": "ec2:RunInstances",
            "Resource": "arn:aws:ec2:*:*:instance/*",
            "Condition": {operator: {key: value}},
        }

    tokens, hop = "ec2:MetadataHttpTokens", "ec2:MetadataHttpPutResponseHopLimit"
    # jsonencode({...}): checkov evaluates "2012-10-17" as arithmetic (1985); it is not read
    good = {"Version": 1985, "Statement": [statement("StringNotEquals", tokens, "required")]}
    weak = {"Version": 1985, "Statement": [statement("StringEquals", tokens, "optional")]}
    assert tf(good) == "PASSED"
    assert tf(weak) == "FAILED"
    assert tf(weak, type_="SERVICE_CONTROL_POLICY") == "FAILED"  # the type's default
    assert tf({"Statement": statement("NumericGreaterThan", hop, 2)}) == "FAILED"
    assert tf({"Statement": statement("NumericGreaterThan", hop, 2)}, hop=2) == "PASSED"
    # a variable checkov could not resolve stays as its text: not judged
    assert tf({"Statement": statement("NumericGreaterThan", hop, "var.hop")}) == "UNKNOWN"
    assert tf({"Statement": statement("StringNotEquals", tokens, "${var.t}")}) == "UNKNOWN"
    # the document as an expression checkov did not evaluate
    assert tf("data.aws_iam_policy_document.imds.json") == "UNKNOWN"
    assert tf('${file("${path.module}/scp.json")}') == "UNKNOWN"
    # a JSON string (the rendered document)
    assert tf(json.dumps(weak)) == "FAILED"
    # an SCP that names nothing a guardrail reads is not a guardrail (as imds-iac check keeps
    # only those that do); a tag policy is not this check's either
    assert (
        tf(
            {
                "Statement": {
                    "Effect": "Deny",
                    "Action": "organizations:LeaveOrganization",
                    "Resource": "*",
                }
            }
        )
        == "UNKNOWN"
    )
    assert tf({"tags": {}}, type_="TAG_POLICY") == "UNKNOWN"

    # CloudFormation: a mapping with checkov's line keys, a JSON string, Fn::Sub, a Ref
    lines = {"__file__": "stack.yaml", "__startline__": 10, "__endline__": 12}
    weak_map = {"Statement": [{**statement("StringEquals", tokens, "optional"), **lines}], **lines}
    assert cfn(weak_map) == "FAILED"
    assert cfn(json.dumps(good)) == "PASSED"
    sub = json.dumps({"Statement": statement("StringNotEquals", tokens, "${Tokens}")})
    assert cfn({"Fn::Sub": sub, **lines}) == "UNKNOWN"  # ${Tokens}: known at deploy time
    assert cfn({"Fn::Sub": json.dumps(good)}) == "PASSED"
    assert cfn({"Ref": "PolicyDocument"}) == "UNKNOWN"
    assert cfn({"Statement": statement("StringNotEquals", tokens, {"Ref": "Tokens"})}) == "UNKNOWN"

    # EC2 declarative policies: their account defaults, judged by the rules on the settings
    defaults_rules = sorted(CHECK_RULES[c] for c in DEFAULTS_CHECKS)
    declarative = {
        "ec2_attributes": {
            "instance_metadata_defaults": {
                "http_tokens": {"@@assign": "optional"},
                "http_put_response_hop_limit": {"@@assign": "-1"},
            }
        }
    }
    assert [tf(declarative, r, "DECLARATIVE_POLICY_EC2") for r in defaults_rules] == [
        "FAILED",
        "PASSED",  # -1: no preference
    ]
    assert tf(declarative, POLICY_RULE, "DECLARATIVE_POLICY_EC2") == "UNKNOWN"
    as_string = json.dumps(declarative)
    assert cfn(as_string, defaults_rules[0], "DECLARATIVE_POLICY_EC2") == "FAILED"
    assert cfn({"ec2_attributes": {}}, defaults_rules[0], "DECLARATIVE_POLICY_EC2") == "UNKNOWN"
    # an SCP is not the account-defaults checks'
    assert tf(good, defaults_rules[0]) == "UNKNOWN"
    assert checkov_targets.evaluated_keys("terraform", "aws_organizations_policy", POLICY_RULE) == [
        "content"
    ]


def test_policy_document_data_source_conversion() -> None:
    """``data "aws_iam_policy_document"`` as checkov 3.3 hands it to a data check."""

    def document(*statements: dict[str, Any], **more: Any) -> str:
        conf = {"statement": list(statements), "__address__": "aws_iam_policy_document.imds"}
        return checkov_targets.document_verdict({**conf, **more}, POLICY_RULE, 1)

    def launch(test: str, variable: str, values: list[Any], **more: Any) -> dict[str, Any]:
        condition = {"test": [test], "variable": [variable], "values": [values]}
        return {
            "sid": ["RequireImdsV2"],
            "effect": ["Deny"],
            "actions": [["ec2:RunInstances"]],
            "resources": [["arn:aws:ec2:*:*:instance/*"]],
            "condition": [condition],
            **more,
        }

    tokens = "ec2:MetadataHttpTokens"
    assert document(launch("StringNotEquals", tokens, ["required"])) == "PASSED"
    assert document(launch("StringEquals", tokens, ["optional"])) == "FAILED"
    # effect left out: the data source's default, Allow, never denies
    no_effect = launch("StringNotEquals", tokens, ["required"])
    del no_effect["effect"]
    assert document(no_effect) == "FAILED"
    # a resolved variable (checkov substitutes defaults), an unresolved one
    hop = "ec2:MetadataHttpPutResponseHopLimit"
    assert document(launch("NumericGreaterThan", hop, [2])) == "FAILED"
    assert document(launch("NumericGreaterThan", hop, [1])) == "PASSED"
    assert document(launch("NumericGreaterThan", hop, ["var.hop"])) == "UNKNOWN"
    # statements from other documents are not at hand: passing is not known
    merged = {"source_policy_documents": [["data.aws_iam_policy_document.base.json"]]}
    assert document(launch("StringNotEquals", tokens, ["required"]), **merged) == "UNKNOWN"
    assert document(launch("StringEquals", tokens, ["optional"]), **merged) == "FAILED"
    # an IAM policy that guards nothing of IMDS (an assume-role policy) is not a guardrail
    assume = {"actions": [["sts:AssumeRole"]], "principals": [{"type": ["Service"]}]}
    assert document(assume) == "UNKNOWN"
    assert checkov_targets.document_rule_ids() == (POLICY_RULE,)
