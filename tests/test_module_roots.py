"""Issue 15, pattern 7: a finding in a module reached from several roots (or calls) names the
root call it comes from; and module calls off by default only (``count = var.x ? 1 : 0``) are
evaluated under the input that creates them, or named (IMDS004)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Run, write


@pytest.fixture
def cli(cli):  # type: ignore[no-untyped-def]
    """``imds-iac`` in-process; ``check`` in the concise format unless a later ``--format``."""

    def run(*args: str, cwd: Path | None = None) -> Run:
        if args and args[0] == "check":
            args = (args[0], "--format", "concise", *args[1:])
        return cli(*args, cwd=cwd)  # type: ignore[no-any-return]

    return run


def lines(run: Run) -> list[str]:
    return [line for line in run.out.splitlines() if ": IMDS" in line]


APP_VARIABLES = """
    variable "name" {
      type = string
    }

    variable "http_tokens" {
      description = "IMDS session tokens (optional for the legacy agent)"
      type        = string
      default     = "optional"
    }

    variable "hop_limit" {
      type    = number
      default = 2
    }
    """

APP_MAIN = """
    resource "aws_launch_template" "app" {
      name_prefix = "${var.name}-"
      image_id    = "ami-0c55b159cbfafe1f0"

      metadata_options {
        http_tokens                 = var.http_tokens
        http_put_response_hop_limit = var.hop_limit
      }
    }
    """


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    """Two roots calling one module: dev with its defaults, prod with tokens required."""
    write(tmp_path, "modules/app/variables.tf", APP_VARIABLES)
    write(tmp_path, "modules/app/main.tf", APP_MAIN)
    write(
        tmp_path,
        "live/dev/main.tf",
        """
        module "app" {
          source = "../../modules/app"
          name   = "shop-dev"
        }
        """,
    )
    write(
        tmp_path,
        "live/prod/main.tf",
        """
        # production
        module "app" {
          source      = "../../modules/app"
          name        = "shop-prod"
          http_tokens = "required"
        }
        """,
    )
    return tmp_path


def test_a_module_finding_from_one_root_of_two_names_that_root(cli, fleet: Path) -> None:
    found = lines(cli("check", ".", cwd=fleet))
    tokens = [line for line in found if "IMDS002" in line]
    assert tokens == [
        "modules/app/variables.tf:8:17: IMDS002 [module.app.aws_launch_template.app] http_tokens "
        'is "optional" (default of var.http_tokens, via var.http_tokens at '
        'modules/app/main.tf:6); set it to "required" (root call module.app at '
        "live/dev/main.tf:1)"
    ]


def test_the_same_finding_from_two_roots_is_one_naming_both(cli, fleet: Path) -> None:
    found = lines(cli("check", ".", cwd=fleet))
    hops = [line for line in found if "IMDS003" in line]
    assert len(hops) == 1
    assert "(2 instances)" not in hops[0]  # two roots, not two instances of one block
    assert hops[0].endswith(
        "(2 root calls: module.app at live/dev/main.tf:1; module.app at live/prod/main.tf:2)"
    )
    report = cli("check", "--format", "json", ".", cwd=fleet).json()
    merged = next(f for f in report["findings"] if f["rule_id"] == "IMDS003")
    assert merged["roots"] == [
        [{"module": "module.app", "path": "live/dev/main.tf", "line": 1, "column": 1}],
        [{"module": "module.app", "path": "live/prod/main.tf", "line": 2, "column": 1}],
    ]


def test_one_root_keeps_its_output_uncluttered(cli, fleet: Path) -> None:
    """A module reached once in the scan: nothing to tell apart, nothing added (JSON still
    carries the call chain)."""
    run = cli("check", "live/dev", cwd=fleet)
    found = lines(run)
    assert len(found) == 2
    assert not any("root call" in line for line in found)
    report = cli("check", "--format", "json", "live/dev", cwd=fleet).json()
    assert all(len(f["roots"]) == 1 for f in report["findings"])
    root_level = cli("check", "--format", "json", "modules/app", cwd=fleet).json()
    assert root_level["findings"] and all("roots" not in f for f in root_level["findings"])


def test_different_values_from_two_roots_stay_two_findings_each_naming_its_root(
    cli, tmp_path: Path
) -> None:
    write(
        tmp_path,
        "modules/app/main.tf",
        """
        variable "size" {
          type = string
        }

        resource "aws_instance" "this" {
          ami = "ami-0c55b159cbfafe1f0"

          metadata_options {
            http_tokens                 = "required"
            http_put_response_hop_limit = contains(["large", "xlarge"], var.size) ? 3 : 2
          }
        }
        """,
    )
    for env, size in (("dev", "small"), ("prod", "large")):
        write(
            tmp_path,
            f"live/{env}/main.tf",
            f"""
            module "app" {{
              source = "../../modules/app"
              size   = "{size}"
            }}
            """,
        )
    found = lines(cli("check", ".", cwd=tmp_path))
    assert len(found) == 2
    by_value = {line.split(" is ")[1][0]: line for line in found}
    assert by_value["2"].endswith("(root call module.app at live/dev/main.tf:1)")
    assert by_value["3"].endswith("(root call module.app at live/prod/main.tf:1)")


def test_two_calls_in_one_root_and_a_nested_chain_are_named(cli, tmp_path: Path) -> None:
    write(tmp_path, "modules/app/variables.tf", APP_VARIABLES)
    write(tmp_path, "modules/app/main.tf", APP_MAIN)
    write(
        tmp_path,
        "modules/service/main.tf",
        """
        module "app" {
          source      = "../app"
          name        = "service"
          http_tokens = "required"
        }
        """,
    )
    write(
        tmp_path,
        "live/prod/main.tf",
        """
        module "blue" {
          source      = "../../modules/app"
          name        = "blue"
          http_tokens = "required"
        }

        module "service" {
          source = "../../modules/service"
        }
        """,
    )
    found = [line for line in lines(cli("check", "live/prod", cwd=tmp_path)) if "IMDS003" in line]
    assert found == [
        "modules/app/variables.tf:13:13: IMDS003 [module.blue.aws_launch_template.app] "
        "http_put_response_hop_limit is 2 (default of var.hop_limit, via var.hop_limit at "
        "modules/app/main.tf:7), above the limit of 1; set it to 1 (root call module.blue at "
        "live/prod/main.tf:1)",
        "modules/app/variables.tf:13:13: IMDS003 [module.service.module.app.aws_launch_template"
        ".app] http_put_response_hop_limit is 2 (default of var.hop_limit, via var.hop_limit at "
        "modules/app/main.tf:7), above the limit of 1; set it to 1 (root call module.service at "
        "live/prod/main.tf:7, through module.app at modules/service/main.tf:1)",
    ]


def test_instances_of_one_call_are_still_instances(cli, tmp_path: Path) -> None:
    write(tmp_path, "modules/app/variables.tf", APP_VARIABLES)
    write(tmp_path, "modules/app/main.tf", APP_MAIN)
    write(
        tmp_path,
        "live/main.tf",
        """
        module "app" {
          source      = "../modules/app"
          for_each    = toset(["a", "b"])
          name        = each.key
          http_tokens = "required"
        }
        """,
    )
    found = lines(cli("check", "live", cwd=tmp_path))
    assert len(found) == 1
    assert "[module.app.aws_launch_template.app (2 instances)]" in found[0]
    assert "root call" not in found[0]


def test_launch_templates_are_linked_within_one_root(cli, tmp_path: Path) -> None:
    """Two roots make the same module's template and instance: each instance is linked to its
    own root's template (dev's optional tokens are not prod's)."""
    write(
        tmp_path,
        "modules/app/main.tf",
        """
        variable "http_tokens" {
          type = string
        }

        resource "aws_launch_template" "app" {
          image_id = "ami-0c55b159cbfafe1f0"
          metadata_options {
            http_tokens = var.http_tokens
          }
        }

        resource "aws_instance" "app" {
          launch_template {
            id = aws_launch_template.app.id
          }
        }
        """,
    )
    for env, tokens in (("dev", "optional"), ("prod", "required")):
        write(
            tmp_path,
            f"live/{env}/main.tf",
            f"""
            module "app" {{
              source      = "../../modules/app"
              http_tokens = "{tokens}"
            }}
            """,
        )
    report = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    assert [(f["rule_id"], f["path"]) for f in report["findings"]] == [
        ("IMDS002", "live/dev/main.tf")
    ]


# --- module calls off by default only ----------------------------------------------------------

BASTION = """
    variable "subnet_id" {
      type = string
    }

    resource "aws_instance" "this" {
      ami           = "ami-0c55b159cbfafe1f0"
      instance_type = "t3.nano"
      subnet_id     = var.subnet_id
    }
    """


def test_a_module_call_off_by_default_is_evaluated_and_says_when(cli, tmp_path: Path) -> None:
    write(tmp_path, "modules/bastion/main.tf", BASTION)
    write(
        tmp_path,
        "live/main.tf",
        """
        module "bastion" {
          source    = "../modules/bastion"
          count     = var.enable_bastion ? 1 : 0
          subnet_id = "subnet-0a1b2c3d"
        }
        """,
    )
    write(
        tmp_path,
        "live/variables.tf",
        """
        variable "enable_bastion" {
          description = "Create a bastion host"
          type        = bool
          default     = false
        }
        """,
    )
    run = cli("check", "live", cwd=tmp_path)
    assert run.code == 1
    assert lines(run) == [
        "modules/bastion/main.tf:5:1: IMDS001 [module.bastion[0].aws_instance.this] no "
        "metadata_options block, so IMDSv1 stays allowed; add one with http_tokens set to "
        '"required" (the resource exists only when var.enable_bastion is true: its default at '
        "live/variables.tf:4 is false)"
    ]
    # Turned off by a value someone gave: it does not exist.
    write(tmp_path, "live/terraform.tfvars", "enable_bastion = false\n")
    assert lines(cli("check", "live", cwd=tmp_path)) == []


def test_a_module_call_off_by_default_with_no_value_to_choose_is_named(cli, tmp_path: Path) -> None:
    write(tmp_path, "modules/bastion/main.tf", BASTION)
    write(
        tmp_path,
        "live/main.tf",
        """
        variable "jump_subnet_id" {
          type    = string
          default = null
        }

        module "jump" {
          source    = "../modules/bastion"
          count     = var.jump_subnet_id != null ? 1 : 0
          subnet_id = var.jump_subnet_id
        }
        """,
    )
    found = lines(cli("check", "live", cwd=tmp_path))
    assert len(found) == 1
    assert found[0].startswith("live/main.tf:8:15: IMDS004 [module.jump] ")
    assert "exists only when var.jump_subnet_id != null is true" in found[0]
    assert "its default at live/main.tf:3 is null" in found[0]


def test_nested_conditions_are_both_said(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "modules/bastion/main.tf",
        """
        variable "monitoring" {
          type    = bool
          default = false
        }

        resource "aws_instance" "probe" {
          count = var.monitoring ? 1 : 0
          ami   = "ami-0c55b159cbfafe1f0"
        }
        """,
    )
    write(
        tmp_path,
        "live/main.tf",
        """
        variable "enable_bastion" {
          type    = bool
          default = false
        }

        module "bastion" {
          source = "../modules/bastion"
          count  = var.enable_bastion ? 1 : 0
        }
        """,
    )
    found = lines(cli("check", "live", cwd=tmp_path))
    assert len(found) == 1
    assert found[0].endswith(
        "(the resource exists only when var.enable_bastion is true: its default at "
        "live/main.tf:3 is false, and var.monitoring is true: its default at "
        "modules/bastion/main.tf:3 is false)"
    )
