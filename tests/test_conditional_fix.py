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


# --- decisions through locals, validation blocks, conditions of conditions ----------------------

ENV_VARIABLES = """
variable "env" {
  description = "Deployment environment"
  type        = string
  default     = "dev"
}

variable "use_v2" {
  type    = bool
  default = false
}

variable "legacy_agent" {
  type    = bool
  default = true
}
"""


def _env_module(tmp_path: Path, main: str) -> None:
    write(tmp_path, "variables.tf", ENV_VARIABLES)
    write(tmp_path, "main.tf", main)


def test_decision_through_a_computed_local_names_the_variable(cli, tmp_path: Path) -> None:
    """`local.is_prod = var.env == "prod"`: the deciding input is var.env, through the local."""
    _env_module(
        tmp_path,
        """
        locals {
          is_prod = var.env == "prod"
        }

        resource "aws_instance" "web" {
          ami = "ami-0c55b159cbfafe1f0"
          metadata_options {
            http_tokens = local.is_prod ? "required" : "optional"
          }
        }
        """,
    )
    (finding,) = cli("check", "--format", "json", ".", cwd=tmp_path).json()["findings"]
    assert (finding["path"], finding["line"]) == ("variables.tf", 4)
    assert (
        'local.is_prod is false because var.env is "dev" (default at variables.tf:4)'
        in finding["message"]
    )
    assert finding["message"].endswith('set var.env to "prod" so that local.is_prod is true')
    assert finding["fix"] == "unsafe"
    assert cli("fix", ".", cwd=tmp_path).code == 1  # a variable default: unsafe only
    run = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert run.code == 0, run.out
    assert 'default     = "prod"' in (tmp_path / "variables.tf").read_text()
    assert 'local.is_prod ? "required" : "optional"' in (tmp_path / "main.tf").read_text()


def test_decision_through_an_alias_a_negation_and_a_chain(cli, tmp_path: Path) -> None:
    _env_module(
        tmp_path,
        """
        locals {
          v2          = var.use_v2
          strict      = local.v2
          allow_v1    = !local.strict
          with_legacy = var.legacy_agent
        }

        resource "aws_instance" "alias" {
          ami = "ami-0c55b159cbfafe1f0"
          metadata_options {
            http_tokens = local.v2 ? "required" : "optional"
          }
        }

        resource "aws_instance" "negated" {
          ami = "ami-0c55b159cbfafe1f0"
          metadata_options {
            http_tokens = local.allow_v1 ? "optional" : "required"
          }
        }

        resource "aws_instance" "legacy" {
          ami = "ami-0c55b159cbfafe1f0"
          metadata_options {
            http_tokens = !local.with_legacy ? "required" : "optional"
          }
        }
        """,
    )
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    by = {f["resource"]: f for f in doc["findings"]}
    assert set(by) == {"aws_instance.alias", "aws_instance.negated", "aws_instance.legacy"}
    alias, negated, legacy = (
        by["aws_instance.alias"],
        by["aws_instance.negated"],
        by["aws_instance.legacy"],
    )
    assert (alias["path"], alias["line"]) == ("variables.tf", 9)
    assert (
        "local.v2 is false because var.use_v2 is false (default at variables.tf:9)"
        in (alias["message"])
    )
    assert alias["message"].endswith("set var.use_v2 to true so that local.v2 is true")
    assert (negated["path"], negated["line"]) == ("variables.tf", 9)
    assert negated["message"].endswith("set var.use_v2 to true so that local.allow_v1 is false")
    assert (legacy["path"], legacy["line"]) == ("variables.tf", 14)
    assert legacy["message"].endswith(
        "set var.legacy_agent to false so that !local.with_legacy is true"
    )
    run = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert run.code == 0, run.out
    variables = (tmp_path / "variables.tf").read_text()
    assert variables.count("default = true") == 1 and "default = false" in variables
    assert cli("check", ".", cwd=tmp_path).code == 0


def test_decision_through_and_or_with_literals(cli, tmp_path: Path) -> None:
    """`&&`/`||` of one input with literals (and with inputs that already agree): the one value
    whose change flips the condition decides it."""
    _env_module(
        tmp_path,
        """
        variable "enforce" {
          type    = bool
          default = true
        }

        locals {
          harden     = var.enforce && var.env == "prod"
          permissive = var.legacy_agent || false
        }

        resource "aws_instance" "and" {
          ami = "ami-0c55b159cbfafe1f0"
          metadata_options {
            http_tokens = local.harden ? "required" : "optional"
          }
        }

        resource "aws_instance" "or" {
          ami = "ami-0c55b159cbfafe1f0"
          metadata_options {
            http_tokens = local.permissive ? "optional" : "required"
          }
        }
        """,
    )
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    by = {f["resource"]: f for f in doc["findings"]}
    assert 'local.harden is false because var.env is "dev"' in by["aws_instance.and"]["message"]
    assert by["aws_instance.and"]["message"].endswith(
        'set var.env to "prod" so that local.harden is true'
    )
    assert by["aws_instance.or"]["message"].endswith(
        "set var.legacy_agent to false so that local.permissive is false"
    )
    run = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert run.code == 0, run.out
    assert cli("check", ".", cwd=tmp_path).code == 0


def test_and_of_two_inputs_that_both_decide_is_not_guessed(cli, tmp_path: Path) -> None:
    _env_module(
        tmp_path,
        """
        locals {
          open = var.legacy_agent && var.env == "dev"
        }

        resource "aws_instance" "both" {
          ami = "ami-0c55b159cbfafe1f0"
          metadata_options {
            http_tokens = local.open ? "optional" : "required"
          }
        }
        """,
    )
    (finding,) = cli("check", "--format", "json", ".", cwd=tmp_path).json()["findings"]
    assert finding["fixable"] is False
    assert finding["message"].endswith("make local.open false")
    before = (tmp_path / "variables.tf").read_text(), (tmp_path / "main.tf").read_text()
    cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert ((tmp_path / "variables.tf").read_text(), (tmp_path / "main.tf").read_text()) == before


def test_chains_of_locals_are_bounded(cli, tmp_path: Path) -> None:
    """Locals are followed through at most 16 computations; a cycle stays undecided."""
    chain = "\n".join(f"  l{i} = !local.l{i + 1}" for i in range(40))
    short = "\n".join(f"  s{i} = !local.s{i + 1}" for i in range(4))
    _env_module(
        tmp_path,
        f"""
locals {{
{chain}
  l40 = var.use_v2
{short}
  s4  = !var.legacy_agent
  a   = local.b
  b   = local.a
}}

resource "aws_instance" "deep" {{
  ami = "ami-0c55b159cbfafe1f0"
  metadata_options {{
    http_tokens = local.l0 ? "required" : "optional"
  }}
}}

resource "aws_instance" "short" {{
  ami = "ami-0c55b159cbfafe1f0"
  metadata_options {{
    http_tokens = local.s0 ? "required" : "optional"
  }}
}}

resource "aws_instance" "cycle" {{
  ami = "ami-0c55b159cbfafe1f0"
  metadata_options {{
    http_tokens = local.a ? "required" : "optional"
  }}
}}
""",
    )
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    by = {f["resource"]: f for f in doc["findings"]}
    deep, short = by["aws_instance.deep"], by["aws_instance.short"]
    assert deep["fixable"] is False and "local.l0 is false" in deep["message"]
    assert short["message"].endswith("set var.legacy_agent to false so that local.s0 is true")
    assert by["aws_instance.cycle"]["rule_id"] == "IMDS002"  # undecided: the branch is checked
    run = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert "local.l0 is computed through more than 16 locals" in run.out


def test_validation_block_gives_the_other_value(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """
        variable "imds_mode" {
          description = "legacy keeps IMDSv1 for the old agent"
          type        = string
          default     = "legacy"

          validation {
            condition     = contains(["legacy", "modern"], var.imds_mode)
            error_message = "imds_mode must be legacy or modern."
          }
        }

        resource "aws_instance" "app" {
          ami = "ami-0c55b159cbfafe1f0"
          metadata_options {
            http_tokens = var.imds_mode == "legacy" ? "optional" : "required"
          }
        }
        """,
    )
    (finding,) = cli("check", "--format", "json", ".", cwd=tmp_path).json()["findings"]
    assert (finding["line"], finding["fix"]) == (4, "unsafe")
    assert finding["message"].endswith(
        'set var.imds_mode to "modern" so that var.imds_mode == "legacy" is false'
    )
    run = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert run.code == 0, run.out
    assert 'default     = "modern"' in (tmp_path / "main.tf").read_text()


def test_validation_blocks_are_all_honoured(cli, tmp_path: Path) -> None:
    """The value chosen satisfies every validation block: `contains` lists intersect, and any
    other condition is evaluated with the candidate value."""
    write(
        tmp_path,
        "main.tf",
        """
        variable "imds_mode" {
          type    = string
          default = "legacy"

          validation {
            condition = (
              var.imds_mode == "legacy" || var.imds_mode == "v1" || var.imds_mode == "hardened"
            )
            error_message = "Unknown mode."
          }

          validation {
            condition     = length(var.imds_mode) > 2
            error_message = "Too short."
          }
        }

        resource "aws_instance" "app" {
          ami = "ami-0c55b159cbfafe1f0"
          metadata_options {
            http_tokens = var.imds_mode != "legacy" ? "required" : "optional"
          }
        }
        """,
    )
    (finding,) = cli("check", "--format", "json", ".", cwd=tmp_path).json()["findings"]
    assert 'set var.imds_mode to "hardened"' in finding["message"]


def test_without_validation_the_reason_says_what_is_needed(cli, tmp_path: Path) -> None:
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
    run = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert run.code == 1
    assert (
        "a validation block listing the allowed values of var.imds_mode (contains([...], "
        "var.imds_mode)) would let imds-iac choose one" in run.out
    )


HARDENED = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Environment:
    Type: String
    Default: dev
    AllowedValues: [dev, staging, prod]
  LegacyAgent:
    Type: String
    Default: "false"
    AllowedValues: ["true", "false"]
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
  HasLegacyAgent: !Equals [!Ref LegacyAgent, "true"]
  Harden: !And [!Condition IsProd, !Not [!Condition HasLegacyAgent]]
  Relaxed: !Or [!Not [!Condition IsProd], !Condition HasLegacyAgent]
Resources:
  HardenedTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        MetadataOptions:
          HttpTokens: !If [Harden, required, optional]
  RelaxedHost:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-0c55b159cbfafe1f0
      MetadataOptions:
        HttpTokens: !If [Relaxed, optional, required]
"""


def test_cloudformation_condition_of_conditions_follows_to_the_parameter(
    cli, tmp_path: Path
) -> None:
    (tmp_path / "stack.yaml").write_text(HARDENED)
    doc = cli("check", "--format", "json", "stack.yaml", cwd=tmp_path).json()
    by = {f["resource"]: f for f in doc["findings"]}
    for name in ("HardenedTemplate", "RelaxedHost"):
        assert (by[name]["line"], by[name]["fix"]) == (5, "unsafe"), by[name]
    assert (
        'condition Harden is false because Environment is "dev" (default of parameter '
        "Environment at stack.yaml:5)" in by["HardenedTemplate"]["message"]
    )
    assert by["RelaxedHost"]["message"].endswith(
        'set Environment to "prod" so that condition Relaxed is false'
    )
    run = cli("fix", "--unsafe-fixes", "stack.yaml", cwd=tmp_path)
    assert run.code == 0, run.out
    fixed = (tmp_path / "stack.yaml").read_text()
    assert "Default: prod" in fixed and "!If [Harden, required, optional]" in fixed
    assert cli("check", "stack.yaml", cwd=tmp_path).code == 0


def test_cloudformation_and_of_two_deciding_parameters_is_not_guessed(cli, tmp_path: Path) -> None:
    template = HARDENED.replace('Default: "false"', 'Default: "true"').replace(
        "!If [Harden, required, optional]", "!If [Harden, required, required]"
    )
    (tmp_path / "stack.yaml").write_text(template)
    (finding,) = cli("check", "--format", "json", "stack.yaml", cwd=tmp_path).json()["findings"]
    # Relaxed is true because IsProd is false AND HasLegacyAgent is true: two values decide it
    assert finding["resource"] == "RelaxedHost" and finding["fixable"] is False
    assert finding["message"].endswith("make condition Relaxed false")


def test_module_argument_decides_through_a_local(cli, tmp_path: Path) -> None:
    """The module reads its input through a local: the caller's argument is still the fix
    (safe: the call's own argument)."""
    write(tmp_path, "modules/web/variables.tf", MODULE_VARIABLES)
    write(
        tmp_path,
        "modules/web/main.tf",
        """
        locals {
          enforce_v2 = var.use_imds_v2
          tokens     = local.enforce_v2 ? "required" : "optional"
        }

        resource "aws_instance" "this" {
          ami = "ami-0c55b159cbfafe1f0"
          metadata_options {
            http_tokens = local.tokens
          }
        }
        """,
    )
    write(
        tmp_path,
        "live/main.tf",
        """
        module "web" {
          source      = "../modules/web"
          use_imds_v2 = false
        }
        """,
    )
    (finding,) = cli("check", "--format", "json", "live", cwd=tmp_path).json()["findings"]
    assert (finding["path"], finding["line"], finding["fix"]) == ("live/main.tf", 3, "safe")
    assert "local.enforce_v2 is false because var.use_imds_v2 is false" in finding["message"]
    assert cli("fix", "live", cwd=tmp_path).code == 0
    assert "use_imds_v2 = true" in (tmp_path / "live/main.tf").read_text()


def test_resource_off_by_default_through_a_computed_local(cli, tmp_path: Path) -> None:
    """Pattern 4 gains from following locals: `count = local.legacy ? 1 : 0` with `legacy =
    var.php_version == "5.5"` is evaluated with var.php_version set to "5.5"."""
    write(
        tmp_path,
        "main.tf",
        """
        variable "php_version" {
          type    = string
          default = "8.2"
        }

        locals {
          legacy = var.php_version == "5.5"
        }

        resource "aws_instance" "legacy_php" {
          count = local.legacy ? 1 : 0
          ami   = "ami-0c55b159cbfafe1f0"
        }
        """,
    )
    (finding,) = cli("check", "--format", "json", ".", cwd=tmp_path).json()["findings"]
    assert finding["rule_id"] == "IMDS001"
    assert finding["message"].endswith(
        "(the resource exists only when local.legacy is true: default of var.php_version at "
        'main.tf:3 is "8.2")'
    )
