"""EC2 API JSON user data: launch-template data holds it base64-encoded (decoded, not
editable), run-instances input holds the script itself (botocore encodes it), describe outputs
are recorded state."""

import base64
import gzip
import json
from pathlib import Path

from imds_iac_checks.formats import data
from imds_iac_checks.model import Payload
from tests.hazards.cfn_helpers import assert_pieces_map, insert, line_starts

SCRIPT = "#!/bin/bash\nREGION=$(curl -s http://169.254.169.254/latest/meta-data/placement/region)\n"


def payloads(path: Path, document: object) -> list[Payload]:
    raw = json.dumps(document, indent=2).encode()
    path.write_bytes(raw)
    targets, errors = data.parse(str(path), raw)
    assert errors == []
    return [p for t in targets for p in t.user_data]


def test_launch_template_data_base64(tmp_path: Path) -> None:
    encoded = base64.b64encode(SCRIPT.encode()).decode()
    document = {
        "LaunchTemplateName": "web",
        "LaunchTemplateData": {
            "ImageId": "ami-0123456789abcdef0",
            "UserData": encoded,
            "MetadataOptions": {"HttpTokens": "optional"},
        },
    }
    (payload,) = payloads(tmp_path / "lt.json", document)
    assert payload.text == SCRIPT
    assert payload.pieces == ()
    assert payload.owner == "web LaunchTemplateData"
    assert "base64-encoded in the file" in payload.no_fix
    raw = (tmp_path / "lt.json").read_bytes()
    assert raw[payload.span.start_byte : payload.span.end_byte] == f'"{encoded}"'.encode()
    # Bare launch-template data (--launch-template-data file://...), gzip-compressed.
    gz = base64.b64encode(gzip.compress(SCRIPT.encode())).decode()
    (bare,) = payloads(tmp_path / "data.json", {"ImageId": "ami-1", "UserData": gz, "KeyName": "k"})
    assert bare.text == SCRIPT and bare.owner == "LaunchTemplateData"


def test_not_base64_or_not_text_is_no_payload(tmp_path: Path) -> None:
    for value in ("#!/bin/bash\necho hi\n", base64.b64encode(b"\xff\xfe\x00binary").decode()):
        document = {"LaunchTemplateData": {"ImageId": "ami-1", "UserData": value}}
        assert payloads(tmp_path / "lt.json", document) == []


def test_run_instances_user_data_is_the_script(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    document = {"ImageId": "ami-1", "MinCount": 1, "MaxCount": 1, "UserData": SCRIPT}
    (payload,) = payloads(path, document)
    raw = path.read_bytes()
    assert payload.text == SCRIPT and payload.owner == "RunInstances" and payload.no_fix == ""
    assert_pieces_map(payload, {str(path): raw})
    assert {p.escape for p in payload.pieces} == {"json"}
    for at in line_starts(payload):
        changed = insert(payload, raw, at, 'X="${A}"\n')
        assert json.loads(changed)["UserData"] == SCRIPT[:at] + 'X="${A}"\n' + SCRIPT[at:]


def test_describe_launch_template_versions_is_recorded_state(tmp_path: Path) -> None:
    encoded = base64.b64encode(SCRIPT.encode()).decode()
    document = {
        "LaunchTemplateVersions": [
            {
                "LaunchTemplateName": "web",
                "VersionNumber": 3,
                "LaunchTemplateData": {"UserData": encoded},
            }
        ]
    }
    (payload,) = payloads(tmp_path / "versions.json", document)
    assert payload.text == SCRIPT
    assert payload.owner == "LaunchTemplateVersions[0] (web v3)"
    assert "recorded state" in payload.no_fix
