"""Guardrail policies made by local Terraform modules (issue 18, review 2 points 3, 4, 5, 7):
a module's policy that reads a call's argument is judged with what the call gives (the fix
lands in the argument), nested calls are followed, ``for_each`` calls are not judged silently,
and a module default that a scanned caller overrides is not the one to fix."""

from __future__ import annotations

from pathlib import Path

from imds_iac_checks.formats import policy_terraform
from imds_iac_checks.model import Policy

from .conftest import Run, write

HOP_MODULE = """\
variable "name" {
  type = string
}

variable "hop_limit" {
  type    = number
  default = 1
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "MaxImdsHopLimit"
    effect    = "Deny"
    actions   = ["ec2:RunInstances"]
    resources = ["arn:aws:ec2:*:*:instance/*"]

    condition {
      test     = "NumericGreaterThan"
      variable = "ec2:MetadataHttpPutResponseHopLimit"
      values   = [var.hop_limit]
    }
  }
}

resource "aws_organizations_policy" "this" {
  name    = var.name
  content = data.aws_iam_policy_document.this.json
}
"""


def read(directory: Path, callers: list[Path] | None = None) -> dict[str, Policy]:
    files = sorted(directory.glob("*.tf"))
    given = [(str(p), p.name, p.read_bytes()) for p in files]
    calling = [(str(p), p.name, p.read_bytes()) for p in callers or []]
    found, _, errors = policy_terraform.read(given, calling)
    assert errors == []
    return {p.address: p for p in found}


def issues(run: Run) -> list[tuple[str, str, int, str]]:
    return [
        (f["resource"], f["path"].replace("\\", "/"), f["line"], f["message"])
        for f in run.json()["findings"]
    ]


def test_a_module_input_inside_the_document_is_judged_with_the_callers_value(
    tmp_path: Path, cli
) -> None:
    """values = [var.hop_limit] in the module, hop_limit = 5 in the root: judged with 5 (the
    module's default 1 would pass), the finding and its fix on the root's argument."""
    write(tmp_path, "modules/scp/main.tf", HOP_MODULE)
    write(
        tmp_path,
        "live/main.tf",
        """\
        module "scp" {
          source    = "../modules/scp"
          name      = "imds-hop-limit"
          hop_limit = 5
        }
        """,
    )
    found = read(tmp_path / "live")
    scp = found["module.scp.aws_organizations_policy.this"]
    (statement,) = scp.statements
    (value,) = statement.conditions[0].values
    assert value.value == "5"
    assert value.span.path == "main.tf" and value.span.line == 4
    assert value.edit is not None and value.shared == ""
    # the scan: one finding, in the caller, on the live directory scanned alone too
    for target in (tmp_path, tmp_path / "live"):
        run = cli("check", "--format", "json", str(target), cwd=tmp_path)
        got = [(r, f.rsplit("/", 2)[-2:], line) for r, f, line, _ in issues(run)]
        assert got == [("module.scp.aws_organizations_policy.this", ["live", "main.tf"], 4)]


def test_a_module_default_a_caller_overrides_is_shared(tmp_path: Path) -> None:
    """The module's own default (5, weak) is judged when the module is read, but the scanned
    caller sets hop_limit = 1: a fix of the default would change nothing the caller applies."""
    write(tmp_path, "modules/scp/main.tf", HOP_MODULE.replace("default = 1", "default = 5"))
    caller = write(
        tmp_path,
        "live/main.tf",
        """\
        module "scp" {
          source    = "../modules/scp"
          name      = "imds-hop-limit"
          hop_limit = 1
        }
        """,
    )
    own = read(tmp_path / "modules" / "scp", [caller])["aws_organizations_policy.this"]
    (value,) = own.statements[0].conditions[0].values
    assert value.value == "5"
    assert value.shared == "default of var.hop_limit, overridden by module.scp (main.tf)"
    # no caller scanned: the default is the module's to fix
    alone = read(tmp_path / "modules" / "scp")["aws_organizations_policy.this"]
    assert alone.statements[0].conditions[0].values[0].shared == ""
    # the caller's policy is judged with 1
    called = read(tmp_path / "live")["module.scp.aws_organizations_policy.this"]
    assert called.statements[0].conditions[0].values[0].value == "1"


def test_content_passed_through_two_modules_is_followed(tmp_path: Path, cli) -> None:
    """live -> modules/wrap -> modules/scp, ``content = var.content`` twice: the document the
    live root writes is judged, the fix in live/main.tf."""
    write(
        tmp_path,
        "modules/scp/main.tf",
        """\
        variable "content" {
          type = string
        }

        resource "aws_organizations_policy" "this" {
          name    = "imds"
          content = var.content
        }
        """,
    )
    write(
        tmp_path,
        "modules/wrap/main.tf",
        """\
        variable "content" {
          type = string
        }

        module "scp" {
          source  = "../scp"
          content = var.content
        }
        """,
    )
    write(
        tmp_path,
        "live/main.tf",
        """\
        module "org" {
          source = "../modules/wrap"
          content = jsonencode({
            Version = "2012-10-17"
            Statement = [{
              Effect    = "Deny"
              Action    = "ec2:RunInstances"
              Resource  = "arn:aws:ec2:*:*:instance/*"
              Condition = { StringEquals = { "ec2:MetadataHttpTokens" = "optional" } }
            }]
          })
        }
        """,
    )
    found = read(tmp_path / "live")
    scp = found["module.org.module.scp.aws_organizations_policy.this"]
    assert scp.what == "service control policy (made by module.org.module.scp, ../scp)"
    assert (scp.span.path, scp.span.line) == ("main.tf", 1)
    operator = scp.statements[0].conditions[0].operator
    assert (operator.value, operator.span.line) == ("StringEquals", 9)
    # the wrapper alone gives nothing to judge; the scan reports the one finding, in live
    assert read(tmp_path / "modules" / "wrap") == {}
    run = cli("check", "--format", "json", str(tmp_path), cwd=tmp_path)
    got = [(r, f.rsplit("/", 2)[-2:], line) for r, f, line, _ in issues(run)]
    assert got == [("module.org.module.scp.aws_organizations_policy.this", ["live", "main.tf"], 9)]


def test_a_for_each_call_is_a_policy_not_followed(tmp_path: Path) -> None:
    """``for_each = local.policies`` with ``content = each.value``: one policy per element,
    each its own document; a Policy that says so (the rule warns), never dropped."""
    write(
        tmp_path,
        "modules/scp/main.tf",
        """\
        variable "name" {
          type = string
        }

        variable "content" {
          type = string
        }

        resource "aws_organizations_policy" "this" {
          name    = var.name
          content = var.content
        }
        """,
    )
    write(
        tmp_path,
        "main.tf",
        """\
        locals {
          policies = {
            imds = jsonencode({
              Version = "2012-10-17"
              Statement = [{
                Effect    = "Deny"
                Action    = "ec2:RunInstances"
                Resource  = "*"
                Condition = { StringNotEquals = { "ec2:MetadataHttpTokens" = "required" } }
              }]
            })
          }
        }

        module "scp" {
          for_each = local.policies
          source   = "./modules/scp"
          name     = each.key
          content  = each.value
        }
        """,
    )
    scp = read(tmp_path)["module.scp.aws_organizations_policy.this"]
    (statement,) = scp.statements
    assert statement.unknown == (
        "the content (module.scp is called with for_each = local.policies: one "
        "policy per element, not followed)"
    )


def test_a_local_two_calls_pass_as_their_content_is_one_fix(tmp_path: Path, cli) -> None:
    """local.scp is the whole content of module.prod and module.dev: the same document, so the
    same finding; each policy says so, and the one fix in the local converges."""
    write(
        tmp_path,
        "modules/scp/main.tf",
        """\
        variable "name" {
          type = string
        }

        variable "content" {
          type = string
        }

        resource "aws_organizations_policy" "this" {
          name    = var.name
          content = var.content
        }
        """,
    )
    write(
        tmp_path,
        "live/main.tf",
        """\
        locals {
          scp = jsonencode({
            Version = "2012-10-17"
            Statement = [{
              Effect    = "Deny"
              Action    = "ec2:RunInstances"
              Resource  = "arn:aws:ec2:*:*:instance/*"
              Condition = { StringEquals = { "ec2:MetadataHttpTokens" = "optional" } }
            }]
          })
        }

        module "prod" {
          source  = "../modules/scp"
          name    = "prod"
          content = local.scp
        }

        module "dev" {
          source  = "../modules/scp"
          name    = "dev"
          content = local.scp
        }
        """,
    )
    found = read(tmp_path / "live")
    for name in ("prod", "dev"):
        statement = found[f"module.{name}.aws_organizations_policy.this"].statements[0]
        assert statement.conditions[0].operator.shared == ""
    run = cli("check", "--format", "json", str(tmp_path), cwd=tmp_path)
    got = [(r, line, m.split("]")[0]) for r, _, line, m in issues(run)]
    assert got == [
        (
            "module.prod.aws_organizations_policy.this",
            8,
            "[module.prod.aws_organizations_policy.this statement 1",
        ),
        (
            "module.dev.aws_organizations_policy.this",
            8,
            "[module.dev.aws_organizations_policy.this statement 1",
        ),
    ]
    fixed = cli("fix", "--unsafe-fixes", str(tmp_path), cwd=tmp_path)
    assert fixed.code == 0, fixed.out
    text = (tmp_path / "live" / "main.tf").read_text()
    assert '{ StringNotEquals = { "ec2:MetadataHttpTokens" = "required" } }' in text
    assert cli("check", "--format", "json", str(tmp_path), cwd=tmp_path).json()["findings"] == []


def test_a_root_scanned_alone_judges_the_modules_default_content(tmp_path: Path, cli) -> None:
    """Review 2, point 7: live/ calls modules/scp with its default content and only live/ is
    scanned: the call is judged with the default (the finding in the module's file, its fix
    outside the paths given); the whole tree reports it once, as the module's own."""
    write(
        tmp_path,
        "modules/scp/main.tf",
        """\
        variable "name" {
          type = string
        }

        variable "content" {
          type    = string
          default = <<-EOF
            {
              "Version": "2012-10-17",
              "Statement": [{
                "Effect": "Deny",
                "Action": "ec2:RunInstances",
                "Resource": "arn:aws:ec2:*:*:instance/*",
                "Condition": {"StringEquals": {"ec2:MetadataHttpTokens": "optional"}}
              }]
            }
          EOF
        }

        resource "aws_organizations_policy" "this" {
          name    = var.name
          content = var.content
        }
        """,
    )
    write(
        tmp_path,
        "live/main.tf",
        """\
        module "scp" {
          source = "../modules/scp"
          name   = "imds"
        }
        """,
    )
    alone = cli("check", "--format", "json", ".", cwd=tmp_path / "live")
    got = [(r, f, line) for r, f, line, _ in issues(alone)]
    assert got == [("module.scp.aws_organizations_policy.this", "../modules/scp/main.tf", 14)]
    fixed = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path / "live")
    assert "outside the paths given" in fixed.out
    whole = cli("check", "--format", "json", str(tmp_path), cwd=tmp_path)
    got = [(r, f.rsplit("/", 3)[-3:], line) for r, f, line, _ in issues(whole)]
    assert got == [("aws_organizations_policy.this", ["modules", "scp", "main.tf"], 14)]
