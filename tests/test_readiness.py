"""``imds-iac report``: migration readiness per directory, Terraform module call and
CloudFormation stack, as Markdown, JSON and one self-contained HTML page (the page in a real
browser: tests/test_readiness_browser.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest

from imds_iac_checks.config import Overrides, Resolver
from imds_iac_checks.engine import Context
from imds_iac_checks.model import SAFE, UNSAFE, Hazard, Host, Span
from imds_iac_checks.report import readiness, readiness_html
from imds_iac_checks.rules import REGISTRY
from imds_iac_checks.scan import ScanResult, scan
from tests.conftest import FIXTURES, ROOT, write

MODULE = """
variable "tokens" {
  type = string
}

resource "aws_launch_template" "this" {
  name_prefix = "web-"
  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = var.tokens
  }
}
"""

ROOT_MODULE = """
data "aws_ssm_parameter" "tokens" {
  name = "/imds/tokens"
}

module "web" {
  source = "../../modules/web"
  tokens = "required"
}

module "legacy" {
  source = "../../modules/web"
  tokens = "optional"
}

resource "aws_instance" "bastion" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"
  metadata_options {
    http_tokens = data.aws_ssm_parameter.tokens.value
  }
}

resource "aws_instance" "pool" {
  count         = 3
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"
}
"""

STACK = """
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Secure:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-0c55b159cbfafe1f0
      MetadataOptions:
        HttpTokens: required
  Legacy:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-0c55b159cbfafe1f0
"""

# A script on its own in the tree: the Python analyser (hazards/code.py) reads it.
AGENT = """
import requests

print(requests.get("http://169.254.169.254/latest/meta-data/iam/security-credentials/").text)
"""

# User data of a Terraform instance that calls IMDSv1 (shell, in a heredoc).
USER_DATA = """
resource "aws_instance" "web" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"
  user_data     = <<-EOT
    #!/bin/bash
    REGION=$(curl -s http://169.254.169.254/latest/meta-data/placement/region)
    echo "$REGION" > /etc/region
  EOT
  metadata_options {
    http_tokens = "optional"
  }
}
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write(tmp_path, "modules/web/main.tf", MODULE)
    write(tmp_path, "envs/prod/main.tf", ROOT_MODULE)
    write(tmp_path, "stacks/web.yaml", STACK)
    return tmp_path


def scanned(path: Path) -> ScanResult:
    here = os.getcwd()
    os.chdir(path)
    try:
        return scan(["."], Resolver(Overrides()), str(path))
    finally:
        os.chdir(here)


def by_name(model: readiness.Readiness) -> dict[str, readiness.Group]:
    return {g.name: g for g in model.groups}


def states(group: readiness.Group) -> dict[str, str]:
    return {t.address: t.state for t in group.targets}


# --- the model ----------------------------------------------------------------------------------


def test_targets_are_grouped_by_directory_module_call_and_stack(tree: Path) -> None:
    model = readiness.build(scanned(tree))
    groups = by_name(model)
    assert list(groups) == [
        "envs/prod",
        "envs/prod: module.legacy",
        "envs/prod: module.web",
        "stacks/web.yaml",
    ]
    assert [g.kind for g in model.groups] == ["directory", "module", "module", "stack"]
    assert groups["envs/prod: module.web"].module == "module.web"
    # One module, two calls: secure through one, weak through the other.
    assert states(groups["envs/prod: module.web"]) == {
        "module.web.aws_launch_template.this": "secure"
    }
    assert states(groups["envs/prod: module.legacy"]) == {
        "module.legacy.aws_launch_template.this": "weak"
    }
    # A value from a data source cannot be evaluated: unknown; count = 3 is one row of 3.
    assert states(groups["envs/prod"]) == {
        "aws_instance.bastion": "unknown",
        "aws_instance.pool": "weak",
    }
    pool = next(t for t in groups["envs/prod"].targets if t.address == "aws_instance.pool")
    assert pool.instances == 3 and pool.fix == readiness.FIX_SAFE
    bastion = next(t for t in groups["envs/prod"].targets if t.address == "aws_instance.bastion")
    assert bastion.fix == readiness.FIX_MANUAL
    assert states(groups["stacks/web.yaml"]) == {"Secure": "secure", "Legacy": "weak"}
    assert model.counts == readiness.Counts(
        targets=6, secure=2, weak=3, unknown=1, instances=8, hazards=0, blocked=0
    )
    # The same numbers as `check`: 3 fixable (a module input is the call's own), 1 by hand.
    assert model.fixes == readiness.Fixes(safe=3, unsafe=0, manual=1)
    assert model.verdict == (
        "2 of 6 targets already require IMDSv2 (1 could not be evaluated); no code found that "
        "breaks when tokens are required; `imds-iac fix` can fix 3 findings safely (1 by hand)"
    )


def test_targets_seen_holds_targets_without_findings(tree: Path) -> None:
    result = scanned(tree)
    seen = {t.address for t in result.targets_seen}
    assert "Secure" in seen and "module.web.aws_launch_template.this" in seen
    assert len(result.targets_seen) == result.targets == 8


def _hazard_rule():  # the rule that judges IMDSv1 calls (the first hazard rule), as registered
    return next(r for r in REGISTRY.values() if r.hazard is not None)


def with_call(result: ScanResult, owner: str, at: Span) -> ScanResult:
    """``result`` as the scan makes it once an analyser finds an IMDSv1 call at ``at`` in the
    user data of ``owner``: the hazard's finding, and ``blocked_by`` on its host."""
    target = next(t for t in result.targets_seen if t.generic(t.address) == owner)
    rule = _hazard_rule()
    hazard = Hazard(
        kind=rule.kinds[0],
        span=at,
        what="curl GET http://169.254.169.254/latest/meta-data/placement/region without a "
        "session token",
        payload="user data",
        owner=owner,
        hosts=(Host(owner, target.header, "allowed"),),
    )
    assert rule.hazard is not None
    findings = list(rule.hazard(hazard, Context()))
    where = f"{at.path}:{at.line}"
    seen = tuple(
        t._replace(blocked_by=(where,)) if t.generic(t.address) == owner else t
        for t in result.targets_seen
    )
    origins = dict(result.origins or {})
    for f, (t, ctx) in list(origins.items()):
        if t.generic(t.address) == owner:
            origins[f] = (t._replace(blocked_by=(where,)), ctx)
    return result._replace(
        findings=[*result.findings, *findings], origins=origins, targets_seen=seen
    )


def test_a_hazard_blocks_the_targets_it_runs_on_and_makes_their_fix_unsafe(tree: Path) -> None:
    result = scanned(tree)
    call = Span("envs/prod/user-data.sh", 40, 100, 3, 1, 3, 61)
    model = readiness.build(with_call(result, "aws_instance.pool", call))
    group = by_name(model)["envs/prod"]
    assert [(h.path, h.line, h.blocks, h.severity) for h in group.hazards] == [
        ("envs/prod/user-data.sh", 3, ("aws_instance.pool",), "warning")
    ]
    assert model.hazards == group.hazards
    pool = next(t for t in group.targets if t.address == "aws_instance.pool")
    assert pool.blocked_by == ("envs/prod/user-data.sh:3",)
    # Requiring tokens there would break the call: only with --unsafe-fixes.
    assert pool.fix == readiness.FIX_UNSAFE
    assert model.counts.hazards == 1 and model.counts.blocked == 1
    assert model.fixes.safe == 2 and model.fixes.unsafe == 1
    one, _ = readiness._nouns(_hazard_rule())
    assert f"; 1 {one} blocks 1 target;" in model.verdict
    assert dict((k[0], (k[2], k[3])) for k in model.hazard_kinds)[_hazard_rule().id] == (1, 1)


def test_a_hazard_tied_to_no_target_sits_in_its_directory(tree: Path) -> None:
    write(tree, "scripts/agent.py", AGENT)
    model = readiness.build(scanned(tree))
    groups = by_name(model)
    assert "scripts" in groups
    (hazard,) = groups["scripts"].hazards
    assert (hazard.path, hazard.line, hazard.blocks) == ("scripts/agent.py", 3, ())
    assert hazard.fix in (readiness.FIX_UNSAFE, readiness.FIX_MANUAL)
    assert groups["scripts"].targets == ()
    one, _ = readiness._nouns(_hazard_rule())
    assert f"; 1 {one} (tied to no target scanned);" in model.verdict


def test_a_curl_in_a_shell_script_is_a_hazard_with_an_unsafe_fix(tmp_path: Path) -> None:
    write(
        tmp_path,
        "boot/run.sh",
        "#!/bin/bash\ncurl -s http://169.254.169.254/latest/meta-data/instance-id\n",
    )
    model = readiness.build(scanned(tmp_path))
    (group,) = model.groups
    (hazard,) = group.hazards
    assert (group.name, hazard.path, hazard.line, hazard.fix) == (
        "boot",
        "boot/run.sh",
        2,
        "unsafe",
    )
    assert model.fixes == readiness.Fixes(unsafe=1)


def test_end_to_end_a_curl_in_user_data_blocks_its_instance(tmp_path: Path, cli) -> None:
    write(tmp_path, "app/main.tf", USER_DATA)
    run = cli("report", "--format", "json", ".", cwd=tmp_path)
    assert run.code == 0, run.err
    doc = run.json()
    (group,) = doc["groups"]
    (hazard,) = group["hazards"]
    assert (hazard["path"], hazard["line"]) == ("app/main.tf", 6)
    assert hazard["blocks"] == ["aws_instance.web"]
    (target,) = group["targets"]
    assert target["blocked_by"] == ["app/main.tf:6"]
    assert target["fix"] == "unsafe"  # requiring tokens would break the curl
    assert "blocks 1 target" in doc["verdict"]


def test_suppressed_findings_still_make_a_target_weak_but_are_not_fixed(tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.tf",
        """
        resource "aws_instance" "legacy" {  # imds-iac: ignore[IMDS001] vendor AMI needs IMDSv1
          ami = "ami-0c55b159cbfafe1f0"
        }
        """,
    )
    model = readiness.build(scanned(tmp_path))
    (target,) = model.groups[0].targets
    assert (target.state, target.accepted, target.fix) == ("weak", True, "")
    assert model.fixes == readiness.Fixes()


def test_fix_counts_follow_the_findings_fix_safety(tree: Path) -> None:
    result = scanned(tree)
    active = [f for f in result.findings if f.suppressed is None]
    model = readiness.build(result)
    assert model.fixes.safe == sum(1 for f in active if f.fix == SAFE)
    assert model.fixes.unsafe == sum(1 for f in active if f.fix == UNSAFE)
    assert sum(model.fixes) == len(active)


def test_fixtures_totals_add_up() -> None:
    result = scanned(FIXTURES)
    model = readiness.build(result)
    assert model.counts.targets == sum(g.counts.targets for g in model.groups)
    assert model.counts.instances == result.targets
    assert model.counts.secure + model.counts.weak + model.counts.unknown == model.counts.targets
    assert sum(model.fixes) == sum(1 for f in result.findings if f.suppressed is None)
    assert {g.kind for g in model.groups} == {"directory", "module", "stack"}
    assert model.counts.secure > 0 and model.counts.weak > 0 and model.counts.unknown > 0


# --- Markdown -----------------------------------------------------------------------------------


def _cells(line: str) -> int:
    """Columns of a Markdown table row: the pipes not escaped with a backslash."""
    return len(re.findall(r"(?<!\\)\|", line)) - 1


def test_markdown_has_the_verdict_tables_and_checklist(tree: Path) -> None:
    model = readiness.build(scanned(tree))
    out = _text(readiness.write_markdown, model)
    assert out.startswith("## IMDSv2 migration readiness\n\n**2 of 6 targets already require")
    headings = re.findall(r"^#+ .*$", out, re.M)
    assert headings == [
        "## IMDSv2 migration readiness",
        "### By directory, module and stack",
        "### Targets to change",
        "### Account defaults and guardrails",
        "### Before requiring tokens: check the running instances",
    ]
    tables = re.findall(r"(?:^\|.*\|\n)+", out, re.M)
    assert len(tables) == 3
    for table in tables:
        rows = table.splitlines()
        assert re.fullmatch(r"\|(?:-+:?\|)+|\|(?:---:?\|)+", rows[1].replace("---:", "---"))
        assert {_cells(r) for r in rows} == {_cells(rows[0])}
    assert "| 6 | 2 | 3 | 1 | 0 | 0 | 3 | 0 | 1 |" in out
    assert "| envs/prod: module.legacy | module | 1 | 0 | 1 | 0 | 0 | 0 | 1 | 0 | 0 |" in out
    assert "aws\\_instance.pool (3 instances) | envs/prod/main.tf:23 | weak |" in out
    for needle in (
        "--namespace AWS/EC2 --metric-name MetadataNoToken",
        'Name=InstanceId,Value="$id" --statistics Sum --period 86400',
        "--filters Name=metadata-options.http-tokens,Values=optional",
        "--config-rule-name ec2-imdsv2-check --compliance-types NON_COMPLIANT",
        "SELECT resourceId WHERE resourceType = 'AWS::EC2::Instance' AND "
        "configuration.metadataOptions.httpTokens = 'optional'",
    ):
        assert needle in out
    # Every command is in a fenced block.
    assert out.count("   ```sh\n") == len(readiness.RUNTIME_CHECKS)


def test_markdown_cells_escape_what_files_say(tmp_path: Path) -> None:
    weird = "a|b*c<d>@team`x\x1b[31m"
    write(tmp_path, f"{weird}/main.tf", 'resource "aws_instance" "w" {\n  ami = "x"\n}\n')
    model = readiness.build(scanned(tmp_path))
    out = _text(readiness.write_markdown, model)
    assert "\x1b" not in out
    row = next(line for line in out.splitlines() if line.startswith("| a"))
    assert row.startswith("| a\\|b\\*c&lt;d&gt;&#64;team\\`x\\\\x1b\\[31m | directory |")
    assert _cells(row) == 11
    assert "<d>" not in out and "@team" not in out


def test_cell_keeps_one_line() -> None:
    assert readiness.cell("a\nb\r\u2028c") == "a\\\\nb\\\\r\\\\u2028c"
    assert "\n" not in readiness.cell("x\n" * 10)


def test_markdown_tables_are_cut_for_a_pr_comment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(readiness, "MARKDOWN_ROWS", 2)
    for i in range(4):
        write(tmp_path, f"d{i}/main.tf", 'resource "aws_instance" "w" {\n  ami = "x"\n}\n')
    out = _text(readiness.write_markdown, readiness.build(scanned(tmp_path)))
    assert "… and 2 more groups" in out and "… and 2 more targets" in out


# --- JSON ---------------------------------------------------------------------------------------


def test_json_keys_are_the_documented_schema(tree: Path) -> None:
    doc = json.loads(_text(readiness.write_json, readiness.build(scanned(tree))))
    assert list(doc) == [
        "version",
        "kind",
        "tool",
        "verdict",
        "summary",
        "groups",
        "errors",
        "guardrails",
        "runtime_checks",
    ]
    assert doc["version"] == 1 and doc["kind"] == "readiness"
    assert list(doc["guardrails"]) == [
        "summary",
        "account_defaults",
        "statements",
        "policies",
        "iam_policies",
    ]
    assert list(doc["summary"]) == [
        "targets",
        "instances",
        "secure",
        "weak",
        "unknown",
        "hazards",
        "blocked_targets",
        "fixes",
        "files_scanned",
        "errors",
        "hazards_by_rule",
    ]
    assert list(doc["summary"]["fixes"]) == ["safe", "unsafe", "manual"]
    group = doc["groups"][1]
    assert list(group) == ["name", "kind", "path", "module", "summary", "targets", "hazards"]
    assert (group["name"], group["kind"], group["path"], group["module"]) == (
        "envs/prod: module.legacy",
        "module",
        "envs/prod",
        "module.legacy",
    )
    assert list(group["targets"][0]) == [
        "address",
        "path",
        "line",
        "column",
        "kind",
        "format",
        "state",
        "instances",
        "rules",
        "blocked_by",
        "accepted",
        "fix",
        "through",
        "inherited_rules",
    ]
    assert [c["id"] for c in doc["runtime_checks"]] == [c.id for c in readiness.RUNTIME_CHECKS]
    assert list(doc["runtime_checks"][0]) == ["id", "title", "why", "command", "source"]
    # Every key named in docs/report.md.
    documented = (ROOT / "docs" / "report.md").read_text(encoding="utf-8")
    for key in [*doc, *doc["summary"], *group, *group["targets"][0], *doc["guardrails"]]:
        assert f"`{key}`" in documented, key


def test_json_hazard_keys(tree: Path) -> None:
    call = Span("envs/prod/user-data.sh", 40, 100, 3, 1, 3, 61)
    model = readiness.build(with_call(scanned(tree), "aws_instance.pool", call))
    doc = readiness.document(model)
    (hazard,) = [h for g in doc["groups"] for h in g["hazards"]]
    assert list(hazard) == [
        "rule_id",
        "rule",
        "severity",
        "message",
        "path",
        "line",
        "column",
        "blocks",
        "fix",
        "suppressed",
    ]
    assert hazard["rule"] == _hazard_rule().name and hazard["blocks"] == ["aws_instance.pool"]
    documented = (ROOT / "docs" / "report.md").read_text(encoding="utf-8")
    for key in hazard:
        assert f"`{key}`" in documented, key


# --- HTML ---------------------------------------------------------------------------------------


class _Strict(HTMLParser):
    """Every element that is not void is closed, in order."""

    VOID: ClassVar[set[str]] = {"meta", "br", "img", "input", "link", "hr", "rect", "col", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attrs += [(tag, k, v) for k, v in attrs]
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attrs += [(tag, k, v) for k, v in attrs]

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID and (not self.stack or self.stack[-1] != tag):
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        self.stack.pop()


def _text(writer, model) -> str:  # type: ignore[no-untyped-def]
    import io

    out = io.StringIO()
    writer(model, out)
    return out.getvalue()


def test_html_is_well_formed_self_contained_and_escaped(tmp_path: Path) -> None:
    weird = 'x<script>alert(1)</script>"&\x1b'
    write(tmp_path, f"{weird}/main.tf", 'resource "aws_instance" "w" {\n  ami = "x"\n}\n')
    write(tmp_path, "ok/main.tf", MODULE.replace("var.tokens", '"required"'))
    page = _text(readiness_html.write, readiness.build(scanned(tmp_path)))
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">')
    assert "<script" not in page and "\x1b" not in page
    assert "x&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;\\x1b" in page
    parser = _Strict()
    parser.feed(page)
    parser.close()
    assert parser.problems == [] and parser.stack == []
    # Nothing that loads anything: no src, href, url(), @import; a CSP that forbids it all.
    for tag, key, _ in parser.attrs:
        assert key not in ("src", "href", "srcset", "action", "xlink:href"), (tag, key)
    assert "url(" not in page and "@import" not in page
    csp = [v for t, k, v in parser.attrs if t == "meta" and k == "content" and v and "src" in v]
    assert csp == ["default-src 'none'; style-src 'unsafe-inline'"]
    # html5lib, as browsers parse: no parse error at all.
    html5lib = pytest.importorskip("html5lib")
    strict = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    document = strict.parse(page)
    svg = document.find(".//{http://www.w3.org/2000/svg}svg")
    assert svg is not None and svg.get("id") == "chart"
    bars = svg.findall(".//{http://www.w3.org/2000/svg}rect")
    assert sorted(b.get("class") for b in bars) == ["secure", "weak"]


def test_html_chart_has_a_bar_per_group_in_proportion(tree: Path) -> None:
    page = _text(readiness_html.write, readiness.build(scanned(tree)))
    rects = re.findall(r'<rect class="(\w+)" x="[\d.]+" y="(\d+)" width="([\d.]+)"', page)
    rows: dict[str, dict[str, float]] = {}
    for cls, y, width in rects:
        rows.setdefault(y, {})[cls] = float(width)
    assert len(rows) == 4  # one bar per group
    # envs/prod (2 targets: 1 weak, 1 unknown) and stacks/web.yaml (1 secure, 1 weak) are the
    # largest: full width, halves.
    widths = sorted(sum(r.values()) for r in rows.values())
    assert widths[-1] == widths[-2] and widths[0] == widths[1] == widths[-1] / 2


# --- the command --------------------------------------------------------------------------------


def test_report_command_writes_each_format(tree: Path, cli) -> None:
    run = cli("report", cwd=tree)
    assert run.code == 0 and run.err == ""
    assert run.out.startswith("## IMDSv2 migration readiness")
    run = cli("report", "--format", "json", "--select", "IMDS001", cwd=tree)
    doc = run.json()
    assert run.code == 0 and doc["summary"]["weak"] == 2  # the pool and the stack's Legacy
    run = cli("report", "--format", "html", "-o", "report.html", "envs", cwd=tree)
    assert run.code == 0 and run.out == ""
    page = (tree / "report.html").read_text(encoding="utf-8")
    assert "envs/prod: module.legacy" in page and "stacks/web.yaml" not in page


def test_report_takes_the_scan_options(tree: Path, cli) -> None:
    write(
        tree,
        "hop/main.tf",
        MODULE.replace("var.tokens", '"required"').replace(
            'http_endpoint = "enabled"', "http_put_response_hop_limit = 2"
        ),
    )
    weak = cli("report", "--format", "json", "hop", cwd=tree).json()["summary"]["weak"]
    ok = cli("report", "--format", "json", "--hop-limit", "2", "hop", cwd=tree).json()
    assert (weak, ok["summary"]["weak"], ok["summary"]["secure"]) == (1, 0, 1)
    run = cli("report", "--format", "json", "--exclude", "stacks/**", cwd=tree)
    assert "stacks/web.yaml" not in {g["name"] for g in run.json()["groups"]}


def test_report_exits_2_when_a_file_cannot_be_scanned_and_says_so(tree: Path, cli) -> None:
    write(tree, "broken/main.tf", 'resource "aws_instance" "b" {\n  ami = "x"\n')
    run = cli("report", cwd=tree)
    assert run.code == 2
    assert "### Not scanned" in run.out and "broken/main.tf" in run.out
    assert re.search(r"^broken/main\.tf:\d+:\d+: ", run.err, re.M)
    assert "Traceback" not in run.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("report", "missing"), "imds-iac: error: missing: no such file or directory\n"),
        (("report", "-"), "imds-iac: error: -: report reads files, not standard input\n"),
        (("report", "-o", "nowhere/r.md"), "cannot write: no such directory nowhere"),
        (("report", "--hop-limit", "0"), "--hop-limit"),
    ],
)
def test_report_usage_errors(tree: Path, cli, args: tuple[str, ...], message: str) -> None:
    run = cli(*args, cwd=tree)
    assert run.code == 2 and message in run.err and "Traceback" not in run.err


def test_report_rejects_an_unknown_format(tree: Path, cli) -> None:
    run = cli("report", "--format", "sarif", cwd=tree)
    assert run.code == 2 and "invalid choice: 'sarif'" in run.err


def test_serial_and_parallel_scans_write_the_same_bytes(monkeypatch) -> None:
    outputs = []
    for jobs in ("1", "2"):
        monkeypatch.setenv("IMDS_IAC_JOBS", jobs)
        model = readiness.build(scanned(FIXTURES))
        outputs.append(
            [_text(w, model) for w in (readiness.write_markdown, readiness.write_json)]
            + [_text(readiness_html.write, model)]
        )
    assert outputs[0] == outputs[1]


def test_importing_the_cli_does_not_import_the_report() -> None:
    code = (
        "import sys, imds_iac_checks.cli; print(sorted(m for m in sys.modules if 'readiness' in m))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "[]"
