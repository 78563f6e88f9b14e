"""Where teams already are: report formats (SARIF validated by Microsoft's multitool, JUnit,
GitHub annotations, GitLab Code Quality), suppressions, baselines, pre-commit for real."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .conftest import FIXTURES, ROOT, require_tool

BAD_TF = """\
resource "aws_instance" "web" {
  ami = "ami-0c55b159cbfafe1f0"
  metadata_options {
    http_tokens                 = "optional"
    http_put_response_hop_limit = 3
  }
}

resource "aws_instance" "bastion" {
  ami = "ami-0c55b159cbfafe1f0"
}
"""


def _multitool() -> str | None:
    given = os.environ.get("SARIF_MULTITOOL")
    if given:
        return given
    pattern = str(ROOT / ".ci/tools/node_modules/@microsoft/sarif-multitool-*/Sarif.Multitool")
    found = sorted(glob.glob(pattern))
    return found[0] if found else None


# --- SARIF ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_sarif_has_no_validator_error_or_warning(cli, tmp_path: Path) -> None:
    tool = _multitool()
    require_tool(tool is not None, "Microsoft SARIF multitool (npm @microsoft/sarif-multitool)")
    assert tool is not None
    tree = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, tree)
    (tree / "terraform" / "broken.tf").write_text('resource "aws_instance" "x" {\n')
    report = tmp_path / "imds.sarif"
    run = cli("check", "--format", "sarif", "--output", str(report), ".", cwd=tree)
    assert run.code == 2  # the broken file
    doc = json.loads(report.read_text())
    results = doc["runs"][0]["results"]
    assert len(results) >= 80
    validation = tmp_path / "validation.sarif"
    proc = subprocess.run(
        [tool, "validate", "--level", "Error", "Warning", "--output", str(validation), str(report)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    problems = json.loads(validation.read_text())["runs"][0]["results"]
    assert problems == [], problems


def test_sarif_content(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(BAD_TF)
    doc = json.loads(cli("check", "--format", "sarif", ".", cwd=tmp_path).out)
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "imds-iac" and driver["version"] and driver["informationUri"]
    ids = ["IMDS001", "IMDS002", "IMDS003", "IMDS004", "IMDS005", "IMDS006", "IMDS007", "IMDS008"]
    ids += ["IMDS009", "IMDS010"]
    assert [r["id"] for r in driver["rules"]] == ids
    assert all(r["help"]["markdown"] and r["fullDescription"]["text"] for r in driver["rules"])
    by_rule = {r["ruleId"]: r for r in run["results"]}
    where = by_rule["IMDS002"]["locations"][0]["physicalLocation"]
    assert where["artifactLocation"] == {"uri": "main.tf", "uriBaseId": "%SRCROOT%"}
    assert where["region"] == {"startLine": 4, "startColumn": 35, "endLine": 4, "endColumn": 45}
    # the fingerprint survives the finding moving down the file
    before = {r["ruleId"]: r["partialFingerprints"] for r in run["results"]}
    (tmp_path / "main.tf").write_text("# moved\n\n" + BAD_TF)
    moved = json.loads(cli("check", "--format", "sarif", ".", cwd=tmp_path).out)["runs"][0]
    assert {r["ruleId"]: r["partialFingerprints"] for r in moved["results"]} == before
    assert moved["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] > 4


# --- JUnit, GitHub, GitLab --------------------------------------------------------------------


def test_junit_one_failure_per_finding(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(BAD_TF)
    run = cli("check", "--format", "junit", ".", cwd=tmp_path)
    assert run.code == 1
    root = ET.fromstring(run.out)
    failures = root.findall(".//testcase/failure")
    assert len(failures) == 3 == int(root.get("failures", "0"))
    assert {f.text.split(": ")[1].split()[0] for f in failures if f.text} == {
        "IMDS001",
        "IMDS002",
        "IMDS003",
    }


def test_github_annotations_follow_the_workflow_command_format(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(BAD_TF)
    lines = cli("check", "--format", "github", ".", cwd=tmp_path).out.splitlines()
    assert len(lines) == 3
    assert lines[0] == (
        "::error file=main.tf,line=4,col=35,endLine=4,endColumn=45,"
        "title=IMDS002 aws_instance.web::IMDS002 [aws_instance.web] http_tokens is "
        '"optional"; set it to "required"'
    )
    (tmp_path / "main.tf").write_text(BAD_TF.replace('"web"', '"a,b%c"'))
    out = cli("check", "--format", "github", ".", cwd=tmp_path).out
    assert "title=IMDS002 aws_instance.a%2Cb%25c::" in out  # property escaping


def test_gitlab_code_quality(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(BAD_TF)
    issues = json.loads(cli("check", "--format", "gitlab", ".", cwd=tmp_path).out)
    assert len(issues) == 3
    first = next(i for i in issues if i["check_name"] == "IMDS001")
    assert set(first) >= {"description", "check_name", "fingerprint", "severity", "location"}
    assert first["location"] == {"path": "main.tf", "lines": {"begin": 9, "end": 9}}
    assert len({i["fingerprint"] for i in issues}) == 3


def test_output_file_and_exit_code(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(BAD_TF)
    run = cli("check", "--format", "json", "-o", "out/report.json", ".", cwd=tmp_path)
    assert run.code == 2 and "out/report.json: cannot write" in run.err
    (tmp_path / "out").mkdir()
    run = cli("check", "--format", "json", "-o", "out/report.json", ".", cwd=tmp_path)
    assert run.code == 1 and run.out == ""
    assert json.loads((tmp_path / "out/report.json").read_text())["summary"]["findings"] == 3


# --- suppressions -----------------------------------------------------------------------------


def test_inline_suppressions_in_hcl(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        BAD_TF.replace(
            "http_put_response_hop_limit = 3",
            "http_put_response_hop_limit = 3 # imds-iac: ignore[IMDS003] sidecar needs 3",
        ).replace(
            'resource "aws_instance" "bastion" {',
            '# imds-iac: ignore legacy bastion, retired in Q3\nresource "aws_instance" "bastion" {',
        )
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    doc = run.json()
    states = {f["rule_id"]: f["suppressed"] for f in doc["findings"]}
    assert states == {
        "IMDS001": "imds-iac: ignore: legacy bastion, retired in Q3",
        "IMDS002": None,
        "IMDS003": "imds-iac: ignore: sidecar needs 3",
    }
    assert doc["summary"]["findings"] == 1 and doc["summary"]["suppressed"] == 2
    text = cli("check", "--format", "concise", ".", cwd=tmp_path)
    assert "IMDS003" not in text.out and "2 suppressed" in text.out
    assert text.code == 1  # the IMDS002 is not suppressed
    sarif = json.loads(cli("check", "--format", "sarif", ".", cwd=tmp_path).out)
    kinds = [r.get("suppressions") for r in sarif["runs"][0]["results"]]
    assert kinds.count(None) == 1 and {
        "kind": "inSource",
        "justification": ("imds-iac: ignore: sidecar needs 3"),
    } in [k[0] for k in kinds if k]


def test_checkov_skip_comment_is_honoured(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        BAD_TF.replace(
            '  ami = "ami-0c55b159cbfafe1f0"\n  metadata_options',
            "  #checkov:skip=CKV_AWS_79:vendor agent needs IMDSv1\n"
            '  ami = "ami-0c55b159cbfafe1f0"\n  metadata_options',
        )
    )
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    states = {f["rule_id"]: f["suppressed"] for f in doc["findings"]}
    assert states["IMDS002"] == "checkov:skip=CKV_AWS_79: vendor agent needs IMDSv1"
    assert states["IMDS003"] is None  # CKV_AWS_79 is about tokens, not the hop limit
    assert states["IMDS001"] is None  # another resource


CFN = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  A:
    Type: AWS::EC2::Instance
    Metadata:
      imds-iac:
        ignore: [IMDS001]
    Properties:
      ImageId: ami-1
  B:
    Type: AWS::EC2::Instance
    Metadata:
      cfn-lint:
        config:
          ignore_checks: [E9002]
    Properties:
      ImageId: ami-1
      MetadataOptions:
        HttpTokens: optional
  C:
    Type: AWS::EC2::Instance
    Metadata:
      checkov:
        skip:
          - id: CKV_AWS_341
            comment: build containers
    Properties:
      ImageId: ami-1
      MetadataOptions:
        HttpTokens: required
        HttpPutResponseHopLimit: 2 # imds-iac: ignore[IMDS002] (wrong rule: no effect)
  D:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-1
      MetadataOptions:
        HttpTokens: optional  # imds-iac: ignore[IMDS002] vendor agent
"""


def test_cloudformation_suppressions(cli, tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(CFN)
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    states = {(f["resource"], f["rule_id"]): f["suppressed"] for f in doc["findings"]}
    assert states == {
        ("A", "IMDS001"): "Metadata imds-iac ignore",
        ("B", "IMDS002"): "Metadata cfn-lint ignore_checks E9002",
        ("C", "IMDS003"): "Metadata checkov skip CKV_AWS_341: build containers",
        ("D", "IMDS002"): "imds-iac: ignore: vendor agent",
        ("C", "IMDS005"): None,  # the comment on C suppresses nothing: reported (a warning)
    }
    assert doc["summary"]["findings"] == 1
    assert cli("check", ".", cwd=tmp_path).code == 0


def test_fix_leaves_suppressed_findings_alone(cli, tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(CFN)
    cli("fix", ".", cwd=tmp_path)
    # only the dead comment on C goes; every suppression that works stays
    dead = " # imds-iac: ignore[IMDS002] (wrong rule: no effect)"
    assert (tmp_path / "stack.yaml").read_text() == CFN.replace(dead, "")


# --- baseline ---------------------------------------------------------------------------------


def test_baseline_round_trip(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(BAD_TF)
    run = cli("check", "--write-baseline", "baseline.json", ".", cwd=tmp_path)
    assert run.code == 0 and "Wrote 3 findings to baseline.json" in run.err
    entries = json.loads((tmp_path / "baseline.json").read_text())["findings"]
    assert {e["rule_id"] for e in entries} == {"IMDS001", "IMDS002", "IMDS003"}
    assert "line" not in entries[0]
    # lines move: still known, the check passes
    (tmp_path / "main.tf").write_text('locals {\n  team = "web"\n}\n\n' + BAD_TF)
    run = cli("check", "--baseline", "baseline.json", ".", cwd=tmp_path)
    assert run.code == 0, run.out
    assert "3 in the baseline" in run.out
    sarif = json.loads(
        cli("check", "--baseline", "baseline.json", "--format", "sarif", ".", cwd=tmp_path).out
    )
    assert all(
        r["suppressions"] == [{"kind": "external", "justification": "baseline"}]
        for r in sarif["runs"][0]["results"]
    )
    # a new finding fails, and only it is reported
    (tmp_path / "new.tf").write_text('resource "aws_launch_template" "app" {\n}\n')
    run = cli("check", "--baseline", "baseline.json", "--format", "concise", ".", cwd=tmp_path)
    assert run.code == 1
    assert [line.split(": ")[1].split()[0] for line in run.out.splitlines()[:-2]] == ["IMDS001"]
    assert "new.tf:1:1" in run.out


def test_bad_baseline_is_a_usage_error(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(BAD_TF)
    (tmp_path / "b.json").write_text("[1, 2]")
    run = cli("check", "--baseline", "b.json", ".", cwd=tmp_path)
    assert run.code == 2 and "b.json: not an imds-iac baseline" in run.err
    run = cli("check", "--baseline", "missing.json", ".", cwd=tmp_path)
    assert run.code == 2 and "missing.json: cannot read baseline" in run.err


# --- files named one by one (pre-commit) ------------------------------------------------------


def test_a_named_file_is_evaluated_with_its_siblings(cli, tmp_path: Path) -> None:
    (tmp_path / "variables.tf").write_text('variable "tokens" {\n  default = "optional"\n}\n')
    (tmp_path / "main.tf").write_text(
        'resource "aws_instance" "a" {\n  metadata_options {\n'
        "    http_tokens = var.tokens\n  }\n}\n"
    )
    (tmp_path / "other.tf").write_text('resource "aws_instance" "b" {}\n')
    doc = cli("check", "--format", "json", "main.tf", cwd=tmp_path).json()
    assert [(f["rule_id"], f["resource"], f["path"]) for f in doc["findings"]] == [
        ("IMDS002", "aws_instance.a", "variables.tf")
    ]  # other.tf's bastion is not asked for; the variable's value is known


# --- pre-commit, for real ---------------------------------------------------------------------


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.mark.slow
def test_pre_commit_hooks(tmp_path: Path) -> None:
    require_tool(shutil.which("git") is not None, "git")
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    require_tool(os.path.exists(pre_commit), "pre-commit")
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    (consumer / "main.tf").write_text(BAD_TF)
    (consumer / "README.md").write_text("not infrastructure\n")
    _git(consumer, "init", "-q")
    _git(consumer, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}

    def run(hook: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [pre_commit, "try-repo", str(ROOT), hook, "--all-files", "--verbose"],
            cwd=consumer,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    check = run("imds-iac")
    assert check.returncode == 1, check.stdout + check.stderr
    assert "IMDS001" in check.stdout and "main.tf:9:1" in check.stdout
    fix = run("imds-iac-fix")
    assert fix.returncode == 1  # files were modified by the hook: pre-commit stops the commit
    fixed = (consumer / "main.tf").read_text()
    assert 'http_tokens                 = "required"' in fixed
    assert "http_put_response_hop_limit = 1" in fixed
    assert fixed.count("metadata_options {") == 2
    _git(consumer, "add", ".")
    again = run("imds-iac")
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.parametrize("name", ["action.yml", ".pre-commit-hooks.yaml"])
def test_integration_files_are_valid_yaml(name: str) -> None:
    from ruamel.yaml import YAML

    doc = YAML(typ="safe").load((ROOT / name).read_text())
    if name == "action.yml":
        assert doc["runs"]["using"] == "composite"
        assert all(step.get("shell") == "bash" for step in doc["runs"]["steps"] if "run" in step)
    else:
        assert {hook["id"] for hook in doc} == {"imds-iac", "imds-iac-fix"}
        assert all(hook["language"] == "python" for hook in doc)


def test_pre_commit_hooks_files_pattern() -> None:
    """Both hooks get what they got before, plus variable files and Packer templates."""
    import re

    from ruamel.yaml import YAML

    doc = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    from imds_iac_checks.formats import scanned_kind

    # Every file check reads, and the variable files it evaluates with their root; nothing else.
    tfvars = ["terraform.tfvars", "env/prod.tfvars", "a.auto.tfvars.json", "x.tfvars.json"]
    tfvars += ["packer/build.auto.pkrvars.hcl", "prod.pkrvars.hcl"]  # Packer's, likewise
    names = ["main.tf", "a.tf.json", "s.yaml", "s.yml", "plan.json", "x.template", "deep/b.tf"]
    names += ["README.md", "a.hcl", "main.tf.bak", "tfvars", "x.tfvarsx", "notes.txt", *tfvars]
    names += ["ami.pkr.hcl", "ami.pkr.json", ".ebextensions/imds.config"]
    names += ["app/.ebextensions/01-imds.config", "web.config", "config/app.config"]
    names += ["x.ebextensions/a.config", ".ebextensions/o/a.config"]
    # code that runs on instances, and dependency manifests (migration hazards)
    names += ["bootstrap.sh", "a/b.bash", "init.ps1", "app.service", "main.py", "a.js", "b.mjs"]
    names += ["c.cjs", "d.ts", "main.go", "App.java", "Dockerfile", "svc/Dockerfile.prod"]
    names += ["web.dockerfile", "requirements.txt", "requirements-dev.txt", "pyproject.toml"]
    names += ["poetry.lock", "Pipfile.lock", "uv.lock", "package.json", "package-lock.json"]
    names += ["yarn.lock", "go.mod", "pom.xml", "build.gradle", "build.gradle.kts"]
    names += ["Gemfile.lock", "composer.lock", "App.csproj", "packages.lock.json"]
    names += ["user-data.sh.tpl", "go.sum", "Gemfile", "setup.cfg", "mydockerfile.txt"]
    for hook in doc:
        files = re.compile(hook["files"])
        for name in names:
            expected = scanned_kind(name) is not None or name in tfvars
            assert bool(files.search(name)) == expected, (hook["id"], name)


@pytest.mark.slow
def test_github_action_steps_run(tmp_path: Path) -> None:
    """The composite action's own shell steps, run as the runner runs them (inputs as env)."""
    from ruamel.yaml import YAML

    require_tool(shutil.which("bash") is not None, "bash")
    action = YAML(typ="safe").load((ROOT / "action.yml").read_text())
    workspace = tmp_path / "repo"
    workspace.mkdir()
    (workspace / "main.tf").write_text(BAD_TF)
    output = tmp_path / "github_output"
    output.write_text("")
    summary = tmp_path / "step_summary"
    summary.write_text("")
    env = {
        **os.environ,
        "RUNNER_TEMP": str(tmp_path / "runner"),
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    (tmp_path / "runner").mkdir()
    inputs = {"paths": ".", "args": "--hop-limit 2", "sarif-file": "out.sarif"}
    inputs.update(annotations="true", version="", summary="true")
    inputs["summary-args"] = "--hop-limit 2"
    codes = []
    for step in action["runs"]["steps"]:
        step_env = {
            k: str(v).replace("${{ inputs.", "").rstrip("}").strip()
            for k, v in step.get("env", {}).items()
        }
        resolved = {k: inputs[name] for k, name in step_env.items()}
        proc = subprocess.run(
            ["bash", "-e", "-c", step["run"]],
            cwd=workspace,
            env={**env, **resolved},
            capture_output=True,
            text=True,
            timeout=600,
        )
        codes.append(proc.returncode)
        last = proc
    assert codes == [0, 1], last.stdout + last.stderr
    assert "exit-code=1" in output.read_text()
    sarif = json.loads((workspace / "out.sarif").read_text())
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == {"IMDS001", "IMDS002", "IMDS003"}
    assert "::error file=main.tf,line=4" in last.stdout  # annotations
    # The readiness report, in the job summary.
    assert summary.read_text().startswith("## IMDSv2 migration readiness\n\n**0 of ")


@pytest.mark.slow
def test_pre_commit_run_in_a_consumer_repository(tmp_path: Path) -> None:
    """As a team sets it up: `.pre-commit-config.yaml` naming this repository at a commit."""
    require_tool(shutil.which("git") is not None, "git")
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    require_tool(os.path.exists(pre_commit), "pre-commit")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    (consumer / "infra").mkdir()
    (consumer / "infra" / "main.tf").write_text(BAD_TF)
    config = (
        f"repos:\n  - repo: {ROOT}\n    rev: {head}\n    hooks:\n"
        "      - id: imds-iac\n      - id: imds-iac-fix\n        stages: [manual]\n"
    )
    (consumer / ".pre-commit-config.yaml").write_text(config)
    _git(consumer, "init", "-q")
    _git(consumer, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [pre_commit, "run", *args, "--all-files"],
            cwd=consumer,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    check = run()
    assert check.returncode == 1, check.stdout + check.stderr
    assert "infra/main.tf:9:1: IMDS001 [aws_instance.bastion]" in check.stdout
    fix = run("--hook-stage", "manual", "imds-iac-fix")
    assert fix.returncode == 1  # files were modified by this hook
    _git(consumer, "add", ".")
    assert run().returncode == 0
    assert "metadata_options {" in (consumer / "infra" / "main.tf").read_text()


def _this_checkout_as_a_repository(target: Path) -> str:
    """This checkout's files as they are now (uncommitted changes included) in a repository of
    their own, committed: what a `.pre-commit-config.yaml` can name at a `rev`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    _git(target, "init", "-q")
    _git(target, "add", "-A")
    _git(target, "commit", "-q", "-m", "snapshot")
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=target, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.slow
def test_pre_commit_sees_changes_outside_the_resources(tmp_path: Path) -> None:
    """Issue 14, point 2, as pre-commit runs the hooks: a commit of only svc/variables.tf with
    its default changed to "optional", or of only a terraform.tfvars, is blocked by both hooks;
    an unrelated change passes even with insecure code elsewhere in the repository."""
    require_tool(shutil.which("git") is not None, "git")
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    require_tool(os.path.exists(pre_commit), "pre-commit")
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    rev = _this_checkout_as_a_repository(hooks)
    consumer = tmp_path / "consumer"
    files = {
        "svc/variables.tf": 'variable "tokens" {\n  type    = string\n  default = "required"\n}\n',
        "svc/main.tf": 'resource "aws_instance" "app" {\n  ami = "ami-1"\n'
        "  metadata_options {\n    http_tokens = var.tokens\n  }\n}\n",
        "svc/outputs.tf": 'output "id" {\n  value = aws_instance.app.id\n}\n',
        "modules/web/main.tf": 'variable "tokens" {\n  type = string\n}\n'
        'resource "aws_instance" "web" {\n  ami = "ami-1"\n'
        "  metadata_options {\n    http_tokens = var.tokens\n  }\n}\n",
        "live/prod/main.tf": 'variable "tokens" {\n  type = string\n}\n'
        'module "web" {\n  source = "../../modules/web"\n  tokens = var.tokens\n}\n',
        "live/prod/terraform.tfvars": 'tokens = "required"\n',
        "legacy/main.tf": 'resource "aws_instance" "old" {\n  ami = "ami-1"\n}\n',  # IMDS001
        ".pre-commit-config.yaml": f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks:\n"
        "      - id: imds-iac\n      - id: imds-iac-fix\n",
    }
    for name, text in files.items():
        (consumer / name).parent.mkdir(parents=True, exist_ok=True)
        (consumer / name).write_text(text)
    _git(consumer, "init", "-q")
    _git(consumer, "add", "-A")
    _git(consumer, "commit", "-q", "-m", "initial")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}

    def commit_only(name: str, text: str) -> subprocess.CompletedProcess[str]:
        """Change one file, stage only it and run the hooks as `git commit` would."""
        (consumer / name).write_text(text)
        _git(consumer, "add", name)
        try:
            return subprocess.run(
                [pre_commit, "run"],
                cwd=consumer,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
        finally:
            _git(consumer, "reset", "-q", "--hard")

    def failed(run: subprocess.CompletedProcess[str]) -> list[str]:
        return [line.split(".")[0] for line in run.stdout.splitlines() if "Failed" in line]

    run = commit_only("svc/variables.tf", files["svc/variables.tf"].replace("required", "optional"))
    assert run.returncode == 1, run.stdout + run.stderr
    assert failed(run) == ["imds-iac (require IMDSv2)", "imds-iac fix (require IMDSv2)"]
    assert "svc/variables.tf:3:13: IMDS002 [aws_instance.app]" in run.stdout
    assert "legacy" not in run.stdout

    run = commit_only("live/prod/terraform.tfvars", 'tokens = "optional"\n')
    assert run.returncode == 1, run.stdout + run.stderr
    assert failed(run) == ["imds-iac (require IMDSv2)", "imds-iac fix (require IMDSv2)"]
    assert "live/prod/terraform.tfvars:1:10: IMDS002 [module.web.aws_instance.web]" in run.stdout

    run = commit_only("svc/outputs.tf", files["svc/outputs.tf"] + 'output "ip" {\n  value = 1\n}\n')
    assert run.returncode == 0, run.stdout + run.stderr
    assert failed(run) == [] and run.stdout.count("Passed") == 2
