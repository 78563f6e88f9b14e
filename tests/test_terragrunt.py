"""Issue 15, pattern 2 (Terragrunt): a unit's module is evaluated with the unit's ``inputs``
— from ``.terragrunt-cache`` when the source is remote and the unit holds exactly one
downloaded copy, from its path when the source is local — or the unit is an IMDS004 warning
at its ``source``: never a silent pass.

The layouts are Terragrunt's (cli/tfsource in gruntwork-io/terragrunt): one copy per unit at
``.terragrunt-cache/<sha1 of the unit directory>/<sha1 of the source URL>/``, Terraform run in
the part of the source after ``//``, with ``inputs`` as ``TF_VAR_`` variables.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imds_iac_checks.formats.terraform.terragrunt import split_source
from tests.conftest import findings, write

# Hashes as Terragrunt writes them (base64 of a SHA-1, "/" and "+" as in its URL-safe form).
CACHED = "live/prod/app/.terragrunt-cache/Rx1c9bM2vV0kq3HcE4yJ8dKJY0A/mAcT2yb0S7VYbqYx7H5Hq6yY1xU"

UNIT = """
include "root" {
  path = find_in_parent_folders("root.hcl")
}

dependency "vpc" {
  config_path = "../vpc"
}

terraform {
  source = "git::https://github.com/example-corp/infra-modules.git//modules/app?ref=v1.4.0"
}

inputs = {
  name        = "app"
  subnet_ids  = dependency.vpc.outputs.private_subnets
  http_tokens = "optional"
  hop_limit   = 3
}
"""

ROOT_HCL = """
remote_state {
  backend = "s3"
  config = {
    bucket = "example-corp-tfstate"
    key    = "${path_relative_to_include()}/terraform.tfstate"
    region = "eu-west-1"
  }
}

inputs = {
  region = "eu-west-1"
}
"""

APP_MODULE = """
variable "name" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "region" {
  type = string
}

variable "http_tokens" {
  type    = string
  default = "required"
}

variable "hop_limit" {
  type    = number
  default = 1
}

resource "aws_launch_template" "app" {
  name_prefix = var.name

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = var.http_tokens
    http_put_response_hop_limit = var.hop_limit
  }
}

resource "aws_instance" "jump" {
  ami           = "ami-0123456789abcdef0"
  instance_type = "t3.micro"
  subnet_id     = var.subnet_ids[0]

  metadata_options {
    http_tokens = "optional"
  }
}
"""


def _remote_unit(tmp_path: Path, *, cached: bool = True) -> None:
    write(tmp_path, "live/root.hcl", ROOT_HCL)
    write(tmp_path, "live/prod/app/terragrunt.hcl", UNIT)
    if cached:
        # What `terragrunt init` leaves: the whole repository (the part before //), with
        # Terraform's own .terraform and the lock file in the working directory.
        write(tmp_path, f"{CACHED}/README.md", "# infra-modules\n")
        write(tmp_path, f"{CACHED}/modules/app/main.tf", APP_MODULE)
        write(tmp_path, f"{CACHED}/modules/app/.terraform.lock.hcl", "# lock\n")
        write(tmp_path, f"{CACHED}/modules/app/.terraform/modules/modules.json", '{"Modules": []}')
        write(tmp_path, f"{CACHED}/modules/db/main.tf", 'resource "aws_db_instance" "x" {\n}\n')
        write(tmp_path, f"{CACHED}/.terragrunt-source-version", "kQ2m0Z1x")


def test_a_remote_unit_is_evaluated_from_its_cache_with_its_inputs(cli, tmp_path: Path) -> None:
    _remote_unit(tmp_path)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    got = sorted(
        (f["rule_id"], f["resource"], f["path"], f["line"], f["column"])
        for f in run.json()["findings"]
    )
    assert got == [
        # A value written in the downloaded module points into the cache ...
        ("IMDS002", "aws_instance.jump", f"{CACHED}/modules/app/main.tf", 39, 19),
        # ... a value the unit passes at its entry in the unit's inputs.
        ("IMDS002", "aws_launch_template.app", "live/prod/app/terragrunt.hcl", 16, 17),
        ("IMDS003", "aws_launch_template.app", "live/prod/app/terragrunt.hcl", 17, 17),
    ]
    by = {f["rule_id"] + f["resource"]: f["message"] for f in run.json()["findings"]}
    assert "live/prod/app/terragrunt.hcl input http_tokens" in by["IMDS002aws_launch_template.app"]
    assert run.code == 1


def test_a_fix_of_a_units_own_input_is_safe(cli, tmp_path: Path) -> None:
    _remote_unit(tmp_path)
    module = tmp_path / CACHED / "modules/app/main.tf"
    run = cli("fix", ".", cwd=tmp_path)
    # The downloaded copy is never edited (the next terragrunt init overwrites it): its own
    # literal stays a finding.
    assert run.code == 1, run.out
    assert "in a module downloaded by terragrunt" in run.out + run.err
    text = (tmp_path / "live/prod/app/terragrunt.hcl").read_text()
    assert 'http_tokens = "required"' in text
    assert "hop_limit   = 1" in text
    assert module.read_text() == APP_MODULE.lstrip("\n")
    assert (tmp_path / "live/root.hcl").read_text() == ROOT_HCL.lstrip("\n")


def test_a_remote_unit_without_cache_is_a_warning_at_its_source(cli, tmp_path: Path) -> None:
    _remote_unit(tmp_path, cached=False)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert findings(run) == [("IMDS004", "terragrunt", 10)]
    (warning,) = run.json()["findings"]
    assert warning["path"] == "live/prod/app/terragrunt.hcl"
    assert warning["column"] == 12  # the source string
    assert warning["severity"] == "warning"
    assert warning["message"] == (
        "[terragrunt] terragrunt unit (source "
        '"git::https://github.com/example-corp/infra-modules.git//modules/app?ref=v1.4.0") was '
        "not evaluated: run terragrunt init (or plan) so that .terragrunt-cache holds it"
    )
    assert run.code == 0


def test_two_cached_copies_are_ambiguous_a_warning(cli, tmp_path: Path) -> None:
    _remote_unit(tmp_path)
    # The unit's directory was renamed or its source's repository changed: a second copy.
    other = "live/prod/app/.terragrunt-cache/Rx1c9bM2vV0kq3HcE4yJ8dKJY0A/W9f3kq2LqzZ0Yx1vB7c4n5m"
    write(tmp_path, f"{other}/modules/app/main.tf", APP_MODULE.replace('"optional"', '"required"'))
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert findings(run) == [("IMDS004", "terragrunt", 10)]
    message = run.json()["findings"][0]["message"]
    assert ".terragrunt-cache holds 2 downloaded copies" in message
    assert "delete .terragrunt-cache and run terragrunt init (or plan) again" in message


def test_a_cached_copy_without_the_subdirectory_is_a_warning(cli, tmp_path: Path) -> None:
    write(tmp_path, "live/root.hcl", ROOT_HCL)
    write(tmp_path, "live/prod/app/terragrunt.hcl", UNIT)
    write(tmp_path, f"{CACHED}/modules/other/main.tf", APP_MODULE)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert findings(run) == [("IMDS004", "terragrunt", 10)]
    assert "modules/app holds no .tf file" in run.json()["findings"][0]["message"]


LOCAL_MODULE = """
variable "http_tokens" {
  type    = string
  default = "optional"
}

resource "aws_instance" "web" {
  ami           = "ami-0123456789abcdef0"
  instance_type = "t3.micro"

  metadata_options {
    http_tokens = var.http_tokens
  }
}
"""


def test_a_local_source_is_evaluated_from_its_path(cli, tmp_path: Path) -> None:
    write(tmp_path, "modules/web/main.tf", LOCAL_MODULE)
    write(
        tmp_path,
        "live/prod/web/terragrunt.hcl",
        """
        terraform {
          source = "../../../modules//web"
        }

        inputs = {
          http_tokens = "required"
        }
        """,
    )
    write(
        tmp_path,
        "live/dev/web/terragrunt.hcl",
        """
        terraform {
          source = "${get_parent_terragrunt_dir()}/modules//web"
        }
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    # prod's input wins over the module's default; the module is not evaluated again as a root
    # of its own (with its default): the unit deploys it.
    got = [(f["rule_id"], f["path"], f["line"]) for f in run.json()["findings"]]
    assert got == [("IMDS004", "live/dev/web/terragrunt.hcl", 2)]
    assert "its source must be a literal string" in run.json()["findings"][0]["message"]


def test_a_local_source_passing_optional_is_found_at_the_unit(cli, tmp_path: Path) -> None:
    write(tmp_path, "modules/web/main.tf", LOCAL_MODULE.replace('"optional"', '"required"'))
    write(
        tmp_path,
        "live/stage/web/terragrunt.hcl",
        """
        terraform {
          source = "../../../modules/web"
        }

        inputs = {
          http_tokens = "optional"
        }
        """,
    )
    run = cli("check", "--format", "concise", "live/stage/web", cwd=tmp_path)
    assert run.out.splitlines()[0].startswith(
        "live/stage/web/terragrunt.hcl:6:17: IMDS002 [aws_instance.web]"
    )


def test_a_missing_local_source_is_a_warning(cli, tmp_path: Path) -> None:
    write(tmp_path, "live/web/terragrunt.hcl", 'terraform {\n  source = "../../modules/web"\n}\n')
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert findings(run) == [("IMDS004", "terragrunt", 2)]
    assert "directory modules/web does not exist" in run.json()["findings"][0]["message"]


def test_a_unit_without_source_evaluates_its_own_directory(cli, tmp_path: Path) -> None:
    write(tmp_path, "live/web/main.tf", LOCAL_MODULE)
    write(tmp_path, "live/web/terragrunt.hcl", 'inputs = {\n  http_tokens = "required"\n}\n')
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert findings(run) == []  # not once with the default as a plain root


def test_included_inputs_are_read_and_shared(cli, tmp_path: Path) -> None:
    write(tmp_path, "live/root.hcl", 'inputs = {\n  http_tokens = "optional"\n}\n')
    write(
        tmp_path,
        "live/prod/web/terragrunt.hcl",
        """
        include "root" {
          path = find_in_parent_folders("root.hcl")
        }

        terraform {
          source = "../../../modules//web"
        }
        """,
    )
    write(tmp_path, "modules/web/main.tf", LOCAL_MODULE.replace('"optional"', '"required"'))
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert [(f["rule_id"], f["path"], f["line"]) for f in run.json()["findings"]] == [
        ("IMDS002", "live/root.hcl", 2)
    ]
    # Every unit that includes root.hcl reads the value: the fix is not safe.
    fixed = cli("fix", ".", cwd=tmp_path)
    assert fixed.code == 1
    assert "optional" in (tmp_path / "live/root.hcl").read_text()


def test_an_include_that_cannot_be_read_makes_unset_variables_unknown(cli, tmp_path: Path) -> None:
    write(tmp_path, "modules/web/main.tf", LOCAL_MODULE)
    write(
        tmp_path,
        "live/web/terragrunt.hcl",
        """
        include "env" {
          path = "${get_parent_terragrunt_dir()}/env.hcl"
        }

        terraform {
          source = "../../modules/web"
        }

        inputs = {
          name = "web"
        }
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    # The module's default would be "optional", but the included inputs may set it.
    assert findings(run) == [("IMDS004", "aws_instance.web", 1)]
    assert 'the inputs of include "env" may set it' in run.json()["findings"][0]["message"]


def test_terragrunt_functions_and_dependencies_are_unknown(cli, tmp_path: Path) -> None:
    write(tmp_path, "modules/web/main.tf", LOCAL_MODULE)
    write(
        tmp_path,
        "live/web/terragrunt.hcl",
        """
        terraform {
          source = "../../modules/web"
        }

        locals {
          tokens = "optional"
        }

        inputs = {
          http_tokens = get_env("HTTP_TOKENS", local.tokens)
        }
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert [(f["rule_id"], f["path"], f["line"]) for f in run.json()["findings"]] == [
        ("IMDS004", "live/web/terragrunt.hcl", 10)
    ]


def test_the_cache_is_not_scanned_on_its_own(cli, tmp_path: Path) -> None:
    _remote_unit(tmp_path)
    (tmp_path / "live/prod/app/terragrunt.hcl").unlink()
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert findings(run) == []


@pytest.mark.parametrize(
    ("written", "root", "subdir"),
    [
        (
            "git::https://github.com/example-corp/infra-modules.git//modules/app?ref=v1.4.0",
            "git::https://github.com/example-corp/infra-modules.git",
            "modules/app",
        ),
        (
            "git::git@github.com:example-corp/infra-modules.git//app?ref=v1",
            "git::git@github.com:example-corp/infra-modules.git",
            "app",
        ),
        (
            "tfr:///terraform-aws-modules/vpc/aws?version=5.8.1",
            "tfr:///terraform-aws-modules/vpc/aws",
            "",
        ),
        ("../../modules//web", "../../modules", "web"),
        ("../../modules/web", "../../modules/web", ""),
    ],
)
def test_split_source(written: str, root: str, subdir: str) -> None:
    assert split_source(written) == (root, subdir)
