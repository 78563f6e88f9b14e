"""Terraform evaluation within a module: variables from every source, types, locals, functions,
count/for_each, dynamic blocks, and findings at the place where the value is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import findings, write

VARIABLES = """
variable "http_tokens" {
  type    = string
  default = "optional"
}

variable "metadata_options" {
  description = "Metadata options for the workers, as terraform-aws-modules types them."
  type = object({
    http_endpoint               = optional(string, "enabled")
    http_tokens                 = optional(string, "required")
    http_put_response_hop_limit = optional(number, 1)
  })
  default = {}
}

variable "node_groups" {
  type = map(object({
    hop_limit = optional(number, 1)
    tokens    = optional(string, "required")
  }))
  default = {
    general = {}
    gpu = {
      hop_limit = 3
    }
  }
}

variable "strict" {
  type     = bool
  default  = true
  nullable = false
}
"""

MAIN = """
locals {
  tokens = var.strict ? "required" : var.http_tokens
}

resource "aws_instance" "from_default" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = var.http_tokens
  }
}

resource "aws_instance" "from_local" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = local.tokens
  }
}

resource "aws_launch_template" "workers" {
  name_prefix = "workers-"

  dynamic "metadata_options" {
    for_each = var.metadata_options != null ? [var.metadata_options] : []
    content {
      http_endpoint               = metadata_options.value.http_endpoint
      http_tokens                 = metadata_options.value.http_tokens
      http_put_response_hop_limit = metadata_options.value.http_put_response_hop_limit
    }
  }
}

resource "aws_launch_template" "nodes" {
  for_each    = var.node_groups
  name_prefix = "${each.key}-"

  metadata_options {
    http_tokens                 = each.value.tokens
    http_put_response_hop_limit = lookup(each.value, "hop_limit", 1)
  }
}

resource "aws_instance" "pool" {
  count = 2
  ami   = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = try(var.metadata_options.no_such_field, "optional")
  }
}
"""


@pytest.fixture
def module(tmp_path: Path) -> Path:
    write(tmp_path, "app/variables.tf", VARIABLES)
    write(tmp_path, "app/main.tf", MAIN)
    return tmp_path


def test_values_are_found_where_they_are_written(cli, module: Path) -> None:
    run = cli("check", "--format", "json", "app", cwd=module)
    assert findings(run) == [
        ("IMDS002", "aws_instance.pool", 49),  # try()'s fallback literal
        ("IMDS002", "aws_instance.from_default", 3),  # the default in variables.tf
        ("IMDS003", 'aws_launch_template.nodes["gpu"]', 24),  # the map entry in the default
    ]
    by_resource = {f["resource"]: f for f in run.json()["findings"]}
    default = by_resource["aws_instance.from_default"]
    assert default["path"] == "app/variables.tf"
    assert default["message"] == (
        '[aws_instance.from_default] http_tokens is "optional" (default of var.http_tokens, '
        'via var.http_tokens at app/main.tf:9); set it to "required"'
    )
    assert by_resource["aws_instance.pool"]["message"].startswith(
        "[aws_instance.pool (2 instances)]"
    )


def test_tfvars_override_defaults_in_terraform_order(cli, module: Path) -> None:
    write(module, "app/terraform.tfvars", 'http_tokens = "required"\nstrict = false\n')
    write(module, "app/prod.auto.tfvars.json", '{"node_groups": {"gpu": {"hop_limit": 2}}}')
    run = cli("check", "--format", "json", "app", cwd=module)
    assert findings(run) == [
        ("IMDS002", "aws_instance.pool", 49),
        ("IMDS003", 'aws_launch_template.nodes["gpu"]', 1),
    ]
    gpu = run.json()["findings"][1]
    assert gpu["path"] == "app/prod.auto.tfvars.json"
    assert "var.node_groups in prod.auto.tfvars.json" in gpu["message"]


def test_command_line_variables_win(cli, module: Path) -> None:
    write(module, "app/terraform.tfvars", 'http_tokens = "required"\n')
    write(module, "ci/insecure.tfvars", 'strict = false\nhttp_tokens = "optional"\n')
    run = cli(
        "check",
        "--format",
        "json",
        "--var-file",
        "ci/insecure.tfvars",
        "--var",
        'metadata_options={http_tokens = "optional"}',
        "app",
        cwd=module,
    )
    rules = {(r, res) for r, res, _ in findings(run)}
    assert ("IMDS002", "aws_instance.from_local") in rules  # strict = false from the var file
    assert ("IMDS002", "aws_launch_template.workers") in rules  # --var object, other fields default
    workers = next(
        f for f in run.json()["findings"] if f["resource"] == "aws_launch_template.workers"
    )
    assert (
        'var.metadata_options from --var metadata_options={http_tokens = "optional"}'
        in workers["message"]
    )
    assert workers["path"] == "app/main.tf" and not workers["fixable"]


def test_null_metadata_options_means_no_block(cli, module: Path) -> None:
    run = cli("check", "--format", "json", "--var", "metadata_options=null", "app", cwd=module)
    assert ("IMDS001", "aws_launch_template.workers", 21) in findings(run)


def test_nullable_false_takes_the_default(cli, module: Path) -> None:
    # In a tfvars file (an HCL expression); `--var strict=null` is the text "null", which
    # Terraform rejects for a bool variable.
    write(module, "app/terraform.tfvars", "strict = null\n")
    run = cli("check", "--format", "json", "app", cwd=module)
    assert "aws_instance.from_local" not in {res for _, res, _ in findings(run)}


def test_undecidable_condition_checks_both_branches(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """
        data "aws_ssm_parameter" "env" {
          name = "/env"
        }

        resource "aws_instance" "web" {
          ami = "ami-0c55b159cbfafe1f0"

          metadata_options {
            http_tokens = data.aws_ssm_parameter.env.value == "prod" ? "required" : "optional"
          }
        }
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    (finding,) = run.json()["findings"]
    assert finding["rule_id"] == "IMDS002"
    assert finding["line"] == 9
    assert 'when data.aws_ssm_parameter.env.value == "prod" is false' in finding["message"]


def test_unknown_for_each_keeps_one_target(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """
        resource "aws_launch_template" "nodes" {
          for_each = data.aws_eks_node_groups.all.names

          metadata_options {
            http_tokens = each.value
          }
        }
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert findings(run) == [("IMDS004", "aws_launch_template.nodes", 5)]
    assert run.json()["findings"][0]["message"].endswith(": each.value")


def test_count_zero_by_a_given_value_creates_nothing(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """
        variable "enabled" {
          default = true
        }

        resource "aws_instance" "optional_node" {
          count = var.enabled ? 1 : 0
          ami   = "ami-0c55b159cbfafe1f0"
        }

        resource "aws_instance" "never" {
          count = 0
          ami   = "ami-0c55b159cbfafe1f0"
        }
        """,
    )
    write(tmp_path, "terraform.tfvars", "enabled = false\n")
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert run.json()["summary"]["targets"] == 0
    assert run.code == 0


def test_count_off_by_default_only_is_reported_with_the_input(cli, tmp_path: Path) -> None:
    """Issue 15, pattern 4: `count = var.x ? 1 : 0` off by the default alone is evaluated as
    if the input took the other branch, and the finding says under which input."""
    write(
        tmp_path,
        "variables.tf",
        """
        variable "create_bastion" {
          type    = bool
          default = false
        }

        variable "enabled_nodes" {
          type    = bool
          default = false
        }
        """,
    )
    write(
        tmp_path,
        "main.tf",
        """
        resource "aws_instance" "bastion" {
          count         = var.create_bastion ? 1 : 0
          ami           = "ami-0c55b159cbfafe1f0"
          instance_type = "t3.micro"
        }

        resource "aws_instance" "node" {
          for_each = var.enabled_nodes ? { a = 1 } : {}
          ami      = "ami-0c55b159cbfafe1f0"
          metadata_options {
            http_tokens = "required"
          }
        }
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    doc = run.json()
    assert doc["summary"]["targets"] == 2
    (finding,) = doc["findings"]
    assert finding["rule_id"] == "IMDS001"
    assert finding["resource"] == "aws_instance.bastion[0]"
    assert finding["path"] == "main.tf" and finding["line"] == 1
    assert (
        "the resource exists only when var.create_bastion is true: its default at "
        "variables.tf:3 is false" in finding["message"]
    )


def test_each_directory_is_its_own_module(cli, tmp_path: Path) -> None:
    write(tmp_path, "a/variables.tf", 'variable "tokens" {\n  default = "optional"\n}\n')
    write(
        tmp_path,
        "b/main.tf",
        """
        resource "aws_instance" "web" {
          metadata_options {
            http_tokens = var.tokens
          }
        }
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    (finding,) = run.json()["findings"]
    assert finding["rule_id"] == "IMDS004"
    assert "var.tokens (not declared)" in finding["message"]


def test_a_syntax_error_in_one_file_leaves_the_rest_of_the_module(cli, module: Path) -> None:
    write(module, "app/broken.tf", 'resource "aws_instance" "x" {\n')
    run = cli("check", "--format", "json", "app", cwd=module)
    assert run.code == 2
    assert [e["path"] for e in run.json()["errors"]] == ["app/broken.tf"]
    assert len(run.json()["findings"]) == 3


def test_var_usage_errors(cli, module: Path) -> None:
    run = cli("check", "--var", "no-equals-sign", "app", cwd=module)
    assert run.code == 2
    assert "expected NAME=VALUE" in run.err
    run = cli("check", "--var-file", "missing.tfvars", "app", cwd=module)
    assert run.code == 2
    assert "missing.tfvars: cannot read" in run.err


# --- module calls -------------------------------------------------------------------------------

PLATFORM = "fixtures/terraform/platform"


def test_a_module_with_secure_defaults_scanned_alone_is_clean(cli) -> None:
    from tests.conftest import ROOT

    run = cli("check", "--format", "json", f"{PLATFORM}/modules/ec2", cwd=ROOT)
    assert run.code == 0
    assert run.json()["findings"] == []


def test_one_insecure_input_gives_one_finding_at_the_input(cli) -> None:
    from tests.conftest import ROOT

    run = cli("check", "--format", "json", f"{PLATFORM}/examples/complete", cwd=ROOT)
    (finding,) = run.json()["findings"]
    assert finding["rule_id"] == "IMDS003"
    assert finding["path"] == f"{PLATFORM}/examples/complete/main.tf"
    assert finding["line"] == 12
    assert finding["resource"] == "module.complete.aws_instance.this"
    assert "module.complete input metadata_options" in finding["message"]
    assert f"via var.metadata_options at {PLATFORM}/modules/ec2/main.tf:6" in finding["message"]
    assert run.json()["summary"]["targets"] == 2  # module.secure and module.complete


def test_three_calls_deep_through_a_map_and_for_each(cli) -> None:
    from tests.conftest import ROOT

    run = cli("check", "--format", "json", f"{PLATFORM}/envs/prod", cwd=ROOT)
    (finding,) = run.json()["findings"]
    assert finding["path"] == f"{PLATFORM}/envs/prod/main.tf"
    assert finding["line"] == 8
    assert finding["resource"] == 'module.eks.module.nodes["gpu"].aws_launch_template.this'
    assert "via var.node_groups, var.hop_limit" in finding["message"]


def test_called_modules_are_not_also_roots(cli) -> None:
    from tests.conftest import ROOT

    run = cli("check", "--format", "json", PLATFORM, cwd=ROOT)
    resources = sorted(f["resource"] for f in run.json()["findings"])
    assert resources == [
        "module.complete.aws_instance.this",
        'module.eks.module.nodes["gpu"].aws_launch_template.this',
    ]


def test_module_call_with_count_and_a_cycle(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "root/main.tf",
        """
        module "web" {
          source = "../web"
          count  = 2
          tokens = "optional"
        }

        module "loop" {
          source = "./"
        }
        """,
    )
    write(
        tmp_path,
        "web/main.tf",
        """
        variable "tokens" {
          default = "required"
        }

        resource "aws_instance" "this" {
          metadata_options {
            http_tokens = var.tokens
          }
        }
        """,
    )
    run = cli("check", "--format", "json", "root", cwd=tmp_path)
    (finding,) = run.json()["findings"]
    assert finding["resource"] == "module.web.aws_instance.this"
    assert finding["message"].startswith("[module.web.aws_instance.this (2 instances)]")
    assert finding["path"] == "root/main.tf"
    assert finding["line"] == 4
    assert run.code == 2
    (error,) = run.json()["errors"]
    assert error["message"] == "module loop: calls itself or nests too deep"


def test_excluded_module_files_are_not_reported(cli, tmp_path: Path) -> None:
    write(tmp_path, ".imds-iac.toml", 'exclude = ["vendor/**"]\n')
    write(tmp_path, "root/main.tf", 'module "x" {\n  source = "../vendor/x"\n}\n')
    write(tmp_path, "vendor/x/main.tf", 'resource "aws_instance" "legacy" {\n}\n')
    run = cli("check", "--format", "json", "root", cwd=tmp_path)
    assert run.json()["findings"] == []


def test_off_by_defaults_no_single_input_decides_is_named(cli, tmp_path: Path) -> None:
    """Issue 15, no silent pass: a resource left out by variable defaults through an expression
    no single input decides (`length(var.hosts) > 0 ? 1 : 0`, `count = var.replicas`) is an
    IMDS004 warning naming the variables; left out by a value someone gave, or by a literal, it
    does not exist."""
    write(
        tmp_path,
        "main.tf",
        """
        variable "hosts" {
          type    = list(string)
          default = []
        }

        variable "replicas" {
          type    = number
          default = 0
        }

        resource "aws_instance" "jump" {
          count = length(var.hosts) > 0 ? 1 : 0
          ami   = "ami-0c55b159cbfafe1f0"
        }

        resource "aws_instance" "replica" {
          count = var.replicas
          ami   = "ami-0c55b159cbfafe1f0"
        }

        resource "aws_instance" "never" {
          count = 0
          ami   = "ami-0c55b159cbfafe1f0"
        }
        """,
    )
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    found = {f["resource"]: (f["rule_id"], f["message"]) for f in doc["findings"]}
    assert sorted(found) == ["aws_instance.jump", "aws_instance.replica"]
    assert found["aws_instance.jump"][0] == "IMDS004"
    assert "exists only when var.hosts is not the default" in found["aws_instance.jump"][1]
    assert "exists only when var.replicas is not the default" in found["aws_instance.replica"][1]
    write(tmp_path, "terraform.tfvars", "hosts    = []\nreplicas = 0\n")
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    assert doc["findings"] == []
