"""Text of a payload outside its pieces: unknown only when it is an expression the adapter kept
unevaluated (``${var.host}``, ``${AWS::Region}``); known otherwise (a decoded base64 literal, the
value of ``${local.imds}``), and then read like any text: a call there is a finding, without a
fix where the fix would edit text the file does not write literally."""

from __future__ import annotations

import base64
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from imds_iac_checks.hazards import analyse, unknown_spans
from imds_iac_checks.model import Payload, Piece, Span

SCRIPT = (
    "#!/bin/bash\nID=$(curl -s http://169.254.169.254/latest/meta-data/instance-id)\necho $ID\n"
)
PS_SCRIPT = (
    "<powershell>\n"
    "$id = Invoke-RestMethod -Uri http://169.254.169.254/latest/meta-data/instance-id\n"
    "Write-Output $id\n"
    "</powershell>\n"
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def check(cli: Any, where: Path, *files: str) -> list[dict[str, Any]]:
    run = cli("check", "--format", "json", *(files or (".",)), cwd=where)
    doc = run.json()
    assert doc["errors"] == [], doc["errors"]
    return [f for f in doc["findings"] if f["rule_id"] == "IMDS007"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


# --- the shared helper ------------------------------------------------------------------------


def _payload(text: str, literal: list[tuple[int, int]]) -> Payload:
    span = Span("x", 0, 0, 1, 1, 1, 1)
    pieces = tuple(Piece(a, b, Span("x", a, b, 1, a + 1, 1, b + 1)) for a, b in literal)
    return Payload(text, pieces, span, "user data")


def _holes_in(text: str, *holes: str) -> Payload:
    """``text`` with every occurrence of ``holes`` outside pieces, the rest literal."""
    cuts: list[tuple[int, int]] = []
    for hole in holes:
        at = text.find(hole)
        while at >= 0:
            cuts.append((at, at + len(hole)))
            at = text.find(hole, at + 1)
    cuts.sort()
    literal, at = [], 0
    for a, b in cuts:
        if a > at:
            literal.append((at, a))
        at = b
    if at < len(text):
        literal.append((at, len(text)))
    return _payload(text, literal)


@pytest.mark.parametrize(
    "hole",
    [
        "${var.imds_host}",
        "${AWS::Region}",
        "${Param}",
        "${!Literal}",
        '${ var.a == "}" ? "x" : var.b }',
        "%{ if var.debug }",
        "{{ imds_host }}",
        "${~ var.host ~}",
        "${module.x.y}${var.z}",
        "${A} ${B}",
    ],
)
def test_an_unevaluated_expression_is_unknown(hole: str) -> None:
    text = f"curl http://{hole}/latest/meta-data/\n"
    payload = _holes_in(text, hole)
    spans = unknown_spans(payload)
    at = text.index(hole)
    assert spans and spans[0][0] == at and spans[-1][1] == at + len(hole)
    # each span is one expression, exactly as written
    for lo, hi in spans:
        assert text[lo:hi][0] in "$%{" and text[lo:hi].endswith("}")


@pytest.mark.parametrize(
    "hole",
    [
        "169.254.169.254",  # an interpolation's value
        "169.254.169.254${var.path}",  # a value next to an expression: known text
        "\n",  # a folded line break
        "${",  # Fn::Sub's ${! written in two parts
        "${A}\n-X",  # a Fn::Join glue between
        "${unclosed",
    ],
)
def test_known_text_outside_pieces_is_not_unknown(hole: str) -> None:
    text = f"curl http://{hole}/latest/meta-data/\n"
    assert unknown_spans(_holes_in(text, hole)) == []


def test_a_payload_without_pieces_is_known_even_with_shell_expansions() -> None:
    text = 'IMDS=169.254.169.254\ncurl "http://${IMDS}/latest/meta-data/"\n'
    assert unknown_spans(_payload(text, [])) == []
    (found,) = [f for _p, f in analyse(_payload(text, []))]
    assert "http://169.254.169.254/latest/meta-data/" in found.what


def test_a_payload_that_is_one_expression_is_unknown() -> None:
    assert unknown_spans(_payload(" ${var.user_data} \n", [])) == [(1, 17)]


# --- end to end: base64 user data -----------------------------------------------------------


def test_launch_template_data_json_base64_user_data(cli: Any, tmp_path: Path) -> None:
    document = {
        "LaunchTemplateName": "web",
        "LaunchTemplateData": {
            "ImageId": "ami-0123456789abcdef0",
            "InstanceType": "t3.micro",
            "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
            "UserData": b64(SCRIPT),
        },
    }
    path = tmp_path / "template.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    (finding,) = check(cli, tmp_path)
    # at the UserData string: the whole base64 literal
    line = line_of(path, '"UserData"')
    text = path.read_text().splitlines()[line - 1]
    assert (finding["line"], finding["end_line"]) == (line, line)
    assert finding["column"] == text.index('"', text.index(":")) + 1
    assert finding["end_column"] == len(text) + 1
    assert finding["severity"] == "error"
    assert not finding["fixable"] and finding["fix"] is None
    assert "base64-encoded" in finding["fix_note"]
    assert "web" in finding["message"] and "requires tokens" in finding["message"]
    assert "169.254.169.254/latest/meta-data/instance-id" in finding["message"]


def test_terraform_user_data_base64(cli: Any, tmp_path: Path) -> None:
    path = write(
        tmp_path / "main.tf",
        f"""
        resource "aws_instance" "web" {{
          ami              = "ami-0123456789abcdef0"
          instance_type    = "t3.micro"
          user_data_base64 = "{b64(SCRIPT)}"
          metadata_options {{
            http_tokens   = "required"
            http_endpoint = "enabled"
          }}
        }}
        """,
    )
    (finding,) = check(cli, tmp_path)
    assert finding["severity"] == "error"
    assert finding["line"] == line_of(path, "user_data_base64")
    assert finding["column"] == path.read_text().splitlines()[3].index('"') + 1
    assert not finding["fixable"]
    assert "base64-encoded" in finding["fix_note"]
    assert "aws_instance.web" in finding["message"]
    # and the fix leaves the instance and the literal alone (nothing it could edit)
    before = path.read_bytes()
    cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert path.read_bytes() == before


def test_powershell_user_data_decoded_from_base64(cli: Any, tmp_path: Path) -> None:
    path = write(
        tmp_path / "main.tf",
        f"""
        resource "aws_instance" "win" {{
          ami              = "ami-0123456789abcdef0"
          instance_type    = "t3.micro"
          user_data_base64 = "{b64(PS_SCRIPT)}"
          metadata_options {{
            http_tokens = "optional"
          }}
        }}
        """,
    )
    (finding,) = check(cli, tmp_path)
    assert finding["line"] == line_of(path, "user_data_base64")
    assert finding["message"].startswith("[aws_instance.win] Invoke-RestMethod GET ")
    assert finding["severity"] == "warning"  # IMDSv1 still allowed: a migration blocker
    assert not finding["fixable"] and "base64-encoded" in finding["fix_note"]


def test_launch_template_json_powershell_base64(cli: Any, tmp_path: Path) -> None:
    document = {
        "LaunchTemplateData": {
            "ImageId": "ami-0123456789abcdef0",
            "MetadataOptions": {"HttpTokens": "required"},
            "UserData": b64("<powershell>\nirm http://169.254.169.254/latest/meta-data/ami-id\n"),
        },
    }
    (tmp_path / "lt.json").write_text(json.dumps(document, indent=2))
    (finding,) = check(cli, tmp_path)
    assert "GET http://169.254.169.254/latest/meta-data/ami-id" in finding["message"]
    assert not finding["fixable"]


# --- end to end: interpolations --------------------------------------------------------------


TF_LOCAL = """
    locals {
      imds = "169.254.169.254"
    }
    resource "aws_instance" "web" {
      ami           = "ami-0123456789abcdef0"
      instance_type = "t3.micro"
      user_data     = <<-EOT
        #!/bin/bash
        curl -s http://${local.imds}/latest/meta-data/ > /tmp/metadata
      EOT
      metadata_options {
        http_tokens = "required"
      }
    }
    """


def test_an_interpolation_with_a_known_value_is_read_as_its_value(cli: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "main.tf", TF_LOCAL)
    (finding,) = check(cli, tmp_path)
    assert finding["line"] == line_of(path, "curl -s")
    assert finding["column"] == 5  # the call's literal start
    assert "curl GET http://169.254.169.254/latest/meta-data/" in finding["message"]
    assert finding["severity"] == "error"
    # the edits fall in text written literally: the fix is made, around the interpolation
    assert finding["fixable"]
    cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    fixed = path.read_text()
    assert 'curl -H "X-aws-ec2-metadata-token: $${TOKEN}" -s http://${local.imds}/' in fixed
    assert check(cli, tmp_path) == []


def test_a_call_wholly_in_an_interpolation_value_has_no_fix(cli: Any, tmp_path: Path) -> None:
    path = write(
        tmp_path / "main.tf",
        """
        locals {
          fetch = "curl -s http://169.254.169.254/latest/meta-data/instance-id"
        }
        resource "aws_instance" "web" {
          ami           = "ami-0123456789abcdef0"
          instance_type = "t3.micro"
          user_data     = <<-EOT
            #!/bin/bash
            ID=$(${local.fetch})
          EOT
          metadata_options {
            http_tokens = "required"
          }
        }
        """,
    )
    (finding,) = check(cli, tmp_path)
    assert finding["line"] == line_of(path, "${local.fetch}")  # the interpolation as written
    assert not finding["fixable"]
    assert (
        finding["fix_note"] == "the user data is not written literally where the fix must edit it"
    )


def test_an_unknown_variable_host_is_not_judged(cli: Any, tmp_path: Path) -> None:
    write(
        tmp_path / "main.tf",
        """
        variable "host" {
          type = string
        }
        resource "aws_instance" "web" {
          ami           = "ami-0123456789abcdef0"
          instance_type = "t3.micro"
          user_data     = <<-EOT
            #!/bin/bash
            curl -s http://${var.host}/latest/meta-data/ > /tmp/metadata
            pwsh -c "Invoke-RestMethod http://${var.host}/latest/meta-data/"
          EOT
          metadata_options {
            http_tokens = "required"
          }
        }
        """,
    )
    assert check(cli, tmp_path) == []


def test_powershell_with_known_and_unknown_interpolations(cli: Any, tmp_path: Path) -> None:
    path = write(
        tmp_path / "main.tf",
        """
        variable "host" {
          type = string
        }
        locals {
          imds = "169.254.169.254"
        }
        resource "aws_instance" "win" {
          ami           = "ami-0123456789abcdef0"
          instance_type = "t3.micro"
          user_data     = <<-EOT
            <powershell>
            $a = Invoke-RestMethod -Uri "http://${var.host}/latest/meta-data/instance-id"
            $b = Invoke-RestMethod -Uri "http://${local.imds}/latest/meta-data/ami-id"
            </powershell>
          EOT
          metadata_options {
            http_tokens = "required"
          }
        }
        """,
    )
    (finding,) = check(cli, tmp_path)
    assert finding["line"] == line_of(path, "ami-id")
    assert "http://169.254.169.254/latest/meta-data/ami-id" in finding["message"]


CFN = """
    AWSTemplateFormatVersion: "2010-09-09"
    Parameters:
      MetadataHost:
        Type: String
        Default: 169.254.169.254
    Resources:
      Web:
        Type: AWS::EC2::Instance
        Properties:
          ImageId: ami-0123456789abcdef0
          InstanceType: t3.micro
          MetadataOptions:
            HttpTokens: required
          UserData:
            Fn::Base64: !Sub |
              #!/bin/bash
              curl -s http://169.254.169.254/latest/meta-data/placement/region > /tmp/${AWS::Region}
              curl -s http://${MetadataHost}/latest/meta-data/instance-id > /tmp/id
    """


def test_cloudformation_sub_holes(cli: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "stack.yaml", CFN)
    (finding,) = check(cli, tmp_path)
    assert finding["line"] == line_of(path, "placement/region")
    assert "placement/region" in finding["message"]
    assert finding["fixable"]


def test_cloudformation_join_glue_is_known_text(cli: Any, tmp_path: Path) -> None:
    path = write(
        tmp_path / "stack.yaml",
        """
        Resources:
          Web:
            Type: AWS::EC2::Instance
            Properties:
              ImageId: ami-0123456789abcdef0
              MetadataOptions:
                HttpTokens: required
              UserData:
                Fn::Base64:
                  Fn::Join:
                    - "\\n"
                    - - "#!/bin/bash"
                      - !Sub "echo ${AWS::StackName}"
                      - "curl -s http://169.254.169.254/latest/meta-data/instance-id"
                      - !Sub "curl -s http://${Host}/latest/meta-data/ami-id"
        """,
    )
    (finding,) = check(cli, tmp_path)
    assert finding["line"] == line_of(path, "instance-id")


def test_a_call_inside_an_interpolations_value_points_at_the_interpolation(cli, tmp_path) -> None:
    """The call is the value of ``${local.fetch}``: the finding points at the interpolation as
    written between the heredoc's literal runs, not at the whole heredoc."""
    (tmp_path / "main.tf").write_text(
        "locals {\n"
        '  fetch = "curl -s http://169.254.169.254/latest/meta-data/instance-id"\n'
        "}\n\n"
        'resource "aws_instance" "web" {\n'
        '  ami = "ami-0c55b159cbfafe1f0"\n'
        "  metadata_options {\n"
        '    http_tokens = "required"\n'
        "  }\n"
        "  user_data = <<-EOT\n"
        "    #!/bin/bash\n"
        "    ID=$(${local.fetch})\n"
        '    echo "$ID"\n'
        "  EOT\n"
        "}\n"
    )
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    (finding,) = [f for f in doc["findings"] if f["rule_id"] == "IMDS007"]
    assert (finding["line"], finding["column"], finding["end_column"]) == (12, 10, 24)
