"""Guardrail policies in CloudFormation templates (formats/policy_cfn.py): where each statement,
value and edit lands in the file, for every way a template writes a policy document."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from imds_iac_checks.formats import policy
from imds_iac_checks.model import Policy, ScanError, Span, Target, Written
from tests.conftest import FIXTURES, require_tool

GUARDRAILS = FIXTURES / "guardrails" / "cloudformation"


def read(name: str, text: str) -> tuple[list[Policy], list[Target], list[ScanError]]:
    return policy.read_data(name, textwrap.dedent(text).lstrip("\n").encode())


def at(span: Span | None) -> tuple[int, int, int, int] | None:
    return None if span is None else (span.line, span.column, span.end_line, span.end_column)


def written_at(text: str, span: Span) -> str:
    return text.encode()[span.start_byte : span.end_byte].decode()


def edit(text: str, w: Written, new: str) -> str:
    """The file with ``new`` written where ``w`` says its value is edited."""
    assert w.edit is not None
    data = text.encode()
    return (data[: w.edit.start_byte] + new.encode() + data[w.edit.end_byte :]).decode()


# --- Content as a mapping -------------------------------------------------------------------

SCP_YAML = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  BreakGlassRoleName:
    Type: String
    Default: OrganizationBreakGlass
Resources:
  ImdsV2Scp:
    Type: AWS::Organizations::Policy
    Properties:
      Name: imdsv2-guardrails
      Type: SERVICE_CONTROL_POLICY
      TargetIds:
        - ou-ab12-workload1
      Content:
        Version: "2012-10-17"
        Statement:
          - Sid: RequireAllEc2RolesToUseV2
            Effect: Deny
            Action: "*"
            Resource: "*"
            Condition:
              NumericLessThan:
                ec2:RoleDelivery: "2.0"
              ArnNotLike:
                aws:PrincipalArn: !Sub arn:${AWS::Partition}:iam::*:role/${BreakGlassRoleName}
          - Sid: RequireImdsV2
            Effect: Deny
            Action:
              - ec2:RunInstances
            Resource: arn:aws:ec2:*:*:instance/*
            Condition:
              StringEquals:
                ec2:MetadataHttpTokens: required
  Bucket:
    Type: AWS::S3::Bucket
"""


def test_yaml_mapping_content() -> None:
    policies, targets, errors = read("org/guardrails.yaml", SCP_YAML)
    assert (targets, errors) == ([], [])
    (scp,) = policies
    assert (scp.address, scp.path, scp.what, scp.format, scp.type, scp.no_fix) == (
        "ImdsV2Scp",
        "org/guardrails.yaml",
        "service control policy",
        "cloudformation",
        "SERVICE_CONTROL_POLICY",
        "",
    )
    assert at(scp.span)[:2] == (7, 3)  # type: ignore[index]  # the logical id
    credentials, tokens = scp.statements
    assert (credentials.label, credentials.sid) == (
        "statement RequireAllEc2RolesToUseV2",
        "RequireAllEc2RolesToUseV2",
    )
    assert at(credentials.span)[:2] == (17, 13)  # type: ignore[index]
    assert credentials.effect is not None and credentials.effect.value == "Deny"
    assert at(credentials.effect.span) == (18, 21, 18, 25)
    delivery, principal = credentials.conditions
    assert (delivery.operator.value, delivery.key.value, [v.value for v in delivery.values]) == (
        "NumericLessThan",
        "ec2:RoleDelivery",
        ["2.0"],
    )
    assert at(delivery.values[0].span) == (23, 35, 23, 40)  # "2.0" with its quotes
    assert at(delivery.values[0].edit) == (23, 36, 23, 39)  # 2.0 between them
    assert written_at(SCP_YAML, delivery.values[0].span) == '"2.0"'
    # an intrinsic inside the document: an expression, its value unknown, never edited
    (arn,) = principal.values
    assert (arn.value, arn.edit, arn.expression) == (None, None, "!Sub ...")
    assert at(arn.span)[:2] == (25, 35)  # type: ignore[index]
    (operator,) = [c.operator for c in tokens.conditions]
    assert (operator.value, at(operator.span), at(operator.edit)) == (
        "StringEquals",
        (32, 15, 32, 27),
        (32, 15, 32, 27),
    )
    assert [a.value for a in tokens.actions] == ["ec2:RunInstances"]
    fixed = edit(SCP_YAML, operator, "StringNotEquals")
    assert "              StringNotEquals:\n                ec2:MetadataHttpTokens" in fixed


SCP_JSON_MAPPING = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "HopLimitScp": {
            "Type": "AWS::Organizations::Policy",
            "Properties": {
                "Name": "hop-limit",
                "Type": "RESOURCE_CONTROL_POLICY",
                "Content": {
                    "Version": "2012-10-17",
                    "Statement": {
                        "Effect": "Deny",
                        "Action": "ec2:RunInstances",
                        "Resource": {"Fn::Sub": "arn:${AWS::Partition}:ec2:*:*:instance/*"},
                        "Condition": {
                            "NumericGreaterThan": {"ec2:MetadataHttpPutResponseHopLimit": 2}
                        },
                    },
                },
            },
        }
    },
}


def test_json_mapping_content_and_a_long_form_intrinsic() -> None:
    text = json.dumps(SCP_JSON_MAPPING, indent=2)
    (rcp,), _, errors = read("rcp.json", text)
    assert errors == []
    assert (rcp.what, rcp.type) == ("resource control policy", "RESOURCE_CONTROL_POLICY")
    (statement,) = rcp.statements
    assert statement.label == ""  # one statement, not a list
    (resource,) = statement.resources
    # {"Fn::Sub": ...} is an expression as !Sub is; its partition is judged as a wildcard
    assert (resource.value, resource.expression, resource.edit) == (
        "arn:*:ec2:*:*:instance/*",
        "arn:${AWS::Partition}:ec2:*:*:instance/*",
        None,
    )
    assert written_at(text, resource.span).startswith('{\n              "Fn::Sub"')
    (hops,) = statement.conditions[0].values
    assert (hops.value, written_at(text, hops.span), written_at(text, hops.edit)) == ("2", "2", "2")  # type: ignore[arg-type]


# --- Content as a JSON string ---------------------------------------------------------------


def test_json_string_content_in_a_json_template() -> None:
    """The policy a console export writes: a JSON string whose quotes are escapes. Values are
    located between them, and an edit there keeps the string valid."""
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "RequireImdsV2",
                "Effect": "Allow",
                "Action": "ec2:RunInstances",
                "Resource": "arn:aws:ec2:*:*:instance/*",
                "Condition": {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}},
            }
        ],
    }
    template = {
        "Resources": {
            "Scp": {
                "Type": "AWS::Organizations::Policy",
                "Properties": {
                    "Name": "imds",
                    "Type": "SERVICE_CONTROL_POLICY",
                    "Content": json.dumps(document),
                },
            }
        }
    }
    text = json.dumps(template, indent=2)
    (scp,), _, errors = read("scp.json", text)
    assert errors == []
    (statement,) = scp.statements
    effect = statement.effect
    assert effect is not None and effect.value == "Allow"
    # the value's own quotes are \" escapes: the span covers them, the edit the text between
    assert written_at(text, effect.span) == '\\"Allow\\"'
    assert written_at(text, effect.edit) == "Allow"  # type: ignore[arg-type]
    line = text.splitlines()[effect.span.line - 1]
    assert line[effect.span.column - 1 :].startswith('\\"Allow\\", \\"Action')
    # the statement: from its brace to its brace, inside the string
    assert written_at(text, statement.span).startswith('{\\"Sid\\": \\"RequireImdsV2\\"')
    assert written_at(text, statement.span).endswith('\\"required\\"}}}')
    fixed = json.loads(edit(text, effect, "Deny"))
    content = json.loads(fixed["Resources"]["Scp"]["Properties"]["Content"])
    assert content["Statement"][0]["Effect"] == "Deny"
    key = statement.conditions[0].key
    assert (key.value, written_at(text, key.span)) == (
        "ec2:MetadataHttpTokens",
        '\\"ec2:MetadataHttpTokens\\"',
    )


BLOCK_YAML = """\
Resources:
  ImdsScp:
    Type: AWS::Organizations::Policy
    Properties:
      Name: imds
      Type: SERVICE_CONTROL_POLICY
      Content: |
        {
          "Version": "2012-10-17",
          "Statement": [
            {
              "Sid": "MaxImdsHopLimit",
              "Effect": "Deny",
              "Action": "ec2:RunInstances",
              "Resource": "arn:aws:ec2:*:*:instance/*",
              "Condition": {
                "NumericGreaterThan": {"ec2:MetadataHttpPutResponseHopLimit": "3"}
              }
            }
          ]
        }
"""


def test_block_scalar_content_maps_line_by_line() -> None:
    (scp,), _, errors = read("scp.yaml", BLOCK_YAML)
    assert errors == []
    (statement,) = scp.statements
    assert statement.label == "statement MaxImdsHopLimit"
    # the statement's braces are on lines 11 and 19 of the file, as written in the block
    assert at(statement.span) == (11, 13, 19, 14)
    assert written_at(BLOCK_YAML, statement.span).splitlines()[1].strip() == (
        '"Sid": "MaxImdsHopLimit",'
    )
    (hops,) = statement.conditions[0].values
    assert (hops.value, written_at(BLOCK_YAML, hops.span)) == ("3", '"3"')
    assert at(hops.span)[:2] == (17, 79)  # type: ignore[index]
    assert written_at(BLOCK_YAML, hops.edit) == "3"  # type: ignore[arg-type]
    operator = statement.conditions[0].operator
    assert written_at(BLOCK_YAML, operator.span) == '"NumericGreaterThan"'
    assert at(operator.span)[:2] == (17, 17)  # type: ignore[index]
    fixed = edit(BLOCK_YAML, hops, "1")
    assert '{"ec2:MetadataHttpPutResponseHopLimit": "1"}' in fixed


def test_sub_string_content_values_around_a_variable_are_expressions() -> None:
    text = """\
    Resources:
      Credentials:
        Type: AWS::Organizations::Policy
        Properties:
          Name: credentials
          Type: SERVICE_CONTROL_POLICY
          Content: !Sub |
            {
              "Version": "2012-10-17",
              "Statement": {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {
                  "NumericLessThan": {"ec2:RoleDelivery": "2.0"},
                  "ArnNotLike": {
                    "aws:PrincipalArn": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/Admin"
                  }
                }
              }
            }
    """
    (scp,), _, errors = read("credentials.yaml", text)
    assert errors == []
    (statement,) = scp.statements
    delivery, principal = statement.conditions
    (version,) = delivery.values
    source = textwrap.dedent(text)
    assert (version.value, written_at(source, version.span)) == ("2.0", '"2.0"')
    assert at(version.span)[:2] == (15, 55)  # type: ignore[index]
    (arn,) = principal.values
    assert (arn.value, arn.edit, arn.expression) == (None, None, "Fn::Sub ...")
    assert principal.key.value == "aws:PrincipalArn"  # no variable in it: read


# --- IAM policies ----------------------------------------------------------------------------

IAM_YAML = """\
Resources:
  DeployBoundary:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Deny
            Action: ec2:RunInstances
            Resource: arn:aws:ec2:*:*:instance/*
            Condition:
              StringNotEquals:
                ec2:MetadataHttpTokens: required
  BuildRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: codebuild.amazonaws.com}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: logs
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: logs:PutLogEvents
                Resource: "*"
        - PolicyName: imds-guardrail
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Deny
                Action: ec2:ModifyInstanceMetadataOptions
                Resource: "*"
  OpsPolicy:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: ops
      Roles: [!Ref BuildRole]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: ec2:DescribeInstances
            Resource: "*"
"""


def test_iam_policies_that_name_a_marker() -> None:
    policies, _, errors = read("iam.yaml", IAM_YAML)
    assert errors == []
    # a role's inline policies are read one by one; those that name no IMDS key or action
    # (the role's logs policy, OpsPolicy, the trust policy) are none of ours
    assert [(p.address, p.what, p.type, len(p.statements)) for p in policies] == [
        ("DeployBoundary", "IAM managed policy", "", 1),
        ("BuildRole policy imds-guardrail", "inline policy of a role", "", 1),
    ]
    boundary, role = policies
    assert at(boundary.span)[:2] == (2, 3)  # type: ignore[index]
    assert at(role.span)[:2] == (14, 3)  # type: ignore[index]  # the role's logical id
    (deny,) = role.statements
    assert (deny.label, at(deny.span)[:2]) == ("statement 1", (35, 17))  # type: ignore[index]


def test_declarative_and_other_policy_types() -> None:
    text = """\
    Resources:
      Tags:
        Type: AWS::Organizations::Policy
        Properties:
          Name: tags
          Type: TAG_POLICY
          Content:
            tags:
              imds:
                tag_key: {"@@assign": "ec2:MetadataHttpTokens"}
      Defaults:
        Type: AWS::Organizations::Policy
        Properties:
          Name: defaults
          Type: DECLARATIVE_POLICY_EC2
          Content:
            ec2_attributes:
              instance_metadata_defaults:
                http_tokens: {"@@assign": required}
    """
    policies, targets, errors = read("org.yaml", text)
    assert (policies, errors) == ([], [])  # a tag policy holds no statements
    (defaults,) = targets
    assert (defaults.address, defaults.kind, defaults.settings["tokens"][0].value) == (
        "Defaults",
        "DECLARATIVE_POLICY_EC2",
        "required",
    )


def test_a_document_that_cannot_be_read_is_an_error() -> None:
    text = """\
    Parameters:
      Scp:
        Type: String
    Resources:
      Guardrail:
        Type: AWS::Organizations::Policy
        Properties:
          Name: imds
          Description: denies launches unless ec2:MetadataHttpTokens is required
          Type: SERVICE_CONTROL_POLICY
          Content: !Ref Scp
      Broken:
        Type: AWS::Organizations::Policy
        Properties:
          Name: broken
          Type: SERVICE_CONTROL_POLICY
          Content: '{"Statement": [{"Condition": {"StringNotEquals":
            {"ec2:MetadataHttpTokens": "required"}}]}'
    """
    policies, _, errors = read("org.yaml", text)
    assert policies == []
    assert [(e.line, e.column, e.message) for e in errors] == [
        (
            11,
            16,
            "Guardrail: the policy document is not read (it is written with Ref): not judged",
        ),
        (
            17,
            16,
            "Broken: the policy document is not read (it is not JSON (expected ',' or '}')): "
            "not judged",
        ),
    ]


def test_synthesized_and_org_formation_templates() -> None:
    cdk = GUARDRAILS / "cdk.out" / "GuardrailsStack.template.json"
    shown = "fixtures/guardrails/cloudformation/cdk.out/GuardrailsStack.template.json"
    policies, targets, errors = policy.read_data(shown, cdk.read_bytes())
    assert errors == []
    (scp,) = policies
    assert scp.no_fix.startswith("cdk synth wrote this template")
    (defaults,) = targets
    assert defaults.recorded_state
    organization = GUARDRAILS / "org-formation" / "organization.yml"
    policies, targets, errors = policy.read_data("organization.yml", organization.read_bytes())
    assert (targets, errors) == ([], [])
    (scp,) = policies  # the region restriction names no IMDS key
    assert (scp.address, scp.format, scp.type) == (
        "ImdsV2GuardrailSCP",
        "org-formation",
        "SERVICE_CONTROL_POLICY",
    )
    assert [s.sid for s in scp.statements] == ["RequireImdsV2", "RequireAllEc2RolesToUseV2"]


@pytest.mark.slow
def test_cfn_lint_accepts_the_fixture_templates() -> None:
    """The CloudFormation fixtures are templates CloudFormation takes (org-formation's
    organization.yml is not: its types are org-formation's own)."""
    import importlib.util

    require_tool(importlib.util.find_spec("cfnlint") is not None, "cfn-lint")
    templates = sorted(
        p
        for p in GUARDRAILS.rglob("*")
        if p.suffix in (".yaml", ".json") and "org-formation" not in p.parts
    )
    assert len(templates) == 3
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from cfnlint.runner import main; sys.exit(main())",
            "--format",
            "json",
            *map(str, templates),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(proc.stdout) == [], proc.stdout


def test_fixture_policies(cli) -> None:
    root = FIXTURES.parent
    doc = cli("check", "--format", "json", "fixtures/guardrails/cloudformation", cwd=root).json()
    assert doc["errors"] == []
    # every template's policies and declarative policies are read (the scan's counts)
    assert doc["summary"]["targets"] == 3


# --- the AWS CLI's Organizations JSON (formats/policy_cli.py) ------------------------------

DESCRIBED = {
    "Policy": {
        "PolicySummary": {
            "Id": "p-examplepolicyid111",
            "Arn": "arn:aws:organizations::111111111111:policy/o-exampleorgid/"
            "service_control_policy/p-examplepolicyid111",
            "Name": "imdsv2-guardrails",
            "Description": "IMDSv2 guardrails",
            "Type": "SERVICE_CONTROL_POLICY",
            "AwsManaged": False,
        },
        "Content": json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "RequireImdsV2",
                        "Effect": "Deny",
                        "Action": "ec2:RunInstances",
                        "Resource": "arn:aws:ec2:*:*:instance/*",
                        "Condition": {"StringEquals": {"ec2:MetadataHttpTokens": "required"}},
                    }
                ],
            },
            separators=(",", ":"),
        ),
    }
}


def test_describe_policy_output_is_recorded() -> None:
    """``aws organizations describe-policy`` output, as an organisation exports its SCPs."""
    text = json.dumps(DESCRIBED, indent=4)
    (scp,), targets, errors = read("exports/p-examplepolicyid111.json", text)
    assert (targets, errors) == ([], [])
    assert (scp.address, scp.what, scp.type, scp.format) == (
        "imdsv2-guardrails",
        "service control policy",
        "SERVICE_CONTROL_POLICY",
        "aws-cli-json",
    )
    assert scp.no_fix.startswith("describe-policy output records the policy")
    (statement,) = scp.statements
    operator = statement.conditions[0].operator
    assert written_at(text, operator.edit) == "StringEquals"  # type: ignore[arg-type]
    assert operator.span.line == 11  # the Content line


def test_create_policy_input_declarative(cli, tmp_path) -> None:
    """``aws organizations create-policy --cli-input-json file://imds-defaults.json``."""
    document = {
        "ec2_attributes": {
            "instance_metadata_defaults": {
                "http_tokens": {"@@assign": "optional"},
                "http_put_response_hop_limit": {"@@assign": "2"},
            }
        }
    }
    request = {
        "Content": json.dumps(document),
        "Description": "IMDS defaults for the workload OUs",
        "Name": "imds-defaults",
        "Type": "DECLARATIVE_POLICY_EC2",
        "Tags": [{"Key": "owner", "Value": "cloud-platform"}],
    }
    path = tmp_path / "imds-defaults.json"
    path.write_text(json.dumps(request, indent=4), encoding="utf-8")
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert [(f["rule_id"], f["resource"], f["line"]) for f in run.json()["findings"]] == [
        ("IMDS002", "imds-defaults", 2),
        ("IMDS003", "imds-defaults", 2),
    ]
    cli("fix", ".", cwd=tmp_path)
    fixed = json.loads(json.loads(path.read_text(encoding="utf-8"))["Content"])
    assert fixed["ec2_attributes"]["instance_metadata_defaults"] == {
        "http_tokens": {"@@assign": "required"},
        "http_put_response_hop_limit": {"@@assign": "1"},
    }
    # the same request with another type is none of ours
    request["Type"] = "TAG_POLICY"
    path.write_text(json.dumps(request), encoding="utf-8")
    assert cli("check", "--format", "json", ".", cwd=tmp_path).json()["findings"] == []


def test_org_formation_policy_types() -> None:
    text = """\
    AWSTemplateFormatVersion: '2010-09-09-OC'
    Organization:
      ImdsDefaults:
        Type: OC::ORG::Policy
        Properties:
          PolicyName: imds-defaults
          PolicyType: DECLARATIVE_POLICY_EC2
          PolicyDocument:
            ec2_attributes:
              instance_metadata_defaults:
                http_tokens: {'@@assign': no_preference}
      ImdsRcp:
        Type: OC::ORG::Policy
        Properties:
          PolicyName: imds-rcp
          PolicyType: RESOURCE_CONTROL_POLICY
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Deny
                Principal: '*'
                Action: 'ec2:ModifyInstanceMetadataOptions'
                Resource: '*'
    """
    (rcp,), (defaults,), errors = read("organization.yml", text)
    assert errors == []
    assert (rcp.address, rcp.what, rcp.format) == (
        "ImdsRcp",
        "resource control policy",
        "org-formation",
    )
    assert [a.value for a in rcp.statements[0].actions] == ["ec2:ModifyInstanceMetadataOptions"]
    assert (defaults.address, defaults.format, defaults.settings["tokens"][0].value) == (
        "ImdsDefaults",
        "org-formation",
        "no_preference",
    )
    assert at(defaults.settings["tokens"][0].span) == (11, 39, 11, 52)


# --- with the rule that judges guardrail policies -------------------------------------------


def test_check_and_fix_the_guardrail_templates(cli, tmp_path) -> None:
    """End to end: the fixture templates are checked, and `fix --unsafe-fixes` corrects the
    weakened statements in a YAML mapping and the declarative policies in a block scalar and a
    JSON string."""
    import shutil

    for name in ("imds-guardrails.yaml", "imds-guardrails.json"):
        shutil.copy(GUARDRAILS / name, tmp_path / name)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    found = [
        (f["rule_id"], f["resource"], f["line"], f["severity"]) for f in run.json()["findings"]
    ]
    assert found == [
        ("IMDS002", "SandboxImdsDefaults", 38, "error"),
        ("IMDS010", "ImdsV2ServiceControlPolicy", 44, "error"),
        ("IMDS010", "ImdsV2ServiceControlPolicy", 52, "error"),
        ("IMDS002", "Ec2InstanceMetadataDefaults", 69, "error"),
        ("IMDS003", "Ec2InstanceMetadataDefaults", 70, "error"),
    ]
    before = (tmp_path / "imds-guardrails.yaml").read_text(encoding="utf-8")
    run = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    after = (tmp_path / "imds-guardrails.yaml").read_text(encoding="utf-8")
    changed = [
        (number, old.strip(), new.strip())
        for number, (old, new) in enumerate(
            zip(before.splitlines(), after.splitlines(), strict=True), 1
        )
        if old != new
    ]
    assert changed == [
        (44, "StringEquals:", "StringNotEquals:"),
        (
            52,
            'ec2:MetadataHttpPutResponseHopLimit: "2"',
            'ec2:MetadataHttpPutResponseHopLimit: "1"',
        ),
        (
            69,
            '"http_tokens": {"@@assign": "optional"},',
            '"http_tokens": {"@@assign": "required"},',
        ),
        (
            70,
            '"http_put_response_hop_limit": {"@@assign": "2"},',
            '"http_put_response_hop_limit": {"@@assign": "1"},',
        ),
    ]
    assert cli("check", ".", cwd=tmp_path).code == 0


def test_fix_a_weakened_statement_inside_a_json_string(cli, tmp_path) -> None:
    """An SCP written as a JSON template's escaped string: the corrected operator is written
    between the escaped quotes, and the template stays valid JSON whose Content parses."""
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "RequireImdsV2",
                "Effect": "Deny",
                "Action": "ec2:RunInstances",
                "Resource": "arn:aws:ec2:*:*:instance/*",
                "Condition": {"StringEquals": {"ec2:MetadataHttpTokens": "required"}},
            }
        ],
    }
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Scp": {
                "Type": "AWS::Organizations::Policy",
                "Properties": {
                    "Name": "imdsv2",
                    "Type": "SERVICE_CONTROL_POLICY",
                    "Content": json.dumps(document),
                },
            }
        },
    }
    path = tmp_path / "scp.json"
    path.write_text(json.dumps(template, indent=2) + "\n", encoding="utf-8")
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    (finding,) = run.json()["findings"]
    assert (finding["rule_id"], finding["resource"], finding["line"]) == (
        "IMDS010",
        "Scp",
        9,
    )
    cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    fixed = json.loads(path.read_text(encoding="utf-8"))
    content = json.loads(fixed["Resources"]["Scp"]["Properties"]["Content"])
    assert content["Statement"][0]["Condition"] == {
        "StringNotEquals": {"ec2:MetadataHttpTokens": "required"}
    }
    assert cli("check", ".", cwd=tmp_path).code == 0


def test_a_large_policy_in_one_string_is_placed_statement_by_statement() -> None:
    """400 statements in one escaped string (the schema allows a Content of 1,000,000
    characters): each is placed where it is written, the last as exactly as the first."""
    statements = [
        {
            "Sid": f"Deny{i}",
            "Effect": "Deny",
            "Action": "ec2:RunInstances",
            "Resource": "arn:aws:ec2:*:*:instance/*",
            "Condition": {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}},
        }
        for i in range(400)
    ]
    content = json.dumps({"Version": "2012-10-17", "Statement": statements})
    template = {
        "Resources": {
            "Scp": {
                "Type": "AWS::Organizations::Policy",
                "Properties": {"Name": "big", "Type": "SERVICE_CONTROL_POLICY", "Content": content},
            }
        }
    }
    text = json.dumps(template)
    (scp,), _, errors = read("big.json", text)
    assert errors == [] and len(scp.statements) == 400
    last = scp.statements[-1]
    assert written_at(text, last.span).startswith('{\\"Sid\\": \\"Deny399\\"')
    assert written_at(text, last.effect.edit) == "Deny"  # type: ignore[union-attr, arg-type]


def test_partition_account_and_region_placeholders_are_wildcards() -> None:
    """R1-3: what CDK and landing-zone templates write for the instance ARN — ``!Sub`` with
    ``${AWS::Partition}``, ``Fn::Join`` of ``Ref``s of pseudo parameters — is judged with ``*``
    in those fields (a superset), never edited; a placeholder in the resource part stays
    unknown."""
    text = """\
        AWSTemplateFormatVersion: "2010-09-09"
        Parameters:
          OrganizationRoot:
            Type: String
          ResourceKind:
            Type: String
        Resources:
          ImdsGuardrail:
            Type: AWS::Organizations::Policy
            Properties:
              Name: require-imdsv2
              Type: SERVICE_CONTROL_POLICY
              TargetIds:
                - !Ref OrganizationRoot
              Content:
                Version: "2012-10-17"
                Statement:
                  - Sid: RequireImdsV2
                    Effect: Deny
                    Action: ec2:RunInstances
                    Resource: !Sub "arn:${AWS::Partition}:ec2:*:*:instance/*"
                    Condition:
                      StringEquals:
                        ec2:MetadataHttpTokens: optional
                  - Sid: MaxImdsHopLimit
                    Effect: Deny
                    Action: ec2:RunInstances
                    Resource: !Join
                      - ""
                      - - "arn:"
                        - !Ref AWS::Partition
                        - ":ec2:"
                        - !Ref AWS::Region
                        - ":"
                        - !Ref AWS::AccountId
                        - ":instance/*"
                    Condition:
                      NumericGreaterThan:
                        ec2:MetadataHttpPutResponseHopLimit: "1"
                  - Sid: Other
                    Effect: Deny
                    Action: ec2:RunInstances
                    Resource: !Sub "arn:${AWS::Partition}:ec2:*:*:${ResourceKind}/*"
                    Condition:
                      NumericGreaterThan:
                        ec2:MetadataHttpPutResponseHopLimit: "1"
        """
    (scp,), _, errors = read("guardrails.yaml", text)
    assert errors == []
    sub, join, other = scp.statements
    assert [(w.value, w.expression, w.edit) for w in sub.resources] == [
        ("arn:*:ec2:*:*:instance/*", "arn:${AWS::Partition}:ec2:*:*:instance/*", None)
    ]
    assert [(w.value, w.expression) for w in join.resources] == [
        (
            "arn:*:ec2:*:*:instance/*",
            "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*",
        )
    ]
    assert written_at(textwrap.dedent(text), join.resources[0].span).startswith("!Join")
    assert [(w.value, w.expression) for w in other.resources] == [(None, "!Sub ...")]


def test_a_long_form_join_in_a_json_template() -> None:
    template = {
        "Resources": {
            "ImdsGuardrail": {
                "Type": "AWS::Organizations::Policy",
                "Properties": {
                    "Name": "require-imdsv2",
                    "Content": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Deny",
                                "Action": "ec2:RunInstances",
                                "Resource": {
                                    "Fn::Join": [
                                        "",
                                        ["arn:", {"Ref": "AWS::Partition"}, ":ec2:*:*:instance/*"],
                                    ]
                                },
                                "Condition": {
                                    "StringEquals": {"ec2:MetadataHttpTokens": "optional"}
                                },
                            }
                        ],
                    },
                },
            }
        }
    }
    (scp,), _, errors = read("guardrails.json", json.dumps(template, indent=2))
    assert errors == []
    (statement,) = scp.statements
    assert [(w.value, w.edit) for w in statement.resources] == [("arn:*:ec2:*:*:instance/*", None)]


def test_a_condition_written_as_a_list_is_not_read() -> None:
    """R1-10: ``"Condition": [{...}]`` is not a policy AWS accepts as written: the statement
    says it could not be read rather than pass as one without conditions."""
    (document,), _, errors = read(
        "scp.json",
        """\
        {
          "Version": "2012-10-17",
          "Statement": [
            {
              "Effect": "Deny",
              "Action": "ec2:RunInstances",
              "Resource": "arn:aws:ec2:*:*:instance/*",
              "Condition": [
                {"StringNotEquals": {"ec2:MetadataHttpTokens": "optional"}}
              ]
            }
          ]
        }
        """,
    )
    assert errors == []
    (statement,) = document.statements
    assert (statement.unknown, statement.conditions) == ("the Condition is not a mapping", ())
