# ruff: noqa: E501  (realistic user data: long command lines)
"""cloud-init user data (hazards/cloudinit.py): the scripts in a #cloud-config document and in
MIME multipart parts, handed back as nested payloads that map to the file's bytes."""

from __future__ import annotations

import base64
import textwrap
import time

from imds_iac_checks.hazards import cloudinit
from imds_iac_checks.model import Payload, Piece, Span


def parent(text: str, language: str = "cloud-config") -> Payload:
    """User data written as is in a file whose text is exactly ``text``."""
    size = len(text.encode())
    span = Span("user-data.yaml", 0, size, 1, 1, 1, 1)
    return Payload(text, (Piece(0, len(text), span),), span, "user data", language)


def check_mapping(text: str, nested: Payload) -> None:
    """Every piece written as is spells the nested text at its file bytes."""
    data = text.encode()
    for piece in nested.pieces:
        run = nested.text[piece.start : piece.end]
        written = data[piece.span.start_byte : piece.span.end_byte].decode()
        if len(run.encode()) == piece.span.end_byte - piece.span.start_byte:
            # (an argv word quoted for the shell may be as long as its YAML quoting: decoded,
            # and nothing can be inserted there)
            if piece.escape == "" and run[:1] == "'" and written[:1] in "'\"":
                continue
            assert written == run, (run, written)


CLOUD_CONFIG = textwrap.dedent(
    """\
    #cloud-config
    package_update: true
    bootcmd:
      - [cloud-init-per, once, region, sh, -c, "curl -s http://169.254.169.254/latest/meta-data/placement/region > /etc/region"]
    runcmd:
      - 'TOKEN=$(curl -s -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 21600")'
      - "curl -s -H \\"X-aws-ec2-metadata-token: $TOKEN\\" http://169.254.169.254/latest/meta-data/instance-id > /etc/iid"
      - |
        REGION=$(curl -s http://169.254.169.254/latest/meta-data/placement/region)
        aws configure set region "$REGION"
      - systemctl enable --now nginx
    write_files:
      - path: /usr/local/bin/bootstrap.sh
        permissions: '0755'
        content: |
          #!/bin/bash
          ROLE=$(curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/)
      - path: /etc/nginx/conf.d/app.conf
        content: |
          server { listen 80; }
      - path: /opt/app/probe.py
        encoding: b64
        content: {b64}
    """
).replace(
    "{b64}",
    base64.b64encode(
        b"import urllib.request\nurllib.request.urlopen('http://169.254.169.254/')\n"
    ).decode(),
)


def test_cloud_config_scripts_map_to_the_file() -> None:
    nested = list(cloudinit.find(parent(CLOUD_CONFIG)))
    assert [n.language for n in nested] == ["shell", "shell", "shell", "python"]
    boot, run, script, probe = nested
    assert boot.text == (
        "cloud-init-per once region sh -c 'curl -s http://169.254.169.254/latest/meta-data/"
        "placement/region > /etc/region'"
    )
    assert "argv list" in boot.no_fix
    # runcmd: ONE script, an entry a line (the token flows from the first entry to the next)
    assert run.text.splitlines() == [
        'TOKEN=$(curl -s -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 21600")',
        'curl -s -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/instance-id > /etc/iid',
        "REGION=$(curl -s http://169.254.169.254/latest/meta-data/placement/region)",
        'aws configure set region "$REGION"',
        "systemctl enable --now nginx",
    ]
    assert run.no_fix == ""
    for n in (boot, run, script):
        check_mapping(CLOUD_CONFIG, n)
    # the block-scalar line maps to its bytes, with the block's indentation as its escape
    at = run.text.index("REGION=")
    span = run.located(at, at + len("REGION=$(curl"))
    assert span is not None
    assert CLOUD_CONFIG.encode()[span.start_byte : span.end_byte] == b"REGION=$(curl"
    escapes = {p.escape for p in run.pieces if p.start <= at < p.end}
    assert escapes == {"indent:    "}
    # quoted entries: split at escapes, escaped as the scalar's quoting
    layers = {p.escape for p in run.pieces}
    assert {"yaml-sq", "yaml-dq", "indent:    ", ""} <= layers
    assert script.text.startswith("#!/bin/bash\nROLE=$(curl")
    assert probe.pieces == () and "base64" in probe.no_fix
    assert "urlopen" in probe.text


def test_runcmd_curl_is_found_by_the_shell_analyser() -> None:
    """With an analyser for shell registered, the runcmd's IMDSv1 curl is found at its line."""
    from imds_iac_checks import hazards

    run = list(cloudinit.find(parent(CLOUD_CONFIG)))[1]
    lines = [
        line for line in run.text.splitlines() if "169.254.169.254" in line and "TOKEN" not in line
    ]
    assert lines == ["REGION=$(curl -s http://169.254.169.254/latest/meta-data/placement/region)"]
    assert hazards.language_of(run) == "shell"


def test_plain_scalar_entries_cannot_take_an_edit() -> None:
    text = (
        "#cloud-config\nruncmd:\n  - curl -s http://169.254.169.254/latest/meta-data/instance-id\n"
    )
    (run,) = cloudinit.find(parent(text))
    assert run.text == "curl -s http://169.254.169.254/latest/meta-data/instance-id"
    assert {p.escape for p in run.pieces} == {""}
    assert "plain YAML scalar" in run.no_fix
    check_mapping(text, run)


def test_double_quoted_folds_and_escapes() -> None:
    text = '#cloud-config\nruncmd:\n  - "echo \\u00e9t\\u00e9\n    curl\\t-s http://169.254.169.254/"\n'
    (run,) = cloudinit.find(parent(text))
    assert run.text == "echo été curl\t-s http://169.254.169.254/"
    check_mapping(text, run)


def test_mime_multipart_parts() -> None:
    shell = "#!/bin/bash\ncurl -s http://169.254.169.254/latest/meta-data/instance-id\n"
    encoded = base64.b64encode(shell.encode()).decode()
    text = (
        'Content-Type: multipart/mixed; boundary="MIMEBOUNDARY"\r\n'
        "MIME-Version: 1.0\r\n\r\n"
        "--MIMEBOUNDARY\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "Content-Type: text/cloud-config\r\nMime-Version: 1.0\r\n\r\n"
        "#cloud-config\nruncmd:\n  - [curl, http://169.254.169.254/latest/user-data]\n\r\n"
        "--MIMEBOUNDARY\r\n"
        'Content-Type: text/x-shellscript; charset="utf-8"\r\n\r\n'
        f"{shell}\r\n"
        "--MIMEBOUNDARY\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Content-Type: text/x-shellscript\r\n\r\n"
        f"{encoded}\r\n"
        "--MIMEBOUNDARY--\r\n"
    )
    config, script, decoded = cloudinit.find(parent(text, "mime"))
    assert config.language == "cloud-config" and config.text.startswith("#cloud-config\nruncmd:")
    assert script.language == "shell" and script.text == shell
    check_mapping(text, config)
    check_mapping(text, script)
    assert (
        decoded.text == shell
        and decoded.pieces == ()
        and decoded.no_fix == "the part is base64-encoded"
    )
    # the cloud-config part's runcmd, nested once more, still maps to the MIME file's bytes
    (run,) = cloudinit.find(config)
    assert run.text == "curl http://169.254.169.254/latest/user-data"
    check_mapping(text, run)


def test_hostile_yaml_is_bounded() -> None:
    bomb = "#cloud-config\na: &a [x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 12):
        bomb += (
            f"{'b' * i}: &b{i} ["
            + ", ".join([f"*{'a' if i == 1 else 'b' + str(i - 1)}"] * 9)
            + "]\n"
        )
    bomb += "runcmd: *b11\n"
    started = time.perf_counter()
    nested = list(cloudinit.find(parent(bomb)))
    assert all(len(n.text) <= cloudinit.MAX_TEXT * 2 for n in nested)
    deep = "#cloud-config\nruncmd: " + "[" * 5000 + "]" * 5000 + "\n"
    assert list(cloudinit.find(parent(deep))) == []
    assert list(cloudinit.find(parent("#cloud-config\nruncmd: [unclosed\n"))) == []
    assert time.perf_counter() - started < 10


def test_a_large_cloud_config_is_bounded() -> None:
    entry = '  - "echo line {n} >> /var/log/boot.log"\n'
    text = "#cloud-config\nruncmd:\n" + "".join(
        entry.format(n=n) for n in range(1_000_000 // len(entry))
    )
    started = time.perf_counter()
    (run,) = cloudinit.find(parent(text))
    elapsed = time.perf_counter() - started
    assert run.text.count("\n") == cloudinit.MAX_ENTRIES - 1
    assert elapsed < 20, elapsed
