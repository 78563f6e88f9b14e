"""The rule registry: a rule registered at run time (tests/dummy_rule.py, IMDS900) appears in
``check`` (text, JSON, SARIF rule metadata), ``imds-iac rules``, selections, suppressions,
``fix``, the checkov plugin and the cfn-lint plugin, with no change anywhere else."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from imds_iac_checks import rules
from tests import dummy_rule
from tests.conftest import ROOT

PACKAGE = ROOT / "imds_iac_checks"

TERRAFORM = """\
resource "aws_instance" "web" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"

  metadata_options {
    http_tokens = "required"
  }
}

resource "aws_instance" "quiet" { # imds-iac: ignore[IMDS900] tested elsewhere
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"

  metadata_options {
    http_tokens = "required"
  }
}

resource "aws_instance" "skipped" {
  #checkov:skip=CKV_DUMMY_900:the peer's id suppresses it too
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }
}

resource "aws_instance" "explicit" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }
}
"""

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Web:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-0c55b159cbfafe1f0
      InstanceType: t3.micro
      MetadataOptions:
        HttpTokens: required
  Ignored:
    Type: AWS::EC2::Instance
    Metadata:
      cfn-lint:
        config:
          ignore_checks: [W9900]
    Properties:
      ImageId: ami-0c55b159cbfafe1f0
      InstanceType: t3.micro
      MetadataOptions:
        HttpTokens: required
"""


@pytest.fixture
def dummy() -> Iterator[None]:
    dummy_rule.register()
    try:
        yield
    finally:
        dummy_rule.unregister()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "main.tf").write_text(TERRAFORM)
    (tmp_path / "stack.yaml").write_text(TEMPLATE)
    return tmp_path


def _ours(findings: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return sorted(
        (f["path"], f["line"], f["resource"], f["suppressed"] is not None)
        for f in findings
        if f["rule_id"] == "IMDS900"
    )


def test_the_built_in_rules_are_registered_in_id_order() -> None:
    assert list(rules.REGISTRY) == sorted(rules.REGISTRY)
    assert [r.id for r in rules.BUILTIN] == list(rules.REGISTRY)
    assert sum(r.unevaluable for r in rules.REGISTRY.values()) == 1


def test_a_clashing_rule_is_refused(dummy: None) -> None:
    with pytest.raises(ValueError, match="clashes"):
        rules.register(dummy_rule.RULE._replace(id="IMDS901"))  # same name
    with pytest.raises(ValueError, match="clashes"):
        rules.register(dummy_rule.RULE._replace(name="other"))  # same id


def test_check_reports_it_in_text_and_json(cli, tree: Path, dummy: None) -> None:
    text = cli("check", "--format", "concise", ".", cwd=tree)
    assert (
        "main.tf:1:1: IMDS900 [aws_instance.web] metadata_options block does not set "
        "http_endpoint explicitly\n" in text.out
    )
    assert text.code == 0  # a warning: fail-on is "error"
    doc = cli("check", "--format", "json", ".", cwd=tree).json()
    assert _ours(doc["findings"]) == [
        ("main.tf", 1, "aws_instance.web", False),
        ("main.tf", 10, "aws_instance.quiet", True),
        ("stack.yaml", 4, "Web", False),
        ("stack.yaml", 11, "Ignored", True),
    ]
    assert doc["summary"]["by_rule"]["IMDS900"] == 2
    mine = next(f for f in doc["findings"] if f["rule_id"] == "IMDS900")
    assert (mine["severity"], mine["fixable"], mine["fix"]) == ("warning", True, "safe")


def test_suppressions_cover_it(cli, tree: Path, dummy: None) -> None:
    doc = cli("check", "--format", "json", ".", cwd=tree).json()
    suppressed = {
        f["resource"]: f["suppressed"]
        for f in doc["findings"]
        if f["rule_id"] == "IMDS900" and f["suppressed"]
    }
    assert suppressed["aws_instance.quiet"].startswith("imds-iac: ignore: tested elsewhere")
    assert suppressed["Ignored"] == "Metadata cfn-lint ignore_checks W9900"
    assert not any(f["resource"] == "aws_instance.skipped" for f in doc["findings"])


def test_selection_and_configuration_know_it(cli, tree: Path, dummy: None) -> None:
    only = cli("check", "--format", "json", "--select", "IMDS900", ".", cwd=tree).json()
    assert {f["rule_id"] for f in only["findings"]} == {"IMDS900"}
    without = cli("check", "--format", "json", "--ignore", "IMDS9", ".", cwd=tree).json()
    assert "IMDS900" not in {f["rule_id"] for f in without["findings"]}


def test_sarif_carries_its_metadata(cli, tree: Path, dummy: None) -> None:
    sarif = cli("check", "--format", "sarif", ".", cwd=tree).json()
    driver = sarif["runs"][0]["tool"]["driver"]
    (rule,) = [r for r in driver["rules"] if r["id"] == "IMDS900"]
    assert rule["name"] == "EndpointNotExplicit"
    assert rule["shortDescription"]["text"] == "The metadata endpoint is not set explicitly."
    assert rule["properties"]["security-severity"] == "1.0"
    assert rule["defaultConfiguration"]["level"] == "warning"
    results = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "IMDS900"]
    assert results and all(driver["rules"][r["ruleIndex"]]["id"] == "IMDS900" for r in results)


def test_the_rules_command_lists_and_explains_it(cli, dummy: None) -> None:
    listing = cli("rules")
    assert "IMDS900  warning  endpoint-not-explicit" in listing.out
    one = cli("rules", "IMDS900", "--format", "markdown")
    assert one.code == 0
    assert one.out.startswith("# IMDS900 endpoint-not-explicit")
    assert "`CKV_DUMMY_900`" in one.out


def test_fix_plans_it_from_its_declaration(cli, tree: Path, dummy: None) -> None:
    run = cli("fix", "--diff", "--select", "IMDS900", ".", cwd=tree)
    assert '+    http_endpoint = "enabled"' in run.out
    assert "+        HttpEndpoint: enabled" in run.out


def test_without_it_nothing_is_left_behind(cli, tree: Path) -> None:
    doc = cli("check", "--format", "json", ".", cwd=tree).json()
    assert "IMDS900" not in doc["summary"]["by_rule"]
    assert not _ours(doc["findings"])


def _with_dummy(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter that registered the dummy rule first."""
    script = f"import sys; from tests import dummy_rule; dummy_rule.register(); {code}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env["LOG_LEVEL"] = "WARNING"
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


@pytest.mark.slow
def test_the_checkov_plugin_runs_it(tree: Path, dummy: None) -> None:
    pytest.importorskip("checkov") if not os.environ.get("CI") else None
    plugin = PACKAGE / "adapters" / "checkov"
    proc = _with_dummy(
        "from checkov.main import Checkov; sys.argv[0] = 'checkov'; sys.exit(Checkov().run())",
        "--skip-download",
        "-d",
        ".",
        "--framework",
        "terraform",
        "cloudformation",
        "--external-checks-dir",
        str(plugin),
        "--check",
        "CKV_IMDS_900",
        "-o",
        "json",
        cwd=tree,
    )
    reports = json.loads(proc.stdout)
    failed = {
        (r["check_id"], r["resource"])
        for report in (reports if isinstance(reports, list) else [reports])
        for r in report["results"]["failed_checks"]
    }
    assert ("CKV_IMDS_900", "aws_instance.web") in failed, proc.stderr[-2000:]
    assert ("CKV_IMDS_900", "AWS::EC2::Instance.Web") in failed
    assert not any(resource == "aws_instance.explicit" for _, resource in failed)


@pytest.mark.slow
def test_the_cfn_lint_plugin_runs_it(tree: Path, dummy: None) -> None:
    plugin = PACKAGE / "adapters" / "cfn_lint"
    proc = _with_dummy(
        "from cfnlint.runner import main; sys.exit(main())",
        "--format",
        "json",
        "--append-rules",
        str(plugin),
        "--",
        "stack.yaml",
        cwd=tree,
    )
    matches = json.loads(proc.stdout)
    ours = [(m["Rule"]["Id"], m["Location"]["Start"]["LineNumber"]) for m in matches]
    assert ("W9900", 4) in ours, proc.stderr[-2000:]
    assert len([m for m in ours if m[0] == "W9900"]) == 1  # Ignored: its Metadata ignores W9900


# --- no rule id or name outside its module ---------------------------------------------------


def _strings(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if is_text and id(node) not in docstrings:
            yield node.lineno, node.value


def test_no_module_but_a_rule_module_names_a_rule() -> None:
    names = {rule.name for rule in rules.BUILTIN}
    ids = {rule.id for rule in rules.BUILTIN}
    modules = {sys.modules[rule.check.__module__].__file__ for rule in rules.BUILTIN}
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if str(path) in modules:
            continue
        for line, text in _strings(path):
            if any(i in text for i in ids) or any(n in text for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {text[:60]!r}")
    assert not offenders, "\n".join(offenders)


def test_the_dummy_rule_is_a_few_lines_of_declaration() -> None:
    source = textwrap.dedent(Path(dummy_rule.__file__).read_text())
    assert "import imds_iac_checks.engine" not in source


def test_built_in_rules_leave_a_kind_without_their_settings_alone() -> None:
    """A kind that declares only a setting of its own (an AMI's ``imds_support``) gets no
    finding, and no internal error, from rules that judge the metadata options."""
    from imds_iac_checks.engine import Context, evaluate
    from imds_iac_checks.model import KindSpec, Link, LinkKind, Span, Target, Value
    from imds_iac_checks.rules import REGISTRY

    span = Span("ami.tf", 0, 10, 1, 1, 1, 11)
    spec = KindSpec(
        kind="aws_ami",
        block=None,
        fields={"imds_support": "imds_support"},
        suggest={"imds_support": '"v2.0"'},
    )
    value = Value(True, "v2.0", "v2.0", '"v2.0"', (Link(span, LinkKind.LITERAL),))
    for block_span, settings in ((None, {}), (span, {"imds_support": (value,)})):
        target = Target(
            spec, "aws_ami.base", "ami.tf", span, span, block_span, settings, "terraform"
        )
        # (the AMI's own rule judges it: every rule that reads it is left out)
        found = evaluate(target, Context())
        assert [f for f in found if "imds_support" not in REGISTRY[f.rule_id].reads] == []
