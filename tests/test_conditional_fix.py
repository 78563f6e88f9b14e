"""Issue 15, pattern 5: a conditional whose condition an input decides. The finding names the
deciding input and its default with its location, points at it, and the fix changes the
decision (the variable default, the tfvars entry, the module argument, the parameter default),
never the branch: `"required" : "required"` would make the input a no-op."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import write

MODULE_VARIABLES = """
variable "use_imds_v2" {
  description = "Require IMDSv2 session tokens"
  type        = bool
  default     = false
}

variable "instance_type" {
  type    = string
  default = "t3.micro"
}
"""

MODULE_MAIN = """
resource "aws_instance" "this" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = var.instance_type

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = var.use_imds_v2 ? "required" : "optional"
  }
}
"""


def _module(tmp_path: Path) -> None:
    write(tmp_path, "modules/web/variables.tf", MODULE_VARIABLES)
    write(tmp_path, "modules/web/main.tf", MODULE_MAIN)


def test_finding_names_the_deciding_input_and_points_at_its_default(cli, tmp_path: Path) -> None:
    _module(tmp_path)
    run = cli("check", "--format", "json", "modules/web", cwd=tmp_path)
    (finding,) = run.json()["findings"]
    assert finding["rule_id"] == "IMDS002"
    assert (finding["path"], finding["line"]) == ("modules/web/variables.tf", 4)
    assert (
        "the false branch of the conditional at modules/web/main.tf:7, taken because "
        "var.use_imds_v2 is false (default at modules/web/variables.tf:4)" in finding["message"]
    )
    assert finding["message"].endswith("set var.use_imds_v2 to true")
    assert finding["fix"] == "unsafe"


def test_fix_changes_the_default_and_never_flattens(cli, tmp_path: Path) -> None:
    _module(tmp_path)
    safe = cli("fix", "modules/web", cwd=tmp_path)
    assert safe.code == 1
    assert (tmp_path / "modules/web/main.tf").read_text() == MODULE_MAIN.lstrip("\n")
    run = cli("fix", "--unsafe-fixes", "modules/web", cwd=tmp_path)
    assert run.code == 0, run.out
    main = (tmp_path / "modules/web/main.tf").read_text()
    assert 'var.use_imds_v2 ? "required" : "optional"' in main  # the conditional stays
    assert "default     = true" in (tmp_path / "modules/web/variables.tf").read_text()


def test_module_argument_decides_and_is_the_fix(cli, tmp_path: Path) -> None:
    _module(tmp_path)
    write(
        tmp_path,
        "live/main.tf",
        """
        module "web" {
          source        = "../modules/web"
          instance_type = "t3.small"
          use_imds_v2   = false
        }
        """,
    )
    run = cli("check", "--format", "json", "live", cwd=tmp_path)
    (finding,) = run.json()["findings"]
    assert (finding["path"], finding["line"]) == ("live/main.tf", 4)
    assert "module.web input use_imds_v2 at live/main.tf:4" in finding["message"]
    assert finding["fix"] == "safe"  # the call's own argument
    fixed = cli("fix", "live", cwd=tmp_path)
    assert fixed.code == 0, fixed.out
    assert "use_imds_v2   = true" in (tmp_path / "live/main.tf").read_text()
    assert (
        'var.use_imds_v2 ? "required" : "optional"'
        in (tmp_path / "modules/web/main.tf").read_text()
    )


def test_no_value_can_be_derived_no_fix_and_no_flattening(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """
        variable "imds_mode" {
          type    = string
          default = "legacy"
        }

        resource "aws_instance" "app" {
          ami = "ami-0c55b159cbfafe1f0"
          metadata_options {
            http_tokens = var.imds_mode == "legacy" ? "optional" : "required"
          }
        }
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    (finding,) = run.json()["findings"]
    assert finding["fixable"] is False
    assert 'var.imds_mode == "legacy" is true: var.imds_mode is "legacy"' in finding["message"]
    assert finding["message"].endswith('make var.imds_mode == "legacy" false')
    before = (tmp_path / "main.tf").read_text()
    cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert (tmp_path / "main.tf").read_text() == before


def test_equality_gives_the_value_to_write(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """
        variable "imds_version" {
          type    = string
          default = "v1"
        }

        resource "aws_instance" "app" {
          ami = "ami-0c55b159cbfafe1f0"
          metadata_options {
            http_tokens = var.imds_version == "v2" ? "required" : "optional"
          }
        }
        """,
    )
    run = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert run.code == 0, run.out
    assert 'default = "v2"' in (tmp_path / "main.tf").read_text()
