"""The command line as ruff users expect it (issue 14): usage errors found before the scan and
said once, the subcommand's usage with a suggestion, ``-V``, ``check --fix``, a warning when
nothing was scanned, ``--statistics``, ``fix --format json`` and standard input."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write

OPTIONAL = """\
resource "aws_instance" "web" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"

  metadata_options {
    http_tokens                 = "optional"
    http_put_response_hop_limit = 1
  }
}
"""

NO_BLOCK = """
resource "aws_instance" "bare" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"
}
"""

FROM_VARIABLE = """\
resource "aws_instance" "from_var" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"

  metadata_options {
    http_tokens                 = var.tokens
    http_put_response_hop_limit = 1
  }
}
"""

VARIABLES = """\
variable "tokens" {
  type    = string
  default = "optional"
}
"""

BROKEN = """
resource "aws_instance" "broken" {
  metadata_options {
    http_tokens = = "optional"
  }
}
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write(tmp_path, "app/main.tf", OPTIONAL)
    write(tmp_path, "app/bare.tf", NO_BLOCK)
    write(tmp_path, "svc/main.tf", FROM_VARIABLE)
    write(tmp_path, "svc/variables.tf", VARIABLES)
    return tmp_path


# --- point 5: usage errors ------------------------------------------------------------------


def test_mistyped_flag_prints_the_subcommands_usage_and_a_suggestion(cli, tree: Path) -> None:
    run = cli("check", "--formt", "json", cwd=tree)
    assert run.code == 2
    assert run.out == ""
    assert run.err.startswith("usage: imds-iac check [-h] ")
    assert run.err.endswith(
        "\nimds-iac check: error: unrecognized arguments: --formt (did you mean `--format`?)\n"
    )
    both = cli("fix", "--unsafe-fixs", "--quite", "app", cwd=tree)
    assert both.code == 2
    assert both.err.startswith("usage: imds-iac fix [-h] ")
    assert both.err.endswith(
        "imds-iac fix: error: unrecognized arguments: --unsafe-fixs (did you mean "
        "`--unsafe-fixes`?) --quite (did you mean `--quiet`?)\n"
    )
    assert (tree / "app/main.tf").read_text().count('"optional"') == 1  # nothing was fixed


def test_unknown_command_suggests_the_closest(cli, tree: Path) -> None:
    run = cli("chek", ".", cwd=tree)
    assert run.code == 2
    assert run.err == (
        "usage: imds-iac [-h] [-V] COMMAND ...\n"
        "imds-iac: error: argument COMMAND: invalid choice: 'chek', did you mean `check`? "
        "(choose from check, fix, report, plugin-path, rules, scp)\n"
    )
    far = cli("xyzzy", cwd=tree)
    assert far.code == 2 and "did you mean" not in far.err


def test_dash_capital_v_is_version(cli) -> None:
    short, long = cli("-V"), cli("--version")
    assert short.code == long.code == 0
    assert short.out == long.out and short.out.startswith("imds-iac ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "missing.tf", "app"], "missing.tf: no such file or directory"),
        (["fix", "app", "missing"], "missing: no such file or directory"),
        (
            ["check", "--baseline", "missing.json", "."],
            "missing.json: cannot read baseline: No such file or directory",
        ),
        (
            ["check", "--config", "missing.toml", "."],
            "missing.toml: cannot read configuration: no such file or directory",
        ),
        (
            ["check", "--parameters", "missing.json", "."],
            "missing.json: cannot read parameters: No such file or directory",
        ),
        (
            ["check", "-o", "out/report.json", "."],
            "out/report.json: cannot write: no such directory out",
        ),
        (["check", "--write-baseline", "app", "."], "app: cannot write: is a directory"),
        (["check", "--unsafe-fixes", "."], "--unsafe-fixes applies to fixes: add --fix or --diff"),
        (["check", "--fix", "--baseline", "b.json", "."], "--baseline cannot be used with --fix"),
        (["check", "--diff", "-o", "x.json", "."], "--output cannot be used with --diff"),
        (
            ["check", "--fix", "--format", "sarif", "."],
            "--format sarif cannot be used with --fix (fix reports text or json)",
        ),
        (
            ["check", "--statistics", "--format", "junit", "."],
            "--statistics cannot be used with --format junit (text or json)",
        ),
        (["fix", "--diff", "--statistics", "."], "--statistics cannot be used with --diff"),
        (
            ["check", "-"],
            "-: reading standard input needs --stdin-filename NAME (the name decides the format)",
        ),
        (
            ["check", "--stdin-filename", "main.tf", "app"],
            "--stdin-filename reads the file from standard input: give `-` or no path",
        ),
        (
            ["fix", "--stdin-filename", "main.tf", "--format", "json", "-"],
            "--format json cannot be used to fix standard input: the fixed text goes to "
            "standard output",
        ),
        (["check", "--stdin-filename", "app", "-"], "--stdin-filename app: is a directory"),
    ],
)
def test_usage_errors_are_found_before_the_scan(
    cli, tree: Path, argv: list[str], message: str
) -> None:
    """A usage error is one line with the prefix, exit 2, and nothing scanned: the broken file
    in the tree would otherwise print a syntax error (issue 14, points 5 and 6)."""
    write(tree, "broken/main.tf", BROKEN)
    run = cli(*argv, cwd=tree)
    assert (run.code, run.out, run.err) == (2, "", f"imds-iac: error: {message}\n")
    assert (tree / "app/main.tf").read_text().count('"optional"') == 1


def _copy(tree: Path, factory: pytest.TempPathFactory) -> Path:
    return Path(shutil.copytree(tree, factory.mktemp("copy") / "tree"))


@pytest.mark.parametrize(
    "extra",
    [[], ["--diff"], ["--unsafe-fixes"], ["--diff", "--unsafe-fixes"], ["--format", "json"]],
)
def test_check_fix_is_fix(
    cli, tree: Path, extra: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """``check --fix`` (the ruff habit) does what ``fix`` does, with the same options."""
    a, b = _copy(tree, tmp_path_factory), _copy(tree, tmp_path_factory)
    by_fix = cli("fix", *extra, ".", cwd=a)
    by_check = cli("check", "--fix", *extra, ".", cwd=b)
    assert by_check == by_fix
    for name in ("app/main.tf", "app/bare.tf", "svc/variables.tf"):
        assert (a / name).read_text() == (b / name).read_text()
    if "--diff" not in extra:
        assert (b / "app/main.tf").read_text() != (tree / "app/main.tf").read_text()


def test_check_diff_is_fix_diff(cli, tree: Path) -> None:
    assert cli("check", "--diff", ".", cwd=tree) == cli("fix", "--diff", ".", cwd=tree)
    assert '"optional"' in (tree / "app/main.tf").read_text()


# --- point 6: nothing scanned, missing paths, the baseline ----------------------------------


def test_a_scan_of_nothing_warns(cli, tree: Path) -> None:
    write(tree, "notes.txt", "hello\n")
    (tree / "empty").mkdir()
    suffixes = (
        ".tf, .tf.json, .tfvars, .pkr.json, .pkr.hcl, .pkrvars.hcl, terragrunt.hcl, .json, .yaml, "
        ".yml, .template, .ebextensions/*.config, .py, .js, .mjs, .cjs and .ts"
    )
    for argv, shown in (
        (["notes.txt"], "notes.txt"),
        (["empty"], "empty"),
        (["notes.txt", "empty"], "notes.txt, empty"),
    ):
        run = cli("check", *argv, cwd=tree)
        assert run.code == 0
        assert run.err == (
            f"imds-iac: warning: no infrastructure file found in {shown} "
            f"(imds-iac reads {suffixes} files)\n"
        )
    assert cli("check", "-q", "notes.txt", cwd=tree).err == ""
    fixing = cli("fix", "empty", cwd=tree)
    assert fixing.code == 0 and "no infrastructure file found in empty" in fixing.err
    assert cli("check", "app", cwd=tree).err == ""  # something was scanned: no warning


def test_the_baseline_and_the_report_are_not_scanned(cli, tree: Path) -> None:
    """A baseline or report written inside the scanned tree is imds-iac's own file, not an
    infrastructure file: it is neither read as one nor counted."""
    first = cli("check", "--format", "json", ".", cwd=tree).json()["summary"]
    assert cli("check", "--write-baseline", "baseline.json", ".", cwd=tree).code == 0
    again = cli("check", "--baseline", "baseline.json", "--format", "json", ".", cwd=tree)
    assert again.code == 0
    assert again.json()["summary"]["files_scanned"] == first["files_scanned"] == 4
    named = cli(
        "check", "--baseline", "baseline.json", "--format", "json", "baseline.json", "app", cwd=tree
    )
    assert named.json()["summary"]["files_scanned"] == 2
    (tree / "baseline.json").unlink()  # not given as --baseline: it would be read as JSON
    for _ in range(2):  # the second run finds the first run's report in the tree
        assert cli("check", "--format", "json", "-o", "report.json", ".", cwd=tree).code == 1
        assert json.loads((tree / "report.json").read_text())["summary"]["files_scanned"] == 4


# --- point 12: fix --format json, --statistics ---------------------------------------------


def test_fix_format_json_says_what_was_fixed_and_what_was_left(cli, tree: Path) -> None:
    run = cli("fix", "--format", "json", ".", cwd=tree)
    assert run.code == 1  # a finding is left
    doc = run.json()
    assert doc["version"] == 1 and doc["tool"]["name"] == "imds-iac"
    rows = [(f["rule_id"], f["path"], f["line"], f["status"], f["fix"]) for f in doc["findings"]]
    assert rows == [
        ("IMDS001", "app/bare.tf", 1, "fixed", "safe"),
        ("IMDS002", "app/main.tf", 6, "fixed", "safe"),
        ("IMDS002", "svc/variables.tf", 3, "left", "unsafe"),
    ]
    fixed, _, left = doc["findings"]
    assert fixed["column"] == 1 and fixed["edited_path"] == "app/bare.tf"
    assert fixed["change"].startswith("added metadata_options")
    assert fixed["reason"] is None
    assert left["column"] == 13 and left["change"] is None and left["edited_path"] is None
    assert left["reason"].startswith("unsafe fix (edits default of var.tokens")
    assert left["reason"].endswith("enable it with --unsafe-fixes")
    assert doc["files"] == [
        {"path": "app/bare.tf", "fixes": 1},
        {"path": "app/main.tf", "fixes": 1},
    ]
    assert doc["errors"] == []
    assert doc["summary"] == {
        "fixed": 2,
        "left": 1,
        "left_with_unsafe_fix": 1,
        "files_changed": 2,
        "written": True,
        "errors": 0,
    }
    assert '"required"' in (tree / "app/main.tf").read_text()
    clean = cli("fix", "--format", "json", "--unsafe-fixes", ".", cwd=tree)
    assert clean.code == 0
    assert clean.json()["summary"]["left"] == 0
    assert [f["fix"] for f in clean.json()["findings"]] == ["unsafe"]


def test_fix_diff_format_json_writes_nothing_and_carries_the_diffs(cli, tree: Path) -> None:
    write(tree, "broken/main.tf", BROKEN)
    run = cli("fix", "--diff", "--format", "json", ".", cwd=tree)
    assert run.code == 2  # a file could not be scanned
    doc = run.json()
    assert doc["summary"]["written"] is False and doc["summary"]["files_changed"] == 2
    assert doc["files"][1]["diff"].startswith("--- a/app/main.tf\n+++ b/app/main.tf\n")
    assert [e["path"] for e in doc["errors"]] == ["broken/main.tf"]
    assert '"optional"' in (tree / "app/main.tf").read_text()


def test_statistics(cli, tree: Path) -> None:
    write(tree, "more/main.tf", OPTIONAL)
    text = cli("check", "--statistics", ".", cwd=tree)
    assert text.code == 1
    assert text.out == (
        "3  IMDS002  tokens-not-required       [*]\n1  IMDS001  metadata-options-missing  [*]\n"
    )
    doc = cli("check", "--statistics", "--format", "json", ".", cwd=tree).json()
    assert doc["statistics"][0] == {
        "rule_id": "IMDS002",
        "name": "tokens-not-required",
        "severity": "error",
        "count": 3,
        "fixable": 2,
        "unsafe_fixable": 1,
    }
    # fix --statistics counts what is left, as ruff's check --fix --statistics does.
    left = cli("fix", "--statistics", ".", cwd=tree)
    assert left.code == 1
    assert left.out == (
        "1  IMDS002  tokens-not-required  [-]\n"
        "Fixed 3 findings in 3 files; 1 finding left (1 with an unsafe fix: add --unsafe-fixes).\n"
    )


# --- point 13: standard input ---------------------------------------------------------------


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch):
    def give(data: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data.encode())))

    return give


def test_check_reads_standard_input_as_the_file_named(cli, tree: Path, stdin) -> None:
    """The text comes from standard input, the name from --stdin-filename; the other files of
    its directory are read from disk (here: the variable's default)."""
    (tree / "app/main.tf").write_text(OPTIONAL.replace('"optional"', '"required"'))
    stdin(OPTIONAL)
    run = cli("check", "--format", "concise", "--stdin-filename", "app/main.tf", "-", cwd=tree)
    assert run.code == 1
    assert run.out.startswith(
        'app/main.tf:6:35: IMDS002 [aws_instance.web] http_tokens is "optional"'
    )
    stdin(OPTIONAL)  # the full format shows the source from standard input, not the disk's
    full = cli("check", "--stdin-filename", "app/main.tf", "-", cwd=tree).out
    assert (
        " --> app/main.tf:6:35\n" in full
        and '6 |     http_tokens                 = "optional"\n' in full
    )
    stdin(FROM_VARIABLE)
    run = cli("check", "--format", "json", "--stdin-filename", "svc/main.tf", cwd=tree)
    assert [(f["path"], f["line"]) for f in run.json()["findings"]] == [("svc/variables.tf", 3)]
    stdin(OPTIONAL)  # a file that is not on disk (a new editor buffer)
    run = cli("check", "--format", "json", "--stdin-filename", "new/main.tf", "-", cwd=tree)
    assert [f["path"] for f in run.json()["findings"]] == ["new/main.tf"]
    stdin("print('hello')\n")
    other = cli("check", "--stdin-filename", "notes.txt", "-", cwd=tree)
    assert other.code == 0 and "no infrastructure file found in notes.txt" in other.err


def test_fix_writes_the_fixed_standard_input_to_standard_output(cli, tree: Path, stdin) -> None:
    on_disk = (tree / "app/main.tf").read_text()
    stdin(OPTIONAL)
    run = cli("fix", "--stdin-filename", "app/main.tf", "-", cwd=tree)
    assert run.code == 0  # everything fixed
    assert run.out == OPTIONAL.replace('"optional"', '"required"')
    assert run.err == (
        'app/main.tf:6:35: IMDS002 fixed [aws_instance.web] http_tokens "optional" -> "required"\n'
        "Fixed 1 finding in 1 file; no findings left.\n"
    )
    assert (tree / "app/main.tf").read_text() == on_disk  # nothing written
    # A fix in another file (the variable's default) is not made: the text comes back as is.
    stdin(FROM_VARIABLE)
    left = cli("fix", "--stdin-filename", "svc/main.tf", cwd=tree)
    assert left.code == 1
    assert left.out == FROM_VARIABLE
    assert "not fixed: unsafe fix (edits default of var.tokens" in left.err
    # With --unsafe-fixes, the expression in the file itself is replaced instead.
    stdin(FROM_VARIABLE)
    unsafe = cli("fix", "--unsafe-fixes", "--stdin-filename", "svc/main.tf", cwd=tree)
    assert unsafe.code == 0
    assert unsafe.out == FROM_VARIABLE.replace("var.tokens", '"required"')
    assert (tree / "svc/variables.tf").read_text() == VARIABLES
    assert (tree / "svc/main.tf").read_text() == FROM_VARIABLE
    stdin(OPTIONAL)
    diff = cli("fix", "--diff", "--stdin-filename", "app/main.tf", "-", cwd=tree)
    assert diff.code == 1 and diff.out.startswith("--- a/app/main.tf\n+++ b/app/main.tf\n")


@pytest.mark.slow
def test_the_real_entry_point(tree: Path) -> None:
    """As a user and an editor run it: a mistyped flag, and fix through a pipe."""
    command = [sys.executable, "-m", "imds_iac_checks"]
    typo = subprocess.run(
        [*command, "check", "--formt", "json"], cwd=tree, capture_output=True, text=True
    )
    assert typo.returncode == 2 and typo.stdout == ""
    assert typo.stderr.splitlines()[-1] == (
        "imds-iac check: error: unrecognized arguments: --formt (did you mean `--format`?)"
    )
    piped = subprocess.run(
        [*command, "fix", "--stdin-filename", "app/main.tf", "-"],
        cwd=tree,
        input=OPTIONAL.encode(),
        capture_output=True,
    )
    assert piped.returncode == 0
    assert piped.stdout == OPTIONAL.replace('"optional"', '"required"').encode()
    assert piped.stderr.decode().endswith("Fixed 1 finding in 1 file; no findings left.\n")


def _documented(section: str) -> dict[str, object]:
    """The JSON example under a heading of docs/json.md."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "json.md").read_text()
    after = text[text.index(section) :]
    start = after.index("```json\n") + len("```json\n")
    return json.loads(after[start : after.index("```", start)])


def test_docs_json_md_describes_the_keys_written(cli, tree: Path) -> None:
    doc = cli("fix", "--format", "json", ".", cwd=tree).json()
    example = _documented("## `imds-iac fix --format json`")
    assert example.keys() == doc.keys()
    assert all(entry.keys() == doc["findings"][0].keys() for entry in example["findings"])
    assert example["files"][0].keys() == doc["files"][0].keys()
    assert example["summary"].keys() == doc["summary"].keys()
    stats = cli("check", "--statistics", "--format", "json", ".", cwd=tree).json()
    example = _documented("## `--statistics --format json`")
    assert example.keys() == stats.keys()
    assert example["statistics"][0].keys() == stats["statistics"][0].keys()


def test_a_parameters_file_in_the_tree_is_not_scanned(cli, tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(
        "Parameters:\n  Tokens:\n    Type: String\n    Default: required\n"
        "Resources:\n  Web:\n    Type: AWS::EC2::Instance\n    Properties:\n"
        "      MetadataOptions:\n        HttpTokens: !Ref Tokens\n"
    )
    (tmp_path / "params.json").write_text(
        '[{"ParameterKey": "Tokens", "ParameterValue": "optional"}]\n'
    )
    run = cli("check", "--format", "json", "--parameters", "params.json", ".", cwd=tmp_path)
    doc = run.json()
    assert doc["summary"]["files_scanned"] == 1
    assert [f["rule_id"] for f in doc["findings"]] == ["IMDS002"]


def test_a_huge_value_does_not_make_a_huge_line(cli, tmp_path: Path) -> None:
    value = "x" * 50_000
    (tmp_path / "main.tf").write_text(
        f'resource "aws_instance" "w" {{\n  metadata_options {{\n    http_tokens = "{value}"\n'
        "  }\n}\n"
    )
    for fmt in ("full", "concise"):
        out = cli("check", "--format", fmt, ".", cwd=tmp_path).out
        assert max(len(line) for line in out.splitlines()) < 2_200, fmt
        assert "more characters)" in out
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    assert value in doc["findings"][0]["message"]  # machine formats keep it whole


def test_fix_never_says_no_findings_left_when_a_file_could_not_be_scanned(cli, tmp_path) -> None:
    (tmp_path / "bad.tf").write_text('resource "aws_instance" "b" {\n  x = = 1\n}\n')
    run = cli("fix", ".", cwd=tmp_path)
    assert run.code == 2
    assert "no findings left in the files scanned.\n1 file could not be scanned." in run.out
