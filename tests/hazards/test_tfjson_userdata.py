"""User data of Terraform JSON (formats/terraform/tfjson.py): ``.tf.json`` strings read as
templates inside JSON strings, and what a plan (``terraform show -json``) records."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from imds_iac_checks.formats import data as data_files
from imds_iac_checks.formats.terraform.tfjson import RECORDED_NO_FIX
from imds_iac_checks.formats.terraform.userdata import BASE64_NO_FIX
from imds_iac_checks.model import Payload, Target
from imds_iac_checks.source import Files

from .helpers import assert_pieces_map, holes

# What ``cdktf synth`` writes for a stack with one instance (cdk.tf.json): the user data a
# TypeScript template literal gave, ``$${`` for a shell ``${`` and a Terraform reference.
SCRIPT = (
    "#!/bin/bash\n"
    "set -euo pipefail\n"
    "REGION=$(curl -s http://169.254.169.254/latest/meta-data/placement/region)\n"
    'echo "$${REGION}" > /etc/region\n'
    "/opt/bootstrap.sh ${var.cluster}\n"
)
CDKTF = {
    "//": {
        "metadata": {"backend": "local", "stackName": "web", "version": "0.20.7"},
        "outputs": {},
    },
    "provider": {"aws": [{"region": "us-east-1"}]},
    "terraform": {
        "backend": {"local": {"path": "terraform.web.tfstate"}},
        "required_providers": {"aws": {"source": "aws", "version": "5.40.0"}},
    },
    "variable": {"cluster": {"type": "string"}},
    "resource": {
        "aws_instance": {
            "web": {
                "//": {"metadata": {"path": "web/web", "uniqueId": "web"}},
                "ami": "ami-0123456789abcdef0",
                "instance_type": "t3.micro",
                "metadata_options": {"http_tokens": "optional"},
                "user_data": SCRIPT,
            }
        }
    },
}


def write_json(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def parse(root: Path, name: str) -> dict[str, Target]:
    path = root / name
    targets, errors = data_files.parse(name, path.read_bytes(), origin=str(path), files=Files())
    assert not errors, errors
    return {t.address: t for t in targets}


def only(target: Target) -> Payload:
    assert len(target.user_data) == 1, target.user_data
    payload = target.user_data[0]
    assert payload.owner == target.address and payload.what == "user data"
    return payload


def test_cdktf_user_data_is_a_template_in_a_json_string(tmp_path: Path) -> None:
    write_json(tmp_path / "cdk.tf.json", CDKTF)
    payload = only(parse(tmp_path, "cdk.tf.json")["aws_instance.web"])
    assert payload.text == SCRIPT.replace("$${", "${")
    assert_pieces_map(payload, tmp_path)
    reference = payload.text.index("${var.cluster}")
    assert holes(payload) == [(reference, reference + len("${var.cluster}"))]
    assert {p.escape for p in payload.pieces} == {"hcl-template+json"}
    # each JSON escape is a piece of its own, and so is the template's $${
    escapes = [
        (payload.text[p.start : p.end], p.span.end_byte - p.span.start_byte)
        for p in payload.pieces
        if p.end - p.start != p.span.end_byte - p.span.start_byte
    ]
    assert escapes == [("\n", 2)] * 3 + [('"', 2), ("${", 3), ('"', 2), ("\n", 2), ("\n", 2)]
    curl = payload.located(payload.text.index("curl"), payload.text.index("curl") + 4)
    assert curl is not None
    line = (tmp_path / "cdk.tf.json").read_text().splitlines()[curl.line - 1]
    assert line.lstrip().startswith('"user_data": "#!/bin/bash\\nset -euo pipefail\\nREGION=')
    assert line[curl.column - 1 :].startswith("curl -s http://169.254.169.254/")
    assert payload.no_fix == "" and payload.span.line == curl.line


def test_check_points_at_the_call_in_the_json_string(tmp_path: Path, cli: Any) -> None:
    write_json(tmp_path / "cdk.tf.json", CDKTF)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    findings = [f for f in run.json()["findings"] if f["rule_id"] == "IMDS007"]
    assert len(findings) == 1, run.out
    found = findings[0]
    line = (tmp_path / "cdk.tf.json").read_text().splitlines()[found["line"] - 1]
    assert '"user_data": ' in line
    assert line[found["column"] - 1 :].startswith("curl -s http://169.254.169.254/latest/")
    assert found["path"] == "cdk.tf.json" and found["resource"] == "aws_instance.web"
    assert found["fixable"] is True


def test_fix_keeps_the_json_valid_and_escapes_the_token_line(tmp_path: Path, cli: Any) -> None:
    path = write_json(tmp_path / "cdk.tf.json", CDKTF)
    run = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert run.code == 0, run.out + run.err
    text = path.read_text()
    doc = json.loads(text)  # still valid JSON
    user_data = doc["resource"]["aws_instance"]["web"]["user_data"]
    assert user_data.splitlines()[:4] == [
        "#!/bin/bash",
        "set -euo pipefail",
        'TOKEN=$(curl -s -X PUT "http://169.254.169.254/latest/api/token" '
        '-H "X-aws-ec2-metadata-token-ttl-seconds: 21600")',
        'REGION=$(curl -H "X-aws-ec2-metadata-token: $${TOKEN}" '
        "-s http://169.254.169.254/latest/meta-data/placement/region)",
    ]
    assert user_data.endswith('echo "$${REGION}" > /etc/region\n/opt/bootstrap.sh ${var.cluster}\n')
    # written with the JSON string's escapes
    assert '\\nTOKEN=$(curl -s -X PUT \\"http://169.254.169.254/latest/api/token\\" -H ' in text
    assert '-H \\"X-aws-ec2-metadata-token: $${TOKEN}\\" -s http' in text
    assert doc["resource"]["aws_instance"]["web"]["metadata_options"] == {"http_tokens": "required"}
    again = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert again.code == 0 and again.json()["findings"] == [], again.out


def test_file_and_base64encode_read_the_script_next_to_the_file(tmp_path: Path) -> None:
    script = "#!/bin/bash\nID=$(wget -qO- http://169.254.169.254/latest/meta-data/instance-id)\n"
    (tmp_path / "stack" / "scripts").mkdir(parents=True)
    (tmp_path / "stack" / "scripts" / "init.sh").write_text(script)
    resources = {
        "aws_launch_template": {
            "app": {
                "name_prefix": "app-",
                "image_id": "ami-0123456789abcdef0",
                "user_data": '${base64encode(file("${path.module}/scripts/init.sh"))}',
            }
        },
        "aws_instance": {
            "bastion": {
                "ami": "ami-0123456789abcdef0",
                "user_data": '#!/bin/bash\n${file("scripts/init.sh")}\necho done\n',
            },
            "legacy": {
                "ami": "ami-0123456789abcdef0",
                "user_data_base64": base64.b64encode(script.encode()).decode(),
            },
            "missing": {"ami": "ami-0123456789abcdef0", "user_data": '${file("nope.sh")}'},
        },
    }
    write_json(tmp_path / "stack" / "main.tf.json", {"resource": resources})
    found = parse(tmp_path / "stack", "main.tf.json")
    app = only(found["aws_launch_template.app"])
    assert app.text == script and app.no_fix == ""
    assert [(p.span.path, p.escape) for p in app.pieces] == [("scripts/init.sh", "raw")]
    assert_pieces_map(app, tmp_path / "stack")
    bastion = only(found["aws_instance.bastion"])
    assert bastion.text == "#!/bin/bash\n" + script + "\necho done\n"
    assert {p.span.path for p in bastion.pieces} == {"main.tf.json", "scripts/init.sh"}
    assert holes(bastion) == []
    assert_pieces_map(bastion, tmp_path / "stack")
    legacy = only(found["aws_instance.legacy"])
    assert (legacy.text, legacy.pieces, legacy.no_fix) == (script, (), BASE64_NO_FIX)
    assert found["aws_instance.missing"].user_data == ()  # nothing known to read


def plan(user_data_b64: str) -> dict[str, Any]:
    """``terraform show -json`` of a plan creating a launch template and an instance (AWS
    provider 5.x: the instance's user_data is recorded as the SHA-1 of the text)."""

    def change(address: str, kind: str, after: dict[str, Any]) -> dict[str, Any]:
        return {
            "address": address,
            "mode": "managed",
            "type": kind,
            "name": address.split(".")[1],
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "change": {
                "actions": ["create"],
                "before": None,
                "after": after,
                "after_unknown": {"arn": True, "id": True, "metadata_options": [{}]},
                "before_sensitive": False,
                "after_sensitive": {"metadata_options": [{}], "tags": {}},
            },
        }

    options = [{"http_endpoint": "enabled", "http_tokens": "required"}]
    return {
        "format_version": "1.2",
        "terraform_version": "1.7.5",
        "planned_values": {"root_module": {}},
        "resource_changes": [
            change(
                "aws_launch_template.app",
                "aws_launch_template",
                {
                    "image_id": "ami-0123456789abcdef0",
                    "metadata_options": options,
                    "name_prefix": "app-",
                    "user_data": user_data_b64,
                },
            ),
            change(
                "aws_instance.web",
                "aws_instance",
                {
                    "ami": "ami-0123456789abcdef0",
                    "metadata_options": options,
                    "user_data": "5f1ea4d6f0d1c2f3b0b5d9e8f2a4c6d8e0f1a2b3",
                    "user_data_replace_on_change": False,
                },
            ),
        ],
    }


BOOT = (
    "#!/bin/bash\n"
    "yum install -y amazon-cloudwatch-agent\n"
    "REGION=$(curl -s http://169.254.169.254/latest/meta-data/placement/region)\n"
)


def test_plan_records_launch_template_user_data_but_only_a_hash_for_instances(
    tmp_path: Path,
) -> None:
    write_json(tmp_path / "plan.json", plan(base64.b64encode(BOOT.encode()).decode()))
    found = parse(tmp_path, "plan.json")
    template = only(found["aws_launch_template.app"])
    assert (template.text, template.pieces, template.no_fix) == (BOOT, (), RECORDED_NO_FIX)
    line = (tmp_path / "plan.json").read_text().splitlines()[template.span.line - 1]
    assert line.strip().startswith('"user_data": "IyEvYmluL2Jhc2')
    assert found["aws_instance.web"].recorded_state
    assert found["aws_instance.web"].user_data == ()  # a SHA-1 hash: nothing to read


def test_plan_imdsv1_call_is_reported_and_not_fixable(tmp_path: Path, cli: Any) -> None:
    write_json(tmp_path / "plan.json", plan(base64.b64encode(BOOT.encode()).decode()))
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    findings = [f for f in run.json()["findings"] if f["rule_id"] == "IMDS007"]
    assert len(findings) == 1, run.out
    assert findings[0]["resource"] == "aws_launch_template.app"
    assert findings[0]["fixable"] is False
    assert findings[0]["path"] == "plan.json"
