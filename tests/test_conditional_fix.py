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


TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: PHP web tier with an optional legacy host
Parameters:
  PHPVersion:
    Type: String
    Default: "8.2"
    AllowedValues: ["5.5", "7.4", "8.2"]
  RequireIMDSv2:
    Type: String
    Default: "false"
    AllowedValues: ["true", "false"]
  Environment:
    Type: String
    Default: dev
Conditions:
  IsLegacy: !Equals [!Ref PHPVersion, "5.5"]
  UseV2: !Equals [!Ref RequireIMDSv2, "true"]
  IsProd: !Equals [!Ref Environment, prod]
Resources:
  WebTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        MetadataOptions:
          HttpEndpoint: enabled
          HttpTokens: !If [UseV2, required, optional]
  LegacyHost:
    Type: AWS::EC2::Instance
    Condition: IsLegacy
    Properties:
      ImageId: ami-0c55b159cbfafe1f0
      InstanceType: t3.micro
  ProdHost:
    Type: AWS::EC2::Instance
    Condition: IsProd
    Properties:
      ImageId: ami-0c55b159cbfafe1f0
      MetadataOptions:
        HttpTokens: required
"""


def test_cloudformation_resource_under_other_parameter_values(cli, tmp_path: Path) -> None:
    """Pattern 4: `Condition: IsLegacy` false under the defaults, true for an allowed value."""
    (tmp_path / "stack.yaml").write_text(TEMPLATE)
    doc = cli("check", "--format", "json", "stack.yaml", cwd=tmp_path).json()
    assert doc["summary"]["targets"] == 3  # ProdHost too: Environment is not constrained
    legacy = [f for f in doc["findings"] if f["resource"] == "LegacyHost"]
    assert [f["rule_id"] for f in legacy] == ["IMDS001"]
    assert legacy[0]["message"].endswith(
        "(the resource exists only when condition IsLegacy is true (PHPVersion is 5.5))"
    )


def test_cloudformation_fn_if_fix_changes_the_parameter_default(cli, tmp_path: Path) -> None:
    """Pattern 5 in CloudFormation: the finding points at the parameter's Default, the fix
    (unsafe: parameters are shared) changes it, the Fn::If stays."""
    (tmp_path / "stack.yaml").write_text(TEMPLATE)
    doc = cli("check", "--format", "json", "stack.yaml", cwd=tmp_path).json()
    (web,) = [f for f in doc["findings"] if f["resource"] == "WebTemplate"]
    assert web["line"] == 10 and web["fix"] == "unsafe"
    assert (
        'condition UseV2 is false: RequireIMDSv2 is "false" (default of parameter '
        "RequireIMDSv2 at stack.yaml:10)" in web["message"]
    )
    run = cli("fix", "--unsafe-fixes", "stack.yaml", cwd=tmp_path)
    assert run.code == 0, run.out
    fixed = (tmp_path / "stack.yaml").read_text()
    assert 'Default: "true"' in fixed
    assert "HttpTokens: !If [UseV2, required, optional]" in fixed


def test_cloudformation_too_many_combinations_is_said(cli, tmp_path: Path) -> None:
    names = [f"P{i}" for i in range(12)]
    params = "".join(f"  {n}:\n    Type: String\n    Default: a\n" for n in names)
    cond = "!And [" + ", ".join(f"!Equals [!Ref {n}, b]" for n in names[:10]) + "]"
    template = (
        f"Parameters:\n{params}Conditions:\n  Odd: {cond}\nResources:\n"
        "  Host:\n    Type: AWS::EC2::Instance\n    Condition: Odd\n"
        "    Properties:\n      ImageId: ami-1\n"
    )
    (tmp_path / "stack.yaml").write_text(template)
    (finding,) = cli("check", "--format", "json", "stack.yaml", cwd=tmp_path).json()["findings"]
    assert finding["rule_id"] == "IMDS004"
    assert "more than 1,024 combinations" in finding["message"]
