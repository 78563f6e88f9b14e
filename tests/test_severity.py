"""Rule severities set by the configuration (``severity``, per-path ``severity``) and the command
line (``--severity RULE=LEVEL``): applied to findings before the exit code and every report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imds_iac_checks.config import ConfigError, parse_severity_flags, severity_in
from imds_iac_checks.report.gitlab import SEVERITY as GITLAB
from tests.conftest import write

AMIS = """
resource "aws_ami" "golden" {
  name                = "golden-2026-12"
  virtualization_type = "hvm"
  root_device_name    = "/dev/xvda"
}

resource "aws_instance" "web" {
  ami           = aws_ami.golden.id
  instance_type = "t3.micro"

  metadata_options {
    http_tokens = "optional"
  }
}
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write(tmp_path, "main.tf", AMIS)
    write(tmp_path, "legacy/main.tf", AMIS)
    return tmp_path


def severities(run) -> list[tuple[str, str, str]]:
    return sorted((f["path"], f["rule_id"], f["severity"]) for f in run.json()["findings"])


def test_the_rules_own_severities_by_default(cli, tree: Path) -> None:
    run = cli("check", "--format", "json", "main.tf", cwd=tree)
    assert severities(run) == [("main.tf", "IMDS002", "error"), ("main.tf", "IMDS009", "warning")]
    assert run.code == 1  # IMDS002 is an error
    run = cli("check", "--format", "json", "--select", "IMDS009", "main.tf", cwd=tree)
    assert run.code == 0  # a warning does not fail the run


def test_configuration_makes_a_warning_an_error_and_it_fails_the_run(cli, tree: Path) -> None:
    write(tree, ".imds-iac.toml", 'select = ["IMDS009"]\nseverity = { IMDS009 = "error" }\n')
    run = cli("check", "--format", "json", "main.tf", cwd=tree)
    assert severities(run) == [("main.tf", "IMDS009", "error")]
    assert run.json()["summary"]["by_severity"] == {"error": 1, "warning": 0}
    assert run.code == 1


def test_per_path_and_rule_names(cli, tree: Path) -> None:
    write(
        tree,
        "pyproject.toml",
        """
        [tool.imds-iac]
        severity = { ami-allows-imdsv1 = "error", IMDS00 = "warning" }

        [tool.imds-iac.per-path]
        "legacy/**" = { severity = { IMDS009 = "warning" } }
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tree)
    # The full id beats the prefix IMDS00 at the top level; the per-path glob beats both.
    assert severities(run) == [
        ("legacy/main.tf", "IMDS002", "warning"),
        ("legacy/main.tf", "IMDS009", "warning"),
        ("main.tf", "IMDS002", "warning"),
        ("main.tf", "IMDS009", "error"),
    ]
    assert run.code == 1


def test_the_command_line_wins_over_the_configuration_and_per_path(cli, tree: Path) -> None:
    write(
        tree,
        ".imds-iac.toml",
        'severity = { IMDS009 = "error" }\n[per-path]\n"legacy/**" = { severity = { IMDS009 = '
        '"error" } }\n',
    )
    run = cli(
        "check", "--format", "json", "--severity", "IMDS009=warning,IMDS002=warning", ".", cwd=tree
    )
    assert {level for _, _, level in severities(run)} == {"warning"}
    assert run.code == 0
    assert cli("check", "--severity", "IMDS009=warning", "--fail-on", "warning", ".", cwd=tree).code


def test_every_report_says_the_severity_set(cli, tree: Path) -> None:
    args = ("--select", "IMDS009", "--severity", "IMDS009=error", "main.tf")
    sarif = cli("check", "--format", "sarif", *args, cwd=tree).json()
    assert [r["level"] for r in sarif["runs"][0]["results"]] == ["error"]
    junit = cli("check", "--format", "junit", *args, cwd=tree).out
    assert 'type="error"' in junit and 'type="warning"' not in junit
    github = cli("check", "--format", "github", *args, cwd=tree).out
    assert github.startswith("::error ")
    gitlab = json.loads(cli("check", "--format", "gitlab", *args, cwd=tree).out)
    assert [issue["severity"] for issue in gitlab] == [GITLAB["error"]]
    text = cli("check", "--format", "concise", *args, cwd=tree)
    assert "(severity: 1 error)" in text.out + text.err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('severity = { IMDS009 = "fatal" }\n', "a severity is one of error, warning, not 'fatal'"),
        ('severity = { IMDS9 = "error" }\n', "unknown rule selector 'IMDS9'"),
        ('severity = ["IMDS009"]\n', "severity must be a table of rule = severity"),
        ('[per-path]\n"a/**" = { severity = { IMDS009 = 1 } }\n', "not 1"),
    ],
)
def test_bad_severities_are_usage_errors(cli, tree: Path, content: str, message: str) -> None:
    write(tree, ".imds-iac.toml", content)
    run = cli("check", ".", cwd=tree)
    assert run.code == 2
    assert run.err.startswith("imds-iac: error: ")
    assert message in run.err
    assert ".imds-iac.toml" in run.err


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("IMDS009", "--severity: 'IMDS009' is not RULE=LEVEL"),
        ("IMDS009=info", "--severity IMDS009: a severity is one of error, warning"),
        ("nope=error", "--severity: unknown rule selector 'nope'"),
    ],
)
def test_bad_severity_flags_are_usage_errors(cli, tree: Path, flag: str, message: str) -> None:
    run = cli("check", "--severity", flag, ".", cwd=tree)
    assert run.code == 2
    assert message in run.err


def test_most_specific_selector_wins() -> None:
    table = parse_severity_flags(["ALL=error", "IMDS00=warning", "IMDS009=error"], "--severity")
    assert severity_in("IMDS009", table) == "error"
    assert severity_in("IMDS002", table) == "warning"
    assert severity_in("IMDS001", parse_severity_flags(["ALL=error"], "x")) == "error"
    assert severity_in("IMDS001", ()) is None
    with pytest.raises(ConfigError):
        parse_severity_flags(["=error"], "--severity")
