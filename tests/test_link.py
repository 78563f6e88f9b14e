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


# Issue 15, pattern 6: groups, fleets, EMR clusters and Beanstalk environments name what they
# take their settings from; the finding on that resource names them.
GROUPS = """
resource "aws_launch_template" "weak" {
  name_prefix = "weak-"
}

resource "aws_launch_configuration" "legacy" {
  name_prefix   = "legacy-"
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"
}

resource "aws_autoscaling_group" "mixed" {
  max_size = 4
  min_size = 1
  mixed_instances_policy {
    launch_template {
      launch_template_specification {
        launch_template_id = aws_launch_template.weak.id
      }
      override {
        instance_type = "m5.large"
      }
    }
  }
}

resource "aws_autoscaling_group" "legacy" {
  max_size             = 2
  min_size             = 1
  launch_configuration = aws_launch_configuration.legacy.name
}

resource "aws_ec2_fleet" "batch" {
  launch_template_config {
    launch_template_specification {
      launch_template_id = aws_launch_template.weak.id
      version            = "$Latest"
    }
  }
  target_capacity_specification {
    default_target_capacity_type = "spot"
    total_target_capacity        = 5
  }
}

resource "aws_emr_security_configuration" "v1" {
  name          = "v1"
  configuration = <<-EOT
    {"InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": 1}}
  EOT
}

resource "aws_emr_cluster" "analytics" {
  name                   = "analytics"
  release_label          = "emr-7.1.0"
  service_role           = "EMR_DefaultRole"
  security_configuration = aws_emr_security_configuration.v1.name
}
"""


def test_groups_fleets_and_clusters_are_named_on_what_they_use(cli, tmp_path: Path) -> None:
    write(tmp_path, "app/main.tf", GROUPS)
    run = cli("check", "--format", "json", "app", cwd=tmp_path)
    messages = {f["resource"]: f["message"] for f in run.json()["findings"]}
    assert sorted(messages) == [
        "aws_emr_security_configuration.v1",
        "aws_launch_configuration.legacy",
        "aws_launch_template.weak",
    ]
    assert messages["aws_launch_template.weak"].endswith(
        "(launch template of aws_autoscaling_group.mixed, aws_ec2_fleet.batch)"
    )
    assert messages["aws_launch_configuration.legacy"].endswith(
        "(launch configuration of aws_autoscaling_group.legacy)"
    )
    assert messages["aws_emr_security_configuration.v1"].endswith(
        "MinimumInstanceMetadataServiceVersion is 1; set it to 2 "
        "(security configuration of aws_emr_cluster.analytics)"
    )
    # The heredoc's JSON is edited in place by the fix.
    fixed = cli("fix", "app", cwd=tmp_path)
    assert fixed.code == 0, fixed.out
    text = (tmp_path / "app/main.tf").read_text()
    assert '"MinimumInstanceMetadataServiceVersion": 2' in text


def test_beanstalk_fix_adds_the_option(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "eb/main.tf",
        """
        resource "aws_elastic_beanstalk_environment" "web" {
          name                = "web-prod"
          application         = "web"
          solution_stack_name = "64bit Amazon Linux 2023 v6.1.0 running Node.js 20"
        }
        """,
    )
    write(
        tmp_path,
        "stack.yaml",
        """
        AWSTemplateFormatVersion: "2010-09-09"
        Resources:
          Env:
            Type: AWS::ElasticBeanstalk::Environment
            Properties:
              ApplicationName: web
              OptionSettings:
                - Namespace: aws:autoscaling:launchconfiguration
                  OptionName: InstanceType
                  Value: t3.small
        """,
    )
    before = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert [f["rule_id"] for f in before.json()["findings"]] == ["IMDS002", "IMDS002"]
    fixed = cli("fix", ".", cwd=tmp_path)
    assert fixed.code == 0, fixed.out
    hcl = (tmp_path / "eb/main.tf").read_text()
    assert 'name      = "DisableIMDSv1"' in hcl and 'value     = "true"' in hcl
    yaml = (tmp_path / "stack.yaml").read_text()
    assert "OptionName: DisableIMDSv1" in yaml
    after = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert after.code == 0 and after.json()["findings"] == []


MODULE_GROUP = """
variable "create_launch_template" {
  type    = bool
  default = true
}

variable "launch_template_id" {
  type    = string
  default = null
}

variable "overrides" {
  type    = any
  default = []
}

locals {
  launch_template_id = (
    var.create_launch_template ? aws_launch_template.this[0].id : var.launch_template_id
  )
}

resource "aws_launch_template" "this" {
  count       = var.create_launch_template ? 1 : 0
  name_prefix = "app-"

  metadata_options {
    http_tokens = "optional"
  }
}

resource "aws_autoscaling_group" "this" {
  name     = "app"
  min_size = 1
  max_size = 2

  mixed_instances_policy {
    launch_template {
      launch_template_specification {
        launch_template_id = local.launch_template_id
        version            = "$Latest"
      }

      dynamic "override" {
        for_each = var.overrides
        content {
          instance_type = override.value.instance_type
          dynamic "launch_template_specification" {
            for_each = try([override.value.launch_template_specification], [])
            content {
              launch_template_id = launch_template_specification.value.launch_template_id
            }
          }
        }
      }
    }
  }
}
"""


def test_a_group_names_its_template_through_a_local_and_optional_overrides(
    cli, tmp_path: Path
) -> None:
    """As terraform-aws-modules/autoscaling writes it: the template comes through a local that
    chooses between the module's own template and an input, and overrides may name others in a
    dynamic block. The group is linked to the module's template, not a warning of its own."""
    write(tmp_path, "app/main.tf", MODULE_GROUP)
    doc = cli("check", "--format", "json", "app", cwd=tmp_path).json()
    found = [(f["rule_id"], f["resource"]) for f in doc["findings"]]
    assert found == [("IMDS002", "aws_launch_template.this[0]")]
    assert doc["findings"][0]["message"].endswith("(launch template of aws_autoscaling_group.this)")


def test_a_dynamic_compute_resources_names_its_template_per_environment(
    cli, tmp_path: Path
) -> None:
    """terraform-aws-modules/batch's way: one environment per entry of a map, compute_resources
    and its launch template in dynamic blocks (``lookup(launch_template.value, "id", null)``
    beside the name). Each
    environment is judged with its own entry; a template that allows IMDSv1 is reported as the
    template of the environments that name it, and an EC2 environment without one by IMDS006."""
    fixture = Path(__file__).parent / "rules" / "IMDS006" / "tf-batch-dynamic" / "main.tf"
    text = fixture.read_text().replace('http_tokens                 = "required"', "")
    text = text.replace(
        '        type               = "EC2"\n',
        '        type               = "EC2"\n'
        '        launch_template    = { name = "batch-imdsv2", version = "$Latest" }\n',
    )
    write(tmp_path, "batch/main.tf", text)
    run = cli("check", "--format", "json", "batch", cwd=tmp_path)
    found = sorted((f["rule_id"], f["resource"], f["message"]) for f in run.json()["findings"])
    assert [(rule, resource) for rule, resource, _ in found] == [
        ("IMDS002", "aws_launch_template.batch"),
        ("IMDS006", "aws_batch_compute_environment.dynamic"),
    ]
    assert found[0][2].endswith(
        '(launch template of aws_batch_compute_environment.this["ec2"], '
        'aws_batch_compute_environment.this["spot_templated"])'
    )
