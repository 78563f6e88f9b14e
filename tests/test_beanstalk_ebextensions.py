"""Elastic Beanstalk ``.ebextensions/*.config`` files (issue 15, pattern 6): the option
``DisableIMDSv1`` of ``aws:autoscaling:launchconfiguration`` in both documented syntaxes, found in
the hidden directory a source bundle keeps them in, and fixed to ``true``. The per-rule cases
``tests/rules/IMDS002/eb-ebextensions*`` pin the findings; these tests pin discovery and the fix."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import write

STANDARD = """\
option_settings:
  - namespace: aws:elasticbeanstalk:application:environment
    option_name: LOG_LEVEL
    value: info
  - namespace: aws:autoscaling:launchconfiguration
    option_name: DisableIMDSv1
    value: false
"""
SHORTHAND = """\
option_settings:
  aws:autoscaling:launchconfiguration:
    InstanceType: t3.small
    DisableIMDSv1: "false"
"""
JSON = """\
{
  "option_settings": [
    {"namespace": "aws:autoscaling:launchconfiguration", "option_name": "DisableIMDSv1",
     "value": "false"}
  ]
}
"""
PACKAGES = """\
packages:
  yum:
    jq: []
option_settings:
  aws:elasticbeanstalk:application:environment:
    STAGE: prod
"""


def _bundle(root: Path) -> Path:
    app = root / "app"
    (app / ".ebextensions").mkdir(parents=True)
    write(app / ".ebextensions", "01-standard.config", STANDARD)
    write(app / ".ebextensions", "02-shorthand.config", SHORTHAND)
    write(app / ".ebextensions", "03-json.config", JSON)
    write(app / ".ebextensions", "04-packages.config", PACKAGES)
    write(app, "application.py", "application = None\n")
    return app


def _lines(run_out: str) -> list[str]:
    return [line for line in run_out.splitlines() if ": IMDS" in line]


def test_a_walk_reads_the_configs_of_ebextensions(cli, tmp_path: Path) -> None:
    _bundle(tmp_path)
    run = cli("check", "--format", "concise", ".", cwd=tmp_path)
    assert run.code == 1, run.err
    assert _lines(run.out) == [
        "app/.ebextensions/01-standard.config:7:12: IMDS002 [option_settings] DisableIMDSv1 "
        "is false; set it to true",
        "app/.ebextensions/02-shorthand.config:4:20: IMDS002 [option_settings] DisableIMDSv1 "
        'is "false"; set it to true',
        "app/.ebextensions/03-json.config:4:15: IMDS002 [option_settings] DisableIMDSv1 "
        'is "false"; set it to true',
    ]
    # Every config is a file read (the one without the option yields no finding), and the
    # application's source file, read for IMDSv1 calls.
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    assert doc["summary"]["files_scanned"] == 5


def test_a_named_config_file_is_read(cli, tmp_path: Path) -> None:
    _bundle(tmp_path)
    run = cli("check", "--format", "concise", "app/.ebextensions/02-shorthand.config", cwd=tmp_path)
    assert run.code == 1
    assert [line.split(": ")[0] for line in _lines(run.out)] == [
        "app/.ebextensions/02-shorthand.config:4:20"
    ]


def test_config_files_elsewhere_and_other_hidden_directories_are_not_read(
    cli, tmp_path: Path
) -> None:
    # A .config of an ASP.NET or Rails project, a nested directory, another hidden directory.
    write(tmp_path, "web.config", SHORTHAND)
    (tmp_path / "config").mkdir()
    write(tmp_path / "config", "app.config", SHORTHAND)
    (tmp_path / ".ebextensions" / "old").mkdir(parents=True)
    write(tmp_path / ".ebextensions" / "old", "imds.config", SHORTHAND)
    (tmp_path / ".platform").mkdir()
    write(tmp_path / ".platform", "imds.config", SHORTHAND)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert run.code == 0
    assert run.json()["summary"]["files_scanned"] == 0
    assert ".ebextensions/*.config" in run.err  # the warning names what is read


def test_configs_that_never_set_the_option_are_not_a_finding(cli, tmp_path: Path) -> None:
    (tmp_path / ".ebextensions").mkdir()
    write(tmp_path / ".ebextensions", "packages.config", PACKAGES)
    write(tmp_path / ".ebextensions", "commands.config", "commands:\n  01:\n    command: true\n")
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert run.code == 0, run.out
    assert run.json()["findings"] == []


def test_an_unreadable_config_is_an_error(cli, tmp_path: Path) -> None:
    (tmp_path / ".ebextensions").mkdir()
    write(tmp_path / ".ebextensions", "bad.config", "option_settings:\n  - namespace: [\n")
    run = cli("check", "--format", "concise", ".", cwd=tmp_path)
    assert run.code == 2
    assert ".ebextensions/bad.config:" in run.out + run.err


def test_fix_writes_true_and_the_bundle_then_scans_clean(cli, tmp_path: Path) -> None:
    app = _bundle(tmp_path)
    before = {p.name: p.read_text() for p in (app / ".ebextensions").iterdir()}
    diff = cli("fix", "--diff", ".", cwd=tmp_path)
    assert diff.code == 1
    assert {p.name: p.read_text() for p in (app / ".ebextensions").iterdir()} == before
    assert "-    value: false\n+    value: true\n" in diff.out
    assert '-    DisableIMDSv1: "false"\n+    DisableIMDSv1: "true"\n' in diff.out
    assert '"value": "true"' in diff.out
    assert "Would fix 3 findings in 3 files" in diff.err
    fixed = cli("fix", ".", cwd=tmp_path)
    assert fixed.code == 0, fixed.out + fixed.err
    assert (app / ".ebextensions" / "01-standard.config").read_text() == STANDARD.replace(
        "value: false", "value: true"
    )
    assert cli("check", "--format", "concise", ".", cwd=tmp_path).code == 0
    assert cli("fix", "--diff", ".", cwd=tmp_path).code == 0


def test_a_function_value_is_not_evaluated(cli, tmp_path: Path) -> None:
    # Configuration files may compute a value at deployment: a function in backticks, or an
    # object. Neither is a literal "false": IMDS004, never IMDS002.
    (tmp_path / ".ebextensions").mkdir()
    write(
        tmp_path / ".ebextensions",
        "imds.config",
        "option_settings:\n"
        "  - namespace: aws:autoscaling:launchconfiguration\n"
        "    option_name: DisableIMDSv1\n"
        '    value: \'`{"Fn::GetOptionSetting": {"Namespace": "aws:elasticbeanstalk:customoption",'
        ' "OptionName": "DisableV1", "DefaultValue": "false"}}`\'\n',
    )
    run = cli("check", "--format", "concise", ".", cwd=tmp_path)
    assert [line.split(" [")[0] for line in _lines(run.out)] == [
        ".ebextensions/imds.config:4:12: IMDS004"
    ]
