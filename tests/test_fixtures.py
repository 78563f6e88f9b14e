"""The bundled fixtures carry their expected findings, annotated as tests/expect.py describes:
in HCL and YAML a line that should get a finding ends with ``# imds-expect: IMDS002`` (several:
``IMDS002, IMDS003``); JSON has no comments, so ``x.json`` (or a JSON ``x.template``) has a sidecar
``x.json.expect`` with lines ``LINE RULE RESOURCE``. This test scans the whole fixtures tree
through the CLI and requires exactly those findings."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.expect import annotated_files, expected_in

ROOT = FIXTURES.parent

Expected = Counter[tuple[str, int, str]]


def expected_findings(root: Path) -> tuple[Expected, dict[tuple[str, int, str], str]]:
    """(path, line, rule) counts, and the resource each JSON expectation names."""
    expected: Expected = Counter()
    resources: dict[tuple[str, int, str], str] = {}
    for path in annotated_files(root):
        rel = path.relative_to(ROOT).as_posix()
        for e in expected_in(path):
            expected[(rel, e.line, e.rule)] += 1
            if e.resource is not None:
                resources[(rel, e.line, e.rule)] = e.resource
    return expected, resources


def _compare(cli, folder: str) -> dict:
    run = cli("check", "--format", "json", f"fixtures/{folder}", cwd=ROOT)
    doc = run.json()
    assert doc["errors"] == []
    actual = Counter((f["path"], f["line"], f["rule_id"]) for f in doc["findings"])
    expected, resources = expected_findings(FIXTURES / folder)
    missing = sorted((expected - actual).elements())
    unexpected = sorted((actual - expected).elements())
    assert (missing, unexpected) == ([], [])
    for f in doc["findings"]:
        key = (f["path"], f["line"], f["rule_id"])
        if key in resources:
            assert f["resource"] == resources[key]
    return doc


def test_terraform_fixtures(cli) -> None:
    doc = _compare(cli, "terraform")
    assert len(doc["findings"]) >= 20
    rules = {f["rule_id"] for f in doc["findings"]}
    assert rules == {"IMDS001", "IMDS002", "IMDS003", "IMDS004", "IMDS007"}
    settings = [f for f in doc["findings"] if f["rule_id"] != "IMDS007"]  # not user data
    assert len({f["kind"] for f in settings}) == 8  # 7 resource kinds and a module call


def test_cloudformation_fixtures(cli) -> None:
    doc = _compare(cli, "cloudformation")
    kinds = {f["kind"] for f in doc["findings"]}
    assert kinds >= {
        "AWS::EC2::Instance",
        "AWS::EC2::LaunchTemplate",
        "AWS::AutoScaling::LaunchConfiguration",
        "AWS::EC2::EC2Fleet",
        "AWS::ImageBuilder::InfrastructureConfiguration",
        "AWS::SageMaker::NotebookInstance",
        "AWS::WorkspacesInstances::WorkspaceInstance",
        "AWS::AppStream::ImageBuilder",
        "AWS::AppStream::AppBlockBuilder",
        "AWS::AppStream::Fleet",
        "AWS::EMR::SecurityConfiguration",
    }
    # (a template cdk synth wrote in cdk.out is fixed in the CDK app's source)
    assert all(
        f["fixable"]
        for f in doc["findings"]
        if f["rule_id"] != "IMDS004" and "cdk.out" not in f["path"]
    )


def test_script_fixtures(cli) -> None:
    """A script tied to no instance: its IMDSv1 call is a warning (a migration blocker); the
    script that already uses the token flow is silent."""
    doc = _compare(cli, "scripts")
    assert [(f["rule_id"], f["severity"]) for f in doc["findings"]] == [("IMDS007", "warning")]
    assert "tied to no instance" in doc["findings"][0]["message"]


@pytest.mark.parametrize("folder", ["ec2-api", "terraform-json", "terraform-plan"])
def test_json_fixtures(cli, folder: str) -> None:
    doc = _compare(cli, folder)
    assert doc["findings"]


def test_guardrail_fixtures(cli) -> None:
    """The imds-iac scp policy and one policy per weakening (tests/test_guardrail_rule.py
    checks each verdict and fix); in cloudformation/, policies and declarative policies
    (account defaults) written in templates (tests/test_policy_cfn.py)."""
    doc = _compare(cli, "guardrails")
    documents = [f for f in doc["findings"] if "/cloudformation/" not in f["path"]]
    assert {f["rule_id"] for f in documents} == {"IMDS010"}
    assert {f["rule_id"] for f in doc["findings"]} == {"IMDS010", "IMDS002", "IMDS003"}
    # one policy per JSON document; six in the templates (three SCPs, a permissions boundary,
    # the CDK app's SCP, org-formation's guardrail), and three declarative policies
    assert doc["summary"]["policies"] == len(list((FIXTURES / "guardrails").glob("*.json"))) + 6
    assert doc["summary"]["targets"] == 3


def test_recorded_state_is_not_fixable(cli) -> None:
    doc = cli("check", "--format", "json", "fixtures", cwd=ROOT).json()
    recorded = ("describe-", "terraform-plan/", "cdk.out/")
    for f in doc["findings"]:
        if any(part in f["path"] for part in recorded):
            assert f["fixable"] is False, f
            if f["rule_id"] != "IMDS004":
                assert (
                    "fix the configuration and regenerate" in f["message"]
                    or "fix the CDK app's source and synthesize again" in f["message"]
                )
        elif f["resource"] == "aws_instance.from_local_conditional":
            # `local.is_prod ? "required" : "optional"` with `is_prod = var.environment ==
            # "prod"`: the fix changes what decides it, var.environment's default (unsafe),
            # never the branch (that would make the condition a no-op)
            assert (f["path"], f["line"], f["fix"]) == (
                "fixtures/terraform/evaluation/variables.tf",
                6,
                "unsafe",
            ), f
            assert f["message"].endswith(
                'set var.environment to "prod" so that local.is_prod is true'
            )
        elif f["rule_id"] != "IMDS004" and not f["path"].startswith("fixtures/guardrails/"):
            # (guardrail statements that only a person can correct: tests/test_guardrail_rule.py)
            assert f["fixable"] is True, f


def test_noise_is_silent(cli) -> None:
    run = cli("check", "--format", "json", "fixtures/noise", cwd=ROOT)
    doc = run.json()
    assert run.code == 0
    assert doc["findings"] == [] and doc["errors"] == []
    assert doc["summary"]["targets"] == 0


def test_the_secure_project_scans_clean(cli) -> None:
    run = cli("check", "fixtures/terraform/secure-baseline", cwd=ROOT)
    assert run.code == 0, run.out
    assert run.out.startswith("No findings")


def test_the_whole_fixtures_tree(cli) -> None:
    run = cli("check", "--format", "json", "fixtures", cwd=ROOT)
    assert run.code == 1
    assert run.json()["errors"] == []
    expected, _ = expected_findings(FIXTURES)
    assert len(run.json()["findings"]) == sum(expected.values())
