"""Issue 2 acceptance: ``imds-iac check --format json`` gives exactly the expected findings for
each case, with the line of the offending value (or of the resource header when a setting is
missing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import findings, write

CASES = r"""
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

data "aws_ami" "al2023" {
  most_recent = true
  owners      = ["amazon"]
}

# No metadata_options at all: IMDSv1 stays allowed.
resource "aws_instance" "no_block" {
  ami           = data.aws_ami.al2023.id
  instance_type = "t3.micro"
}

resource "aws_instance" "empty_block" {
  ami           = data.aws_ami.al2023.id
  instance_type = "t3.micro"

  metadata_options {}
}

resource "aws_instance" "without_tokens" {
  ami           = data.aws_ami.al2023.id
  instance_type = "t3.micro"

  metadata_options {
    http_endpoint               = "enabled"
    http_put_response_hop_limit = 1
  }
}

resource "aws_instance" "optional" {
  ami           = data.aws_ami.al2023.id
  instance_type = "t3.micro"

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "optional" # legacy agent still uses IMDSv1
  }
}

resource "aws_instance" "required" {
  ami           = data.aws_ami.al2023.id
  instance_type = "t3.micro"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "enabled"
  }
}

resource "aws_instance" "endpoint_disabled" {
  ami           = data.aws_ami.al2023.id
  instance_type = "t3.micro"

  metadata_options {
    http_endpoint = "disabled"
    http_tokens   = "optional"
  }
}

resource "aws_instance" "hop_3" {
  ami           = data.aws_ami.al2023.id
  instance_type = "t3.micro"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 3
  }
}

resource "aws_instance" "hop_string" {
  ami           = data.aws_ami.al2023.id
  instance_type = "t3.micro"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = "2"
  }
}

resource "aws_instance" "optional_hop_5" {
  ami           = data.aws_ami.al2023.id
  instance_type = "t3.micro"

  metadata_options {
    http_tokens                 = "optional"
    http_put_response_hop_limit = 5
  }
}

resource "aws_s3_bucket" "logs" {
  bucket = "example-logs"
}

resource "aws_security_group" "web" {
  name = "web"

  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_autoscaling_group" "web" {
  min_size = 1
  max_size = 3

  launch_template {
    id      = "lt-0123456789abcdef0"
    version = "$Latest"
  }
}
"""


def line_of(text: str, needle: str, after: str = "") -> int:
    """1-based line of the first ``needle`` after the first ``after``."""
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


@pytest.fixture
def cases(tmp_path: Path) -> tuple[Path, str]:
    path = write(tmp_path, "main.tf", CASES)
    return path, path.read_text()


def test_each_case_gives_exactly_the_expected_findings(cli, cases) -> None:
    path, text = cases
    run = cli("check", "--format", "json", str(path), cwd=path.parent)
    header = lambda name: line_of(text, f'"{name}" {{')  # noqa: E731
    block = lambda name: line_of(text, "metadata_options", f'"{name}" {{')  # noqa: E731
    expected = [
        ("IMDS001", "aws_instance.no_block", header("no_block")),
        # A block that lacks http_tokens: the finding is on the block, not the resource.
        ("IMDS002", "aws_instance.empty_block", block("empty_block")),
        ("IMDS002", "aws_instance.without_tokens", block("without_tokens")),
        ("IMDS002", "aws_instance.optional", line_of(text, '"optional" #', '"optional" {')),
        ("IMDS003", "aws_instance.hop_3", line_of(text, "= 3", '"hop_3"')),
        ("IMDS003", "aws_instance.hop_string", line_of(text, '= "2"', '"hop_string"')),
        ("IMDS002", "aws_instance.optional_hop_5", line_of(text, '"optional"', '"optional_hop_5"')),
        ("IMDS003", "aws_instance.optional_hop_5", line_of(text, "= 5", '"optional_hop_5"')),
        # A group that names a template outside the scanned code: not a silent pass.
        ("IMDS004", "aws_autoscaling_group.web", line_of(text, '"lt-0123', '"web" {')),
    ]
    assert findings(run) == expected
    assert run.code == 1
    doc = run.json()
    # The nine aws_instance resources and the Auto Scaling group; the rest is silent.
    assert doc["summary"]["targets"] == 10
    assert doc["summary"]["by_rule"] == {
        "IMDS001": 1,
        "IMDS002": 4,
        "IMDS003": 3,
        "IMDS004": 1,
        "IMDS005": 0,
        "IMDS006": 0,
        "IMDS007": 0,
        "IMDS008": 0,
        "IMDS009": 0,
        "IMDS010": 0,
    }
    assert doc["errors"] == []


def test_json_finding_fields(cli, cases) -> None:
    path, text = cases
    doc = cli("check", "--format", "json", "main.tf", cwd=path.parent).json()
    assert doc["version"] == 1
    assert doc["tool"]["name"] == "imds-iac"
    optional = next(f for f in doc["findings"] if f["resource"] == "aws_instance.optional")
    line = line_of(text, '"optional" #', '"optional" {')
    column = text.split("\n")[line - 1].index('"optional"') + 1
    assert optional == {
        "rule_id": "IMDS002",
        "url": "https://github.com/imds-iac/imds-iac/blob/main/docs/rules/IMDS002.md",
        "severity": "error",
        "message": '[aws_instance.optional] http_tokens is "optional"; set it to "required"',
        "path": "main.tf",
        "line": line,
        "column": column,
        "end_line": line,
        "end_column": column + len('"optional"'),
        "resource": "aws_instance.optional",
        "kind": "aws_instance",
        "fixable": True,
        "fix": "safe",
        "fix_note": None,
        "suppressed": None,
    }
    missing = next(f for f in doc["findings"] if f["resource"] == "aws_instance.no_block")
    assert (missing["line"], missing["column"]) == (line_of(text, '"no_block"'), 1)
    assert missing["message"].startswith("[aws_instance.no_block] no metadata_options block")


def test_hop_limit_threshold_is_configurable(cli, cases) -> None:
    path, _ = cases
    run = cli("check", "--format", "json", "--hop-limit", "2", "main.tf", cwd=path.parent)
    hop = [(r, res) for r, res, _ in findings(run) if r == "IMDS003"]
    assert hop == [("IMDS003", "aws_instance.hop_3"), ("IMDS003", "aws_instance.optional_hop_5")]
    run = cli("check", "--format", "json", "--hop-limit", "5", "main.tf", cwd=path.parent)
    assert not [f for f in findings(run) if f[0] == "IMDS003"]


KINDS = r"""
resource "aws_spot_instance_request" "worker" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "c5.large"
  spot_price    = "0.05"

  metadata_options {
    http_tokens = "optional"
  }
}

resource "aws_spot_instance_request" "worker_ok" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "c5.large"

  metadata_options {
    http_tokens = "required"
  }
}

resource "aws_launch_template" "app" {
  name_prefix   = "app-"
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "m5.large"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }
}

resource "aws_launch_template" "bare" {
  name_prefix = "bare-"
  image_id    = "ami-0c55b159cbfafe1f0"
}

resource "aws_launch_configuration" "legacy" {
  name_prefix   = "legacy-"
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.small"

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_launch_configuration" "legacy_ok" {
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.small"

  metadata_options {
    http_tokens = "required"
  }
}

resource "aws_imagebuilder_infrastructure_configuration" "docker_builds" {
  name                  = "docker-builds"
  instance_profile_name = "imagebuilder"
  instance_types        = ["m5.large"]

  instance_metadata_options {
    http_put_response_hop_limit = 2
    http_tokens                 = "required"
  }
}

resource "aws_imagebuilder_infrastructure_configuration" "no_options" {
  name                  = "plain"
  instance_profile_name = "imagebuilder"
}

resource "aws_sagemaker_notebook_instance" "v1" {
  name          = "research"
  role_arn      = "arn:aws:iam::123456789012:role/sagemaker"
  instance_type = "ml.t3.medium"

  instance_metadata_service_configuration {
    minimum_instance_metadata_service_version = "1"
  }
}

resource "aws_sagemaker_notebook_instance" "v2" {
  name          = "research-v2"
  role_arn      = "arn:aws:iam::123456789012:role/sagemaker"
  instance_type = "ml.t3.medium"

  instance_metadata_service_configuration {
    minimum_instance_metadata_service_version = "2"
  }
}

resource "aws_sagemaker_notebook_instance" "none" {
  name          = "research-none"
  role_arn      = "arn:aws:iam::123456789012:role/sagemaker"
  instance_type = "ml.t3.medium"
}

resource "aws_ec2_instance_metadata_defaults" "enforced" {
  http_tokens                 = "required"
  http_put_response_hop_limit = 1
}

resource "aws_ec2_instance_metadata_defaults" "no_preference" {
  provider                    = aws.eu
  http_tokens                 = "no-preference"
  http_put_response_hop_limit = -1
}

resource "aws_ec2_instance_metadata_defaults" "empty" {
  provider = aws.us
}

resource "aws_ec2_instance_metadata_defaults" "hop_4" {
  provider                    = aws.ap
  http_tokens                 = "required"
  http_put_response_hop_limit = 4
}

resource "aws_eks_node_group" "nodes" {
  cluster_name  = "main"
  node_role_arn = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids    = ["subnet-1"]

  launch_template {
    id      = aws_launch_template.app.id
    version = aws_launch_template.app.latest_version
  }
}

resource "aws_eks_node_group" "default_template" {
  cluster_name  = "main"
  node_role_arn = "arn:aws:iam::123456789012:role/nodes"
  subnet_ids    = ["subnet-1"]

  scaling_config {
    desired_size = 2
    max_size     = 3
    min_size     = 1
  }
}
"""


def test_every_resource_kind(cli, tmp_path: Path) -> None:
    path = write(tmp_path, "kinds.tf", KINDS)
    text = path.read_text()
    run = cli("check", "--format", "json", "kinds.tf", cwd=tmp_path)
    expected = [
        ("IMDS002", "aws_spot_instance_request.worker", line_of(text, '"optional"')),
        ("IMDS003", "aws_launch_template.app", line_of(text, "= 2", '"app"')),
        ("IMDS001", "aws_launch_template.bare", line_of(text, '"bare" {')),
        ("IMDS001", "aws_launch_configuration.legacy", line_of(text, '"legacy" {')),
        (
            "IMDS003",
            "aws_imagebuilder_infrastructure_configuration.docker_builds",
            line_of(text, "= 2", '"docker_builds"'),
        ),
        (
            "IMDS001",
            "aws_imagebuilder_infrastructure_configuration.no_options",
            line_of(text, '"no_options" {'),
        ),
        ("IMDS002", "aws_sagemaker_notebook_instance.v1", line_of(text, '= "1"', '"v1"')),
        ("IMDS001", "aws_sagemaker_notebook_instance.none", line_of(text, '"none" {')),
        (
            "IMDS002",
            "aws_ec2_instance_metadata_defaults.no_preference",
            line_of(text, '"no-preference"'),
        ),
        ("IMDS002", "aws_ec2_instance_metadata_defaults.empty", line_of(text, '"empty" {')),
        ("IMDS003", "aws_ec2_instance_metadata_defaults.hop_4", line_of(text, "= 4", '"hop_4"')),
        # EKS's own launch template: no metadata options anywhere in the code (issue 15).
        ("IMDS006", "aws_eks_node_group.default_template", line_of(text, '"default_template" {')),
    ]
    assert findings(run) == expected
    messages = {f["resource"]: f["message"] for f in run.json()["findings"]}
    assert messages["aws_sagemaker_notebook_instance.v1"].endswith(
        'minimum_instance_metadata_service_version is "1"; set it to "2"'
    )
    assert (
        "no instance_metadata_options block"
        in messages["aws_imagebuilder_infrastructure_configuration.no_options"]
    )
    assert "(launch template of aws_eks_node_group.nodes)" in messages["aws_launch_template.app"]
    assert run.json()["summary"]["targets"] == 17


def test_unrelated_resources_are_silent(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "network.tf",
        """
        resource "aws_vpc" "main" {
          cidr_block = "10.0.0.0/16"
        }

        module "ec2" {
          source = "terraform-aws-modules/ec2-instance/aws"
        }

        data "aws_instance" "existing" {
          instance_id = "i-0123456789abcdef0"
        }
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert run.code == 0
    assert run.json()["findings"] == []
    assert run.json()["summary"]["files_scanned"] == 1
    # The registry module is a target (its latest version requires tokens): no finding.
    assert run.json()["summary"]["targets"] == 1
