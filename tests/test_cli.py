"""The command line: exit codes, both formats, syntax errors, selection, configuration."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from imds_iac_checks import cli as cli_module
from tests.conftest import findings, run_process, write

OPTIONAL = """
resource "aws_instance" "web" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"

  metadata_options {
    http_tokens                 = "optional"
    http_put_response_hop_limit = 2
  }
}
"""

SECURE = """
resource "aws_launch_template" "app" {
  image_id = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }
}
"""

UNKNOWN = """
resource "aws_instance" "from_var" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = var.http_tokens
  }
}
"""

BROKEN = """
resource "aws_instance" "broken" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = "optional"
  # the closing braces are missing
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write(tmp_path, "app/main.tf", OPTIONAL)
    write(tmp_path, "app/secure.tf", SECURE)
    write(tmp_path, "modules/vars/main.tf", UNKNOWN)
    return tmp_path


def test_concise_output_is_ruff_like(cli, tree: Path) -> None:
    run = cli("check", "--format", "concise", "app", cwd=tree)
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines[0] == (
        'app/main.tf:6:35: IMDS002 [aws_instance.web] http_tokens is "optional"; '
        'set it to "required"'
    )
    assert lines[1] == (
        "app/main.tf:7:35: IMDS003 [aws_instance.web] http_put_response_hop_limit is 2, "
        "above the limit of 1; set it to 1"
    )
    assert lines[2] == (
        "Found 2 findings (severity: 2 error) in 1 file (2 files, 2 targets scanned)."
    )
    assert "\033[" not in run.out  # no colour when not on a terminal
    assert run.err == ""


def test_colour_on_request(cli, tree: Path) -> None:
    run = cli("check", "--color", "always", "app", cwd=tree)
    url = "https://github.com/imds-iac/imds-iac/blob/main/docs/rules/IMDS002.md"
    assert f"\033[31m\033]8;;{url}\033\\IMDS002\033]8;;\033\\\033[0m" in run.out


def test_quiet_prints_findings_only(cli, tree: Path) -> None:
    run = cli("check", "-q", "--format", "concise", "app", cwd=tree)
    assert len(run.out.splitlines()) == 2
    assert "Found" not in run.out
    full = cli("check", "-q", "app", cwd=tree)
    assert "Found" not in full.out and full.out.count("IMDS00") == 2


def test_clean_tree_exits_zero(cli, tree: Path) -> None:
    run = cli("check", "app/secure.tf", cwd=tree)
    assert run.code == 0
    assert run.out == "No findings (1 file, 1 target scanned).\n"


def test_default_path_is_the_working_directory(cli, tree: Path) -> None:
    run = cli("check", "--format", "json", cwd=tree)
    assert run.json()["summary"]["files_scanned"] == 3
    assert {f["path"] for f in run.json()["findings"]} == {"app/main.tf", "modules/vars/main.tf"}


def test_warnings_alone_exit_zero_unless_fail_on_warning(cli, tree: Path) -> None:
    run = cli("check", "modules", cwd=tree)
    assert run.code == 0
    assert "IMDS004" in run.out
    assert "1 warning" in run.out
    assert cli("check", "--fail-on", "warning", "modules", cwd=tree).code == 1


def test_exit_zero(cli, tree: Path) -> None:
    run = cli("check", "--exit-zero", "app", cwd=tree)
    assert run.code == 0
    assert "IMDS002" in run.out


def test_select_and_ignore(cli, tree: Path) -> None:
    run = cli("check", "--format", "json", "--select", "IMDS003", ".", cwd=tree)
    assert [f[0] for f in findings(run)] == ["IMDS003"]
    run = cli("check", "--format", "json", "--ignore", "IMDS003,IMDS004", ".", cwd=tree)
    assert [f[0] for f in findings(run)] == ["IMDS002"]
    run = cli("check", "--format", "json", "--select", "IMDS00", "--ignore", "IMDS002", cwd=tree)
    assert sorted(f[0] for f in findings(run)) == ["IMDS003", "IMDS004"]
    run = cli("check", "--select", "IMDS999", ".", cwd=tree)
    assert run.code == 2
    assert "unknown rule selector 'IMDS999'" in run.err


def test_syntax_error_in_a_tree(cli, tree: Path) -> None:
    write(tree, "app/broken.tf", BROKEN)
    run = cli("check", "--format", "json", ".", cwd=tree)
    assert run.code == 2  # an unscannable file wins over findings
    doc = run.json()
    (error,) = doc["errors"]
    assert error["path"] == "app/broken.tf"
    # What Terraform says: the inner block's "{" has no closing brace before the end of the file.
    assert error["message"].startswith("Unclosed configuration block: There is no closing brace")
    assert (error["line"], error["column"]) == (4, 20)
    assert doc["summary"]["files_scanned"] == 4
    # The other files are still scanned.
    assert {f["resource"] for f in doc["findings"]} == {"aws_instance.web", "aws_instance.from_var"}

    text = cli("check", ".", cwd=tree)
    assert text.code == 2
    assert text.err.startswith("app/broken.tf:4:20: Unclosed configuration block:")
    assert "could not be scanned" in text.out


def test_no_traceback_as_a_real_process(tree: Path) -> None:
    write(tree, "app/broken.tf", BROKEN)
    (tree / "binary.tf").write_bytes(b"\x00\x01\xff\xfe resource {{{{ \x00")
    run = run_process("check", ".", cwd=tree)
    assert run.code == 2
    assert "Traceback" not in run.err + run.out
    assert "app/broken.tf:" in run.err
    assert "binary.tf:" in run.err


def test_missing_path(cli, tree: Path) -> None:
    """A path that does not exist is a usage error, found before anything is scanned (issue 14,
    point 6): not a file that "could not be scanned"."""
    run = cli("check", "nope.tf", "app", cwd=tree)
    assert (run.code, run.out) == (2, "")
    assert run.err == "imds-iac: error: nope.tf: no such file or directory\n"


def test_usage_errors_exit_two(cli, tree: Path) -> None:
    assert cli("check", "--hop-limit", "x", cwd=tree).code == 2
    assert cli("check", "--hop-limit", "0", cwd=tree).code == 2
    assert cli("check", "--format", "xml", cwd=tree).code == 2
    assert cli("check", "--no-such-flag", cwd=tree).code == 2
    assert cli(cwd=tree).code == 2


def test_skips_vendor_and_hidden_directories(cli, tree: Path) -> None:
    for d in (".terraform/modules/x", ".git", "node_modules/pkg", ".hidden"):
        write(tree, f"{d}/main.tf", OPTIONAL)
    run = cli("check", "--format", "json", ".", cwd=tree)
    assert run.json()["summary"]["files_scanned"] == 3
    # A hidden directory named explicitly is scanned.
    run = cli("check", "--format", "json", ".hidden", cwd=tree)
    assert run.json()["summary"]["files_scanned"] == 1


def test_exclude(cli, tree: Path) -> None:
    run = cli("check", "--format", "json", "--exclude", "modules", ".", cwd=tree)
    assert {f["path"] for f in run.json()["findings"]} == {"app/main.tf"}
    run = cli("check", "--format", "json", "--exclude", "app/*.tf", ".", cwd=tree)
    assert {f["path"] for f in run.json()["findings"]} == {"modules/vars/main.tf"}
    run = cli("check", "--format", "json", "--exclude", "**/main.tf", ".", cwd=tree)
    assert run.json()["summary"]["files_scanned"] == 1


def test_paths_outside_the_working_directory_are_absolute(cli, tree: Path, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    run = cli("check", "--format", "json", str(tree / "app"), cwd=elsewhere)
    paths = {f["path"] for f in run.json()["findings"]}
    assert paths == {(tree / "app" / "main.tf").as_posix()}


def test_file_named_twice_is_scanned_once(cli, tree: Path) -> None:
    run = cli("check", "--format", "json", "app/main.tf", "app", "./app/main.tf", cwd=tree)
    assert run.json()["summary"]["files_scanned"] == 2
    assert len(run.json()["findings"]) == 2


def test_json_is_pure_and_stable(cli, tree: Path) -> None:
    run = cli("check", "--format", "json", ".", cwd=tree)
    doc = json.loads(run.out)
    assert list(doc) == ["version", "tool", "findings", "errors", "summary"]
    assert list(doc["summary"]) == [
        "files_scanned",
        "targets",
        "policies",
        "findings",
        "errors",
        "fail_on",
        "by_severity",
        "by_rule",
        "suppressed",
    ]
    assert doc["summary"]["by_severity"] == {"error": 2, "warning": 1}


# --- configuration ------------------------------------------------------------------------------


def test_pyproject_configuration(cli, tree: Path) -> None:
    write(
        tree,
        "pyproject.toml",
        """
        [project]
        name = "infra"

        [tool.imds-iac]
        hop-limit = 2
        ignore = ["IMDS004"]
        """,
    )
    run = cli("check", "--format", "json", cwd=tree)
    assert [f[0] for f in findings(run)] == ["IMDS002"]
    # Flags override the file.
    run = cli("check", "--format", "json", "--hop-limit", "1", "--ignore", "IMDS002", cwd=tree)
    assert sorted(f[0] for f in findings(run)) == ["IMDS003", "IMDS004"]


def test_dotfile_wins_over_pyproject_and_nearest_wins(cli, tree: Path) -> None:
    write(tree, "pyproject.toml", '[tool.imds-iac]\nignore = ["IMDS002"]\n')
    write(tree, ".imds-iac.toml", 'ignore = ["IMDS003"]\n')
    write(tree, "modules/.imds-iac.toml", 'fail-on = "warning"\nselect = ["IMDS004"]\n')
    run = cli("check", "--format", "json", cwd=tree)
    assert findings(run) == [
        ("IMDS002", "aws_instance.web", 6),
        ("IMDS004", "aws_instance.from_var", 5),
    ]
    # fail-on comes from the configuration of the first path.
    assert cli("check", "modules", cwd=tree).code == 1
    assert cli("check", "app/secure.tf", cwd=tree).code == 0


def test_pyproject_without_our_table_is_ignored(cli, tree: Path) -> None:
    write(tree, "app/pyproject.toml", "[tool.ruff]\nline-length = 100\n")
    write(tree, ".imds-iac.toml", 'ignore = ["IMDS002"]\n')
    run = cli("check", "--format", "json", "app", cwd=tree)
    assert [f[0] for f in findings(run)] == ["IMDS003"]


def test_per_path_hop_limit(cli, tree: Path) -> None:
    write(tree, "eks/nodes.tf", OPTIONAL.replace('"optional"', '"required"'))
    write(
        tree,
        ".imds-iac.toml",
        """
        [per-path]
        "eks/**" = { hop-limit = 2 }
        "modules/**" = { ignore = ["IMDS004"] }
        """,
    )
    run = cli("check", "--format", "json", cwd=tree)
    assert findings(run) == [("IMDS002", "aws_instance.web", 6), ("IMDS003", "aws_instance.web", 7)]
    assert {f["path"] for f in run.json()["findings"]} == {"app/main.tf"}
    # --hop-limit on the command line overrides per-path values too.
    run = cli("check", "--format", "json", "--hop-limit", "1", "eks", cwd=tree)
    assert findings(run) == [("IMDS003", "aws_instance.web", 7)]


def test_config_exclude_is_relative_to_the_config_file(cli, tree: Path) -> None:
    write(tree, ".imds-iac.toml", 'exclude = ["modules/**"]\n')
    run = cli("check", "--format", "json", cwd=tree)
    assert {f["path"] for f in run.json()["findings"]} == {"app/main.tf"}
    assert run.json()["summary"]["files_scanned"] == 2
    # The same file decides from another working directory: globs are relative to it.
    run = cli("check", "--format", "json", "..", cwd=tree / "app")
    assert run.json()["summary"]["files_scanned"] == 2
    assert {f["path"] for f in run.json()["findings"]} == {"main.tf"}
    # Named explicitly, an excluded file is still excluded (pre-commit passes file names).
    run = cli("check", "--format", "json", "modules/vars/main.tf", cwd=tree)
    assert run.json()["summary"]["files_scanned"] == 0


def test_explicit_config_file(cli, tree: Path) -> None:
    write(tree, "ci/imds.toml", 'select = ["IMDS003"]\n')
    run = cli("check", "--format", "json", "--config", "ci/imds.toml", cwd=tree)
    assert [f[0] for f in findings(run)] == ["IMDS003"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("hop_limit = 2\n", "unknown option 'hop_limit'"),
        ("hop-limit = 0\n", "hop-limit must be between 1 and 64"),
        ('hop-limit = "2"\n', "hop-limit must be a whole number"),
        ('select = ["IMDS9"]\n', "unknown rule selector 'IMDS9'"),
        ('fail-on = "info"\n', "fail-on must be one of error, warning"),
        ("hop-limit = \n", "invalid TOML"),
        ('[per-path]\n"eks/**" = { hop = 2 }\n', "unknown option 'hop'"),
    ],
)
def test_bad_configuration_is_a_usage_error(cli, tree: Path, content: str, message: str) -> None:
    write(tree, ".imds-iac.toml", content)
    run = cli("check", cwd=tree)
    assert run.code == 2
    assert run.err.startswith("imds-iac: error: ")
    assert message in run.err
    assert ".imds-iac.toml" in run.err


# --- the fast command-line path ---------------------------------------------------------------


def _argparse(argv: list[str]) -> dict[str, object] | None:
    try:
        return vars(cli_module._build_parser().parse_args(argv))
    except SystemExit:
        return None


ARGV_PIECES = [
    ["--format", "json"],
    ["--format=text"],
    ["--hop-limit", "2"],
    ["--hop-limit=3"],
    ["--select", "IMDS001,IMDS002"],
    ["--select", "IMDS003", "--select=IMDS004"],
    ["--ignore", "IMDS004"],
    ["--exclude", "a/**", "--exclude", "b"],
    ["--fail-on", "warning"],
    ["--severity", "IMDS009=error,IMDS004=error", "--severity=IMDS002=warning"],
    ["--exit-zero"],
    ["-q"],
    ["--quiet"],
    ["--config", "x.toml"],
    ["--color", "never"],
    ["main.tf"],
    ["dir", "other.tf"],
    ["--", "-odd.tf"],
    ["--fix"],
    ["--diff"],
    ["--unsafe-fixes"],
    ["--statistics"],
    ["--stdin-filename", "main.tf"],
    ["--stdin-filename=x/main.tf"],
    ["-o", "report.json"],
    ["--baseline", "b.json", "--write-baseline=c.json"],
    ["-"],  # last: argparse takes the paths in one run (no option after the first path)
]

# The options fix shares with check, and its own.
FIX_ARGV_PIECES = [
    piece
    for piece in ARGV_PIECES
    if piece[0].partition("=")[0] not in ("--fix", "-o", "--baseline")
]


@pytest.mark.parametrize("combo", list(itertools.combinations(range(len(ARGV_PIECES)), 2)))
def test_fast_parser_agrees_with_argparse(combo: tuple[int, ...]) -> None:
    argv = ["check"] + [tok for i in combo for tok in ARGV_PIECES[i]]
    fast = cli_module._fast_parse(argv)
    assert fast is not None, argv
    assert vars(fast) == _argparse(argv)


@pytest.mark.parametrize("combo", list(itertools.combinations(range(len(FIX_ARGV_PIECES)), 2)))
def test_fast_parser_agrees_with_argparse_for_fix(combo: tuple[int, ...]) -> None:
    argv = ["fix"] + [tok for i in combo for tok in FIX_ARGV_PIECES[i]]
    fast = cli_module._fast_parse(argv)
    assert fast is not None, argv
    assert vars(fast) == _argparse(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--help"],
        ["check", "-h"],
        ["check", "--hop-limit"],
        ["check", "--hop-limit", "x"],
        ["check", "--format", "xml"],
        ["check", "--unknown"],
        ["check", "-qq"],
        ["check", "--exit-zero=1"],
        ["check", "--hop", "2"],
        ["check", "--formt", "json"],
        ["chek", "."],
        ["fix", "--baseline", "b.json"],
        ["fix", "--format", "sarif"],
        ["rules"],
        ["--version"],
        ["-V"],
    ],
)
def test_fast_parser_defers_everything_else_to_argparse(argv: list[str]) -> None:
    assert cli_module._fast_parse(argv) is None


def test_help_and_version(cli) -> None:
    run = cli("check", "--help")
    assert run.code == 0
    assert "--hop-limit N" in run.out
    run = cli("--version")
    assert run.code == 0
    assert run.out.startswith("imds-iac ")


def test_files_of_other_kinds_are_skipped_silently(cli, tree: Path) -> None:
    write(tree, "README.md", "# infra\n")
    write(tree, "app/package.json", '{"name": "x"}\n')
    run = cli("check", "--format", "json", "README.md", "app/package.json", cwd=tree)
    assert run.code == 0
    # package.json is read (JSON may hold EC2 API input) and found to be something else.
    assert run.json()["summary"]["files_scanned"] == 1
    assert run.json()["summary"]["targets"] == 0
    assert run.json()["errors"] == []


def test_python_dash_m_entry_point(tree: Path) -> None:
    run = run_process("check", "--format", "json", "app/main.tf", cwd=tree)
    assert run.code == 1
    assert [f["rule_id"] for f in json.loads(run.out)["findings"]] == ["IMDS002", "IMDS003"]


def test_configuration_cache(cli, tmp_path: Path, monkeypatch) -> None:
    """A parsed configuration file is reused while the file is unchanged, never after."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("IMDS_IAC_CACHE_DIR", str(cache))
    write(
        tmp_path,
        "main.tf",
        'resource "aws_instance" "a" {\n  metadata_options {\n'
        '    http_tokens = "required"\n    http_put_response_hop_limit = 2\n  }\n}\n',
    )
    write(tmp_path, ".imds-iac.toml", "hop-limit = 2\n")
    assert cli("check", ".", cwd=tmp_path).code == 0
    assert len(list(cache.iterdir())) == 1
    assert cli("check", ".", cwd=tmp_path).code == 0  # from the cache
    write(tmp_path, ".imds-iac.toml", "hop-limit = 1\n")  # same size, new content
    assert cli("check", ".", cwd=tmp_path).code == 1
    monkeypatch.setenv("IMDS_IAC_CACHE_DIR", "")
    write(tmp_path, ".imds-iac.toml", "hop-limit = 2\n")
    assert cli("check", ".", cwd=tmp_path).code == 0


def test_fix_diff_exits_2_when_a_file_cannot_be_parsed(cli, tmp_path: Path) -> None:
    """2 wins everywhere: ``fix --diff`` exits 2 like ``check`` and ``fix`` when a file cannot
    be scanned, even when the diff for the other files is not empty (issue 14, point 4)."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.tf").write_text(
        'resource "aws_instance" "web" {\n  ami = "ami-0c55b159cbfafe1f0"\n}\n'
    )
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "main.tf").write_text(
        'resource "aws_instance" "b" {\n  metadata_options {\n    http_tokens = = "optional"\n'
        "  }\n}\n"
    )
    diff = cli("fix", "--diff", ".", cwd=tmp_path)
    assert "+  metadata_options {" in diff.out  # the parsable file's fix is still shown
    assert diff.code == 2
    assert cli("check", ".", cwd=tmp_path).code == 2
    clean = cli("fix", "--diff", "app", cwd=tmp_path)
    assert clean.code == 1


def test_rules_are_selected_and_explained_by_name(cli, tmp_path: Path) -> None:
    """``--select tokens-not-required`` and ``imds-iac rules tokens-not-required`` work as the
    id does, in the command line and the configuration (issue 14, point 11)."""
    (tmp_path / "main.tf").write_text(
        'resource "aws_instance" "web" {\n  ami = "ami-0c55b159cbfafe1f0"\n\n'
        '  metadata_options {\n    http_tokens                 = "optional"\n'
        "    http_put_response_hop_limit = 3\n  }\n}\n"
    )
    by_id = cli("check", "--format", "json", "--select", "IMDS002", ".", cwd=tmp_path).json()
    by_name = cli(
        "check", "--format", "json", "--select", "tokens-not-required", ".", cwd=tmp_path
    ).json()
    assert by_name["findings"] == by_id["findings"]
    assert {f["rule_id"] for f in by_name["findings"]} == {"IMDS002"}
    ignored = cli(
        "check", "--format", "json", "--ignore", "Hop-Limit-Above-Threshold", ".", cwd=tmp_path
    ).json()
    assert "IMDS003" not in {f["rule_id"] for f in ignored["findings"]}
    (tmp_path / ".imds-iac.toml").write_text('select = ["hop-limit-above-threshold"]\n')
    configured = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    assert {f["rule_id"] for f in configured["findings"]} == {"IMDS003"}
    assert cli("rules", "tokens-not-required").out == cli("rules", "IMDS002").out
    unknown = cli("check", "--select", "tokens-not-requird", ".", cwd=tmp_path)
    assert unknown.code == 2 and "unknown rule selector" in unknown.err


def test_variable_files_count_as_scanned_files(cli, tmp_path: Path) -> None:
    """A finding may point into terraform.tfvars: the summary counts it among the files
    scanned ("in 2 files (1 file scanned)" read as a contradiction)."""
    write(
        tmp_path,
        "main.tf",
        """
        variable "tokens" {
          default = "required"
        }

        resource "aws_instance" "web" {
          ami = "ami-1"
          metadata_options {
            http_tokens = var.tokens
          }
        }
        """,
    )
    write(tmp_path, "terraform.tfvars", 'tokens = "optional"\n')
    write(tmp_path, "extra.tfvars", 'unrelated = "x"\n')
    run = cli("check", "--format", "concise", ".", cwd=tmp_path)
    assert run.out.startswith("terraform.tfvars:1:10: IMDS002")
    assert "in 1 file (2 files, 1 target scanned)" in run.out
    run = cli("check", "--format", "concise", "--var-file", "extra.tfvars", ".", cwd=tmp_path)
    assert "in 1 file (3 files, 1 target scanned)" in run.out


def test_fix_diff_of_an_absolute_path_and_fix_json_url(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """
        resource "aws_instance" "web" {
          ami = "ami-1"
          metadata_options {
            http_tokens = "optional"
          }
        }
        """,
    )
    target = str(tmp_path / "main.tf")
    other = tmp_path / "elsewhere"
    other.mkdir()
    diff = cli("fix", "--diff", target, cwd=other).out
    assert f"--- a{target}\n+++ b{target}\n" in diff
    doc = cli("fix", "--diff", "--format", "json", ".", cwd=tmp_path).json()
    (entry,) = doc["findings"]
    assert entry["url"].endswith(f"/docs/rules/{entry['rule_id']}.md")
