"""JSON/YAML front ends and the CloudFormation, EC2 API and Terraform JSON interpreters."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from imds_iac_checks.engine import Context, evaluate
from imds_iac_checks.formats import data, ec2api
from imds_iac_checks.formats.doc import DocError, Locator, parse_json, parse_yaml
from imds_iac_checks.model import HOP_LIMIT, TOKENS


def scan(name: str, text: str | bytes):
    raw = text if isinstance(text, bytes) else textwrap.dedent(text).lstrip("\n").encode()
    return data.parse(name, raw)


def rules(name: str, text: str | bytes) -> list[tuple[str, str, int]]:
    targets, errors = scan(name, text)
    assert errors == []
    return [(f.rule_id, f.resource, f.span.line) for t in targets for f in evaluate(t, Context())]


# --- the JSON parser ----------------------------------------------------------------------------


def test_json_parser_matches_the_standard_library() -> None:
    text = json.dumps(
        {"a": [1, -2.5e3, 'x\u00e9\n"q"', None, True, False, {}], "b": {"c": []}, "": 0},
        indent=2,
    )
    assert parse_json(text).plain() == json.loads(text)


def test_json_positions_are_exact() -> None:
    text = '{\n  "Resources": {"A": "é", "B": 12}\n}'
    root = parse_json(text)
    b = root.get("Resources").get("B")
    assert text[b.start : b.end] == "12"
    span = Locator("x.json", text).node_span(b)
    assert (span.line, span.column, span.end_column) == (2, 32, 34)
    assert span.start_byte == text.encode().index(b"12")


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        ('{"ImageId": 1,}', "expected a property name", 1, 15),
        ('{\n  "ImageId": [1, 2\n}', "expected ',' or ']'", 3, 1),
        ('{"ImageId": tru}', "unexpected character", 1, 13),
        ('{"ImageId": "x\n"}', "invalid string", 1, 13),
        ('{"ImageId": 1} []', "extra data", 1, 16),
        ('{"ImageId": ', "unexpected end of file", 1, 13),
    ],
)
def test_json_errors_have_positions(text: str, message: str, line: int, column: int) -> None:
    _, errors = data.parse("x.json", text.encode())
    (error,) = errors
    assert error.message.startswith("invalid JSON:")
    assert message in error.message
    assert (error.line, error.column) == (line, column)


def test_byte_offsets_with_non_ascii_text() -> None:
    text = '{\r\n  "é": "日本",\n  "x": [1, "ü"]\r\n}'
    loc = Locator("x.json", text)
    encoded = text.encode()
    for offset in range(len(text) + 1):
        assert loc.position(offset)[2] == len(text[:offset].encode())
    node = parse_json(text).get("x")
    span = loc.node_span(node)
    assert encoded[span.start_byte : span.end_byte] == '[1, "ü"]'.encode()


def test_json_depth_limit() -> None:
    with pytest.raises(DocError, match="nesting deeper"):
        parse_json("[" * 1000 + "]" * 1000)


def test_non_utf8_json_is_reported() -> None:
    _, errors = data.parse("x.json", b'{"ImageId": "caf\xe9"}')
    assert errors[0].message == "cannot read: not valid UTF-8 text (byte 0xe9)"
    assert (errors[0].line, errors[0].column) == (1, 17)  # at the bad byte


def test_utf16_with_bom_is_read() -> None:
    text = '{"MetadataOptions": {"HttpTokens": "optional"}, "ImageId": "ami-1"}'
    found = rules("lt.json", text.encode("utf-16"))
    assert found == [("IMDS002", "LaunchTemplateData", 1)]


# --- YAML -----------------------------------------------------------------------------------


def test_yaml_aliases_are_shared_not_expanded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 10)}]" for i in range(1, 9)]
    (root,) = parse_yaml("\n".join(lines) + "\n")  # 10**9 leaves if expanded
    assert root.get("a8").items[0] is root.get("a7")


def test_yaml_errors_have_positions() -> None:
    _, errors = scan(
        "t.yaml",
        """
        Resources:
          Web:
            Type: AWS::EC2::Instance
            Properties: [unclosed
        """,
    )
    (error,) = errors
    assert error.message.startswith("invalid YAML:")
    assert error.line >= 4


def test_multi_document_streams() -> None:
    manifests = "kind: ConfigMap\ndata: {note: AWS::EC2::Instance}\n---\nkind: Secret\n"
    assert data.parse("k8s.yaml", manifests.encode()) == ([], [])
    template = "Resources:\n  A:\n    Type: AWS::EC2::Instance\n---\nb: 1\n"
    _, errors = data.parse("t.yaml", template.encode())
    assert [(e.line, e.message) for e in errors] == [
        (5, "a CloudFormation template is one YAML document; this file has more")
    ]


def test_unknown_tags_load() -> None:
    found = rules(
        "t.yaml",
        """
        Resources:
          Web:
            Type: AWS::EC2::Instance
            Properties:
              Tags: !CustomTag {Key: a}
              MetadataOptions:
                HttpTokens: !MyMacro required
        """,
    )
    assert found == [("IMDS004", "Web", 7)]


# --- CloudFormation ---------------------------------------------------------------------------

LONG_FORM = """
{
  "Parameters": {"Hops": {"Type": "Number", "Default": 4}},
  "Conditions": {"Prod": {"Fn::Equals": [{"Ref": "AWS::AccountId"}, "123456789012"]}},
  "Resources": {
    "Web": {
      "Type": "AWS::EC2::Instance",
      "Properties": {
        "MetadataOptions": {
          "HttpEndpoint": {"Fn::If": ["Prod", "disabled", "enabled"]},
          "HttpTokens": {"Fn::Sub": "${AWS::Region}"},
          "HttpPutResponseHopLimit": {"Ref": "Hops"}
        }
      }
    }
  }
}
"""


def test_long_form_intrinsics() -> None:
    targets, errors = scan("t.json", LONG_FORM)
    assert errors == []
    (target,) = targets
    endpoint = target.settings["endpoint"]
    assert [(v.value, v.condition) for v in endpoint] == [
        ("disabled", "condition Prod is true"),
        ("enabled", "condition Prod is false"),
    ]
    (hop,) = target.settings[HOP_LIMIT]
    assert hop.value == 4
    descriptions = [link.description for link in hop.provenance]
    assert descriptions == ["default of parameter Hops", "Ref Hops"]
    assert hop.span.line == 2
    found = [(f.rule_id, f.span.line) for f in evaluate(target, Context())]
    assert found == [("IMDS003", 2), ("IMDS004", 10)]


CONDITIONS = """
Parameters:
  Environment: {Type: String, Default: dev}
  Legacy: {Type: String, Default: "false"}
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
  IsLegacy: !Equals [!Ref Legacy, "true"]
  StrictProd: !And [!Condition IsProd, !Not [!Condition IsLegacy]]
  AnyLegacy: !Or [!Condition IsLegacy, !Equals [!Ref "AWS::Region", eu-west-1]]
Resources:
  Web:
    Type: AWS::EC2::Instance
    Properties:
      MetadataOptions:
        HttpTokens: !If [IsProd, required, optional]
  ProdOnly:
    Type: AWS::EC2::Instance
    Condition: IsProd
    Properties: {}
  Strict:
    Type: AWS::EC2::Instance
    Properties:
      MetadataOptions:
        HttpTokens: !If [StrictProd, required, optional]
  Maybe:
    Type: AWS::EC2::Instance
    Properties:
      MetadataOptions:
        HttpTokens: !If [AnyLegacy, optional, required]
"""


def test_conditions_are_evaluated_from_parameter_defaults() -> None:
    found = rules("t.yaml", CONDITIONS)
    assert found == [
        # IsProd is false with the default: only "optional" remains, and the finding points
        # at the default that decides it (Environment's, line 2)
        ("IMDS002", "Web", 2),
        # ProdOnly's Condition is false under the defaults, but Environment is unconstrained:
        # the stack creates it when Environment is prod, so it is evaluated (issue 15)
        ("IMDS001", "ProdOnly", 16),
        # And(IsProd, Not IsLegacy) is false only because IsProd is: Environment's default
        # decides it too (issue 15, pattern 5)
        ("IMDS002", "Strict", 2),
        ("IMDS002", "Maybe", 28),  # Or(false, unknown) is unknown: both branches, one weak
    ]
    targets, _ = scan("t.yaml", CONDITIONS)
    (prod_only,) = [t for t in targets if t.address == "ProdOnly"]
    assert prod_only.only_when == "condition IsProd is true (Environment is prod)"
    (maybe,) = [
        v
        for t in targets
        if t.address == "Maybe"
        for v in t.settings["tokens"]
        if v.value == "optional"
    ]
    assert maybe.condition == "condition AnyLegacy is true"


def test_condition_no_allowed_value_makes_true_creates_nothing() -> None:
    targets, _ = scan(
        "t.yaml",
        """
        Parameters:
          Tier: {Type: String, Default: web, AllowedValues: [web, worker]}
        Conditions:
          IsBatch: !Equals [!Ref Tier, batch]
        Resources:
          Batch:
            Type: AWS::EC2::Instance
            Condition: IsBatch
            Properties: {}
        """,
    )
    assert targets == []


def test_nested_if_labels_both_conditions() -> None:
    targets, _ = scan(
        "t.yaml",
        """
        Resources:
          Web:
            Type: AWS::EC2::Instance
            Properties:
              MetadataOptions:
                HttpTokens: !If [A, !If [B, required, optional], required]
        """,
    )
    (value,) = [v for v in targets[0].settings[TOKENS] if v.value == "optional"]
    assert value.condition == "condition A is true and condition B is false"


def test_options_behind_a_condition_are_unknown() -> None:
    assert rules(
        "t.yaml",
        """
        Resources:
          Web:
            Type: AWS::EC2::Instance
            Properties:
              MetadataOptions: !If [Prod, {HttpTokens: required}, !Ref AWS::NoValue]
        """,
    ) == [("IMDS004", "Web", 5)]


def test_no_value_outside_a_condition_is_not_set() -> None:
    assert rules(
        "t.yaml",
        """
        Resources:
          Web:
            Type: AWS::EC2::Instance
            Properties:
              MetadataOptions:
                HttpTokens: !Ref AWS::NoValue
        """,
    ) == [("IMDS002", "Web", 5)]  # the MetadataOptions key


def test_find_in_map_with_a_dynamic_key_is_unknown() -> None:
    assert rules(
        "t.yaml",
        """
        Mappings:
          Tokens:
            eu-west-1: {value: optional}
        Resources:
          Web:
            Type: AWS::EC2::Instance
            Properties:
              MetadataOptions:
                HttpTokens: !FindInMap [Tokens, !Ref AWS::Region, value]
        """,
    ) == [("IMDS004", "Web", 9)]


def test_duplicate_keys_are_reported() -> None:
    _, errors = scan(
        "t.yaml",
        """
        Resources:
          Web:
            Type: AWS::EC2::Instance
            Properties: {}
          Web:
            Type: AWS::S3::Bucket
        """,
    )
    assert [(e.line, e.message) for e in errors] == [(5, "duplicate key 'Web'")]


def test_resource_without_properties() -> None:
    assert rules(
        "t.yaml",
        """
        Resources:
          Fleet:
            Type: AWS::AppStream::Fleet
          Web:
            Type: AWS::EC2::Instance
        """,
    ) == [("IMDS002", "Fleet", 3), ("IMDS001", "Web", 5)]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deploy.yaml", "apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n"),
        ("package.json", '{"name": "x", "version": "1.0.0"}'),
        ("broken.yaml", "a: [unclosed\n"),
        ("other.json", '{"Resources": {"A": {"Type": "Something"}}, "AWS::": 1}'),
        ("booking.json", '{"Reservations": {"table": 4}, "note": "ImageId"}'),
        ("docs.json", '{"text": "see AWS::EC2::Instance", "MetadataOptions": "n/a"}'),
    ],
)
def test_other_documents_are_skipped_silently(name: str, text: str) -> None:
    assert data.parse(name, text.encode()) == ([], [])


# --- EC2 API ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "shape"),
    [
        ({"LaunchTemplateVersions": []}, "describe-launch-template-versions"),
        ({"Reservations": []}, "describe-instances"),
        ({"AccountLevel": {}}, "get-instance-metadata-defaults"),
        ({"LaunchTemplateName": "x", "LaunchTemplateData": {}}, "create-launch-template"),
        ({"InstanceId": "i-1", "HttpTokens": "required"}, "modify-instance-metadata-options"),
        ({"HttpTokens": "required"}, "modify-instance-metadata-defaults"),
        ({"HttpTokensEnforced": "enabled"}, "modify-instance-metadata-defaults"),
        ({"ImageId": "a", "MinCount": 1, "MaxCount": 1}, "run-instances"),
        ({"ImageId": "a", "MetadataOptions": {}}, "launch-template-data"),
        ({"ImageId": "a", "InstanceType": "t3.micro", "KeyName": "k"}, "launch-template-data"),
        ({"ImageId": "a"}, None),
        ({"name": "x"}, None),
    ],
)
def test_ec2_shapes(doc: dict, shape: str | None) -> None:
    assert ec2api.classify(parse_json(json.dumps(doc))) == shape


def test_modify_without_tokens_changes_nothing() -> None:
    assert rules("m.json", '{"InstanceId": "i-1", "HttpPutResponseHopLimit": 1}') == []


# --- Terraform JSON -----------------------------------------------------------------------------


def test_tf_json_escaped_template_is_literal() -> None:
    text = json.dumps(
        {
            "resource": [
                {
                    "aws_instance": {
                        "a": {"metadata_options": {"http_tokens": "$${not_a_template}"}},
                        "b": {"metadata_options": {"http_tokens": "%{if true}x%{endif}"}},
                    }
                }
            ]
        },
        indent=1,
    )
    targets, errors = scan("m.tf.json", text)
    assert errors == []
    a, b = targets
    assert a.settings[TOKENS][0].value == "${not_a_template}"
    assert not b.settings[TOKENS][0].known


def test_tf_json_without_resources_is_not_parsed() -> None:
    assert data.parse("vars.tf.json", b"{ not json at all") == ([], [])


def test_cloudformation_parameters_from_the_command_line(cli, tmp_path) -> None:
    (tmp_path / "stack.yaml").write_text(CONDITIONS)
    (tmp_path / "params.json").write_text(
        '[{"ParameterKey": "Environment", "ParameterValue": "prod"}]'
    )
    run = cli(
        "check", "--format", "json", "--parameters", "params.json", "stack.yaml", cwd=tmp_path
    )
    resources = [(f["rule_id"], f["resource"]) for f in run.json()["findings"]]
    # prod: Web takes the "required" branch, ProdOnly exists (and has no options), Strict is strict
    assert resources == [("IMDS001", "ProdOnly"), ("IMDS002", "Maybe")]
    run = cli(
        "check",
        "--format",
        "json",
        "--parameters",
        "params.json",
        "--parameter",
        "Legacy=true",
        "stack.yaml",
        cwd=tmp_path,
    )
    assert ("IMDS002", "Strict") in [(f["rule_id"], f["resource"]) for f in run.json()["findings"]]
    bad = cli("check", "--parameter", "NoEquals", "stack.yaml", cwd=tmp_path)
    assert bad.code == 2 and "expected Key=Value" in bad.err


def test_parameter_override_is_reported_at_the_ref(cli, tmp_path) -> None:
    (tmp_path / "stack.yaml").write_text(
        "Parameters:\n  Tokens: {Type: String, Default: required}\n"
        "Resources:\n  Web:\n    Type: AWS::EC2::Instance\n    Properties:\n"
        "      MetadataOptions:\n        HttpTokens: !Ref Tokens\n"
    )
    assert cli("check", "stack.yaml", cwd=tmp_path).code == 0
    run = cli(
        "check", "--format", "json", "--parameter", "Tokens=optional", "stack.yaml", cwd=tmp_path
    )
    (finding,) = run.json()["findings"]
    assert finding["line"] == 8
    assert "parameter Tokens from --parameter Tokens=optional" in finding["message"]
    assert finding["fixable"] is False and "change it where it is given" in finding["fix_note"]


def test_yaml_11_booleans_as_cloudformation_reads_them() -> None:
    """CloudFormation reads YAML 1.1: a plain yes/no/on/off is a boolean; quoted, a string."""
    template = """
        AWSTemplateFormatVersion: "2010-09-09"
        Resources:
          Yes:
            Type: AWS::AppStream::Fleet
            Properties:
              DisableIMDSV1: yes
          Quoted:
            Type: AWS::AppStream::Fleet
            Properties:
              DisableIMDSV1: "yes"
          Off:
            Type: AWS::AppStream::Fleet
            Properties:
              DisableIMDSV1: Off
        """
    assert rules("t.yaml", template) == [("IMDS002", "Quoted", 10), ("IMDS002", "Off", 14)]


def test_target_readers_of_other_tools_are_not_imported_for_files_that_are_not_theirs(
    tmp_path: Path,
) -> None:
    """A GitHub workflow and a plain Python script name no EC2 module, Karpenter, eksctl, CDK
    or Packer source: their readers' modules are never imported (a byte search decides), so a
    pre-commit run on such files pays no import. A CDK app imports the CDK reader."""
    import subprocess
    import sys

    (tmp_path / "ci.yml").write_text(
        "name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: make test\n"
    )
    (tmp_path / "tool.py").write_text("import json\n\nprint(json.dumps({'ok': True}))\n")
    app = tmp_path / "app"
    app.mkdir()
    (app / "stack.py").write_text(
        "from aws_cdk import Stack\nfrom aws_cdk import aws_ec2 as ec2\n\n\n"
        "class Web(Stack):\n    pass\n"
    )
    probe = (
        "import sys\nfrom imds_iac_checks.cli import main\n"
        "try:\n    main(['check', '--exit-zero', '-q', *sys.argv[1:]])\nexcept SystemExit:\n"
        "    pass\n"
        "names = ('ansible', 'kubernetes', 'eksctl', 'cdk', 'packer_targets')\n"
        "print(sorted(n for n in names if 'imds_iac_checks.formats.' + n in sys.modules))\n"
    )
    root = str(Path(__file__).resolve().parent.parent)

    def loaded(*paths: Path) -> str:
        run = subprocess.run(
            [sys.executable, "-c", probe, *map(str, paths)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": root, "IMDS_IAC_JOBS": "1"},
            check=True,
        )
        return run.stdout.strip().splitlines()[-1]

    assert loaded(tmp_path / "ci.yml", tmp_path / "tool.py") == "[]"
    assert loaded(app / "stack.py") == "['cdk']"
