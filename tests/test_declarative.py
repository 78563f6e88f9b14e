"""Account defaults: EC2 declarative policies (``ec2_attributes.instance_metadata_defaults``) as
files of their own and inside other documents, the ``modify-instance-metadata-defaults`` request
and ``get-instance-metadata-defaults`` output of the AWS CLI, and the absence of a CloudFormation
resource for the defaults."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from imds_iac_checks.engine import Context, evaluate
from imds_iac_checks.formats import data, declarative, policy
from imds_iac_checks.formats.doc import Locator, parse_json, parse_yaml
from imds_iac_checks.formats.structured import make_payload, parts_of, scalar_runs
from imds_iac_checks.model import ENDPOINT, HOP_LIMIT, TOKENS, LinkKind, Span, Target
from tests.conftest import findings, write

# A declarative policy as an organisation keeps it next to its SCPs (what `aws organizations
# create-policy --type DECLARATIVE_POLICY_EC2 --content file://imds-defaults.json` takes).
POLICY = """\
{
  "ec2_attributes": {
    "instance_metadata_defaults": {
      "http_tokens": {
        "@@assign": "optional"
      },
      "http_put_response_hop_limit": {
        "@@assign": "4"
      },
      "http_endpoint": {
        "@@assign": "no_preference"
      },
      "instance_metadata_tags": {
        "@@assign": "no_preference"
      }
    },
    "exception_message": {
      "@@assign": "IMDS defaults are managed by the cloud platform team"
    }
  }
}
"""


def read_file(name: str, text: str) -> list[Target]:
    policies, targets, errors = policy.read_data(name, text.encode())
    assert (policies, errors) == ([], [])
    return targets


def judged(target: Target, hop_limit: int = 1) -> list[tuple[str, str]]:
    return [(f.rule_id, f.message) for f in evaluate(target, Context(hop_limit=hop_limit))]


def at(span: Span) -> tuple[int, int, int, int]:
    return span.line, span.column, span.end_line, span.end_column


# --- the document ------------------------------------------------------------------------------


def test_a_policy_file_is_one_account_defaults_target() -> None:
    (target,) = read_file("policies/imds-defaults.json", POLICY)
    assert target.spec is declarative.SPEC
    assert target.spec.account_default and not target.spec.needs_block
    assert (target.kind, target.address, target.format) == (
        "DECLARATIVE_POLICY_EC2",
        "ec2_attributes.instance_metadata_defaults",
        "json",
    )
    assert at(target.block_span) == (3, 35, 16, 6)  # type: ignore[arg-type]
    tokens, hops, endpoint = (target.settings[k][0] for k in (TOKENS, HOP_LIMIT, ENDPOINT))
    assert (tokens.value, hops.value, hops.raw, endpoint.value) == (
        "optional",
        4,
        "4",
        "no_preference",
    )
    # each value points at what `@@assign` writes, quotes included
    assert at(tokens.span) == (5, 21, 5, 31)
    assert at(hops.span) == (8, 21, 8, 24)
    assert tokens.provenance[0].kind == LinkKind.LITERAL
    assert judged(target) == [
        (
            "IMDS002",
            '[ec2_attributes.instance_metadata_defaults] http_tokens is "optional"; '
            'set it to "required"',
        ),
        (
            "IMDS003",
            '[ec2_attributes.instance_metadata_defaults] http_put_response_hop_limit is "4", '
            "above the limit of 1; set it to 1",
        ),
    ]
    assert judged(target, hop_limit=4) == judged(target)[:1]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # no_preference leaves the tokens to the other defaults: IMDSv1 stays allowed
        ('"http_tokens": {"@@assign": "no_preference"}', ["IMDS002"]),
        ('"http_tokens": {"@@assign": "required"}', []),
        # the endpoint is off by default: nothing to enforce
        (
            '"http_tokens": {"@@assign": "optional"}, "http_endpoint": {"@@assign": "disabled"}',
            [],
        ),
        # -1 is no preference (AWS's default hop limit, 1, applies); a number is a number
        (
            '"http_tokens": {"@@assign": "required"}, '
            '"http_put_response_hop_limit": {"@@assign": -1}',
            [],
        ),
        ('"http_put_response_hop_limit": {"@@assign": "-1"}', []),
        ('"http_put_response_hop_limit": {"@@assign": 2}', ["IMDS003"]),
        # a field this policy does not assign is its parent's or the account's: no finding
        ('"http_put_response_hop_limit": {"@@assign": 1}', []),
        (
            '"http_tokens": {"@@operators_allowed_for_child_policies": ["@@none"]}',
            [],
        ),
        # AWS wants @@assign; a bare value still says what its author meant
        ('"http_tokens": "optional"', ["IMDS002"]),
    ],
)
def test_fields(fields: str, expected: list[str]) -> None:
    text = '{"ec2_attributes": {"instance_metadata_defaults": {' + fields + "}}}"
    (target,) = read_file("p.json", text)
    assert [rule for rule, _ in judged(target)] == expected


def test_other_ec2_attributes_are_no_target() -> None:
    text = json.dumps(
        {
            "ec2_attributes": {
                "image_block_public_access": {"state": {"@@assign": "block_new_sharing"}}
            }
        }
    )
    assert read_file("p.json", text) == []


def test_targets_through_a_place_maps_a_document_held_in_a_string() -> None:
    """The interface the other readers use (Terraform's aws_organizations_policy, a template's
    Content): a document parsed from a string, its offsets mapped to the file by ``place``."""
    inner = {
        "ec2_attributes": {"instance_metadata_defaults": {"http_tokens": {"@@assign": "optional"}}}
    }
    file = "content = " + json.dumps(json.dumps(inner)) + "\n"
    loc = Locator("org.json", file)
    string = parse_json(file[file.index('"') : file.rindex('"') + 1])
    string.start += file.index('"')  # the string node as it stands in the file
    string.end += file.index('"')
    runs = scalar_runs(file, string, json_file=True)
    assert runs is not None
    payload = make_payload(loc, parts_of(*runs), loc.node_span(string), "policy")
    document = parse_json(payload.text)
    whole = loc.node_span(string)
    (target,) = declarative.targets(
        document,
        policy.in_payload(payload),
        address="aws_organizations_policy.imds",
        path="org.json",
        whole=whole,
        format="terraform",
    )
    (value,) = target.settings[TOKENS]
    # the quotes are escapes (\"): the value points at the text between them, as written
    assert file[value.span.start_byte : value.span.end_byte] == "optional"
    assert (target.address, target.format, target.span) == (
        "aws_organizations_policy.imds",
        "terraform",
        whole,
    )
    # an expression (here a tagged node, as a reader marks one) is unknown: IMDS004
    document.get("ec2_attributes").get("instance_metadata_defaults").get("http_tokens").get(  # type: ignore[union-attr]
        "@@assign"
    ).tag = "${var.tokens}"
    (target,) = declarative.targets(
        document,
        policy.in_payload(payload),
        address="a",
        path="org.json",
        whole=whole,
        format="terraform",
    )
    (value,) = target.settings[TOKENS]
    assert not value.known and value.expression == '${var.tokens} "optional"'
    assert [rule for rule, _ in judged(target)] == ["IMDS004"]


# --- through the CLI: check and fix ------------------------------------------------------------


def test_check_and_fix_a_policy_file(cli, tmp_path: Path) -> None:
    path = write(tmp_path, "policies/imds-defaults.json", POLICY)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert findings(run) == [
        ("IMDS002", "ec2_attributes.instance_metadata_defaults", 5),
        ("IMDS003", "ec2_attributes.instance_metadata_defaults", 8),
    ]
    assert {f["kind"] for f in run.json()["findings"]} == {"DECLARATIVE_POLICY_EC2"}
    assert all(f["fix"] == "safe" for f in run.json()["findings"])
    run = cli("fix", ".", cwd=tmp_path)
    assert run.code == 0, run.out
    fixed = path.read_text(encoding="utf-8")
    assert fixed == POLICY.replace('"optional"', '"required"').replace('"4"', '"1"')
    assert cli("check", ".", cwd=tmp_path).code == 0


TEMPLATE_YAML = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  DefaultTokens:
    Type: String
    AllowedValues: [optional, required, no_preference]
    Default: optional
Resources:
  ImdsDefaults:
    Type: AWS::Organizations::Policy
    Properties:
      Name: imds-defaults
      Type: DECLARATIVE_POLICY_EC2
      TargetIds: [ou-ab12-workload1]
      Content:
        ec2_attributes:
          instance_metadata_defaults:
            http_tokens:
              "@@assign": !Ref DefaultTokens
            http_put_response_hop_limit:
              "@@assign": 2
            http_endpoint:
              "@@assign": enabled
"""


def test_a_template_parameter_is_followed(cli, tmp_path: Path) -> None:
    (target,) = read_file("org.yaml", TEMPLATE_YAML)
    (tokens,) = target.settings[TOKENS]
    assert (tokens.value, tokens.span.line) == ("optional", 6)  # the parameter's default
    assert tokens.provenance[0].kind == LinkKind.PARAMETER_DEFAULT
    assert (target.address, target.format, target.header.line) == (
        "ImdsDefaults",
        "cloudformation",
        16,
    )
    write(tmp_path, "org.yaml", TEMPLATE_YAML)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert findings(run) == [("IMDS002", "ImdsDefaults", 6), ("IMDS003", "ImdsDefaults", 20)]
    # the parameter default may be shared: its fix is unsafe; the literal is safe
    assert [f["fix"] for f in run.json()["findings"]] == ["unsafe", "safe"]
    cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    after = (tmp_path / "org.yaml").read_text(encoding="utf-8")
    assert after == TEMPLATE_YAML.replace("Default: optional", "Default: required").replace(
        '"@@assign": 2', '"@@assign": 1'
    )


def test_fix_inside_json_strings_and_block_scalars(cli, tmp_path: Path) -> None:
    """A declarative policy held in a string (a JSON template's Content, a YAML block scalar):
    the fix writes the new literal where the old one is written, escapes untouched."""
    inner = {
        "ec2_attributes": {
            "instance_metadata_defaults": {
                "http_tokens": {"@@assign": "optional"},
                "http_put_response_hop_limit": {"@@assign": 3},
            }
        }
    }
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Defaults": {
                "Type": "AWS::Organizations::Policy",
                "Properties": {
                    "Name": "d",
                    "Type": "DECLARATIVE_POLICY_EC2",
                    "Content": json.dumps(inner),
                },
            }
        },
    }
    write(tmp_path, "org.json", json.dumps(template, indent=2))
    block = textwrap.indent(json.dumps(inner, indent=2), " " * 8)
    yaml_text = (
        "Resources:\n  Defaults:\n    Type: AWS::Organizations::Policy\n    Properties:\n"
        "      Name: d\n      Type: DECLARATIVE_POLICY_EC2\n      Content: |\n" + block + "\n"
    )
    write(tmp_path, "org.yaml", yaml_text)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    found = {}
    for f in run.json()["findings"]:
        line = (tmp_path / f["path"]).read_text(encoding="utf-8").splitlines()[f["line"] - 1]
        found[(f["path"], f["rule_id"])] = line[f["column"] - 1 : f["end_column"] - 1]
    # each finding points at the literal inside the string, as written there
    assert found == {
        ("org.json", "IMDS002"): "optional",  # between the escaped quotes \"...\"
        ("org.json", "IMDS003"): "3",
        ("org.yaml", "IMDS002"): '"optional"',  # a block scalar writes the JSON as is
        ("org.yaml", "IMDS003"): "3",
    }
    run = cli("fix", ".", cwd=tmp_path)
    assert run.code == 0, run.out
    fixed = json.loads((tmp_path / "org.json").read_text(encoding="utf-8"))
    content = json.loads(fixed["Resources"]["Defaults"]["Properties"]["Content"])
    assert content["ec2_attributes"]["instance_metadata_defaults"] == {
        "http_tokens": {"@@assign": "required"},
        "http_put_response_hop_limit": {"@@assign": 1},
    }
    (root,) = parse_yaml((tmp_path / "org.yaml").read_text(encoding="utf-8"))
    content = json.loads(root.plain()["Resources"]["Defaults"]["Properties"]["Content"])
    assert content["ec2_attributes"]["instance_metadata_defaults"]["http_tokens"] == {
        "@@assign": "required"
    }


# --- modify-instance-metadata-defaults, get-instance-metadata-defaults --------------------------


def test_modify_instance_metadata_defaults_cli_input_json() -> None:
    """``aws ec2 modify-instance-metadata-defaults --cli-input-json file://defaults.json``, in
    the shape ``--generate-cli-skeleton`` writes (``HttpTokensEnforced`` since February 2026)."""
    text = """\
    {
        "HttpTokens": "optional",
        "HttpPutResponseHopLimit": 2,
        "HttpEndpoint": "enabled",
        "InstanceMetadataTags": "disabled",
        "DryRun": false,
        "HttpTokensEnforced": "disabled"
    }
    """
    targets, errors = data.parse("defaults.json", textwrap.dedent(text).encode())
    assert errors == []
    (target,) = targets
    assert (target.kind, target.spec.account_default) == (
        "ec2:ModifyInstanceMetadataDefaults",
        True,
    )
    found = [(f.rule_id, f.span.line, f.fixable) for f in evaluate(target, Context())]
    assert found == [("IMDS002", 2, True), ("IMDS003", 3, True)]
    # enforcement alone is a request too: it leaves the defaults as they are (no finding)
    (only,) = data.parse("enforce.json", b'{"HttpTokensEnforced": "enabled"}')[0]
    assert only.kind == "ec2:ModifyInstanceMetadataDefaults" and only.settings == {}
    assert list(evaluate(only, Context())) == []


def test_get_instance_metadata_defaults_output() -> None:
    """``aws ec2 get-instance-metadata-defaults`` output (recorded state: not fixable), here
    with the defaults a declarative policy manages."""
    text = """\
    {
        "AccountLevel": {
            "HttpTokens": "optional",
            "HttpPutResponseHopLimit": 2,
            "HttpEndpoint": "enabled",
            "HttpTokensEnforced": "disabled",
            "ManagedBy": "declarative-policy",
            "ManagedExceptionMessage": "IMDS defaults are managed by the cloud platform team"
        }
    }
    """
    targets, errors = data.parse("defaults-eu-west-1.json", textwrap.dedent(text).encode())
    assert errors == []
    (target,) = targets
    # what the account has, not what the repository sets: recorded, not a default it writes
    assert (target.kind, target.recorded_state, target.spec.account_default) == (
        "ec2:InstanceMetadataDefaults",
        True,
        False,
    )
    found = [(f.rule_id, f.span.line, f.fixable) for f in evaluate(target, Context())]
    assert found == [("IMDS002", 3, False), ("IMDS003", 4, False)]
    required = textwrap.dedent(text).replace('"optional"', '"required"').replace(": 2,", ": 1,")
    (target,) = data.parse("d.json", required.encode())[0]
    assert list(evaluate(target, Context())) == []


def test_cloudformation_has_no_resource_for_instance_metadata_defaults() -> None:
    """Checked in cfn-lint's bundled resource schemas (the CloudFormation registry's, per
    region): no AWS::EC2 type sets the account's instance metadata defaults; an organisation
    sets them with a declarative policy (AWS::Organizations::Policy, DECLARATIVE_POLICY_EC2)."""
    cfnlint = pytest.importorskip("cfnlint")
    schemas = Path(cfnlint.__file__).parent / "data" / "schemas" / "providers"
    types: set[str] = set()
    for region in sorted(schemas.glob("*.json")):  # one file per region (and SAM's)
        types |= set(json.loads(region.read_text(encoding="utf-8")))
    assert {"AWS::EC2::Instance", "AWS::Organizations::Policy"} <= types
    ec2 = {t for t in types if t.startswith("AWS::EC2::")}
    assert len(ec2) > 100
    assert [t for t in ec2 if "Metadata" in t or "AccountAttribute" in t] == []


def test_a_template_resource_suppresses_its_declarative_finding(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "sandbox.yaml",
        """
        Resources:
          SandboxDefaults:
            Type: AWS::Organizations::Policy
            Metadata:
              imds-iac:
                ignore:
                  - id: IMDS002
                    reason: the sandbox OU keeps IMDSv1 until its migration ends
            Properties:
              Name: sandbox-defaults
              Type: DECLARATIVE_POLICY_EC2
              Content:
                ec2_attributes:
                  instance_metadata_defaults:
                    http_tokens: {"@@assign": optional}
                    http_put_response_hop_limit: {"@@assign": 2}
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert [(f["rule_id"], f["line"], bool(f["suppressed"])) for f in run.json()["findings"]] == [
        ("IMDS002", 15, True),
        ("IMDS003", 16, False),
    ]
