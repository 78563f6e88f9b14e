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

import copy
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
from imds_iac_checks.adapters import cfn_lint_engine
from imds_iac_checks.rules import REGISTRY
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


# --- guardrail policies: E9010, and the account defaults of EC2 declarative policies -----------

GUARDRAILS = FIXTURES / "guardrails" / "cloudformation"
GUARDRAIL_TEMPLATES = [
    GUARDRAILS / "imds-guardrails.yaml",
    GUARDRAILS / "imds-guardrails.json",
    GUARDRAILS / "cdk.out" / "GuardrailsStack.template.json",
]
# The cfn-lint ids of the rules that judge guardrails and account defaults, from the registry.
POLICY_RULES = {
    rule.cfn_lint.id: rule.id
    for rule in REGISTRY.values()
    if rule.cfn_lint is not None and (rule.policy is not None or rule.id in ("IMDS002", "IMDS003"))
}
POLICY_RULE = next(cfn for cfn, imds in POLICY_RULES.items() if REGISTRY[imds].policy is not None)

# An SCP written as a JSON string in a JSON template (what CDK and hand-written JSON templates
# do): its weakened statement is reported inside the string, with the Content's path.
STRING_SCP = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "WeakScp": {
            "Type": "AWS::Organizations::Policy",
            "Properties": {
                "Name": "imdsv2-launches",
                "Type": "SERVICE_CONTROL_POLICY",
                "TargetIds": ["ou-ab12-sandbox1"],
                "Content": json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "RequireImdsV2",
                                "Effect": "Deny",
                                "Action": "ec2:RunInstances",
                                "Resource": "*",
                                "Condition": {
                                    "StringNotEquals": {"ec2:MetadataHttpTokens": "required"}
                                },
                            }
                        ],
                    },
                    separators=(",", ":"),
                ),
            },
        },
        "IgnoredScp": {
            "Type": "AWS::Organizations::Policy",
            "Metadata": {"cfn-lint": {"config": {"ignore_checks": [POLICY_RULE]}}},
            "Properties": {
                "Name": "imdsv2-legacy",
                "Type": "SERVICE_CONTROL_POLICY",
                "Content": {
                    "Version": "2012-10-17",
                    "Statement": {
                        "Effect": "Deny",
                        "Action": "ec2:RunInstances",
                        "Resource": "arn:aws:ec2:*:*:instance/*",
                        "Condition": {"StringEquals": {"ec2:MetadataHttpTokens": "optional"}},
                    },
                },
            },
        },
    },
}


def _policy_matches(matches: list[dict[str, Any]]) -> dict[Path | None, set[Key]]:
    out: dict[Path | None, set[Key]] = {}
    for m in matches:
        rule = POLICY_RULES.get(m["Rule"]["Id"])
        if rule is None:
            continue
        start = m["Location"]["Start"]
        where = Path(m["Filename"]).resolve() if m["Filename"] else None
        out.setdefault(where, set()).add(
            (rule, start["LineNumber"], start["ColumnNumber"], m["Message"])
        )
    return out


@pytest.mark.slow
def test_guardrail_policies_and_declarative_defaults(
    cli: Any, tmp_path: Path, plugin_dir: str
) -> None:
    """E9010 reports the weakened statements ``imds-iac check`` reports (IMDS010), and E9002 /
    E9003 the account defaults of EC2 declarative policies, at the CLI's line and column with its
    message; ``imds-iac scp`` output is clean."""
    string_scp = tmp_path / "string-scp.json"
    string_scp.write_text(json.dumps(STRING_SCP, indent=2), encoding="utf-8")
    generated = []
    for name, args in (
        ("scp.yaml", ["--format", "cloudformation"]),
        ("scp-split.yaml", ["--format", "cloudformation", "--split"]),
        ("defaults.yaml", ["--declarative", "--format", "cloudformation"]),
    ):
        run = cli("scp", "-q", *args)
        assert run.code == 0, run.err
        (tmp_path / name).write_text(run.out, encoding="utf-8")
        generated.append(tmp_path / name)
    files = [*GUARDRAIL_TEMPLATES, string_scp, *generated]
    web = GUARDRAIL_TEMPLATES[0].read_text(encoding="utf-8")

    main = _start("--append-rules", plugin_dir, "--", *map(str, files))
    piped = _start("--append-rules", plugin_dir, stdin=web)
    configured = _start(
        "--append-rules",
        plugin_dir,
        "--configure-rule",
        f"{POLICY_RULE}:hop_limit=2",
        "--",
        str(GUARDRAIL_TEMPLATES[0]),
    )
    main_matches = _finish(main)
    got = _policy_matches(main_matches)
    got_piped = _policy_matches(_finish(piped, web))
    got_configured = _policy_matches(_finish(configured))

    select = ",".join(sorted(POLICY_RULES.values()))
    run = cli("check", "--format", "json", "--select", select, "--exit-zero", *map(str, files))
    assert run.code == 0, run.err
    expected: dict[Path, set[Key]] = {}
    for f in run.json()["findings"]:
        if f["suppressed"] is None:
            key = (f["rule_id"], f["line"], f["column"], f["message"])
            expected.setdefault(Path(f["path"]).resolve(), set()).add(key)
    # IgnoredScp: its resource's cfn-lint ignore_checks suppress its finding in the CLI (which
    # reads cfn-lint's, imds-iac's and checkov's Metadata entries) and in cfn-lint alike.
    assert not any(key[3].startswith("[IgnoredScp") for key in expected[string_scp.resolve()])
    for path in files:
        assert got.get(path.resolve(), set()) == expected.get(path.resolve(), set()), path.name
    policy_rule = POLICY_RULES[POLICY_RULE]
    lines = {
        path.name: sorted(((rule, line) for rule, line, _, _ in keys), key=lambda k: k[::-1])
        for path, keys in got.items()
        if path is not None
    }
    assert lines["imds-guardrails.yaml"] == [
        (policy_rule, 44),  # StringEquals required
        (policy_rule, 52),  # hop limit 2
        ("IMDS002", 69),  # the declarative policy's http_tokens, in a block scalar
        ("IMDS003", 70),
    ]
    assert lines["imds-guardrails.json"] == [("IMDS002", 38)]  # inside a JSON string
    assert lines["GuardrailsStack.template.json"] == [("IMDS002", 10)]
    # Resource "*" with a negated operator: inside the string; IgnoredScp's ignore_checks apply.
    text = string_scp.read_text(encoding="utf-8").splitlines()
    string_line = next(n for n, line in enumerate(text, 1) if '"Content": "{' in line)
    assert [(r, ln) for r, ln, _, _ in got[string_scp.resolve()]] == [(policy_rule, string_line)]
    # imds-iac scp's output: no match of any rule (cfn-lint's own included).
    for path in generated:
        assert [m for m in main_matches if Path(m["Filename"]).resolve() == path.resolve()] == []

    # Paths inside the resource: the statement's node, or the string that holds the document.
    paths = {
        (Path(m["Filename"]).name, m["Location"]["Start"]["LineNumber"]): m["Location"]["Path"]
        for m in main_matches
        if m["Rule"]["Id"] in POLICY_RULES
    }
    content = ["Properties", "Content"]
    assert paths[("imds-guardrails.yaml", 44)] == [
        "Resources",
        "ImdsV2ServiceControlPolicy",
        *content,
        "Statement",
        1,
        "Condition",
        "StringEquals",
    ]
    assert paths[("imds-guardrails.yaml", 69)] == [
        "Resources",
        "Ec2InstanceMetadataDefaults",
        *content,
    ]
    assert paths[("string-scp.json", string_line)] == ["Resources", "WeakScp", *content]

    # Standard input: the same findings and messages; those inside the declarative policy's
    # block scalar (lines 66-78) at its Content key (line 65), as cfn-lint's decoded string has
    # no positions inside.
    content_key = 65
    assert {(r, ln, msg) for r, ln, _, msg in got_piped[None]} == {
        (r, content_key if ln > content_key else ln, msg)
        for r, ln, _, msg in expected[GUARDRAIL_TEMPLATES[0].resolve()]
    }

    # hop_limit=2 for the guardrail rule only: NumericGreaterThan 2 is the guardrail now; the
    # declarative policy's hop limit of 2 is still judged with the other rule's option (1).
    assert {(r, ln) for r, ln, _, _ in got_configured[GUARDRAIL_TEMPLATES[0].resolve()]} == {
        (policy_rule, 44),
        ("IMDS002", 69),
        ("IMDS003", 70),
    }


class _Linted:
    """What the engine reads of cfn-lint's ``Template``: the file it linted."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.template: dict[str, Any] = {}


def test_policy_hits_are_placed_inside_the_resource(tmp_path: Path) -> None:
    """Without cfn-lint: the engine's matches for the guardrail rule carry the CLI's span and a
    path inside the resource (cfn-lint applies a resource's ignore_checks by that path); a
    resource whose Metadata ignores the rule has none, as in the CLI."""
    path = tmp_path / "scp.json"
    path.write_text(json.dumps(STRING_SCP, indent=2), encoding="utf-8")
    hits = cfn_lint_engine.hits(_Linted(str(path)), POLICY_RULE)
    content = ["Properties", "Content"]
    assert [hit.path for hit in hits] == [
        ["Resources", "WeakScp", *content],  # inside the JSON string: the string
    ]
    unignored = copy.deepcopy(STRING_SCP)
    del unignored["Resources"]["IgnoredScp"]["Metadata"]
    path.write_text(json.dumps(unignored, indent=2), encoding="utf-8")
    hits = cfn_lint_engine.hits(_Linted(str(path)), POLICY_RULE)
    assert [hit.path for hit in hits] == [
        ["Resources", "WeakScp", *content],
        ["Resources", "IgnoredScp", *content, "Statement", "Condition", "StringEquals"],
    ]
    line = hits[0].finding.span.line
    assert hits[0].location is not None and hits[0].location[0] == line - 1
    assert "Resource" in hits[0].message and hits[0].message.startswith("[WeakScp")
    # The hop limit option is the rule's: a statement with NumericGreaterThan 2 is weak at 1.
    hop = tmp_path / "hop.yaml"
    hop.write_text(
        textwrap.dedent(
            """\
            Resources:
              HopLimit:
                Type: AWS::Organizations::Policy
                Properties:
                  Name: imdsv2-hop-limit
                  Type: SERVICE_CONTROL_POLICY
                  Content:
                    Version: "2012-10-17"
                    Statement:
                      - Effect: Deny
                        Action: ec2:RunInstances
                        Resource: arn:aws:ec2:*:*:instance/*
                        Condition:
                          NumericGreaterThan:
                            ec2:MetadataHttpPutResponseHopLimit: 2
            """
        ),
        encoding="utf-8",
    )
    assert [h.location for h in cfn_lint_engine.hits(_Linted(str(hop)), POLICY_RULE)] == [
        (14, 53, 14, 54)
    ]
    assert cfn_lint_engine.hits(_Linted(str(hop)), POLICY_RULE, hop_limit=2) == []


def test_policy_hits_honour_imds_iac_comments_as_the_cli_does(tmp_path: Path) -> None:
    """A ``# imds-iac: ignore`` comment on the statement, or the resource's ``imds-iac``
    Metadata, suppresses it (the CLI reports it as suppressed; cfn-lint has no such state):
    left out. Scp3, without either, is reported."""
    path = tmp_path / "scps.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            Resources:
              Scp:
                Type: AWS::Organizations::Policy
                Metadata:
                  imds-iac:
                    ignore: [IMDS010]
                Properties:
                  Name: x
                  Type: SERVICE_CONTROL_POLICY
                  Content:
                    Version: "2012-10-17"
                    Statement:
                      - Effect: Deny
                        Action: ec2:RunInstances
                        Resource: arn:aws:ec2:*:*:instance/*
                        Condition:
                          StringEquals: # imds-iac: ignore[IMDS010] legacy
                            ec2:MetadataHttpTokens: optional
              Scp2:
                Type: AWS::Organizations::Policy
                Metadata:
                  imds-iac:
                    ignore: [IMDS010]
                Properties:
                  Name: y
                  Type: SERVICE_CONTROL_POLICY
                  Content:
                    Version: "2012-10-17"
                    Statement:
                      - Effect: Deny
                        Action: ec2:RunInstances
                        Resource: arn:aws:ec2:*:*:instance/*
                        Condition:
                          StringEquals:
                            ec2:MetadataHttpTokens: optional
              Scp3:
                Type: AWS::Organizations::Policy
                Properties:
                  Name: z
                  Type: SERVICE_CONTROL_POLICY
                  Content:
                    Version: "2012-10-17"
                    Statement:
                      - Effect: Deny
                        Action: ec2:RunInstances
                        Resource: arn:aws:ec2:*:*:instance/*
                        Condition:
                          StringEquals:
                            ec2:MetadataHttpTokens: optional
            """
        ),
        encoding="utf-8",
    )
    hits = cfn_lint_engine.hits(_Linted(str(path)), POLICY_RULE)
    assert [(h.path[1], h.finding.span.line) for h in hits] == [("Scp3", 48)]
