"""Values given outside the files: ``--var``, ``--var-file``, ``TF_VAR_name`` and CloudFormation
``--parameter``/``--parameters`` (issue 14, points 1 and 5).

Terraform reads a value given as text (``-var``, ``TF_VAR_name``) literally for a variable with no
type or a primitive type, and as an HCL expression for any other type. Such a value is in no
file: a finding points at the first place in a file that uses it, names where it was given, and
has no fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imds_iac_checks.config import Overrides, Resolver
from imds_iac_checks.formats.terraform import module as tfm
from imds_iac_checks.formats.terraform import syntax
from imds_iac_checks.scan import scan
from tests.conftest import findings, write

TOKENS_TF = """
variable "tokens" {
  type    = string
  default = "required"
}

resource "aws_instance" "web" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"

  metadata_options {
    http_tokens = var.tokens
  }
}
"""
USE = (11, 19)  # line and column of `var.tokens` in TOKENS_TF


@pytest.fixture
def tokens(tmp_path: Path) -> Path:
    write(tmp_path, "main.tf", TOKENS_TF)
    return tmp_path


def only(run) -> dict:
    (finding,) = run.json()["findings"]
    return finding


# --- the issue's report -----------------------------------------------------------------------


def test_string_var_is_taken_literally_and_reported_where_main_tf_uses_it(cli, tokens) -> None:
    run = cli("check", "--format", "json", "--var", "tokens=optional", cwd=tokens)
    assert run.code == 1
    finding = only(run)
    assert finding["rule_id"] == "IMDS002"
    assert (finding["path"], finding["line"], finding["column"]) == ("main.tf", *USE)
    assert finding["message"] == (
        '[aws_instance.web] http_tokens is "optional" (var.tokens from --var tokens=optional); '
        'set it to "required"'
    )
    assert finding["fixable"] is False and finding["fix"] is None
    assert finding["fix_note"] == (
        "the value is var.tokens from --var tokens=optional: change it where it is given"
    )


def test_the_quoted_form_still_works(cli, tokens) -> None:
    """Terraform takes `tokens="optional"` literally too: the string is `"optional"` with its
    quotes, which is not "required"."""
    run = cli("check", "--format", "json", "--var", 'tokens="optional"', cwd=tokens)
    finding = only(run)
    assert finding["rule_id"] == "IMDS002" and finding["path"] == "main.tf"
    assert 'http_tokens is "\\"optional\\""' in finding["message"]


def test_a_required_value_on_the_command_line_is_clean(cli, tokens) -> None:
    assert cli("check", "--var", "tokens=required", cwd=tokens).code == 0


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "github", "gitlab"])
def test_no_report_format_names_the_command_line_as_a_file(cli, tokens, fmt: str) -> None:
    run = cli("check", "--format", fmt, "--var", "tokens=optional", cwd=tokens)
    assert run.code == 1
    assert "--var:" not in run.out and "file=--var" not in run.out
    assert '"--var"' not in run.out and 'file="--var' not in run.out
    if fmt == "github":
        assert run.out.startswith(f"::error file=main.tf,line={USE[0]},col={USE[1]},")
    elif fmt == "sarif":
        (result,) = json.loads(run.out)["runs"][0]["results"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == "main.tf"
        assert location["region"]["startLine"] == USE[0]
    elif fmt == "gitlab":
        (issue,) = json.loads(run.out)
        assert issue["location"]["path"] == "main.tf"
    else:
        assert "main.tf" in run.out


def test_fix_does_not_claim_or_rewrite_a_command_line_value(cli, tokens) -> None:
    before = (tokens / "main.tf").read_text()
    for extra in ((), ("--unsafe-fixes",)):
        run = cli("fix", "--diff", *extra, "--var", "tokens=optional", cwd=tokens)
        assert run.code == 0 and run.out == ""
        assert "No fixes to make; 1 finding left." in run.err
        diff = run.err
        run = cli("fix", *extra, "--var", "tokens=optional", cwd=tokens)
        assert run.code == 1
        assert (tokens / "main.tf").read_text() == before
        why = (
            "not fixed: no automatic fix: the value is var.tokens from --var tokens=optional: "
            "change it where it is given"
        )
        assert why in run.out and why in diff  # --diff says why too (on standard error)
        assert "edits" not in run.out
    run = cli("fix", "--format", "json", "--var", "tokens=optional", cwd=tokens)
    (left,) = run.json()["findings"]
    assert (left["status"], left["path"], left["edited_path"]) == ("left", "main.tf", None)
    assert left["reason"] == (
        "no automatic fix: the value is var.tokens from --var tokens=optional: "
        "change it where it is given"
    )


# --- how the text is read: the variable's type decides ---------------------------------------


def test_untyped_variable_takes_the_text(cli, tmp_path: Path) -> None:
    write(tmp_path, "main.tf", TOKENS_TF.replace("  type    = string\n", ""))
    finding = only(cli("check", "--format", "json", "--var", "tokens=optional", cwd=tmp_path))
    assert finding["rule_id"] == "IMDS002" and finding["line"] == USE[0] - 1


def test_map_variable_takes_an_hcl_value(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """
        variable "tokens_by_env" {
          type    = map(string)
          default = { prod = "required" }
        }

        resource "aws_launch_template" "app" {
          name_prefix = "app-"

          metadata_options {
            http_tokens = var.tokens_by_env["prod"]
          }
        }
        """,
    )
    run = cli(
        "check", "--format", "json", "--var", 'tokens_by_env={prod = "optional"}', cwd=tmp_path
    )
    finding = only(run)
    assert finding["rule_id"] == "IMDS002"
    assert (finding["path"], finding["line"], finding["column"]) == ("main.tf", 10, 19)
    assert 'var.tokens_by_env from --var tokens_by_env={prod = "optional"}' in finding["message"]
    assert finding["fixable"] is False
    # Not an HCL expression for a map: Terraform rejects it; here it cannot be evaluated.
    run = cli("check", "--format", "json", "--var", "tokens_by_env=optional", cwd=tmp_path)
    finding = only(run)
    assert finding["rule_id"] == "IMDS004" and finding["path"] == "main.tf"
    assert "--var tokens_by_env=optional" in finding["message"]


def test_list_variable_takes_an_hcl_value(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """
        variable "token_modes" {
          type = list(string)
        }

        resource "aws_instance" "web" {
          ami = "ami-0c55b159cbfafe1f0"

          metadata_options {
            http_tokens = var.token_modes[0]
          }
        }
        """,
    )
    run = cli("check", "--format", "json", "--var", 'token_modes=["optional"]', cwd=tmp_path)
    finding = only(run)
    assert finding["rule_id"] == "IMDS002" and finding["line"] == 9
    run = cli("check", "--format", "json", "--var", 'token_modes=["required"]', cwd=tmp_path)
    assert run.json()["findings"] == []


def test_number_variable_for_the_hop_limit(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """
        variable "hop" {
          type    = number
          default = 1
        }

        resource "aws_launch_template" "nodes" {
          name_prefix = "nodes-"

          metadata_options {
            http_tokens                 = "required"
            http_put_response_hop_limit = var.hop
          }
        }
        """,
    )
    finding = only(cli("check", "--format", "json", "--var", "hop=3", cwd=tmp_path))
    assert finding["rule_id"] == "IMDS003"
    assert (finding["path"], finding["line"], finding["column"]) == ("main.tf", 11, 35)
    assert "http_put_response_hop_limit is 3 " in finding["message"]
    assert cli("check", "--var", "hop=1", cwd=tmp_path).code == 0


@pytest.mark.parametrize(
    ("declaration", "mode"),
    [
        ("", tfm.LITERAL),
        ("type = string", tfm.LITERAL),
        ("type = number", tfm.LITERAL),
        ("type = bool", tfm.LITERAL),
        ('type = "string"', tfm.LITERAL),  # the legacy quoted form
        ("type = any", tfm.HCL),
        ("type = list", tfm.HCL),  # the legacy keywords
        ("type = map", tfm.HCL),
        ('type = "map"', tfm.HCL),
        ("type = list(string)", tfm.HCL),
        ("type = set(number)", tfm.HCL),
        ("type = tuple([string, number])", tfm.HCL),
        ("type = object({ http_tokens = optional(string) })", tfm.HCL),
    ],
)
def test_text_input_mode_follows_terraform(declaration: str, mode: str) -> None:
    parsed, errors = tfm.parse_bytes("v.tf", f'variable "v" {{\n  {declaration}\n}}\n'.encode())
    assert parsed is not None, errors
    body = syntax.children(parsed.root, "body")[0]
    (block,) = syntax.children(body, "block")
    type_expr = syntax.attributes(syntax.child(block, "body")).get("type")
    assert tfm.text_input_mode(parsed.src, type_expr) == mode


# --- TF_VAR_name and precedence ----------------------------------------------------------------


def test_tf_var_from_the_environment(cli, tokens, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_VAR_tokens", "optional")
    finding = only(cli("check", "--format", "json", cwd=tokens))
    assert (finding["path"], finding["line"], finding["column"]) == ("main.tf", *USE)
    assert "var.tokens from TF_VAR_tokens in the environment" in finding["message"]
    assert finding["fixable"] is False
    run = cli("check", "--format", "github", cwd=tokens)
    assert run.out.startswith("::error file=main.tf,")


def test_precedence_default_env_tfvars_command_line(
    cli, tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    def value() -> str | None:
        run = cli("check", "--format", "json", *args, cwd=tokens)
        found = run.json()["findings"]
        return None if not found else found[0]["message"]

    args: tuple[str, ...] = ()
    assert value() is None  # the default: required
    monkeypatch.setenv("TF_VAR_tokens", "optional")  # env beats the default
    assert "TF_VAR_tokens" in (value() or "")
    args = ("--var", "tokens=required")  # --var beats env
    assert value() is None
    args = ()
    write(tokens, "terraform.tfvars", 'tokens = "required"\n')  # tfvars beats env
    assert value() is None
    monkeypatch.setenv("TF_VAR_tokens", "required")
    write(tokens, "z.auto.tfvars", 'tokens = "optional"\n')  # an auto file beats terraform.tfvars
    assert "var.tokens in z.auto.tfvars" in (value() or "")
    write(tokens, "ci.tfvars", 'tokens = "required"\n')
    # --var and --var-file: the last one on the command line wins.
    args = ("--var", "tokens=optional", "--var-file", "ci.tfvars")
    assert value() is None
    args = ("--var-file", "ci.tfvars", "--var", "tokens=optional")
    assert "--var tokens=optional" in (value() or "")


def test_the_scan_reads_no_environment_itself(tokens, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_VAR_tokens", "optional")
    resolver = Resolver(Overrides())
    assert scan([str(tokens)], resolver, str(tokens)).findings == []
    given = scan(
        [str(tokens)], Resolver(Overrides()), str(tokens), env_variables={"tokens": "optional"}
    )
    (finding,) = given.findings
    assert finding.path == "main.tf" and finding.fix is None


# --- usage errors, before the scan ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "fix"])
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--var", "foo"), "--var: expected NAME=VALUE, not 'foo'"),
        (("--var", "=optional"), "--var: expected NAME=VALUE, not '=optional'"),
        (
            ("--var", "tokens =optional"),
            "--var: the variable name 'tokens ' ends with a space (did you mean tokens=optional?)",
        ),
        (
            ("--var-file", "missing.tfvars"),
            "missing.tfvars: cannot read: No such file or directory",
        ),
        (("--var-file", "bad.tfvars"), "bad.tfvars:1:"),
        (("--parameter", "Tokens"), "--parameter: expected Key=Value, not 'Tokens'"),
    ],
)
def test_variable_usage_errors_come_before_the_scan(
    cli, tokens, command: str, args: tuple[str, ...], message: str
) -> None:
    write(tokens, "bad.tfvars", "tokens = = 1\n")
    write(tokens, "insecure.tf", 'resource "aws_instance" "x" {\n  ami = "ami-1"\n}\n')
    run = cli(command, *args, cwd=tokens)
    assert run.code == 2
    assert run.out == ""  # nothing scanned, nothing reported
    assert run.err.startswith(f"imds-iac: error: {message}")
    assert run.err.count("\n") == 1


# --- CloudFormation parameters -------------------------------------------------------------------

STACK = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Tokens:
    Type: String
    Default: required
Resources:
  Nodes:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        MetadataOptions:
          HttpTokens: !Ref Tokens
"""


def test_parameter_on_the_command_line_is_reported_at_the_ref(cli, tmp_path: Path) -> None:
    write(tmp_path, "stack.yaml", STACK)
    run = cli(
        "check", "--format", "json", "--parameter", "Tokens=optional", "stack.yaml", cwd=tmp_path
    )
    finding = only(run)
    assert (finding["path"], finding["line"], finding["column"]) == ("stack.yaml", 12, 23)
    assert "parameter Tokens from --parameter Tokens=optional" in finding["message"]
    assert finding["fixable"] is False
    assert finding["fix_note"] == (
        "the value is parameter Tokens from --parameter Tokens=optional: "
        "change it where it is given"
    )
    before = (tmp_path / "stack.yaml").read_text()
    run = cli("fix", "--unsafe-fixes", "--parameter", "Tokens=optional", "stack.yaml", cwd=tmp_path)
    assert (tmp_path / "stack.yaml").read_text() == before
    assert "change it where it is given" in run.out


def test_parameters_file_is_named_in_the_provenance(cli, tmp_path: Path) -> None:
    """A parameters file is read without positions: the finding stays at the Ref, and names the
    file where the value is to be changed."""
    write(tmp_path, "stack.yaml", STACK)
    write(tmp_path, "ci/params.json", '[{"ParameterKey": "Tokens", "ParameterValue": "optional"}]')
    args = ("--parameters", "ci/params.json", "stack.yaml")
    finding = only(cli("check", "--format", "json", *args, cwd=tmp_path))
    assert finding["path"] == "stack.yaml" and finding["line"] == 12
    assert "parameter Tokens from --parameters ci/params.json" in finding["message"]
    assert "change it where it is given" in finding["fix_note"]
    # --parameter after the file wins, and says so.
    run = cli("check", "--format", "json", *args, "--parameter", "Tokens=disabled", cwd=tmp_path)
    assert "from --parameter Tokens=disabled" in only(run)["message"]


def test_terraform_findings_from_rule_cases_keep_their_file(cli) -> None:
    """The old location `--var:1:5` is gone from the shipped rule case as well."""
    from tests.conftest import ROOT

    case = ROOT / "tests" / "rules" / "IMDS002"
    run = cli(
        "check", "--format", "json", "--var", "http_tokens=optional", "tf-var-given", cwd=case
    )
    assert findings(run) == [("IMDS002", "aws_instance.web", 15)]
    assert run.json()["findings"][0]["path"] == "tf-var-given/main.tf"
