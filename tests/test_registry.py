"""Registry modules: well-known ones judged by their versioned defaults, downloaded ones
evaluated from .terraform/modules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imds_iac_checks.formats.terraform.registry import sides
from tests.conftest import findings, write


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        (None, (False, True)),
        ("5.7.0", (True, False)),
        ("5.8.0", (False, True)),
        ("~> 5.0", (True, True)),
        ("~> 5.8", (False, True)),
        ("~> 5.7.0", (True, False)),
        (">= 5.0, < 5.8", (True, False)),
        (">= 5.8", (False, True)),
        ("~> 6.0", (False, True)),
        ("~> 4.3", (True, False)),
        ("< 6", (True, True)),
    ],
)
def test_version_sides(constraint: str | None, expected: tuple[bool, bool]) -> None:
    assert sides(constraint, (5, 8)) == expected


CALLS = """
module "legacy_instance" {
  source  = "terraform-aws-modules/ec2-instance/aws"
  version = "5.7.1"
  name    = "legacy"
}

module "current_instance" {
  source  = "terraform-aws-modules/ec2-instance/aws"
  version = "~> 6.0"
  name    = "current"

  metadata_options = {
    http_put_response_hop_limit = 2
  }
}

module "any_five" {
  source  = "terraform-aws-modules/ec2-instance/aws"
  version = "~> 5.0"
  name    = "any"
}

module "old_asg" {
  source  = "terraform-aws-modules/autoscaling/aws"
  version = "~> 8.0"
  name    = "old"
}

module "nodes" {
  source  = "terraform-aws-modules/eks/aws//modules/eks-managed-node-group"
  version = "~> 20.0"
  name    = "nodes"
}

module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "~> 5.0"
}
"""


def test_well_known_registry_modules(cli, tmp_path: Path) -> None:
    write(tmp_path, "main.tf", CALLS)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert findings(run) == [
        ("IMDS002", "module.legacy_instance.aws_instance.this[0]", 3),  # version = "5.7.1"
        ("IMDS003", "module.current_instance.aws_instance.this[0]", 13),  # the hop input
        ("IMDS002", "module.any_five.aws_instance.this[0]", 19),  # version = "~> 5.0"
        ("IMDS001", "module.old_asg.aws_launch_template.this[0]", 23),  # the call
        ("IMDS003", "module.nodes.aws_launch_template.this[0]", 31),  # version = "~> 20.0"
    ]
    by = {f["resource"]: f["message"] for f in run.json()["findings"]}
    assert (
        "default of terraform-aws-modules/ec2-instance/aws 5.7.1"
        in by["module.legacy_instance.aws_instance.this[0]"]
    )
    assert "when module version < 5.8" in by["module.any_five.aws_instance.this[0]"]


def test_downloaded_modules_are_evaluated_from_their_code(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """
        module "app" {
          source  = "example-corp/app/aws"
          version = "1.2.0"
          tokens  = "optional"
        }
        """,
    )
    write(
        tmp_path,
        ".terraform/modules/app/main.tf",
        """
        variable "tokens" {
          default = "required"
        }

        resource "aws_launch_template" "this" {
          metadata_options {
            http_tokens = var.tokens
          }
        }
        """,
    )
    manifest = {
        "Modules": [
            {"Key": "", "Source": "", "Dir": "."},
            {
                "Key": "app",
                "Source": "registry.terraform.io/example-corp/app/aws",
                "Version": "1.2.0",
                "Dir": ".terraform/modules/app",
            },
        ]
    }
    (tmp_path / ".terraform" / "modules" / "modules.json").write_text(json.dumps(manifest))
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert findings(run) == [("IMDS002", "module.app.aws_launch_template.this", 4)]
