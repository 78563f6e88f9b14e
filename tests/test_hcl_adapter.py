"""The Terraform HCL adapter: literal evaluation, unknowns, dynamic blocks and exact spans."""

from __future__ import annotations

import textwrap

from imds_iac_checks.engine import Context, evaluate
from imds_iac_checks.formats.terraform import module as hcl
from imds_iac_checks.model import ENDPOINT, HOP_LIMIT, TOKENS

UNCLOSED = (
    "There is no closing brace for this block before the end of the file. This may be caused by "
    "incorrect brace nesting elsewhere in this file."
)


def targets(text: str, path: str = "main.tf"):
    found, errors = hcl.parse(path, textwrap.dedent(text).encode())
    assert errors == []
    return found


def one(text: str):
    (target,) = targets(text)
    return target


def rules_of(text: str, hop_limit: int = 1) -> list[tuple[str, int]]:
    return [
        (f.rule_id, f.span.line)
        for t in targets(text)
        for f in evaluate(t, Context(hop_limit=hop_limit))
    ]


def test_literal_forms() -> None:
    target = one(
        """
        resource "aws_launch_template" "t" {
          metadata_options {
            http_endpoint               = ("enabled")
            http_tokens                 = "req\\u0075ired"
            http_put_response_hop_limit = 2.0
          }
        }
        """
    )
    assert target.settings[ENDPOINT][0].value == "enabled"
    assert target.settings[TOKENS][0].value == "required"  # escapes are decoded
    assert target.settings[TOKENS][0].expression == '"req\\u0075ired"'
    hop = target.settings[HOP_LIMIT][0]
    assert (hop.value, hop.raw, hop.known) == (2, 2.0, True)


def test_null_means_absent() -> None:
    assert rules_of(
        """
        resource "aws_instance" "web" {
          metadata_options {
            http_tokens                 = null
            http_put_response_hop_limit = null
          }
        }
        """
    ) == [("IMDS002", 3)]  # the metadata_options block


def test_locals_resolve_and_unknowns_are_reported() -> None:
    text = """
    locals {
      tokens = "required"
    }

    resource "aws_instance" "web" {
      metadata_options {
        http_endpoint               = var.imds_enabled ? "enabled" : "disabled"
        http_tokens                 = local.tokens
        http_put_response_hop_limit = "${var.hops}"
      }
    }
    """
    target = one(text)
    endpoint = target.settings[ENDPOINT]
    assert [(v.value, v.condition) for v in endpoint] == [
        ("enabled", "var.imds_enabled is true"),
        ("disabled", "var.imds_enabled is false"),
    ]
    (tokens,) = target.settings[TOKENS]
    assert (tokens.value, tokens.span.line) == ("required", 3)
    assert [link.description for link in tokens.provenance] == ["local.tokens", "local.tokens"]
    (hop,) = target.settings[HOP_LIMIT]
    assert not hop.known
    assert hop.expression == '"${var.hops}"'
    found = evaluate(target, Context())
    assert [(f.rule_id, f.span.line, f.fixable) for f in found] == [("IMDS004", 10, False)]
    assert found[0].message.endswith(
        'http_put_response_hop_limit could not be evaluated statically: "${var.hops}"'
    )
    assert found[0].severity == "warning"


def test_unknown_endpoint_still_checks_tokens() -> None:
    assert rules_of(
        """
        resource "aws_instance" "web" {
          metadata_options {
            http_endpoint = var.endpoint
            http_tokens   = "optional"
          }
        }
        """
    ) == [("IMDS002", 5), ("IMDS004", 4)]


def test_invalid_hop_literal() -> None:
    target = one(
        """
        resource "aws_instance" "web" {
          metadata_options {
            http_tokens                 = "required"
            http_put_response_hop_limit = "two"
          }
        }
        """
    )
    (finding,) = evaluate(target, Context())
    assert finding.rule_id == "IMDS004"
    assert finding.message.endswith('could not be evaluated: "two" is not a number')


def test_dynamic_block_with_literal_content_counts_as_the_block() -> None:
    assert rules_of(
        """
        resource "aws_launch_template" "lt" {
          dynamic "metadata_options" {
            for_each = [1]
            content {
              http_tokens                 = "optional"
              http_put_response_hop_limit = 3
            }
          }
        }
        """
    ) == [("IMDS002", 6), ("IMDS003", 7)]


def test_dynamic_block_iterator_values_are_unknown() -> None:
    assert rules_of(
        """
        resource "aws_launch_template" "lt" {
          dynamic "metadata_options" {
            for_each = var.metadata_options != null ? [var.metadata_options] : []
            iterator = opts
            content {
              http_endpoint = opts.value.http_endpoint
              http_tokens   = opts.value.http_tokens
            }
          }
        }
        """
    ) == [("IMDS004", 7), ("IMDS004", 8)]


def test_dynamic_block_over_an_empty_literal_is_no_block() -> None:
    assert rules_of(
        """
        resource "aws_instance" "web" {
          dynamic "metadata_options" {
            for_each = []
            content {
              http_tokens = "required"
            }
          }
        }
        """
    ) == [("IMDS001", 2)]


def test_dynamic_block_for_another_block_is_ignored() -> None:
    assert rules_of(
        """
        resource "aws_instance" "web" {
          dynamic "ebs_block_device" {
            for_each = var.volumes
            content {
              device_name = ebs_block_device.value.name
            }
          }
        }
        """
    ) == [("IMDS001", 2)]


def test_nested_blocks_named_like_options_do_not_count() -> None:
    # metadata_options nested inside another block is not the resource's own block.
    assert rules_of(
        """
        resource "aws_instance" "web" {
          credit_specification {
            cpu_credits = "standard"
          }
          root_block_device {
            volume_size = 20
          }
        }
        """
    ) == [("IMDS001", 2)]


def test_heredoc_and_interpolation() -> None:
    target = one(
        """
        resource "aws_instance" "web" {
          user_data = <<-EOT
            #!/bin/bash
            curl -s http://169.254.169.254/latest/meta-data/instance-id
          EOT
          metadata_options {
            http_tokens = <<-EOT
              required
            EOT
            http_endpoint = "${"enabled"}"
          }
        }
        """
    )
    assert target.settings[TOKENS][0].value == "required\n"
    assert target.settings[ENDPOINT][0].value == "enabled"  # a template of literals is a literal


def test_bare_identifier_labels_and_spaces() -> None:
    found = targets(
        """
        resource aws_instance bare {
        }
        resource "aws_instance" "working example" {
          metadata_options {
            http_tokens = "required"
          }
        }
        """
    )
    assert [t.address for t in found] == ["aws_instance.bare", "aws_instance.working example"]


def test_columns_count_characters_not_bytes() -> None:
    text = (
        'resource "aws_instance" "wéb" {\n'
        '  metadata_options { http_tokens = "optional" } # «ünïcode» before: 日本\n'
        "}\n"
    )
    text = text.replace("{ http_tokens", "{ /* 日本語 */ http_tokens")
    (target,) = hcl.parse("x.tf", text.encode())[0]
    span = target.settings[TOKENS][0].span
    line = text.split("\n")[1]
    assert span.line == 2
    assert span.column == line.index('"optional"') + 1
    assert span.start_byte == text.encode().index(b'"optional"')
    assert span.end_column == span.column + len('"optional"')


def test_bom_and_crlf() -> None:
    text = (
        'resource "aws_instance" "web" {\r\n  metadata_options {\r\n'
        '    http_tokens = "optional"\r\n  }\r\n}\r\n'
    )
    data = b"\xef\xbb\xbf" + text.encode()
    found, errors = hcl.parse("x.tf", data)
    assert errors == []
    (target,) = found
    value = target.settings[TOKENS][0]
    assert (value.span.line, value.span.column) == (3, 19)
    assert data[value.span.start_byte : value.span.end_byte] == b'"optional"'
    assert (target.header.line, target.header.column) == (1, 1)


def test_provenance_points_at_the_literal() -> None:
    text = textwrap.dedent(
        """
        resource "aws_instance" "web" {
          metadata_options {
            http_put_response_hop_limit = 4
          }
        }
        """
    )
    (target,) = hcl.parse("main.tf", text.encode())[0]
    value = target.settings[HOP_LIMIT][0]
    (link,) = value.provenance
    assert link.description == "literal"
    assert text.encode()[link.span.start_byte : link.span.end_byte] == b"4"
    assert link.span.path == "main.tf"


def test_syntax_error_is_reported_with_position() -> None:
    text = textwrap.dedent(
        """
        resource "aws_instance" "web" {
          ami = "ami-123"
          metadata_options {
            http_tokens = = "optional"
          }
        }
        """
    )
    found, errors = hcl.parse("bad.tf", text.encode())
    assert found == []
    (error,) = errors
    # Where and what Terraform reports (issue 14, point 7): the second "=", not the end of file.
    assert (error.path, error.line, error.column) == ("bad.tf", 5, 19)
    assert error.message == (
        "Invalid expression: Expected the start of an expression, but found an invalid "
        "expression token."
    )


def test_unclosed_block() -> None:
    found, errors = hcl.parse("bad.tf", b'resource "aws_instance" "web" {\n  ami = "x"\n')
    assert found == []
    # The end of the file is where the error is found; HCL points at the block's "{".
    assert errors[0][1:] == (1, 31, "Unclosed configuration block: " + UNCLOSED)
