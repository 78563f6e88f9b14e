"""CloudFormation user data as payloads (Target.user_data): the text an instance runs, the
pieces of it written literally in the template (with the escape text inserted there needs), and
an insertion through those escapes that a real reader of the template reads back exactly."""

import io
import json
import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from imds_iac_checks import source
from imds_iac_checks.formats import data
from imds_iac_checks.hazards.place import hazard
from imds_iac_checks.model import METADATA_CALL, Found, Payload, Target
from tests.hazards.cfn_helpers import assert_pieces_map, insert, line_starts, verbatim

# The shape of AWS's LAMP_Single_Instance sample: Fn::Base64 over a !Sub literal block, with
# cfn-init and cfn-signal, pseudo parameters, a parameter and an escaped ${!...}.
LAMP = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: LAMP stack on a single instance
Parameters:
  DBName:
    Type: String
    Default: MyDatabase
Resources:
  WebServerInstance:
    Type: AWS::EC2::Instance
    Metadata:
      AWS::CloudFormation::Init:
        configSets:
          InstallAndRun: [Install]
    Properties:
      ImageId: ami-0123456789abcdef0
      InstanceType: t3.micro
      UserData:
        Fn::Base64: !Sub |
          #!/bin/bash -xe
          yum update -y aws-cfn-bootstrap
          ROLE=$(curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/)
          echo "role ${!ROLE} for ${DBName}"
          /opt/aws/bin/cfn-init -v --stack ${AWS::StackName} \\
            --resource WebServerInstance --configsets InstallAndRun --region ${AWS::Region}
          /opt/aws/bin/cfn-signal -e $? --stack ${AWS::StackName} \\
            --resource WebServerInstance --region ${AWS::Region}
"""

LAMP_TEXT = """\
#!/bin/bash -xe
yum update -y aws-cfn-bootstrap
ROLE=$(curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/)
echo "role ${ROLE} for ${DBName}"
/opt/aws/bin/cfn-init -v --stack ${AWS::StackName} \\
  --resource WebServerInstance --configsets InstallAndRun --region ${AWS::Region}
/opt/aws/bin/cfn-signal -e $? --stack ${AWS::StackName} \\
  --resource WebServerInstance --region ${AWS::Region}
"""

# The shape of AWS's old JSON samples: Fn::Join "" over lines, with Ref and Fn::GetAtt parts.
JOIN = r"""{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Parameters": {"DBName": {"Type": "String", "Default": "MyDatabase"}},
  "Resources": {
    "LaunchConfig": {
      "Type": "AWS::AutoScaling::LaunchConfiguration",
      "Properties": {
        "ImageId": "ami-0123456789abcdef0",
        "InstanceType": "t3.micro",
        "UserData": {"Fn::Base64": {"Fn::Join": ["", [
          "#!/bin/bash -xe\n",
          "yum update -y aws-cfn-bootstrap\n",
          "/opt/aws/bin/cfn-init -v ",
          "         --stack ", {"Ref": "AWS::StackName"},
          "         --resource LaunchConfig ",
          "         --region ", {"Ref": "AWS::Region"}, "\n",
          "AZ=$(curl -s http://169.254.169.254/latest/meta-data/placement/availability-zone)\n",
          "echo \"db=", {"Ref": "DBName"}, " az=$AZ \u00e9t\u00e9\" > /etc/app.conf\n",
          "/opt/aws/bin/cfn-signal -e $? '", {"Fn::GetAtt": ["WaitHandle", "Arn"]}, "'\n"
        ]]}}
      }
    }
  }
}
"""

JOIN_TEXT = (
    "#!/bin/bash -xe\n"
    "yum update -y aws-cfn-bootstrap\n"
    "/opt/aws/bin/cfn-init -v          --stack ${AWS::StackName}"
    "         --resource LaunchConfig          --region ${AWS::Region}\n"
    "AZ=$(curl -s http://169.254.169.254/latest/meta-data/placement/availability-zone)\n"
    'echo "db=${DBName} az=$AZ été" > /etc/app.conf\n'
    "/opt/aws/bin/cfn-signal -e $? '${WaitHandle.Arn}'\n"
)

# A launch template with !Base64 over an Fn::Sub in its list form (a variable given a literal),
# in CRLF line ends.
LAUNCH_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  NodeTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateName: nodes
      LaunchTemplateData:
        ImageId: ami-0123456789abcdef0
        MetadataOptions:
          HttpTokens: optional
        UserData: !Base64
          Fn::Sub:
            - |
              #!/bin/bash
              set -o xtrace
              INSTANCE_ID=$(curl -s ${Endpoint}/latest/meta-data/instance-id)
              /etc/eks/bootstrap.sh ${ClusterName} --kubelet-extra-args "--node-labels=$ID"
            - Endpoint: http://169.254.169.254
"""


def targets(path: Path, text: str | bytes) -> list[Target]:
    raw = text.encode() if isinstance(text, str) else text
    path.write_bytes(raw)
    found, errors = data.parse(str(path), raw, origin=str(path), files=source.Files())
    assert errors == []
    return found


def payloads(path: Path, text: str | bytes) -> list[Payload]:
    return [p for t in targets(path, text) for p in t.user_data]


def holes(payload: Payload) -> list[str]:
    """The text of the payload outside every piece, as runs."""
    covered = [False] * len(payload.text)
    for piece in payload.pieces:
        covered[piece.start : piece.end] = [True] * (piece.end - piece.start)
    runs = re.finditer(r"\x00+", "".join("\x00" if not c else "x" for c in covered))
    return [payload.text[m.start() : m.end()] for m in runs]


def sub_unescape(text: str) -> str:
    return re.sub(r"\$\{!", "${", text)


# --- independent readers: the template as json / ruamel.yaml read it ---------------------------


def yaml_user_data(raw: bytes, *path: str | int) -> str:
    """The string under ``path`` as ruamel.yaml reads the template (tags kept), Fn::Sub's
    ``${!`` read as ``${``."""
    node = YAML(typ="rt").load(io.StringIO(raw.decode()))
    for step in path:
        node = node[step]
    value = getattr(node, "value", node)
    assert isinstance(value, str)
    return sub_unescape(value)


def json_join(raw: bytes, logical: str) -> str:
    """An Fn::Join user data as json.loads reads it, each intrinsic part as its hole's word."""
    resource = json.loads(raw)["Resources"][logical]
    parts = resource["Properties"]["UserData"]["Fn::Base64"]["Fn::Join"][1]
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif "Ref" in part:
            out.append("${" + part["Ref"] + "}")
        else:
            out.append("${" + ".".join(part["Fn::GetAtt"]) + "}")
    return "".join(out)


# --- payloads ----------------------------------------------------------------------------------


def test_lamp_sub_literal_block(tmp_path: Path) -> None:
    path = tmp_path / "lamp.yaml"
    (payload,) = payloads(path, LAMP)
    assert payload.text == LAMP_TEXT
    assert (payload.owner, payload.what, payload.no_fix) == ("WebServerInstance", "user data", "")
    assert_pieces_map(payload, {str(path): LAMP.encode()})
    # Every line of text is written under the block's indentation, inside Fn::Sub.
    assert {p.escape for p in payload.pieces} == {"sub+indent:          "}
    # The references are holes kept as written; ${!ROLE} is one escape piece reading ${.
    assert holes(payload) == ["${DBName}"] + ["${AWS::StackName}", "${AWS::Region}"] * 2
    escapes = [p for p in payload.pieces if not verbatim(payload, p)]
    assert [payload.text[p.start : p.end] for p in escapes] == ["${"]
    assert LAMP.encode()[escapes[0].span.start_byte : escapes[0].span.end_byte] == b"${!"
    # A call points at its line in the template.
    call = payload.text.index("curl -s http")
    span = payload.located(call, call + len("curl -s http://169.254.169.254"))
    assert span is not None and (span.line, span.column) == (21, 18)
    assert payload.span.line == 18  # the UserData value


def test_json_join_lines(tmp_path: Path) -> None:
    path = tmp_path / "asg.template"
    (payload,) = payloads(path, JOIN)
    assert payload.text == JOIN_TEXT == json_join(JOIN.encode(), "LaunchConfig")
    assert payload.owner == "LaunchConfig"
    assert_pieces_map(payload, {str(path): JOIN.encode()})
    assert {p.escape for p in payload.pieces} == {"json"}
    assert holes(payload) == [
        "${AWS::StackName}",
        "${AWS::Region}",
        "${DBName}",
        "${WaitHandle.Arn}",
    ]
    # Each backslash escape is its own piece: \n is one character over two bytes.
    newline = next(p for p in payload.pieces if payload.text[p.start : p.end] == "\n")
    assert newline.span.end_byte - newline.span.start_byte == 2
    accented = [p for p in payload.pieces if payload.text[p.start : p.end] == "é"]
    assert len(accented) == 2 and all(p.span.end_byte - p.span.start_byte == 6 for p in accented)


def test_launch_template_base64_sub_list_form_crlf(tmp_path: Path) -> None:
    path = tmp_path / "nodes.yaml"
    raw = LAUNCH_TEMPLATE.replace("\n", "\r\n").encode()
    (target,) = targets(path, raw)
    (payload,) = target.user_data
    assert payload.text == (
        "#!/bin/bash\n"
        "set -o xtrace\n"
        "INSTANCE_ID=$(curl -s http://169.254.169.254/latest/meta-data/instance-id)\n"
        '/etc/eks/bootstrap.sh ${ClusterName} --kubelet-extra-args "--node-labels=$ID"\n'
    )
    assert payload.owner == "NodeTemplate"
    assert_pieces_map(payload, {str(path): raw})
    # The variable's value maps to where the Sub map writes it (a plain scalar: no insertion).
    host = payload.text.index("http://169")
    span = payload.located(host, host + len("http://169.254.169.254"))
    assert span is not None and span.line == 18
    endpoint = next(p for p in payload.pieces if p.start == host)
    assert endpoint.escape == ""
    # CRLF line ends: each is an escape piece reading "\n".
    crlf = [p for p in payload.pieces if payload.text[p.start : p.end] == "\n"]
    assert crlf and all(raw[p.span.start_byte : p.span.end_byte] == b"\r\n" for p in crlf)


SPOT_AND_STYLES = """\
AWSTemplateFormatVersion: "2010-09-09"
Conditions:
  Never: !Equals [a, b]
Resources:
  Fleet:
    Type: AWS::EC2::SpotFleet
    Properties:
      SpotFleetRequestConfigData:
        IamFleetRole: arn:aws:iam::123456789012:role/fleet
        TargetCapacity: 2
        LaunchSpecifications:
          - ImageId: ami-1
            UserData: !Base64 "#!/bin/bash\\ncurl \\"http://169.254.169.254/latest/meta-data/\\"\\n"
          - ImageId: ami-2
            UserData:
              Fn::Base64: 'echo it''s
                folded'
  Plain:
    Type: AWS::EC2::Instance
    Properties:
      UserData: "#!/bin/bash\\nwget -q -O - http://169.254.169.254/latest/meta-data/ \\
        || true\\n"
  Folded:
    Type: AWS::EC2::Instance
    Properties:
      UserData:
        Fn::Base64: >
          #!/bin/sh
          curl http://169.254.169.254/
  Chosen:
    Type: AWS::EC2::Instance
    Properties:
      UserData:
        Fn::Base64: !If [Never, "echo never\\n", !Join ["\\n", ["echo a", !Ref AWS::Region]]]
"""


def test_spot_fleet_quoted_styles_and_conditions(tmp_path: Path) -> None:
    path = tmp_path / "styles.yaml"
    raw = SPOT_AND_STYLES.encode()
    found = {t.address: t.user_data for t in targets(path, raw)}
    for payloads_of in found.values():
        for payload in payloads_of:
            assert_pieces_map(payload, {str(path): raw})
    first, second = found["Fleet"]
    assert first.text == '#!/bin/bash\ncurl "http://169.254.169.254/latest/meta-data/"\n'
    assert {p.escape for p in first.pieces} == {"yaml-dq"}
    assert (first.owner, second.owner) == ("Fleet", "Fleet")
    assert second.text == "echo it's folded"
    assert {p.escape for p in second.pieces} == {"yaml-sq"}
    assert holes(second) == [" "]  # the folded line break
    # A literal without Fn::Base64 (EC2 would refuse it) is still what is meant to run.
    (plain,) = found["Plain"]
    assert (
        plain.text == "#!/bin/bash\nwget -q -O - http://169.254.169.254/latest/meta-data/ || true\n"
    )
    (folded,) = found["Folded"]
    assert folded.text == "#!/bin/sh curl http://169.254.169.254/\n"
    assert {p.escape for p in folded.pieces} == {""}  # folding: nothing can be inserted
    # Fn::If decided by its condition: the branch taken, a Join with "\n" between its parts.
    (chosen,) = found["Chosen"]
    assert chosen.text == "echo a\n${AWS::Region}"


def test_undecided_if_gives_one_payload_per_branch(tmp_path: Path) -> None:
    template = """\
Parameters:
  Env: {Type: String}
Conditions:
  Prod: !Equals [!Ref Env, prod]
Resources:
  Web:
    Type: AWS::EC2::Instance
    Properties:
      UserData: !Base64
        Fn::If: [Prod, "echo prod\\n", !Ref AWS::NoValue]
  Worker:
    Type: AWS::EC2::Instance
    Properties:
      UserData: !Base64
        Fn::If: [Prod, "echo prod\\n", "echo dev\\n"]
"""
    found = {
        t.address: [p.text for p in t.user_data] for t in targets(tmp_path / "t.yaml", template)
    }
    assert found == {"Web": ["echo prod\n"], "Worker": ["echo prod\n", "echo dev\n"]}


def test_nested_stack_payload_owner_is_the_nested_address(tmp_path: Path) -> None:
    (tmp_path / "child.yaml").write_text(LAMP)
    parent = """\
Resources:
  App:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: child.yaml
"""
    found = targets(tmp_path / "parent.yaml", parent)
    (payload,) = [p for t in found for p in t.user_data]
    assert payload.owner == "App/WebServerInstance"
    assert payload.text == LAMP_TEXT
    assert payload.span.path == str(tmp_path / "child.yaml")


# --- end to end: an insertion through the escapes reads back exactly ----------------------------

INSERTED = 'X="${A}"\n'


@pytest.mark.parametrize(
    ("name", "text", "read"),
    [
        (
            "lamp.yaml",
            LAMP,
            lambda raw: yaml_user_data(
                raw, "Resources", "WebServerInstance", "Properties", "UserData", "Fn::Base64"
            ),
        ),
        ("asg.json", JOIN, lambda raw: json_join(raw, "LaunchConfig")),
        (
            "nodes.yaml",
            LAUNCH_TEMPLATE,
            lambda raw: yaml_user_data(
                raw,
                "Resources",
                "NodeTemplate",
                "Properties",
                "LaunchTemplateData",
                "UserData",
                "Fn::Sub",
                0,
            ).replace("${Endpoint}", "http://169.254.169.254"),
        ),
        (
            "sub.json",
            json.dumps(
                {
                    "Resources": {
                        "I": {
                            "Type": "AWS::EC2::Instance",
                            "Properties": {
                                "UserData": {
                                    "Fn::Base64": {
                                        "Fn::Sub": '#!/bin/bash\necho "${AWS::Region}"\ncurl -s http://169.254.169.254/\n'
                                    }
                                }
                            },
                        }
                    }
                },
                indent=2,
            ),
            lambda raw: sub_unescape(
                json.loads(raw)["Resources"]["I"]["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"]
            ),
        ),
        (
            "dq.yaml",
            "Resources:\n  I:\n    Type: AWS::EC2::Instance\n    Properties:\n"
            '      UserData: "#!/bin/bash\\n\\\n        curl http://169.254.169.254/\\n"\n',
            lambda raw: yaml_user_data(raw, "Resources", "I", "Properties", "UserData"),
        ),
    ],
    ids=["yaml-sub-block", "json-join", "yaml-sub-list-form", "json-sub", "yaml-double-quoted"],
)
def test_insertion_at_each_line_start_reads_back(
    tmp_path: Path, name: str, text: str, read
) -> None:
    """At every line start of the user data: the text encoded with the piece's escape, spliced
    into the file, makes the template (as json/ruamel read it, and as imds-iac reads it) hold
    exactly the old user data with the text inserted there."""
    path = tmp_path / name
    raw = text.encode()
    (payload,) = payloads(path, raw)
    assert read(raw) == payload.text
    starts = line_starts(payload)
    assert len(starts) >= 2
    for at in starts:
        changed = insert(payload, raw, at, INSERTED)
        expected = payload.text[:at] + INSERTED + payload.text[at:]
        assert read(changed) == expected, at
        (after,) = payloads(path, changed)
        assert after.text == expected
        assert_pieces_map(after, {str(path): changed})


def test_a_found_hazard_edit_is_placed_through_the_pieces(tmp_path: Path) -> None:
    """hazards.place turns an edit on the payload into a file edit with the piece's escape."""
    path = tmp_path / "lamp.yaml"
    raw = LAMP.encode()
    (payload,) = payloads(path, raw)
    call = payload.text.index("ROLE=$(curl")
    line = (
        "TOKEN=$(curl -s -X PUT http://169.254.169.254/latest/api/token"
        ' -H "X-aws-ec2-metadata-token-ttl-seconds: 21600")\n'
    )
    found = Found(
        METADATA_CALL, call, call + 10, "curl without a token", edits=((call, call, line),)
    )
    placed = hazard(payload, found)
    assert placed.no_fix == "" and len(placed.edits) == 1
    (file, start, end, new) = placed.edits[0]
    assert file == str(path) and start == end
    assert new == line.encode().replace(b"\n", b"\n" + b" " * 10)
    changed = raw[:start] + new + raw[end:]
    value = yaml_user_data(
        changed, "Resources", "WebServerInstance", "Properties", "UserData", "Fn::Base64"
    )
    assert value == payload.text[:call] + line + payload.text[call:]
    # Text that Fn::Sub would read as a reference is escaped: ${TOKEN} is written ${!TOKEN}.
    header = 'curl -H "X-aws-ec2-metadata-token: ${TOKEN}" '
    placed = hazard(payload, found._replace(edits=((call + 5, call + 5, header),)))
    assert b"${!TOKEN}" in placed.edits[0][3]
