"""Issue 14, points 9, 10 and 6 (wording): a link to the rule's page with every finding, the
offending source shown (the ``full`` format, the default; ``concise`` is the one-line form), and
a summary whose counts cannot be confused with files that could not be scanned."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imds_iac_checks import project
from imds_iac_checks.report import full as full_report
from tests.conftest import ROOT, write

URL = "https://github.com/imds-iac/imds-iac/blob/main/docs/rules/"

WEB_TF = """
resource "aws_instance" "web" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "optional"
  }
}
"""

SHARED_TF = """
variable "tokens" {
  type    = string
  default = "optional"
}

resource "aws_instance" "web" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"

  metadata_options {
    http_tokens = var.tokens
  }
}
"""

# create-launch-template input, the LaunchTemplateData starting after other text on line 1.
LAUNCH_TEMPLATE_JSON = """\
{"LaunchTemplateName": "web", "LaunchTemplateData": {
  "ImageId": "ami-0c55b159cbfafe1f0",
  "InstanceType": "t3.micro"
}}
"""


def _gen_docs():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- point 9: rule pages and links --------------------------------------------------------------


def test_every_rule_has_a_generated_page_addressed_from_pyproject() -> None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    homepage = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Homepage"]
    assert homepage.rstrip("/") == project.HOMEPAGE
    from imds_iac_checks.rules import REGISTRY

    index = (ROOT / "docs" / "rules.md").read_text()
    for rule in REGISTRY.values():
        assert rule.url == f"{homepage}/blob/main/docs/rules/{rule.id}.md"
        page = ROOT / "docs" / "rules" / f"{rule.id}.md"
        assert page.read_text().startswith(f"# {rule.id} {rule.name}\n")
        assert f"[{rule.id}](rules/{rule.id}.md)" in index


def test_a_stale_rule_page_fails_the_check(tmp_path: Path, monkeypatch) -> None:
    gen = _gen_docs()
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    (tmp_path / "imds_iac_checks").mkdir()
    shutil.copy(ROOT / "imds_iac_checks" / "project.py", tmp_path / "imds_iac_checks")
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    monkeypatch.setattr(gen, "INDEX", docs / "rules.md")
    monkeypatch.setattr(gen, "PAGES", docs / "rules")
    monkeypatch.setattr(gen, "PROJECT", tmp_path / "imds_iac_checks" / "project.py")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    assert gen.stale() == []
    page = docs / "rules" / "IMDS002.md"
    page.write_text(page.read_text().replace("Why is this bad?", "Why?"))
    (docs / "rules" / "IMDS099.md").write_text("# a rule that was removed\n")
    (tmp_path / "pyproject.toml").write_text(
        (ROOT / "pyproject.toml").read_text().replace("imds-iac/imds-iac", "someone/fork")
    )
    assert gen.stale() == [
        "imds_iac_checks/project.py is out of date",
        "docs/rules/IMDS002.md is out of date",
        "docs/rules/IMDS099.md documents no rule",
    ]
    assert gen.main(["--check"]) == 1
    assert gen.main([]) == 0  # regenerates: the fork's URL, the page, the removed rule's page gone
    assert gen.stale() == []
    assert not (docs / "rules" / "IMDS099.md").exists()
    text = (tmp_path / "imds_iac_checks" / "project.py").read_text()
    assert 'HOMEPAGE = "https://github.com/someone/fork"' in text


def test_the_rule_code_is_a_terminal_link_only_with_colour(cli, tmp_path: Path) -> None:
    write(tmp_path, "main.tf", WEB_TF)
    link = f"\033]8;;{URL}IMDS002.md\033\\IMDS002\033]8;;\033\\"
    for fmt in ("full", "concise"):
        coloured = cli("check", "--format", fmt, "--color", "always", ".", cwd=tmp_path)
        assert link in coloured.out, fmt
        plain = cli("check", "--format", fmt, ".", cwd=tmp_path)  # not a terminal
        assert "\033" not in plain.out and "IMDS002" in plain.out, fmt
        never = cli("check", "--format", fmt, "--color", "never", ".", cwd=tmp_path)
        assert never.out == plain.out
    write(tmp_path, "shared/main.tf", SHARED_TF)  # an unsafe fix: left, and said so
    left = cli("fix", "--color", "always", "shared", cwd=tmp_path)
    assert link in left.out and "not fixed" in left.out
    assert "\033" not in cli("fix", "shared", cwd=tmp_path).out


def test_json_findings_carry_their_rule_page(cli, tmp_path: Path) -> None:
    write(tmp_path, "main.tf", SHARED_TF)
    write(tmp_path, "lt.json", LAUNCH_TEMPLATE_JSON)
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    assert doc["version"] == 1  # a key added: the schema stays version 1
    assert [(f["rule_id"], f["url"]) for f in doc["findings"]] == [
        ("IMDS001", URL + "IMDS001.md"),
        ("IMDS002", URL + "IMDS002.md"),
    ]
    for f in doc["findings"]:  # the page exists in the repository
        assert (ROOT / f["url"].removeprefix(project.HOMEPAGE + "/blob/main/")).is_file()


def test_sarif_help_uri_is_the_rule_page_and_the_aws_links_stay_in_the_help(cli, tmp_path) -> None:
    write(tmp_path, "main.tf", WEB_TF)
    doc = json.loads(cli("check", "--format", "sarif", ".", cwd=tmp_path).out)
    driver = doc["runs"][0]["tool"]["driver"]
    assert driver["informationUri"] == project.HOMEPAGE
    from imds_iac_checks import catalog

    aws = [
        r["id"]
        for r in catalog.load().values()
        if any("docs.aws.amazon.com" in ref.get("url", "") for ref in r.get("references", []))
    ]
    assert len(aws) >= 4
    for rule in driver["rules"]:
        assert rule["helpUri"] == URL + rule["id"] + ".md"
        if rule["id"] in aws:  # the AWS pages the catalog cites stay in the help
            assert "https://docs.aws.amazon.com/" in rule["help"]["markdown"]


def test_start_up_reads_neither_pyproject_nor_installed_metadata(tmp_path: Path) -> None:
    write(tmp_path, "main.tf", WEB_TF)
    code = (
        "import sys; from imds_iac_checks.cli import main; code = main(['check', '.']); "
        "print(sorted(m for m in sys.modules if m in ('importlib.metadata', 'tomllib', 'tomli')))"
    )
    env_path = str(ROOT)
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert run.stdout.rstrip().endswith("[]"), run.stdout + run.stderr
    assert "\n --> main.tf:7:21\n" in run.stdout


# --- point 10: the source shown ----------------------------------------------------------------


def test_full_format_shows_the_line_and_the_span(cli, tmp_path: Path) -> None:
    write(tmp_path, "main.tf", WEB_TF)
    run = cli("check", "main.tf", cwd=tmp_path)
    assert run.code == 1
    assert run.out == (
        'IMDS002 [*] [aws_instance.web] http_tokens is "optional"; set it to "required"\n'
        " --> main.tf:7:21\n"
        "  |\n"
        "5 |   metadata_options {\n"
        '6 |     http_endpoint = "enabled"\n'
        '7 |     http_tokens   = "optional"\n'
        "  |                     ^^^^^^^^^^\n"
        "8 |   }\n"
        "9 | }\n"
        "  |\n"
        'help: set http_tokens to "required"\n'
        "\n"
        "Found 1 finding (severity: 1 error) in 1 file (1 file, 1 target scanned).\n"
        "1 fixable with `imds-iac fix`.\n"
    )
    assert cli("check", "--format", "text", "main.tf", cwd=tmp_path).out == run.out


def test_full_format_unsafe_fix_is_a_note_and_has_no_marker(cli, tmp_path: Path) -> None:
    write(tmp_path, "main.tf", SHARED_TF)
    out = cli("check", "main.tf", cwd=tmp_path).out
    assert out.startswith(
        'IMDS002 [aws_instance.web] http_tokens is "optional" (default of var.tokens, via '
        'var.tokens at line 11); set it to "required"\n'
        " --> main.tf:3:13\n"
        "  |\n"
        '1 | variable "tokens" {\n'
        "2 |   type    = string\n"
        '3 |   default = "optional"\n'
        "  |             ^^^^^^^^^^\n"
        "4 | }\n"
        "  |\n"
        'help: set http_tokens to "required"\n'
        "note: an unsafe fix (edits default of var.tokens at main.tf:3, which other resources "
        "may share): `imds-iac fix --unsafe-fixes` applies it\n\n"
    )


def test_full_format_draws_a_span_over_several_lines(cli, tmp_path: Path) -> None:
    write(tmp_path, "lt.json", LAUNCH_TEMPLATE_JSON)
    out = cli("check", "lt.json", cwd=tmp_path).out
    assert out.startswith(
        "IMDS001 [*] [web LaunchTemplateData] no MetadataOptions, so IMDSv1 stays allowed; add "
        'one with HttpTokens set to "required"\n'
        " --> lt.json:1:31\n"
        "  |\n"
        '1 |   {"LaunchTemplateName": "web", "LaunchTemplateData": {\n'
        "  |  _______________________________^\n"
        '2 | |   "ImageId": "ami-0c55b159cbfafe1f0",\n'
        '3 | |   "InstanceType": "t3.micro"\n'
        "4 | | }}\n"
        "  | |_^\n"
        'help: add MetadataOptions with HttpTokens set to "required"\n\n'
    )
    # A span that starts a line (after indentation) opens with "/"; a long one is elided.
    body = ",\n".join(f'    "Tag{i}": "v{i}"' for i in range(12))
    write(tmp_path, "lt.json", f'{{\n  "LaunchTemplateData": {{\n{body}\n  }}\n}}\n')
    out = cli("check", "lt.json", cwd=tmp_path).out
    lines = out.splitlines()
    assert lines[1:6] == [
        "  --> lt.json:2:3",
        "   |",
        "1  |   {",
        '2  | /   "LaunchTemplateData": {',
        '3  | |     "Tag0": "v0",',
    ]
    assert "..." in lines
    assert lines[lines.index("...") + 1].startswith("12 | |")
    assert "   | |___^" in lines and "16 |   }" in lines


def test_a_file_that_changed_or_vanished_after_the_scan_is_reported_without_source(
    cli, tmp_path: Path, monkeypatch
) -> None:
    write(tmp_path, "main.tf", WEB_TF)
    write(tmp_path, "other.tf", WEB_TF.replace('"web"', '"api"'))
    real = full_report.write

    def edit_then_write(result, out, options):
        (tmp_path / "main.tf").write_text("# a comment added on top\n" + WEB_TF.lstrip())
        (tmp_path / "other.tf").unlink()
        real(result, out, options)

    monkeypatch.setattr(full_report, "write", edit_then_write)
    run = cli("check", ".", cwd=tmp_path)
    assert run.code == 1
    blocks = run.out.split("\n\n")
    assert blocks[0].splitlines()[1:] == [
        "--> main.tf:7:21",
        "note: source not shown: main.tf has changed since it was scanned",
        'help: set http_tokens to "required"',
    ]
    assert blocks[1].splitlines()[1:3] == [
        "--> other.tf:7:21",
        "note: source not shown: other.tf cannot be read now (No such file or directory)",
    ]


def test_source_lines_are_escaped_tabs_expanded_and_the_caret_follows(cli, tmp_path) -> None:
    text = (
        'resource "aws_instance" "web" {\n'
        "  # \x1b[2J cleared ##[error]fake \u202eevil\u2029::error::x\n"
        "  metadata_options {\n"
        '\thttp_tokens\t= "optional" # 中文 \x07\n'
        "  }\n"
        "}\n"
    )
    (tmp_path / "main.tf").write_text(text, encoding="utf-8")
    out = cli("check", "main.tf", cwd=tmp_path).out
    lines = out.splitlines()
    assert lines[3:8] == [
        "2 |   # \\x1b[2J cleared #\\x23[error]fake \\u202eevil\\u2029::error::x",
        "3 |   metadata_options {",
        '4 |     http_tokens    = "optional" # 中文 \\x07',
        "  |                      ^^^^^^^^^^",
        "5 |   }",
    ]
    assert not any(c in out for c in "\x1b\x07\u202e\u2029\t")


def test_long_lines_are_cut_around_the_span(cli, tmp_path: Path) -> None:
    filler = ", ".join(f'"Key{i}": "value {i}"' for i in range(40))
    one_line = (
        '{"LaunchTemplateName": "web", "LaunchTemplateData": {'
        f'"TagSpecifications": [{{{filler}}}], '
        '"MetadataOptions": {"HttpTokens": "optional"}}}\n'
    )
    (tmp_path / "lt.json").write_text(one_line)
    lines = cli("check", "lt.json", cwd=tmp_path).out.splitlines()
    column = one_line.index('"optional"') + 1
    assert lines[1] == f" --> lt.json:1:{column}"
    source, carets = lines[3], lines[4]
    assert source.startswith("1 | …") and not source.endswith("…")
    assert len("1 | ") + full_report.MAX_WIDTH - 2 <= len(source)
    assert len(source) <= len("1 | ") + full_report.MAX_WIDTH + 2
    assert source[carets.index("^") : carets.rindex("^") + 1] == '"optional"'


# --- concise --------------------------------------------------------------------------------------


def test_concise_is_the_one_line_form(cli, tmp_path: Path) -> None:
    write(tmp_path, "main.tf", SHARED_TF)
    write(tmp_path, "lt.json", LAUNCH_TEMPLATE_JSON)
    run = cli("check", "--format", "concise", ".", cwd=tmp_path)
    assert run.out == (
        "lt.json:1:31: IMDS001 [web LaunchTemplateData] no MetadataOptions, so IMDSv1 stays "
        'allowed; add one with HttpTokens set to "required"\n'
        'main.tf:3:13: IMDS002 [aws_instance.web] http_tokens is "optional" (default of '
        'var.tokens, via var.tokens at line 11); set it to "required"\n'
        "Found 2 findings (severity: 2 error) in 2 files (2 files, 2 targets scanned).\n"
        "1 fixable with `imds-iac fix` (1 more with `imds-iac fix --unsafe-fixes`).\n"
    )


def test_the_pre_commit_hook_uses_concise() -> None:
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "entry: imds-iac check --format concise\n" in hooks


# --- point 6: the summary's wording ------------------------------------------------------------


def _summary(run) -> list[str]:
    return run.out.split("\n\n")[-1].splitlines()


def test_summary_counts_severities_not_errors(cli, tmp_path: Path) -> None:
    write(tmp_path, "main.tf", WEB_TF)
    write(tmp_path, "modules/vars/main.tf", SHARED_TF.replace("default = ", "# "))
    run = cli("check", ".", cwd=tmp_path)
    assert _summary(run) == [
        "Found 2 findings (severity: 1 error, 1 warning) in 2 files (2 files, 2 targets scanned).",
        "1 fixable with `imds-iac fix`.",
    ]
    only_warning = cli("check", "modules", cwd=tmp_path)
    assert _summary(only_warning) == [
        "Found 1 finding (severity: 1 warning) in 1 file (1 file, 1 target scanned)."
    ]


def test_summary_says_how_to_fix_when_every_fix_is_unsafe(cli, tmp_path: Path) -> None:
    write(tmp_path, "main.tf", SHARED_TF)
    write(tmp_path, "api/main.tf", SHARED_TF)
    assert _summary(cli("check", ".", cwd=tmp_path)) == [
        "Found 2 findings (severity: 2 error) in 2 files (2 files, 2 targets scanned).",
        "2 fixable with `imds-iac fix --unsafe-fixes`.",
    ]


def test_files_that_could_not_be_scanned_are_a_line_of_their_own(cli, tmp_path: Path) -> None:
    write(tmp_path, "main.tf", WEB_TF)
    write(tmp_path, "broken/main.tf", 'resource "aws_instance" "x" {\n')
    run = cli("check", "--format", "concise", ".", cwd=tmp_path)
    assert run.code == 2
    assert run.out.splitlines()[1:] == [
        "Found 1 finding (severity: 1 error) in 1 file (2 files, 1 target scanned).",
        "1 fixable with `imds-iac fix`.",
        "1 file could not be scanned.",
    ]
    assert run.err.startswith("broken/main.tf:")
    clean = cli("check", "--format", "concise", "broken", cwd=tmp_path)
    assert clean.out.splitlines() == [
        "No findings (1 file, 0 targets scanned).",
        "1 file could not be scanned.",
    ]


@pytest.mark.parametrize("fmt", ["full", "concise"])
def test_no_findings_summary_is_unchanged(cli, tmp_path: Path, fmt: str) -> None:
    write(tmp_path, "main.tf", WEB_TF.replace('"optional"', '"required"'))
    run = cli("check", "--format", fmt, ".", cwd=tmp_path)
    assert run.code == 0
    assert run.out == "No findings (1 file, 1 target scanned).\n"


# --- why a finding has no fix ---------------------------------------------------------------------

# An org repository's SCP kept in Terraform: the weak condition sits in a local that the SCP and
# a CI role's IAM policy both read, so an edit there would change the IAM policy too.
SHARED_LOCAL_SCP = """
locals {
  launch_condition = {
    StringEquals = { "ec2:MetadataHttpTokens" = "optional" }
  }
}

resource "aws_organizations_policy" "imds" {
  name = "require-imdsv2"
  content = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "RequireImdsV2"
      Effect    = "Deny"
      Action    = "ec2:RunInstances"
      Resource  = "arn:aws:ec2:*:*:instance/*"
      Condition = local.launch_condition
    }]
  })
}

resource "aws_iam_policy" "ci_launch" {
  name = "ci-launch"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "ec2:RunInstances"
      Resource  = "*"
      Condition = local.launch_condition
    }]
  })
}
"""


def test_a_finding_without_a_fix_says_why_in_full_and_concise(cli, tmp_path: Path) -> None:
    """Review 2, item 10: ``fix`` says why it leaves a finding ("no automatic fix: ..."), and
    the JSON has ``fix_note``; the text formats say it too, or a reader waits for a fix."""
    write(tmp_path, "org/scps/main.tf", SHARED_LOCAL_SCP)
    data = json.loads(cli("check", "--format", "json", ".", cwd=tmp_path).out)
    (finding,) = [f for f in data["findings"] if f["resource"] == "aws_organizations_policy.imds"]
    assert finding["fix"] is None and finding["fix_note"]
    note = finding["fix_note"]
    assert "local.launch_condition" in note
    full = cli("check", ".", cwd=tmp_path).out
    assert f"\nnote: no automatic fix: {note}\n" in full
    concise = cli("check", "--format", "concise", ".", cwd=tmp_path).out
    line = next(x for x in concise.splitlines() if "[aws_organizations_policy.imds" in x)
    assert line.endswith(f" (no automatic fix: {note})")
    fixed = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert f"not fixed: no automatic fix: {note}" in fixed.out + fixed.err
    # a finding with a fix says nothing of the kind
    write(tmp_path, "main.tf", SHARED_TF)
    assert cli("check", "main.tf", cwd=tmp_path).out.count("no automatic fix") == 0


def test_the_reason_there_is_no_fix_is_escaped(cli, tmp_path: Path) -> None:
    # a note quotes what is written; what is written may hold a terminal escape
    from io import StringIO

    from imds_iac_checks.config import Overrides, Resolver
    from imds_iac_checks.report import Options, concise
    from imds_iac_checks.scan import scan

    write(tmp_path, "org/scps/main.tf", SHARED_LOCAL_SCP)
    monkey = pytest.MonkeyPatch()
    monkey.chdir(tmp_path)
    try:
        result = scan(["."], Resolver(Overrides()), str(tmp_path))
    finally:
        monkey.undo()
    hostile = "value \x1b[2J\u202e ##[error]x written where other code reads it"
    findings = tuple(f._replace(fix_note=hostile) for f in result.findings if f.fix is None)
    assert findings
    full = StringIO()
    full_report.write(result._replace(findings=findings), full, Options(err=StringIO()))
    assert "\x1b" not in full.getvalue() and "\u202e" not in full.getvalue()
    assert (
        "\nnote: no automatic fix: value \\x1b[2J\\u202e #\\x23[error]x written where other "
        "code reads it\n"
    ) in full.getvalue()
    out = StringIO()
    concise.write(result._replace(findings=findings), out, Options(quiet=True, err=StringIO()))
    assert "\x1b" not in out.getvalue() and "\u202e" not in out.getvalue()
    assert "(no automatic fix: value \\x1b[2J" in out.getvalue()
