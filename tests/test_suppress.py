"""Dead suppressions (issue 14, point 3): an ``imds-iac: ignore`` code that names no rule, or
suppresses no finding of an enabled rule, is reported by the rule that judges suppressions, as
ruff's RUF100 reports an unused ``noqa``; ``imds-iac fix`` removes it. The per-rule cases are in
tests/rules/IMDS005/; these pin the messages, the spans, the fix, the reports and the options."""

from __future__ import annotations

import json
from pathlib import Path

from imds_iac_checks import rules

AUDIT = rules.auditors()[0]

TYPO = """\
resource "aws_instance" "web" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 2 # imds-iac: ignore[IMDS0003] container host
  }
}
"""

UNUSED = """\
resource "aws_instance" "web" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = "required" # imds-iac: ignore[IMDS003] left from an old hop limit
  }
}
"""

USED = """\
resource "aws_instance" "web" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 2 # imds-iac: ignore[IMDS003] container host
  }
}
"""


def mine(doc: dict) -> list[dict]:
    return [f for f in doc["findings"] if f["rule_id"] == AUDIT.id]


def test_the_rule_is_declared_as_judging_suppressions_and_not_in_the_plugins() -> None:
    assert [r.id for r in rules.auditors()] == ["IMDS005"]
    assert AUDIT.severity == "warning"
    assert AUDIT.checkov is None and AUDIT.cfn_lint is None  # those tools judge their own


def test_a_typo_is_an_unknown_code_at_its_span(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(TYPO)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    (f,) = mine(run.json())
    assert f["message"] == "[aws_instance.web] unknown rule code IMDS0003 in suppression"
    column = TYPO.splitlines()[5].index("IMDS0003") + 1
    assert (f["line"], f["column"], f["end_line"], f["end_column"]) == (6, column, 6, column + 8)
    assert f["severity"] == "warning" and f["fixable"] and f["fix"] == "safe"
    # the finding it meant to suppress is reported: the typo suppressed nothing
    assert [g["rule_id"] for g in run.json()["findings"] if g["suppressed"] is None] == [
        "IMDS003",
        "IMDS005",
    ]
    text = cli("check", "--format", "concise", ".", cwd=tmp_path).out
    assert f"main.tf:6:{column}: IMDS005 [aws_instance.web] unknown rule code IMDS0003" in text


def test_an_unused_code_on_a_line_without_its_finding(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(UNUSED)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    (f,) = mine(run.json())
    assert f["message"] == "[aws_instance.web] unused suppression IMDS003: no IMDS003 finding here"
    assert f["line"] == 5 and f["column"] == UNUSED.splitlines()[4].index("IMDS003") + 1
    assert run.code == 0  # a warning: it fails only with --fail-on warning
    assert cli("check", "--fail-on", "warning", ".", cwd=tmp_path).code == 1


def test_a_used_code_is_not_reported(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(USED)
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    assert mine(doc) == []
    assert [f["suppressed"] for f in doc["findings"]] == ["imds-iac: ignore: container host"]


def test_a_code_for_a_rule_turned_off_is_not_reported(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(UNUSED)
    for args in (["--ignore", "IMDS003"], ["--select", "IMDS002,IMDS005"]):
        assert mine(cli("check", "--format", "json", *args, ".", cwd=tmp_path).json()) == [], args
    (tmp_path / ".imds-iac.toml").write_text('ignore = ["hop-limit-above-threshold"]\n')
    assert mine(cli("check", "--format", "json", ".", cwd=tmp_path).json()) == []
    # the rule itself turned off: nothing is judged
    (tmp_path / ".imds-iac.toml").write_text('ignore = ["IMDS005"]\n')
    (tmp_path / "main.tf").write_text(TYPO)
    assert mine(cli("check", "--format", "json", ".", cwd=tmp_path).json()) == []


def test_its_findings_are_suppressed_only_by_naming_it(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        UNUSED.replace("ignore[IMDS003]", "ignore[IMDS003, unused-suppression]")
    )
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    (f,) = mine(doc)
    assert f["suppressed"] == "imds-iac: ignore: left from an old hop limit"
    assert doc["summary"]["findings"] == 0
    # a bare ignore suppresses every rule's findings but this one's: it would hide itself
    (tmp_path / "main.tf").write_text(UNUSED.replace("ignore[IMDS003]", "ignore"))
    (f,) = mine(cli("check", "--format", "json", ".", cwd=tmp_path).json())
    assert f["suppressed"] is None
    assert f["message"].endswith("this ignore (every rule) suppresses no finding here")


def test_cloudformation_metadata_entries(cli, tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(
        "Resources:\n"
        "  Web:\n"
        "    Type: AWS::EC2::Instance\n"
        "    Metadata:\n"
        "      imds-iac:\n"
        "        ignore: [IMDS002, {id: IMDS03, reason: typo}]\n"
        "      checkov:\n"
        "        skip: [{id: CKV_AWS_341, comment: checkov's own, not judged}]\n"
        "    Properties:\n"
        "      ImageId: ami-1\n"
        "      MetadataOptions: {HttpTokens: optional}\n"
    )
    found = mine(cli("check", "--format", "json", ".", cwd=tmp_path).json())
    assert [(f["line"], f["column"], f["message"], f["fixable"]) for f in found] == [
        (6, 32, "[Web] unknown rule code IMDS03 in suppression", False)
    ]
    assert found[0]["resource"] == "Web"


def test_a_tf_file_named_without_its_module_is_not_judged(cli, tmp_path: Path) -> None:
    """Its findings may come from resources in the files beside it, which the scan does not
    report: its suppressions cannot be judged."""
    (tmp_path / "main.tf").write_text(
        'resource "aws_instance" "web" {\n  metadata_options {\n'
        "    http_tokens = var.tokens\n  }\n}\n"
    )
    (tmp_path / "variables.tf").write_text(
        'variable "tokens" {\n  default = "optional" # imds-iac: ignore[IMDS002] vendor\n}\n'
    )
    whole = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    assert mine(whole) == []
    assert [f["suppressed"] for f in whole["findings"]] == ["imds-iac: ignore: vendor"]
    assert mine(cli("check", "--format", "json", "variables.tf", cwd=tmp_path).json()) == []


# --- the fix ----------------------------------------------------------------------------------

FIX_TF = """\
# imds-iac: ignore[IMDS001] the bastion was retired
resource "aws_instance" "web" { # imds-iac: ignore[IMDS0003] typo
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 3 # imds-iac: ignore[IMDS002, IMDS003] sidecar
  }
}
"""

FIXED_TF = """\
resource "aws_instance" "web" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 3 # imds-iac: ignore[IMDS003] sidecar
  }
}
"""

FIX_YAML = """\
Resources:
  Web:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      MetadataOptions:
        # imds-iac: ignore[IMDS003] a comment line of its own
        HttpTokens: required # imds-iac: ignore
"""

FIXED_YAML = """\
Resources:
  Web:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      MetadataOptions:
        HttpTokens: required
"""


def test_fix_removes_dead_codes_and_comments(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(FIX_TF)
    (tmp_path / "stack.yaml").write_text(FIX_YAML)
    diff = cli("fix", "--diff", ".", cwd=tmp_path)
    assert diff.code == 1
    assert "-# imds-iac: ignore[IMDS001] the bastion was retired\n" in diff.out
    assert '+resource "aws_instance" "web" {\n' in diff.out
    assert "+    http_put_response_hop_limit = 3 # imds-iac: ignore[IMDS003] sidecar\n" in diff.out
    assert "-        HttpTokens: required # imds-iac: ignore\n" in diff.out
    assert (tmp_path / "main.tf").read_text() == FIX_TF  # --diff writes nothing
    run = cli("fix", ".", cwd=tmp_path)
    assert run.code == 0, run.out
    assert (tmp_path / "main.tf").read_text() == FIXED_TF
    assert (tmp_path / "stack.yaml").read_text() == FIXED_YAML
    after = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    assert mine(after) == []
    assert [f["suppressed"] for f in after["findings"]] == ["imds-iac: ignore: sidecar"]


def test_fix_with_another_fix_on_the_same_line(cli, tmp_path: Path) -> None:
    """The hop limit's fix and the removal of the dead comment after it are both made."""
    (tmp_path / "main.tf").write_text(
        UNUSED.replace(
            '"required" # imds-iac: ignore[IMDS003]', '"optional" # imds-iac: ignore[IMDS003]'
        )
    )
    run = cli("fix", ".", cwd=tmp_path)
    assert run.code == 0, run.out
    assert '    http_tokens = "required"\n' in (tmp_path / "main.tf").read_text()
    assert cli("check", "--format", "json", ".", cwd=tmp_path).json()["findings"] == []


def test_fix_leaves_metadata_entries_to_the_user(cli, tmp_path: Path) -> None:
    text = (
        "Resources:\n  Web:\n    Type: AWS::EC2::Instance\n"
        "    Metadata: {imds-iac: {ignore: [IMDS003]}}\n"
        "    Properties: {ImageId: ami-1, MetadataOptions: {HttpTokens: required}}\n"
    )
    (tmp_path / "stack.yaml").write_text(text)
    run = cli("fix", ".", cwd=tmp_path)
    assert "not fixed: no automatic fix: remove the Metadata entry by hand" in run.out
    assert (tmp_path / "stack.yaml").read_text() == text


# --- reports, rules, baselines ----------------------------------------------------------------


def test_listed_by_the_rules_command_and_in_sarif(cli, tmp_path: Path) -> None:
    listing = cli("rules").out.splitlines()
    assert ["IMDS005", "warning", "unused-suppression"] in [line.split()[:3] for line in listing]
    one = cli("rules", "unused-suppression")
    assert one.code == 0 and "RUF100" in one.out
    (tmp_path / "main.tf").write_text(TYPO)
    doc = json.loads(cli("check", "--format", "sarif", ".", cwd=tmp_path).out)
    driver = doc["runs"][0]["tool"]["driver"]
    (rule,) = [r for r in driver["rules"] if r["id"] == "IMDS005"]
    assert rule["name"] == "UnusedSuppression"
    assert rule["defaultConfiguration"] == {"level": "warning"}
    results = [r for r in doc["runs"][0]["results"] if r["ruleId"] == "IMDS005"]
    assert len(results) == 1 and results[0]["level"] == "warning"


def test_baseline_accepts_its_findings(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(UNUSED)
    cli("check", "--write-baseline", "baseline.json", ".", cwd=tmp_path)
    entries = json.loads((tmp_path / "baseline.json").read_text())["findings"]
    assert [e["rule_id"] for e in entries] == ["IMDS005"]
    run = cli("check", "--fail-on", "warning", "--baseline", "baseline.json", ".", cwd=tmp_path)
    assert run.code == 0, run.out


def test_removals_keep_line_ends_and_the_rest_of_the_line() -> None:
    from imds_iac_checks.fix.edits import apply
    from imds_iac_checks.fix.suppressions import removals
    from imds_iac_checks.suppress import comments

    def fixed(text: bytes, dead_codes: list[bytes]) -> bytes:
        dead = set()
        for c in comments(text, "main.tf"):
            if c.codes is None:
                dead.add(c.start)
            dead |= {code.start for code in c.codes or () if code.text.encode() in dead_codes}
        return apply(text, list({edit for edit, _ in removals(text, "main.tf", dead).values()}))

    crlf = (
        b"a = 1\r\n  # imds-iac: ignore[IMDS003] gone\r\nb = 2 # imds-iac: ignore[X, IMDS002] y\r\n"
    )
    assert fixed(crlf, [b"IMDS003", b"X"]) == b"a = 1\r\nb = 2 # imds-iac: ignore[IMDS002] y\r\n"
    last = b"a = 1\n# imds-iac: ignore"
    assert fixed(last, []) == b"a = 1"
    other = b"x = 1 # a note # imds-iac: ignore[IMDS01]\n"
    assert fixed(other, [b"IMDS01"]) == b"x = 1 # a note\n"
    lone_cr = b"a = 1\r# imds-iac: ignore[IMDS01]\rb = 2 // imds-iac: ignore[IMDS02]\r"
    assert [c.line for c in comments(lone_cr, "main.tf")] == [2, 3]
    assert fixed(lone_cr, [b"IMDS01", b"IMDS02"]) == b"a = 1\rb = 2\r"


def test_fix_never_edits_text_that_only_reads_like_a_comment(cli, tmp_path: Path) -> None:
    """A heredoc (user data) holding ``# imds-iac: ignore`` is a string: it is not edited."""
    text = (
        'resource "aws_instance" "web" {\n  ami       = "ami-1"\n  user_data = <<-EOT\n'
        "    #!/bin/sh\n    # imds-iac: ignore[IMDS003] inside user data\n  EOT\n"
        '  metadata_options {\n    http_tokens = "required" # imds-iac: ignore[IMDS003] gone\n'
        "  }\n}\n"
    )
    (tmp_path / "main.tf").write_text(text)
    run = cli("fix", ".", cwd=tmp_path)
    assert "inside user data" not in run.out  # not a suppression: nothing to report or fix
    assert (tmp_path / "main.tf").read_text() == text.replace(
        ' # imds-iac: ignore[IMDS003] gone"', '"'
    ).replace(" # imds-iac: ignore[IMDS003] gone\n", "\n")


def test_text_that_only_reads_like_a_suppression_is_none(cli, tmp_path: Path) -> None:
    """A script line in user data (a YAML block scalar, a quoted string, an HCL heredoc) that
    reads like a suppression comment is script text: it suppresses nothing, is not reported as
    a dead suppression, and fix never removes it (that would change what instances run)."""
    stack = (
        "Resources:\n"
        "  Web:\n"
        "    Type: AWS::EC2::Instance\n"
        "    Properties:\n"
        "      UserData:\n"
        "        Fn::Base64: |\n"
        "          #!/bin/bash\n"
        "          # imds-iac: ignore[IMDS003]\n"
        "          yum install -y httpd\n"
        '      Tags: [{Key: note, Value: "x # imds-iac: ignore[IMDS002]"}]\n'
        "      MetadataOptions:\n"
        "        HttpTokens: optional\n"
    )
    (tmp_path / "stack.yaml").write_text(stack)
    (tmp_path / "main.tf").write_text(
        'resource "aws_instance" "web" {\n'
        '  ami       = "ami-1"\n'
        "  user_data = <<-EOT\n"
        "    #!/bin/bash\n"
        "    # imds-iac: ignore[IMDS001]\n"
        "  EOT\n"
        "  metadata_options {\n"
        '    http_tokens = "required" # imds-iac: ignore[IMDS003] a real one, unused\n'
        "  }\n"
        "}\n"
    )
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    found = sorted((f["path"], f["line"], f["rule_id"], f["suppressed"]) for f in doc["findings"])
    assert found == [
        ("main.tf", 8, "IMDS005", None),  # the real comment
        ("stack.yaml", 12, "IMDS002", None),  # not suppressed by the Tags text
    ]
    run = cli("fix", ".", cwd=tmp_path)
    assert "# imds-iac: ignore[IMDS003]\n          yum" in (tmp_path / "stack.yaml").read_text()
    assert "    # imds-iac: ignore[IMDS001]\n  EOT" in (tmp_path / "main.tf").read_text()
    assert "a real one" not in (tmp_path / "main.tf").read_text(), run.out
