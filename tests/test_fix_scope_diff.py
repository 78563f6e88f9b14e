"""``imds-iac fix --diff`` says what ``fix`` says about the findings it leaves (a fix outside the
paths given, an edit verification rejected, an unsafe fix not enabled), on standard error so that
standard output stays a patch, and exits as ruff's ``--diff`` does: 1 when there is something to
change, else 0. And the reason a guardrail-policy fix is unsafe fits the kind of policy."""

from __future__ import annotations

from pathlib import Path

from imds_iac_checks.fix import _policy_hazard
from imds_iac_checks.model import Finding, Span
from tests.conftest import write

# The guardrail's launch statement written with the wrong operator, in a shared local: the
# aws_organizations_policy that encodes it is in main.tf (as in review 2's repro n1).
LOCALS = """\
locals {
  imds_policy = {
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Deny"
      Action    = "ec2:RunInstances"
      Resource  = "arn:aws:ec2:*:*:instance/*"
      Condition = { StringEquals = { "ec2:MetadataHttpTokens" = "required" } }
    }]
  }
}
"""
MAIN = """\
resource "aws_organizations_policy" "imds" {
  name    = "imds"
  content = jsonencode(local.imds_policy)
}
"""


def _not_fixed(text: str) -> list[str]:
    """The ``not fixed:`` lines of a fix report, with the finding line each follows (fixed
    findings and the summary left out)."""
    lines = text.splitlines()
    return [
        line
        for i, line in enumerate(lines)
        if "not fixed: " in line or (i + 1 < len(lines) and "not fixed: " in lines[i + 1])
    ]


def _org(tmp_path: Path) -> Path:
    org = tmp_path / "org"
    write(org, "locals.tf", LOCALS)
    write(org, "main.tf", MAIN)
    return org


def test_diff_of_a_file_says_the_fix_is_outside_the_paths_given(cli, tmp_path: Path) -> None:
    org = _org(tmp_path)
    before = (org / "locals.tf").read_text()
    diff = cli("fix", "--unsafe-fixes", "--diff", "org/main.tf", cwd=tmp_path)
    # ruff's --diff: nothing to change is exit 0, even with findings left (`check` fails on them)
    assert diff.code == 0
    assert diff.out == ""
    assert "not fixed: the fix is in org/locals.tf, outside the paths given" in diff.err
    assert diff.err.endswith("No fixes to make; 1 finding left.\n")
    fixed = cli("fix", "--unsafe-fixes", "org/main.tf", cwd=tmp_path)
    assert fixed.code == 1
    assert (org / "locals.tf").read_text() == before
    # the same finding and reason as fix without --diff prints
    assert _not_fixed(diff.err) == _not_fixed(fixed.out) != []


def test_diff_without_unsafe_fixes_says_how_to_enable_them(cli, tmp_path: Path) -> None:
    _org(tmp_path)
    diff = cli("fix", "--diff", "org", cwd=tmp_path)
    assert diff.code == 0 and diff.out == ""
    assert "enable it with --unsafe-fixes" in diff.err
    assert diff.err.endswith(
        "No fixes to make; 1 finding left (1 with an unsafe fix: add --unsafe-fixes).\n"
    )
    assert _not_fixed(diff.err) == _not_fixed(cli("fix", "org", cwd=tmp_path).out)


def test_diff_of_the_directory_shows_the_fix_and_exits_1(cli, tmp_path: Path) -> None:
    _org(tmp_path)
    diff = cli("fix", "--unsafe-fixes", "--diff", "org", cwd=tmp_path)
    assert diff.code == 1
    assert diff.out.startswith("--- a/org/locals.tf\n+++ b/org/locals.tf\n")
    assert '"ec2:MetadataHttpTokens" = "required"' in diff.out
    assert "StringNotEquals" in diff.out
    assert diff.err == "Would fix 1 finding in 1 file; 0 findings would be left.\n"
    assert cli("fix", "--unsafe-fixes", "--diff", "-q", "org", cwd=tmp_path).err == ""


def test_diff_reports_what_verification_leaves_as_fix_does(cli, tmp_path: Path) -> None:
    """Review 1's case: a Deny on Resource "*" whose fix the rescan may reject. Whatever the
    rule makes of it, --diff and fix say the same about it, and the exit code follows the
    diff."""
    write(
        tmp_path,
        "scp/deny-imdsv1.json",
        '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {\n'
        '      "Effect": "Deny",\n      "Action": "ec2:RunInstances",\n'
        '      "Resource": "*",\n      "Condition": {\n'
        '        "StringEquals": {"ec2:MetadataHttpTokens": "optional"}\n      }\n    }\n  ]\n}\n',
    )
    diff = cli("fix", "--unsafe-fixes", "--diff", "scp", cwd=tmp_path)
    assert diff.code == (1 if diff.out else 0)
    fixed = cli("fix", "--unsafe-fixes", "scp", cwd=tmp_path)
    assert _not_fixed(diff.err) == _not_fixed(fixed.out)
    if not diff.out:
        assert "not fixed: " in diff.err


def _finding(kind: str, note: str) -> Finding:
    span = Span("p.json", 0, 1, 1, 1, 1, 2)
    return Finding(
        "IMDS010", "error", "[p] x", "p.json", span, "p", kind, True, fix="unsafe", fix_note=note
    )


def test_a_policy_fix_is_tried_where_that_kind_of_policy_is_attached() -> None:
    change = "writes the corrected statement"
    denies = "the policy then denies requests it lets through today"
    assert _policy_hazard(_finding("service control policy", change)) == (
        change,
        f"{denies}: attach it to a test OU first",
    )
    assert _policy_hazard(_finding("IAM managed policy", change))[1] == (
        f"{denies}: attach it to a test role or user first"
    )
    assert _policy_hazard(_finding("inline policy of a role", change))[1].endswith(
        "a test role or user first"
    )
    # a plain document or a Terraform aws_iam_policy_document may be either
    for kind in ("policy document", "IAM policy document"):
        assert _policy_hazard(_finding(kind, change))[1] == (
            f"{denies}; an SCP: attach it to a test OU first"
        )
    # a rule that knows better says why itself
    own = _finding("IAM policy", f"{change} (unsafe: the role can then launch only with tokens)")
    assert _policy_hazard(own) == (change, "the role can then launch only with tokens")
    # ... or where to try it: that is not said twice
    tried = f"{change} (an identity policy: try it on a test role first)"
    assert _policy_hazard(_finding("IAM policy", tried)) == (tried, denies)


def test_fix_prints_the_reason_for_each_kind_of_policy(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "iam/template.yaml",
        'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  LaunchGuard:\n'
        "    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument:\n"
        '        Version: "2012-10-17"\n        Statement:\n'
        "          - Sid: DenyImdsV1Launch\n            Effect: Deny\n"
        "            Action: ec2:RunInstances\n"
        "            Resource: arn:aws:ec2:*:*:instance/*\n"
        "            Condition:\n              StringEquals:\n"
        "                ec2:MetadataHttpTokens: optional\n",
    )
    _org(tmp_path)
    run = cli("fix", "--unsafe-fixes", "iam", "org", cwd=tmp_path)
    assert run.code == 0, run.out
    lines = {line.split(":", 1)[0]: line for line in run.out.splitlines()}
    assert lines["iam/template.yaml"].endswith("attach it to a test role or user first)")
    assert lines["org/locals.tf"].endswith("attach it to a test OU first)")
    assert "an SCP:" not in run.out
