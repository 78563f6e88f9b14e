"""Real-world user data (tests/rules/IMDS007/, sources in tests/hazards/realworld/SOURCES.md):
what tests/test_rules.py does not check — the severity (an error where instances already require
tokens, a warning where they still allow IMDSv1 or where the code is tied to no instance), the
instances each finding names, and the fixes: ``fix --unsafe-fixes`` rewrites the calls to the
token flow (the result passes ``bash -n`` and scans clean), and ``fix`` without it refuses to
require tokens on an instance whose user data still calls IMDSv1."""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.expect import annotated_files, expected_in

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "rules" / "IMDS007"
SOURCES = Path(__file__).resolve().parent / "realworld" / "SOURCES.md"


def _imds007(cli, where: Path, *paths: str) -> list[dict]:
    doc = cli("check", "--format", "json", *(paths or (".",)), cwd=where).json()
    assert doc["errors"] == []
    return [f for f in doc["findings"] if f["rule_id"] == "IMDS007"]


def _copy(tmp_path: Path, case: str) -> Path:
    """A copy of a case to edit: the directory itself, or a directory holding the file."""
    source = CASES / case
    if source.is_dir():
        return Path(shutil.copytree(source, tmp_path / case))
    (tmp_path / "case").mkdir()
    shutil.copy(source, tmp_path / "case" / case)
    return tmp_path / "case"


def _bash_n(script: str) -> None:
    bash = shutil.which("bash")
    require_tool(bash is not None, "bash")
    assert bash is not None
    run = subprocess.run([bash, "-n"], input=script, capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr + script


def _heredoc(text: str, marker: str = "EOT") -> str:
    """The body of the first ``<<-MARKER``/``<<MARKER`` heredoc, as Terraform renders it when the
    template holds no interpolation: indentation stripped, ``$${`` as ``${``."""
    match = re.search(rf"<<-?{marker}\n(.*?)\n\s*{marker}\n", text, re.S)
    assert match, text
    return textwrap.dedent(match.group(1)).replace("$${", "${").replace("%%{", "%{")


# --- the sources table -------------------------------------------------------------------------


def _table() -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in SOURCES.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*`([^`]+)`\s*\|.*\|\s*(finding[^|]*|clean)\s*\|[^|]*\|\s*$", line)
        if match:
            rows[match.group(1).rstrip("/")] = match.group(2)
    return rows


def test_every_case_is_in_the_sources_table_with_its_verdict() -> None:
    table = _table()
    cases = {p.name for p in CASES.iterdir() if not p.name.endswith(".expect")}
    assert sorted(table) == sorted(cases)
    for name, verdict in table.items():
        expected = [e for path in annotated_files(CASES / name) for e in expected_in(path)]
        if verdict == "clean":
            assert expected == [], name
        else:
            assert expected, name
            count = re.search(r"\((\d+)\)", verdict)
            if count:
                assert len(expected) == int(count.group(1)), name


# --- severity and the instances named ------------------------------------------------------------


def test_a_call_on_instances_that_require_tokens_is_an_error_naming_them(cli) -> None:
    found = _imds007(cli, CASES / "tf-heredoc-tokens-required")
    assert [(f["path"], f["line"], f["column"]) for f in found] == [
        ("main.tf", 18, 14),
        ("main.tf", 19, 19),
    ]
    for f in found:
        assert f["severity"] == "error"
        assert f["resource"] == "aws_launch_template.web"
        assert "this user data runs on aws_launch_template.web (main.tf:3)" in f["message"]
        assert "which requires tokens" in f["message"]
        assert f["message"].endswith("this call fails there")


def test_a_call_on_instances_that_allow_imdsv1_is_a_warning(cli) -> None:
    (f,) = _imds007(cli, CASES / "tf-heredoc-imdsv1-allowed")
    assert (f["path"], f["line"], f["column"], f["severity"]) == ("main.tf", 16, 19, "warning")
    assert "runs on aws_instance.bastion (main.tf:3), which still allows IMDSv1" in f["message"]
    assert f["message"].endswith("requiring tokens will break this call")
    assert f["fixable"] is True and f["fix"] == "unsafe"


def test_a_template_file_finding_points_into_the_template_and_names_the_instance(cli) -> None:
    (f,) = _imds007(cli, CASES / "tf-templatefile-codedeploy")
    assert (f["path"], f["line"], f["column"]) == ("user-data.sh.tpl", 5, 10)
    assert f["severity"] == "error"
    assert "runs on aws_instance.app (main.tf:2), which requires tokens" in f["message"]


def test_a_script_on_its_own_is_a_warning_tied_to_no_instance(cli) -> None:
    found = _imds007(cli, CASES, "al2-codedeploy-agent.sh")
    assert [(f["line"], f["column"], f["severity"]) for f in found] == [(4, 10, "warning")]
    assert "tied to no instance in the files scanned" in found[0]["message"]


@pytest.mark.parametrize(
    ("case", "severity", "host"),
    [
        ("cfn-sub-imdsv1.yaml", "error", "AppLaunchTemplate (cfn-sub-imdsv1.yaml:"),
        ("cfn-windows-ec2launch.yaml", "warning", "WindowsServer (cfn-windows-ec2launch.yaml:"),
    ],
)
def test_cloudformation_user_data_names_its_resource(cli, case, severity, host) -> None:
    found = _imds007(cli, CASES, case)
    assert found
    for f in found:
        assert f["severity"] == severity
        assert host in f["message"]


# --- fixes --------------------------------------------------------------------------------------

SHELL_FIXABLE = [
    "al2-codedeploy-agent.sh",
    "metadata-dump-function.sh",
    "url-in-variable.sh",
    "ip-detect-wget.sh",
    "instance-data-hostname.sh",
    "ipv6-mixed.sh",
    "cloudwatch-agent-fallback.sh",
]


@pytest.mark.parametrize("case", SHELL_FIXABLE)
def test_unsafe_fix_rewrites_a_script_to_the_token_flow(cli, tmp_path: Path, case: str) -> None:
    where = _copy(tmp_path, case)
    before = (where / case).read_text(encoding="utf-8")
    assert _imds007(cli, where)
    run = cli("fix", ".", cwd=where)
    assert (where / case).read_text(encoding="utf-8") == before, "IMDS007's fix is unsafe"
    run = cli("fix", "--unsafe-fixes", ".", cwd=where)
    assert run.code == 0, run.out
    after = (where / case).read_text(encoding="utf-8")
    _bash_n(after)
    assert _imds007(cli, where) == []
    # One token per script: the fetch the script has already, when it runs before the first
    # call; else one fetch line added before the first call (a fallback fetch later in the
    # script, as in the CloudWatch agent's, stays where it is). Kept short.
    assert after.count("api/token") in (
        max(before.count("api/token"), 1),
        before.count("api/token") + 1,
    )
    assert after.count("TOKEN=$(curl") <= before.count("TOKEN=$(curl") + 1
    assert "X-aws-ec2-metadata-token-ttl-seconds" in after
    assert len(after.splitlines()) <= len(before.splitlines()) + 2


def test_unsafe_fix_in_a_terraform_heredoc_escapes_for_the_template(cli, tmp_path: Path) -> None:
    where = _copy(tmp_path, "tf-heredoc-tokens-required")
    run = cli("fix", "--unsafe-fixes", ".", cwd=where)
    assert run.code == 0, run.out
    text = (where / "main.tf").read_text(encoding="utf-8")
    assert text.count("api/token") == 1
    assert re.search(r'-H "X-aws-ec2-metadata-token: \$(\$\{TOKEN\}|TOKEN)"', text), text
    assert re.search(r"[^$]\$\{TOKEN\}", text) is None, "a bare ${ would be a Terraform reference"
    _bash_n(_heredoc(text))
    assert _imds007(cli, where) == []


def test_unsafe_fix_in_a_template_file_edits_the_template(cli, tmp_path: Path) -> None:
    where = _copy(tmp_path, "tf-templatefile-codedeploy")
    main_before = (where / "main.tf").read_text(encoding="utf-8")
    cli("fix", "--unsafe-fixes", ".", cwd=where)
    template = (where / "user-data.sh.tpl").read_text(encoding="utf-8")
    assert (where / "main.tf").read_text(encoding="utf-8") == main_before
    assert "api/token" in template
    assert re.search(r"[^$]\$\{TOKEN\}", template) is None
    _bash_n(template.replace("$${", "${").replace("${app_name}", "orders"))
    assert _imds007(cli, where) == []


def test_unsafe_fix_in_fn_sub_escapes_for_sub(cli, tmp_path: Path) -> None:
    case = "cfn-sub-imdsv1.yaml"
    where = _copy(tmp_path, case)
    cli("fix", "--unsafe-fixes", ".", cwd=where)
    text = (where / case).read_text(encoding="utf-8")
    assert "api/token" in text
    assert re.search(r"X-aws-ec2-metadata-token: \$(\{!TOKEN\}|TOKEN)", text), text
    assert re.search(r"[^!]\{TOKEN\}", text.replace("${!TOKEN}", "")) is None
    assert _imds007(cli, where) == []


def test_unsafe_fix_of_powershell_passes_the_token_in_headers(cli, tmp_path: Path) -> None:
    case = "windows-rename-and-tag.ps1"
    where = _copy(tmp_path, case)
    cli("fix", "--unsafe-fixes", ".", cwd=where)
    text = (where / case).read_text(encoding="utf-8")
    assert text.count("api/token") == 1
    assert re.search(r"-Method\s+PUT", text)
    assert text.count("X-aws-ec2-metadata-token") >= 5  # the ttl header, and one per call
    assert _imds007(cli, where) == []


def test_fix_will_not_require_tokens_where_user_data_calls_imdsv1(cli, tmp_path: Path) -> None:
    where = _copy(tmp_path, "tf-heredoc-imdsv1-allowed")
    before = (where / "main.tf").read_text(encoding="utf-8")
    run = cli("fix", ".", cwd=where)
    assert (where / "main.tf").read_text(encoding="utf-8") == before
    assert (
        "requiring tokens would break the IMDSv1 call at main.tf:16; fix that first or add "
        "--unsafe-fixes"
    ) in run.out
    # With --unsafe-fixes both are fixed: the call first, then the setting.
    run = cli("fix", "--unsafe-fixes", ".", cwd=where)
    after = (where / "main.tf").read_text(encoding="utf-8")
    assert 'http_tokens   = "required"' in after
    _bash_n(_heredoc(after, "EOF"))
    doc = cli("check", "--format", "json", ".", cwd=where).json()
    assert doc["errors"] == [] and doc["findings"] == []


def test_fix_requires_tokens_where_user_data_already_uses_them(cli, tmp_path: Path) -> None:
    """The refusal is about IMDSv1 calls, not about user data: a heredoc with the token flow
    does not hold the setting back."""
    where = _copy(tmp_path, "tf-heredoc-token-flow")
    text = (where / "main.tf").read_text(encoding="utf-8")
    (where / "main.tf").write_text(text.replace('"required"', '"optional"'), encoding="utf-8")
    run = cli("fix", ".", cwd=where)
    assert "would break" not in run.out
    assert 'http_tokens   = "required"' in (where / "main.tf").read_text(encoding="utf-8")
