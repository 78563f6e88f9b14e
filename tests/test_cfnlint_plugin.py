"""The cfn-lint plugin: real cfn-lint, given ``--append-rules $(imds-iac plugin-path cfn-lint)``,
reports E9001-E9003 exactly where and as ``imds-iac check`` reports IMDS001-IMDS003, on literal
cases and on every CloudFormation template in fixtures/.

All cfn-lint runs start at once (cfn-lint takes about a second to start) and are compared with
the CLI run in-process. The comparison is on (rule, line, column, message); suppressed CLI findings
are left out, as the plugin leaves them out (cfn-lint has no suppressed state). One documented
difference: a template on standard input has no file to re-read, so the plugin reads the template
cfn-lint decoded, where numbers and booleans carry no position: those findings are at the key
that holds the value (same line, another column).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from imds_iac_checks import catalog
from tests.conftest import FIXTURES, require_tool

SELECT = "IMDS001,IMDS002,IMDS003,IMDS004"
CFN_RULES = {"E9001": "IMDS001", "E9002": "IMDS002", "E9003": "IMDS003", "W9004": "IMDS004"}
WEB_YAML = FIXTURES / "cloudformation" / "web-stack.yaml"
WEB_JSON = FIXTURES / "cloudformation" / "web-stack.json"
# The bundled templates: hand-written YAML and JSON, SAM (cfn-lint transforms it), CDK output.
FIXTURE_TEMPLATES = sorted(
    p
    for p in (FIXTURES / "cloudformation").rglob("*")
    if p.suffix in (".yaml", ".json", ".template")
    and p.is_file()
    and "AWS::" in p.read_text(encoding="utf-8")
)

# name -> (template, the (rule, line) the CLI reports and the plugin must report too)
CASES: dict[str, tuple[str, set[tuple[str, int]]]] = {
    "instance-without-options.yaml": (
        """
        AWSTemplateFormatVersion: "2010-09-09"
        Resources:
          Bastion:
            Type: AWS::EC2::Instance
            Properties:
              ImageId: ami-0c55b159cbfafe1f0
              InstanceType: t3.micro
        """,
        {("IMDS001", 4)},
    ),
    "tokens-optional.json": (
        """
        {
          "AWSTemplateFormatVersion": "2010-09-09",
          "Resources": {
            "Web": {
              "Type": "AWS::EC2::Instance",
              "Properties": {
                "ImageId": "ami-0c55b159cbfafe1f0",
                "MetadataOptions": {
                  "HttpTokens": "optional"
                }
              }
            }
          }
        }
        """,
        {("IMDS002", 9)},
    ),
    "hop-limit-3.yaml": (
        """
        Resources:
          Worker:
            Type: AWS::EC2::Instance
            Properties:
              ImageId: ami-0c55b159cbfafe1f0
              MetadataOptions:
                HttpTokens: required
                HttpPutResponseHopLimit: 3
        """,
        {("IMDS003", 8)},
    ),
    "launch-template.yaml": (
        """
        AWSTemplateFormatVersion: "2010-09-09"
        Resources:
          AppTemplate:
            Type: AWS::EC2::LaunchTemplate
            Properties:
              LaunchTemplateData:
                ImageId: ami-0c55b159cbfafe1f0
          App:
            Type: AWS::EC2::Instance
            Properties:
              LaunchTemplate:
                LaunchTemplateId: !Ref AppTemplate
                Version: !GetAtt AppTemplate.LatestVersionNumber
          ContainerTemplate:
            Type: AWS::EC2::LaunchTemplate
            Properties:
              LaunchTemplateData:
                MetadataOptions:
                  HttpTokens: !If [IsProd, required, optional]
                  HttpPutResponseHopLimit: 2
        Conditions:
          IsProd: !Equals [!Ref "AWS::AccountId", "123456789012"]
        """,
        {("IMDS001", 4), ("IMDS002", 19), ("IMDS003", 20)},
    ),
    "sagemaker.yaml": (
        """
        AWSTemplateFormatVersion: "2010-09-09"
        Resources:
          Notebook:
            Type: AWS::SageMaker::NotebookInstance
            Properties:
              InstanceType: ml.t3.medium
              RoleArn: arn:aws:iam::123456789012:role/notebook
              InstanceMetadataServiceConfiguration:
                MinimumInstanceMetadataServiceVersion: "1"
          DefaultNotebook:
            Type: AWS::SageMaker::NotebookInstance
            Properties:
              InstanceType: ml.t3.medium
              RoleArn: arn:aws:iam::123456789012:role/notebook
        """,
        {("IMDS002", 9), ("IMDS001", 11)},
    ),
    "appstream.json": (
        """
        {
          "Resources": {
            "Fleet": {
              "Type": "AWS::AppStream::Fleet",
              "Properties": {
                "Name": "streaming",
                "InstanceType": "stream.standard.medium",
                "ComputeCapacity": {"DesiredInstances": 1},
                "DisableIMDSV1": false
              }
            },
            "Builder": {
              "Type": "AWS::AppStream::ImageBuilder",
              "Properties": {"Name": "builder", "InstanceType": "stream.standard.medium"}
            }
          }
        }
        """,
        {("IMDS002", 9), ("IMDS002", 13)},
    ),
    "compliant.yaml": (
        """
        AWSTemplateFormatVersion: "2010-09-09"
        Resources:
          Web:
            Type: AWS::EC2::Instance
            Properties:
              ImageId: ami-0c55b159cbfafe1f0
              MetadataOptions:
                HttpEndpoint: enabled
                HttpTokens: required
                HttpPutResponseHopLimit: 1
          Disabled:
            Type: AWS::EC2::Instance
            Properties:
              ImageId: ami-0c55b159cbfafe1f0
              MetadataOptions:
                HttpEndpoint: disabled
          Fleet:
            Type: AWS::AppStream::Fleet
            Properties:
              Name: streaming
              InstanceType: stream.standard.medium
              DisableIMDSV1: true
        """,
        set(),
    ),
    "parameter-default.yaml": (
        """
        AWSTemplateFormatVersion: "2010-09-09"
        Parameters:
          Tokens:
            Type: String
            Default: optional
          Hops:
            Type: Number
            Default: 4
        Resources:
          Node:
            Type: AWS::EC2::Instance
            Properties:
              ImageId: ami-0c55b159cbfafe1f0
              MetadataOptions:
                HttpTokens: !Ref Tokens
                HttpPutResponseHopLimit: !Ref Hops
        """,
        {("IMDS002", 5), ("IMDS003", 8)},
    ),
    # Resource Metadata for cfn-lint and for imds-iac, and an inline comment: the CLI reports the
    # three as suppressed (not counted), the plugin not at all.
    "suppressed.yaml": (
        """
        AWSTemplateFormatVersion: "2010-09-09"
        Resources:
          ByCfnLint:
            Type: AWS::EC2::Instance
            Metadata:
              cfn-lint:
                config:
                  ignore_checks: [E9001]
            Properties:
              ImageId: ami-0c55b159cbfafe1f0
          ByImdsIac:
            Type: AWS::EC2::Instance
            Metadata:
              imds-iac:
                ignore: [IMDS002]
            Properties:
              MetadataOptions:
                HttpTokens: optional
          Inline:
            Type: AWS::EC2::Instance
            Properties:
              MetadataOptions:
                HttpTokens: required
                HttpPutResponseHopLimit: 2 # imds-iac: ignore[IMDS003] a container host
          NotSuppressed:
            Type: AWS::EC2::Instance
        """,
        {("IMDS001", 26)},
    ),
}

Key = tuple[str, int, int, str]  # (IMDS rule, line, column, message)


def _start(*args: str, stdin: str | None = None) -> subprocess.Popen[str]:
    """Start cfn-lint (the one installed with this Python) with JSON output."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from cfnlint.runner import main; sys.exit(main())",
            "--format",
            "json",
            *args,
        ],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], stdin: str | None = None) -> list[dict[str, Any]]:
    out, err = proc.communicate(stdin, timeout=120)
    try:
        matches = json.loads(out)
    except json.JSONDecodeError:
        pytest.fail(f"cfn-lint gave no JSON (exit {proc.returncode}):\n{out}{err}")
    assert isinstance(matches, list)
    crashed = [m["Message"] for m in matches if m["Rule"]["Id"] == "E0002"]
    assert not crashed, f"a rule raised inside cfn-lint: {crashed}"
    return matches


def _plugin(matches: list[dict[str, Any]]) -> dict[Path | None, set[Key]]:
    """The plugin's matches by file (None: standard input)."""
    out: dict[Path | None, set[Key]] = {}
    for m in matches:
        rule = CFN_RULES.get(m["Rule"]["Id"])
        if rule is None:
            continue
        start = m["Location"]["Start"]
        name = m["Filename"]
        where = Path(name).resolve() if name else None
        key = (rule, start["LineNumber"], start["ColumnNumber"], m["Message"])
        out.setdefault(where, set()).add(key)
    return out


def _check(cli: Any, cwd: Path, *args: str) -> tuple[dict[Path, set[Key]], int]:
    """``imds-iac check``'s unsuppressed findings by file, and how many it suppressed."""
    run = cli("check", "--format", "json", "--select", SELECT, "--exit-zero", *args, cwd=cwd)
    assert run.code == 0, run.err
    out: dict[Path, set[Key]] = {}
    suppressed = 0
    for f in run.json()["findings"]:
        if f["suppressed"] is not None:
            suppressed += 1
            continue
        key = (f["rule_id"], f["line"], f["column"], f["message"])
        out.setdefault((cwd / f["path"]).resolve(), set()).add(key)
    return out, suppressed


@pytest.fixture(scope="module")
def plugin_dir() -> str:
    require_tool(importlib.util.find_spec("cfnlint") is not None, "cfn-lint")
    run = subprocess.run(
        [sys.executable, "-m", "imds_iac_checks", "plugin-path", "cfn-lint"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    directory = run.stdout.strip()
    assert Path(directory, "imds_rules.py").is_file()
    return directory


@pytest.mark.slow
def test_cfn_lint_reports_what_the_cli_reports(cli: Any, tmp_path: Path, plugin_dir: str) -> None:
    files = []
    for name, (text, _) in CASES.items():
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        files.append(path)
    files += FIXTURE_TEMPLATES
    web = WEB_YAML.read_text(encoding="utf-8")
    params = ["LegacyTokens=required", "NodeHopLimit=3"]

    # Every cfn-lint run at once: the files; a template on standard input (no file to re-read);
    # the rules loaded by module path, with E9003's option and parameter values.
    main = _start("--append-rules", plugin_dir, "--", *map(str, files))
    piped = _start("--append-rules", plugin_dir, stdin=web)
    configured = _start(
        "--append-rules",
        "imds_iac_checks.adapters.cfn_lint.imds_rules",
        "--configure-rule",
        "E9003:hop_limit=2",
        "--parameters",
        *params,
        "--",
        str(WEB_YAML),
    )
    main_matches = _finish(main)
    got = _plugin(main_matches)
    got_piped = _plugin(_finish(piped, web))
    got_configured = _plugin(_finish(configured))

    # 1. Files: the same findings at the same line and column, with the same message.
    expected, suppressed = _check(cli, tmp_path, *map(str, files))
    assert suppressed == 3  # suppressed.yaml
    for path in files:
        assert got.get(path.resolve(), set()) == expected.get(path.resolve(), set()), path.name
    for name, (_, lines) in CASES.items():
        found = {(rule, line) for rule, line, _, _ in expected.get((tmp_path / name).resolve(), ())}
        assert found == lines, name
    assert len(expected[WEB_YAML.resolve()]) >= 15 and len(expected[WEB_JSON.resolve()]) >= 12
    assert sum(bool(expected.get(p.resolve())) for p in FIXTURE_TEMPLATES) >= 5

    # The match's path is inside the resource even when the value is a parameter default (so
    # cfn-lint's resource-level ignore_checks applies); its line is the default's, as the CLI's.
    default = tmp_path / "parameter-default.yaml"
    paths = {
        (m["Rule"]["Id"], m["Location"]["Start"]["LineNumber"]): m["Location"]["Path"]
        for m in main_matches
        if m["Filename"] and Path(m["Filename"]).resolve() == default.resolve()
    }
    assert paths == {
        ("E9002", 5): ["Resources", "Node", "Properties", "MetadataOptions", "HttpTokens"],
        ("E9003", 8): [
            "Resources",
            "Node",
            "Properties",
            "MetadataOptions",
            "HttpPutResponseHopLimit",
        ],
    }

    # The rules describe themselves as the catalog does.
    titles = {m["Rule"]["Id"]: m["Rule"]["ShortDescription"] for m in main_matches}
    rules = catalog.load()
    for cfn_id, imds_id in CFN_RULES.items():
        assert titles[cfn_id] == rules[imds_id]["title"]

    # 2. Standard input: same lines and messages (an expression IMDS004 quotes is shown as the
    # JSON cfn-lint decoded, not as written); a number or boolean is at its key's column.
    web_expected = expected[WEB_YAML.resolve()]

    def shown(r: str, msg: str) -> str:
        if r == "IMDS004":
            return msg.split(": ", 1)[0]
        if "branch of the conditional" in msg:
            # The places a decision is explained by: the Fn::If and the parameter default, as
            # cfn-lint's decoded JSON has them (no file, lines of the decoded form).
            return re.sub(r"at (line \d+|\S+:\d+)", "at ...", msg)
        return msg

    assert {(r, ln, shown(r, msg)) for r, ln, _, msg in got_piped[None]} == {
        (r, ln, shown(r, msg)) for r, ln, _, msg in web_expected
    }
    as_expected = {(r, ln, col, shown(r, msg)) for r, ln, col, msg in web_expected}
    moved = {
        (r, ln)
        for r, ln, col, msg in got_piped[None]
        if (r, ln, col, shown(r, msg)) not in as_expected and r != "IMDS004"
    }
    assert moved == {
        ("IMDS003", 29),  # HttpPutResponseHopLimit: !FindInMap [...] -> a mapping's integer
        ("IMDS003", 142),  # HttpPutResponseHopLimit: 2
        ("IMDS002", 189),  # DisableIMDSV1: false
        ("IMDS002", 199),  # MinimumInstanceMetadataServiceVersion: 1
    }

    # 3. --configure-rule E9003:hop_limit=2 and --parameters = --hop-limit 2 and --parameter.
    options = ["--hop-limit", "2", *(arg for p in params for arg in ("--parameter", p))]
    configured_expected, _ = _check(cli, tmp_path, *options, str(WEB_YAML))
    # The provenance names where each tool was given the value.
    cli_said = {
        (r, ln, col, re.sub(r"from --parameter [^,)]+", "from the cfn-lint parameters", msg))
        for r, ln, col, msg in configured_expected[WEB_YAML.resolve()]
    }
    assert got_configured[WEB_YAML.resolve()] == cli_said
    lines = {(rule, line) for rule, line, _, _ in configured_expected[WEB_YAML.resolve()]}
    assert ("IMDS003", 107) in lines  # NodeHopLimit=3 > 2
    assert ("IMDS003", 29) not in lines and ("IMDS002", 13) not in lines
