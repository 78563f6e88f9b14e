"""Files that run code on instances, read into payloads (formats/scripts.py, packer.py,
playbooks.py): Dockerfile RUN, systemd Exec lines, Ansible tasks, cloud-init files, Packer
provisioners. Every piece must map to the bytes that write it."""

from __future__ import annotations

from pathlib import Path

import pytest

from imds_iac_checks.formats import data as data_files
from imds_iac_checks.formats import scripts
from imds_iac_checks.model import Payload
from imds_iac_checks.source import Files

IMDS = "http://169.254.169.254/latest/meta-data"


def check_pieces(payload: Payload, data: bytes) -> None:
    """Every piece maps to the file: a verbatim piece is the same text; an escape piece (its
    text's UTF-8 length differs from its span) is one escape sequence. Lines and columns agree
    with the bytes."""
    assert payload.pieces, payload
    last = 0
    for piece in payload.pieces:
        assert last <= piece.start < piece.end <= len(payload.text)
        last = piece.end
        written = data[piece.span.start_byte : piece.span.end_byte].decode()
        text = payload.text[piece.start : piece.end]
        if len(written.encode()) == len(text.encode()):
            assert written == text, (piece, written, text)
        else:
            assert len(text) == 1 and written[0] in "\\'", (piece, written, text)
        before = data[: piece.span.start_byte].decode().removeprefix("\ufeff")
        assert piece.span.line == before.count("\n") + 1
        assert piece.span.column == len(before) - (before.rfind("\n") + 1) + 1


def read(tmp_path: Path, name: str, content: str | bytes) -> tuple[list[Payload], bytes]:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = content.encode() if isinstance(content, str) else content
    path.write_bytes(raw)
    found, errors = scripts.payloads(name, raw, origin=str(path), files=Files(None))
    assert errors == []
    return found, raw


DOCKERFILE = f"""\
# syntax=docker/dockerfile:1
FROM amazonlinux:2023
RUN yum install -y curl jq \\
    # the instance id, at build time
    && curl -s {IMDS}/instance-id \\
       > /etc/instance-id
RUN ["curl", "-s", "{IMDS}/placement/region"]
RUN <<EOF
set -e
REGION=$(curl -s {IMDS}/placement/region)
echo "$REGION" > /etc/region
EOF
RUN python3 <<PY
import urllib.request
print(urllib.request.urlopen("{IMDS}/").read())
PY
CMD ["/usr/bin/app"]
"""


def test_dockerfile_run_instructions(tmp_path: Path) -> None:
    found, raw = read(tmp_path, "Dockerfile", DOCKERFILE)
    assert [p.what for p in found] == ["Dockerfile RUN"] * 4
    continued, exec_form, bare, fed = found
    # continuation lines kept as written (bash reads them alike), the comment line dropped as
    # BuildKit drops it
    assert continued.text == (
        f"yum install -y curl jq \\\n    && curl -s {IMDS}/instance-id \\\n"
        "       > /etc/instance-id"
    )
    assert [p.escape for p in continued.pieces] == ["dockerfile-run"] * 2
    assert continued.span.line == 3 and continued.span.end_line == 6
    assert continued.language == "shell"
    # exec form: the argv as shell words, never edited
    assert exec_form.text == f"curl -s {IMDS}/placement/region"
    assert {p.escape for p in exec_form.pieces} == {""}
    assert exec_form.no_fix
    # RUN <<EOF: the heredoc body is the script; inserted text is written as it is
    assert bare.text == (
        f'set -e\nREGION=$(curl -s {IMDS}/placement/region)\necho "$REGION" > /etc/region\n'
    )
    assert {p.escape for p in bare.pieces} == {"raw"}
    assert bare.pieces[0].span.line == 9
    # a heredoc fed to a command: the whole command with its heredoc
    assert fed.text.startswith("python3 <<PY\nimport urllib.request\n")
    assert fed.text.endswith("\nPY")
    for payload in found:
        check_pieces(payload, raw)


def test_dockerfile_crlf_blank_continuation_and_shell(tmp_path: Path) -> None:
    content = (
        "FROM mcr.microsoft.com/windows/servercore:ltsc2022\r\n"
        "RUN echo start \\\r\n"
        "\r\n"
        f"  && curl.exe {IMDS}/ \r\n"
        'SHELL ["powershell", "-Command"]\r\n'
        f"RUN Invoke-RestMethod -Uri {IMDS}/instance-id\r\n"
        "FROM alpine\r\n"
        f"RUN wget -qO- {IMDS}/ami-id\r\n"
    )
    found, raw = read(tmp_path, "build/app.dockerfile", content)
    assert [p.language for p in found] == ["shell", "powershell", "shell"]
    assert found[0].text == f"echo start \\\r\n  && curl.exe {IMDS}/ "
    assert found[1].text == f"Invoke-RestMethod -Uri {IMDS}/instance-id"
    for payload in found:
        check_pieces(payload, raw)


def test_dockerfile_without_metadata_mention_is_not_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dockerfile

    def fail(*args: object) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(dockerfile, "parse_string", fail)
    found, _ = read(tmp_path, "Dockerfile.dev", "FROM node:20\nRUN npm ci\nCMD node app.js\n")
    assert found == []


def test_dockerfile_syntax_error_is_reported() -> None:
    found, errors = scripts.payloads("Dockerfile", f"FROM x\nRUN <<EOF\ncurl {IMDS}/\n".encode())
    assert found == []
    assert errors and "unterminated heredoc" in errors[0].message


UNIT = f"""\
[Unit]
Description=App server
After=network-online.target

[Service]
Environment=PORT=8080
# the region, for the app's configuration
ExecStartPre=-/bin/bash -c 'curl -s {IMDS}/placement/region \\
    > /run/app/region'
ExecStart=/usr/bin/app --region-file /run/app/region --name %i
ExecStop=
;ExecStop=/usr/bin/curl {IMDS}/

[Install]
WantedBy=multi-user.target
"""


def test_systemd_exec_lines(tmp_path: Path) -> None:
    found, raw = read(tmp_path, "units/app@.service", UNIT)
    assert [p.what for p in found] == ["systemd ExecStartPre", "systemd ExecStart"]
    pre, start = found
    assert pre.text == f"/bin/bash -c 'curl -s {IMDS}/placement/region \\\n    > /run/app/region'"
    assert pre.language == "shell"
    assert pre.no_fix  # a token request cannot be added inside one Exec line
    assert {p.escape for p in pre.pieces} == {""}
    assert pre.span.line == 8 and pre.span.column == 15  # after the "-" prefix
    # the %i specifier is systemd's: a hole
    assert start.text.endswith("--name %i")
    assert all("%i" not in start.text[p.start : p.end] for p in start.pieces)
    for payload in found:
        check_pieces(payload, raw)


TASKS = f"""\
---
- name: Instance id
  ansible.builtin.shell: curl -s {IMDS}/instance-id > /tmp/instance-id

- name: Region
  shell: |
    set -e
    curl -s {{{{ imds_url }}}}/latest/meta-data/placement/region
    curl -s {IMDS}/placement/region > /tmp/region
  args:
    executable: /bin/bash

- name: Role credentials
  ansible.builtin.uri:
    url: "{IMDS}/iam/security-credentials/"
    return_content: true
  register: role

- name: User data
  get_url: url=http://169.254.169.254/latest/user-data dest=/tmp/user-data

- name: Token
  uri:
    url: http://169.254.169.254/latest/api/token
    method: PUT
    headers:
      X-aws-ec2-metadata-token-ttl-seconds: "21600"
  register: token

- name: With the token
  uri:
    url: {IMDS}/ami-id
    headers:
      X-aws-ec2-metadata-token: "{{{{ token.content }}}}"

- block:
    - name: Hostname
      command:
        argv: [curl, -s, "{IMDS}/hostname"]
  rescue:
    - command: 'curl ''{IMDS}/local-ipv4'''
"""


def parse_yaml_file(tmp_path: Path, name: str, content: str) -> tuple[list[Payload], bytes]:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    raw = path.read_bytes()
    out: list[Payload] = []
    targets, errors = data_files.parse(name, raw, origin=str(path), payloads=out)
    assert targets == [] and errors == []
    return out, raw


def test_ansible_tasks(tmp_path: Path) -> None:
    found, raw = parse_yaml_file(tmp_path, "roles/web/tasks/main.yml", TASKS)
    assert [(p.what, p.language) for p in found] == [
        ("Ansible task", "shell"),
        ("Ansible task", "shell"),
        ("Ansible uri task", "ansible-uri"),
        ("Ansible get_url task", "ansible-uri"),
        ("Ansible task", "shell"),
        ("Ansible task", "shell"),
    ]
    plain, block, uri, get_url, argv, quoted = found
    assert plain.text == f"curl -s {IMDS}/instance-id > /tmp/instance-id"
    assert {p.escape for p in plain.pieces} == {""}  # a plain scalar: nothing inserted
    # a literal block: line by line, an inserted line takes the block's indentation
    assert block.text == (
        "set -e\ncurl -s {{ imds_url }}/latest/meta-data/placement/region\n"
        f"curl -s {IMDS}/placement/region > /tmp/region\n"
    )
    assert {p.escape for p in block.pieces} == {"indent:    "}
    jinja = block.text.index("{{")
    assert all(not (p.start <= jinja < p.end) for p in block.pieces)  # Jinja: a hole
    third = block.text.index("curl -s http")
    assert any(p.start == third for p in block.pieces)  # a line start is insertable
    assert uri.text == f"{IMDS}/iam/security-credentials/"
    assert {p.escape for p in uri.pieces} == {"yaml-dq"}
    assert get_url.text == "http://169.254.169.254/latest/user-data"
    assert argv.text == f"curl -s {IMDS}/hostname"
    assert quoted.text == f"curl '{IMDS}/local-ipv4'"
    assert {p.escape for p in quoted.pieces} == {"yaml-sq"}
    for payload in (plain, block, uri, argv, quoted):
        check_pieces(payload, raw)


def test_ansible_playbook_plays(tmp_path: Path) -> None:
    playbook = f"""\
- hosts: web
  become: true
  pre_tasks:
    - name: Region
      command: curl -s {IMDS}/placement/region
  roles:
    - common
  tasks:
    - name: Zone
      shell: >-
        curl -s
        {IMDS}/placement/availability-zone
"""
    found, raw = parse_yaml_file(tmp_path, "site.yml", playbook)
    assert [p.text for p in found] == [
        f"curl -s {IMDS}/placement/region",
        f"curl -s {IMDS}/placement/availability-zone",
    ]
    for payload in found:
        check_pieces(payload, raw)


def test_yaml_that_names_no_metadata_service_is_not_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imds_iac_checks.formats import doc

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(doc, "parse_yaml", fail)
    tasks = "- name: restart\n  shell: systemctl restart app\n- command: /usr/bin/true\n"
    assert parse_yaml_file(tmp_path, "tasks/main.yml", tasks)[0] == []
    manifest = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - command: [sleep]\n"
    assert parse_yaml_file(tmp_path, "k8s/pod.yaml", manifest)[0] == []


def test_cloud_init_file(tmp_path: Path) -> None:
    content = f"#cloud-config\npackages: [jq]\nruncmd:\n  - curl -s {IMDS}/instance-id > /id\n"
    found, raw = parse_yaml_file(tmp_path, "cloud-init/web.yaml", content)
    assert len(found) == 1
    (payload,) = found
    assert (payload.language, payload.what) == ("cloud-config", "cloud-init file")
    assert payload.text == content
    check_pieces(payload, raw)
    # a YAML file whose first line is not #cloud-config is no cloud-init document
    assert parse_yaml_file(tmp_path, "other.yaml", "runcmd:\n  - echo hi\n")[0] == []


PACKER_HCL = f"""\
packer {{
  required_plugins {{
    amazon = {{ source = "github.com/hashicorp/amazon", version = ">= 1.2.0" }}
  }}
}}

source "amazon-ebs" "web" {{
  ami_name      = "web-${{var.version}}"
  instance_type = "t3.micro"
  source_ami    = "ami-0123456789abcdef0"
}}

build {{
  sources = ["source.amazon-ebs.web"]

  provisioner "shell" {{
    inline = [
      "sudo yum install -y jq",
      "curl -s {IMDS}/instance-id > /tmp/id",
      "echo \\"${{var.version}}\\" > /etc/version",
    ]
  }}

  provisioner "shell" {{
    script = "${{path.root}}/scripts/setup.sh"
  }}

  provisioner "file" {{
    source      = "app.conf"
    destination = "/tmp/app.conf"
  }}
}}
"""
SETUP = f"#!/bin/bash\nset -e\ncurl -s {IMDS}/local-ipv4 > /tmp/ip\n"


def test_packer_hcl_provisioners(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "setup.sh").write_text(SETUP)
    found, raw = read(tmp_path, "web.pkr.hcl", PACKER_HCL)
    assert [(p.what, p.owner) for p in found] == [
        ("Packer provisioner", "source.amazon-ebs.web"),
        ("Packer provisioner script", "source.amazon-ebs.web"),
    ]
    inline, script = found
    # one script: the strings, a line each
    assert inline.text == (
        f"sudo yum install -y jq\ncurl -s {IMDS}/instance-id > /tmp/id\n"
        'echo "${var.version}" > /etc/version'
    )
    assert inline.language == "shell"
    assert {p.escape for p in inline.pieces} == {"hcl-string"}
    line2 = inline.text.index("curl")
    assert any(p.start == line2 for p in inline.pieces)  # insertable before a line
    interpolation = inline.text.index("${var.version}")
    assert all(not (p.start <= interpolation < p.end) for p in inline.pieces)
    joins = [i for i, c in enumerate(inline.text) if c == "\n"]
    assert all(not (p.start <= i < p.end) for p in inline.pieces for i in joins)
    check_pieces(inline, raw)
    assert script.text == SETUP
    assert script.span.path == "scripts/setup.sh"
    assert script.language == ""  # from its shebang
    check_pieces(script, SETUP.encode())


def test_packer_legacy_json_template(tmp_path: Path) -> None:
    template = f"""\
{{
  "variables": {{"version": "1.0"}},
  "builders": [{{"type": "amazon-ebs", "ami_name": "web {{{{timestamp}}}}"}}],
  "provisioners": [
    {{"type": "shell",
     "inline": ["echo \\"{{{{user `version`}}}}\\" > /etc/v", "curl -s {IMDS}/ami-id"]}},
    {{"type": "shell", "scripts": ["scripts/setup.sh"]}},
    {{"type": "windows-shell", "inline": ["curl {IMDS}/"]}}
  ]
}}
"""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "setup.sh").write_text(SETUP)
    path = tmp_path / "packer.json"
    path.write_text(template)
    raw = path.read_bytes()
    out: list[Payload] = []
    targets, errors = data_files.parse(
        "packer.json", raw, origin=str(path), files=Files(None), payloads=out
    )
    assert errors == []
    # the builder's build instance and AMI (formats/packer_targets.py) run the provisioners
    assert [t.kind for t in targets] == ["amazon-ebs", "amazon-ebs:ami"]
    assert targets[0].user_data == tuple(out)
    assert [p.what for p in out] == ["Packer provisioner", "Packer provisioner script"]
    inline = out[0]
    assert inline.text == f'echo "{{{{user `version`}}}}" > /etc/v\ncurl -s {IMDS}/ami-id'
    assert {p.escape for p in inline.pieces} == {"json"}
    user = inline.text.index("{{user")
    assert all(not (p.start <= user < p.end) for p in inline.pieces)  # Packer's template
    check_pieces(inline, raw)


def test_packer_pkr_json(tmp_path: Path) -> None:
    template = f"""\
{{
  "build": {{
    "sources": ["source.amazon-ebs.web"],
    "provisioner": [
      {{"shell": {{"inline": ["curl -s {IMDS}/instance-id"]}}}},
      {{"powershell": {{"inline": ["Invoke-RestMethod {IMDS}/"]}}}}
    ]
  }}
}}
"""
    found, raw = read(tmp_path, "web.pkr.json", template)
    assert [(p.language, p.owner) for p in found] == [
        ("shell", "source.amazon-ebs.web"),
        ("powershell", "source.amazon-ebs.web"),
    ]
    for payload in found:
        check_pieces(payload, raw)


def test_shell_and_powershell_files(tmp_path: Path) -> None:
    found, raw = read(tmp_path, "bin/fetch.sh", f"curl -s {IMDS}/\r\necho done\r\n")
    assert [(p.language, p.text) for p in found] == [("shell", raw.decode())]  # CR kept
    check_pieces(found[0], raw)
    found, raw = read(tmp_path, "bin/tool.sh", "#!/usr/bin/env python3\nprint(1)\n")
    assert found[0].language == ""  # its shebang decides
    found, raw = read(tmp_path, "win/boot.ps1", f"\ufeffInvoke-RestMethod {IMDS}/\n")
    assert found[0].language == "powershell"
    assert found[0].text == f"Invoke-RestMethod {IMDS}/\n"  # the BOM is not text
    check_pieces(found[0], raw)
