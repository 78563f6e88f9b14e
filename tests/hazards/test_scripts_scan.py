"""Script-like files through the scan and the CLI: discovery, cost (a file that names no
metadata service is never parsed), IMDS007 findings at the call, and fix edits placed through
the pieces with each file's escape.

Which analysers these need (other helpers' modules, merged by the lead):
- test_ansible_uri_task_is_reported: hazards/ansible.py (this branch) only;
- test_findings_in_every_kind_of_file: hazards/shell.py (shell), hazards/powershell.py,
  hazards/cloudinit.py (cloud-config);
- test_fix_edits_are_escaped_for_each_file: fix/escape.py layers (hcl-string, indent) and,
  for Dockerfile RUN lines, a ``dockerfile-run`` layer (proposed, see formats/scripts.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imds_iac_checks.config import Overrides, Resolver
from imds_iac_checks.formats import scripts
from imds_iac_checks.hazards.place import hazard
from imds_iac_checks.model import Found
from imds_iac_checks.scan import scan
from imds_iac_checks.source import Files

IMDS = "http://169.254.169.254/latest/meta-data"

TREE = {
    "docker/Dockerfile": f"FROM amazonlinux:2023\nRUN yum install -y jq \\\n"
    f"    && curl -s {IMDS}/instance-id > /etc/instance-id\n",
    "systemd/app.service": "[Service]\n"
    f"ExecStartPre=/bin/sh -c 'curl -s {IMDS}/placement/region > /run/region'\n"
    "ExecStart=/usr/bin/app\n",
    "ansible/roles/web/tasks/main.yml": "- name: Instance id\n"
    f"  shell: curl -s {IMDS}/instance-id > /tmp/id\n"
    "- name: Credentials\n"
    "  uri:\n"
    f"    url: {IMDS}/iam/security-credentials/\n",
    "cloud-init/web.yaml": f"#cloud-config\nruncmd:\n  - curl -s {IMDS}/ami-id > /tmp/ami\n",
    "packer/web.pkr.hcl": 'build {\n  sources = ["source.amazon-ebs.web"]\n'
    '  provisioner "shell" {\n'
    f'    inline = ["set -e", "curl -s {IMDS}/local-ipv4 > /tmp/ip"]\n'
    "  }\n}\n",
    "scripts/boot.ps1": f"Invoke-RestMethod -Uri {IMDS}/instance-id\n",
}


def write(root: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def findings(cli, root: Path, *paths: str) -> list[dict]:
    run = cli("check", "--format", "json", *(paths or (".",)), cwd=root)
    return json.loads(run.out)["findings"]


def test_ansible_uri_task_is_reported(cli, tmp_path: Path) -> None:
    write(tmp_path, {"roles/web/tasks/main.yml": TREE["ansible/roles/web/tasks/main.yml"]})
    uri = [f for f in findings(cli, tmp_path) if f["kind"] == "Ansible uri task"]
    assert [(f["rule_id"], f["path"], f["line"], f["column"]) for f in uri] == [
        ("IMDS007", "roles/web/tasks/main.yml", 5, 10)
    ]
    assert uri[0]["severity"] == "warning"  # tied to no instance
    assert "X-aws-ec2-metadata-token" in uri[0]["fix_note"]


def test_ansible_uri_task_with_the_token_passes(cli, tmp_path: Path) -> None:
    tasks = (
        "- uri:\n"
        "    url: http://169.254.169.254/latest/api/token\n"
        "    method: PUT\n"
        "    headers: {X-aws-ec2-metadata-token-ttl-seconds: '21600'}\n"
        "  register: token\n"
        "- uri:\n"
        f"    url: {IMDS}/instance-id\n"
        "    headers:\n"
        "      X-aws-ec2-metadata-token: '{{ token.content }}'\n"
    )
    write(tmp_path, {"tasks/main.yml": tasks})
    assert findings(cli, tmp_path) == []


def test_findings_in_every_kind_of_file(cli, tmp_path: Path) -> None:
    write(tmp_path, TREE)
    found = findings(cli, tmp_path)
    where = sorted((f["path"], f["line"]) for f in found if f["rule_id"] == "IMDS007")
    assert where == [
        ("ansible/roles/web/tasks/main.yml", 2),
        ("ansible/roles/web/tasks/main.yml", 5),
        ("cloud-init/web.yaml", 3),
        ("docker/Dockerfile", 3),
        ("packer/web.pkr.hcl", 4),
        ("scripts/boot.ps1", 1),
        ("systemd/app.service", 2),
    ]


def test_files_without_a_metadata_mention_cost_no_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet = {
        "Dockerfile": "FROM node:20\nRUN npm ci && npm run build\n",
        "app.service": "[Service]\nExecStart=/usr/bin/node /srv/app.js\n",
        "tasks/main.yml": "- shell: systemctl restart app\n- uri:\n    url: https://example.com\n",
        "k8s/pod.yaml": "apiVersion: v1\nkind: Pod\n",
        "bin/deploy.sh": "#!/bin/sh\nrsync -a dist/ host:/srv\n",
        "src/app.py": "print('hello')\n",
        "web.pkr.hcl": 'build {\n  provisioner "shell" {\n    inline = ["make"]\n  }\n}\n',
    }
    write(tmp_path, quiet)
    import dockerfile

    import imds_iac_checks.formats.doc as doc
    import imds_iac_checks.hazards as hazards

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(dockerfile, "parse_string", fail)
    monkeypatch.setattr(doc, "parse_yaml", fail)
    monkeypatch.setattr(hazards, "analyse", fail)
    result = scan([str(tmp_path)], Resolver(Overrides()), cwd=str(tmp_path))
    assert result.errors == []
    assert result.findings == []
    # every one of them was discovered (and read): 7 files (the Kubernetes manifest too)
    assert result.files == len(quiet)


def _placed(shown: str, raw: bytes, origin: Path, line: str, insert: str) -> bytes:
    """The file after inserting ``insert`` before the payload line that starts with ``line``."""
    (payload,) = [
        p
        for p in scripts.payloads(shown, raw, origin=str(origin), files=Files(None))[0]
        if line in p.text
    ]
    at = payload.text.index(line)
    placed = hazard(payload, Found("imdsv1-call", at, at + 4, "call", ((at, at, insert),)))
    assert placed.no_fix == "", placed.no_fix
    ((_path, start, end, new),) = placed.edits
    return raw[:start] + new + raw[end:]


def test_fix_edits_are_escaped_for_each_file(tmp_path: Path) -> None:
    token = 'TOKEN=$(curl -s -X PUT "http://169.254.169.254/latest/api/token")\n'
    # a heredoc RUN: written as it is
    dockerfile = f"FROM alpine\nRUN <<EOF\nset -e\ncurl -s {IMDS}/ami-id\nEOF\n".encode()
    fixed = _placed("Dockerfile", dockerfile, tmp_path / "Dockerfile", "curl", token)
    assert fixed.decode() == (
        f"FROM alpine\nRUN <<EOF\nset -e\n{token}curl -s {IMDS}/ami-id\nEOF\n"
    )
    # a Packer inline list: the new line goes into the string, escaped for HCL
    template = TREE["packer/web.pkr.hcl"].encode()
    fixed = _placed("web.pkr.hcl", template, tmp_path / "web.pkr.hcl", "curl", token)
    escaped = token.replace('"', '\\"').replace("\n", "\\n")
    assert f'"set -e", "{escaped}curl -s {IMDS}/local-ipv4' in fixed.decode()
    # a shell-form RUN: a line break cannot end the instruction
    dockerfile = f"FROM alpine\nRUN apk add curl && \\\n    curl -s {IMDS}/ami-id\n".encode()
    fixed = _placed("Dockerfile", dockerfile, tmp_path / "Dockerfile", "curl -s", token)
    assert fixed.decode() == (
        f"FROM alpine\nRUN apk add curl && \\\n    {token[:-1]}; \\\ncurl -s {IMDS}/ami-id\n"
    )
