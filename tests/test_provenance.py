"""Provenance as data: a link's kind decides how it reads and whether a fix may edit it, and
findings of instances are merged on structured fields, never by taking a message apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from imds_iac_checks.model import SAFE, UNSAFE, Link, LinkKind, Span, fix_safety, normalize
from tests.conftest import write

SPAN = Span("main.tf", 0, 1, 1, 1, 1, 2)


@pytest.mark.parametrize(
    ("link", "text"),
    [
        (Link(SPAN, LinkKind.LITERAL), "literal"),
        (Link(SPAN, LinkKind.VARIABLE_DEFAULT, "var.x"), "default of var.x"),
        (
            Link(SPAN, LinkKind.VARIABLE_FILE, "var.x", "terraform.tfvars"),
            "var.x in terraform.tfvars",
        ),
        (Link(SPAN, LinkKind.VARIABLE_CLI, "var.x", "--var x=1"), "var.x from --var x=1"),
        (
            Link(SPAN, LinkKind.VARIABLE_ENV, "var.x", "TF_VAR_x"),
            "var.x from TF_VAR_x in the environment",
        ),
        (
            Link(SPAN, LinkKind.MODULE_INPUT, "tokens", "module.web[0]"),
            "module.web[0] input tokens",
        ),
        (
            Link(SPAN, LinkKind.PARAMETER_CLI, "P", "--parameter P=1"),
            "parameter P from --parameter P=1",
        ),
        (Link(SPAN, LinkKind.PARAMETER_REFERENCE, "P"), "Ref P"),
        (Link(SPAN, LinkKind.MAPPING, "M.a.b"), "mapping M.a.b"),
        (Link(SPAN, LinkKind.FUNCTION, "try"), "try()"),
    ],
)
def test_a_link_reads_as_its_kind_says(link: Link, text: str) -> None:
    assert link.description == text


def test_every_kind_reads_as_something() -> None:
    kinds = [v for k, v in vars(LinkKind).items() if k.isupper()]
    for kind in kinds:
        assert Link(SPAN, kind, "s", "p").description


def test_fix_safety_comes_from_the_kind() -> None:
    literal = Link(SPAN, LinkKind.LITERAL)
    assert fix_safety(literal, inside=True) == SAFE
    assert fix_safety(literal, inside=False) == UNSAFE
    assert fix_safety(Link(SPAN, LinkKind.VARIABLE_DEFAULT, "var.x"), inside=False) == UNSAFE
    assert fix_safety(Link(SPAN, LinkKind.MODULE_INPUT, "t", "module.a"), inside=False) == SAFE
    assert fix_safety(Link(SPAN, LinkKind.PARAMETER_CLI, "P"), inside=True) is None
    assert fix_safety(Link(SPAN, LinkKind.VARIABLE_CLI, "var.x", "--var x=1"), inside=True) is None
    assert fix_safety(Link(SPAN, LinkKind.VARIABLE_ENV, "var.x", "TF_VAR_x"), inside=True) is None
    # A description that merely reads like another kind does not change the safety.
    looks_like_input = Link(SPAN, LinkKind.LOCAL, "module.a input b")
    assert fix_safety(looks_like_input, inside=False) == UNSAFE


def test_a_setting_without_a_normaliser_is_text() -> None:
    from imds_iac_checks.formats.terraform.kinds import KINDS

    spec = KINDS["aws_instance"]
    assert normalize(spec, "user_data", True) == ("true", None)
    assert normalize(spec, "hop_limit", "2") == (2, None)


def test_instances_merge_on_structure_not_on_message_text(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """
        resource "aws_instance" "odd" {
          for_each = toset(["x] y", "z"])
          metadata_options {
            http_tokens = data.x.y[0].id
          }
        }
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    (finding,) = run.json()["findings"]
    assert finding["resource"] == "aws_instance.odd"
    # The expression keeps its index; a key holding "] " does not split the message.
    assert finding["message"] == (
        "[aws_instance.odd (2 instances)] http_tokens could not be evaluated statically: "
        "data.x.y[0].id"
    )


def test_module_instances_merge_with_their_inputs_named_once(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "root/main.tf",
        """
        module "web" {
          source = "../web"
          count  = 2
          tokens = "optional"
        }
        """,
    )
    write(
        tmp_path,
        "web/main.tf",
        """
        variable "tokens" {
          default = "required"
        }

        resource "aws_instance" "this" {
          metadata_options {
            http_tokens = var.tokens
          }
        }
        """,
    )
    run = cli("check", "--format", "json", "root", cwd=tmp_path)
    (finding,) = run.json()["findings"]
    assert finding["resource"] == "module.web.aws_instance.this"
    assert finding["message"] == (
        '[module.web.aws_instance.this (2 instances)] http_tokens is "optional" '
        '(module.web input tokens, via var.tokens at web/main.tf:7); set it to "required"'
    )
    assert finding["fix"] == "safe"
