"""Terraform user data read as payloads (formats/terraform/userdata.py): the text each target's
instances run, and where each literal run of it is written."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path

import pytest

from imds_iac_checks.config import Overrides, Resolver
from imds_iac_checks.formats.terraform.graph import terraform_targets
from imds_iac_checks.model import Payload, Target
from imds_iac_checks.scan import scan

from .helpers import assert_pieces_map, holes


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def targets(root: Path) -> dict[str, Target]:
    found, errors = terraform_targets([str(root)], cwd=str(root))
    assert not errors, errors
    return {t.address: t for t in found}


def only(target: Target) -> Payload:
    assert len(target.user_data) == 1, target.user_data
    payload = target.user_data[0]
    assert payload.owner == target.address
    assert payload.what == "user data"
    return payload


def covered(payload: Payload, needle: str) -> bool:
    start = payload.text.index(needle)
    return all(not (a < start + len(needle) and start < b) for a, b in holes(payload))


def test_indented_heredoc_with_a_known_local_an_escape_and_an_unknown_hole(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "main.tf": """
            locals {
              imds = "169.254.169.254"
            }

            variable "cluster" {
              type = string
            }

            resource "aws_instance" "web" {
              ami           = "ami-0123456789abcdef0"
              instance_type = "t3.micro"
              user_data     = <<-EOT
                #!/bin/bash
                set -euo pipefail
                ROLE=$(curl -s http://${local.imds}/latest/meta-data/iam/security-credentials/)
                echo "$${ROLE}" > /etc/role
                /etc/eks/bootstrap.sh ${var.cluster}
                  echo nested
              EOT
            }
            """,
        },
    )
    payload = only(targets(root)["aws_instance.web"])
    assert payload.text == (
        "#!/bin/bash\n"
        "set -euo pipefail\n"
        "ROLE=$(curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/)\n"
        'echo "${ROLE}" > /etc/role\n'
        "/etc/eks/bootstrap.sh ${var.cluster}\n"
        "  echo nested\n"
    )
    assert_pieces_map(payload, root)
    assert holes(payload) == [
        (payload.text.index("169.254"), payload.text.index("169.254") + len("169.254.169.254")),
        (payload.text.index("${var.cluster}"), payload.text.index("${var.cluster}") + 14),
    ]
    # a piece per line, without the indentation the heredoc strips
    assert {p.escape for p in payload.pieces} == {"indent:    +hcl-template"}
    escape = next(p for p in payload.pieces if payload.text[p.start : p.end] == "${")
    assert (escape.span.end_byte - escape.span.start_byte) == 3  # $${
    first = payload.pieces[0]
    assert (first.span.line, first.span.column) == (13, 5)
    assert payload.span.line == 12 and payload.language == "" and payload.no_fix == ""


def test_quoted_string_escapes_are_pieces_of_their_own(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "main.tf": r"""
            resource "aws_instance" "web" {
              user_data = "#!/bin/bash\ncurl -sf \"http://169.254.169.254/latest/\" | tee /x\n"
            }
            """,
        },
    )
    payload = only(targets(root)["aws_instance.web"])
    assert payload.text == ('#!/bin/bash\ncurl -sf "http://169.254.169.254/latest/" | tee /x\n')
    assert_pieces_map(payload, root)
    assert holes(payload) == []
    assert {p.escape for p in payload.pieces} == {"hcl-string"}
    assert [payload.text[p.start : p.end] for p in payload.pieces if p.end - p.start == 1] == [
        "\n",
        '"',
        '"',
        "\n",
    ]


MODULE_FILES = {
    "main.tf": """
    module "app" {
      source      = "./modules/app"
      environment = "prod"
      bootstrap   = <<EOT
    #!/bin/bash
    curl http://169.254.169.254/latest/meta-data/placement/region
    EOT
    }

    resource "aws_instance" "bastion" {
      user_data = file("scripts/bastion.sh")
    }

    resource "aws_launch_configuration" "legacy" {
      image_id         = "ami-0123456789abcdef0"
      instance_type    = "t3.small"
      user_data_base64 = filebase64("${path.module}/scripts/bastion.sh")
    }

    resource "aws_instance" "missing" {
      user_data = file("${path.root}/scripts/not-there.sh")
    }
    """,
    "scripts/bastion.sh": """
    #!/bin/bash
    # Bastion host: record the instance id
    INSTANCE_ID=$(wget -qO- http://169.254.169.254/latest/meta-data/instance-id)
    echo "$INSTANCE_ID" > /etc/instance-id
    """,
    "modules/app/variables.tf": """
    variable "environment" {
      type = string
    }

    variable "bootstrap" {
      type    = string
      default = ""
    }
    """,
    "modules/app/main.tf": """
    resource "aws_launch_template" "app" {
      name_prefix = "app-${var.environment}-"
      user_data = base64encode(templatefile("${path.module}/templates/user-data.sh.tpl", {
        environment = var.environment
        port        = 8080
      }))
    }

    resource "aws_instance" "worker" {
      user_data = var.bootstrap
    }
    """,
    "modules/app/templates/user-data.sh.tpl": """
    #!/bin/bash
    ENVIRONMENT=${environment}
    AZ=$(curl -s http://169.254.169.254/latest/meta-data/placement/availability-zone)
    %{ if port != 80 ~}
    echo "listening on ${port} in $${AZ}"
    %{ endif ~}
    echo ${upper(unknown_name)}
    """,
}


def test_files_and_templates_read_from_disk_and_module_inputs(tmp_path: Path) -> None:
    root = write(tmp_path, MODULE_FILES)
    found = targets(root)

    bastion = only(found["aws_instance.bastion"])
    script = (root / "scripts/bastion.sh").read_text()
    assert bastion.text == script
    assert [(p.span.path, p.escape) for p in bastion.pieces] == [("scripts/bastion.sh", "raw")]
    assert_pieces_map(bastion, root)

    legacy = only(found["aws_launch_configuration.legacy"])
    assert legacy.text == script and legacy.no_fix == ""
    assert_pieces_map(legacy, root)

    # A file that is not there: no payload, and the target is still read.
    assert found["aws_instance.missing"].user_data == ()

    app = only(found["module.app.aws_launch_template.app"])
    assert app.text == (
        "#!/bin/bash\n"
        "ENVIRONMENT=prod\n"
        "AZ=$(curl -s http://169.254.169.254/latest/meta-data/placement/availability-zone)\n"
        "\n"
        'echo "listening on 8080 in ${AZ}"\n'
        "\n"
        "echo ${upper(unknown_name)}\n"
    )
    assert {p.span.path for p in app.pieces} == {"modules/app/templates/user-data.sh.tpl"}
    assert {p.escape for p in app.pieces} == {"hcl-template"}
    assert_pieces_map(app, root)
    assert covered(app, "AZ=$(curl -s http://169.254.169.254/latest/meta-data/")
    assert not covered(app, "prod") and not covered(app, "8080")
    assert not covered(app, "${upper(unknown_name)}")
    assert app.span.path == "modules/app/main.tf"

    # The value flows in through the module call: its pieces are in the caller's heredoc.
    worker = only(found["module.app.aws_instance.worker"])
    assert worker.text == (
        "#!/bin/bash\ncurl http://169.254.169.254/latest/meta-data/placement/region\n"
    )
    assert {p.span.path for p in worker.pieces} == {"main.tf"}
    assert worker.span.path == "modules/app/main.tf"
    assert_pieces_map(worker, root)


def test_base64_literal_is_decoded_without_pieces(tmp_path: Path) -> None:
    script = "#!/bin/bash\ncurl http://169.254.169.254/latest/user-data\n"
    encoded = base64.b64encode(script.encode()).decode()
    root = write(
        tmp_path,
        {
            "main.tf": f'''
            resource "aws_instance" "web" {{
              ami              = "ami-0123456789abcdef0"
              user_data_base64 = "{encoded}"
            }}

            resource "aws_launch_template" "web" {{
              user_data = "{encoded}"
            }}
            ''',
        },
    )
    found = targets(root)
    for address in ("aws_instance.web", "aws_launch_template.web"):
        payload = only(found[address])
        assert payload.text == script
        assert payload.pieces == ()
        assert payload.no_fix == (
            "the user data is base64-encoded in the file; edit the script it was encoded from"
        )
        data = (root / "main.tf").read_bytes()
        assert data[payload.span.start_byte : payload.span.end_byte] == f'"{encoded}"'.encode()


def test_template_file_and_cloudinit_config_parts(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "main.tf": """
            resource "aws_instance" "legacy" {
              user_data = data.template_file.init.rendered
            }

            resource "aws_launch_template" "nodes" {
              user_data = data.cloudinit_config.nodes.rendered
            }
            """,
            "data.tf": """
            data "template_file" "init" {
              template = file("${path.module}/init.tpl")
              vars = {
                bucket = "artifacts-prod"
              }
            }

            data "cloudinit_config" "nodes" {
              gzip          = true
              base64_encode = true

              part {
                content_type = "text/cloud-config"
                content      = <<-EOT
                  #cloud-config
                  runcmd:
                    - curl http://169.254.169.254/latest/meta-data/local-ipv4
                EOT
              }

              part {
                content_type = "text/x-shellscript"
                content      = file("${path.module}/scripts/join.sh")
              }
            }
            """,
            "init.tpl": """
            #!/bin/bash
            aws s3 cp s3://${bucket}/app.tar.gz /opt/
            curl http://169.254.169.254/latest/meta-data/instance-id
            """,
            "scripts/join.sh": """
            #!/bin/bash
            curl -s http://169.254.169.254/latest/meta-data/hostname
            """,
        },
    )
    found = targets(root)
    legacy = only(found["aws_instance.legacy"])
    assert legacy.text.startswith("#!/bin/bash\naws s3 cp s3://artifacts-prod/app.tar.gz /opt/\n")
    assert {p.span.path for p in legacy.pieces} == {"init.tpl"}
    assert_pieces_map(legacy, root)

    parts = found["aws_launch_template.nodes"].user_data
    assert [p.language for p in parts] == ["cloud-config", "shell"]
    assert parts[0].text == (
        "#cloud-config\nruncmd:\n  - curl http://169.254.169.254/latest/meta-data/local-ipv4\n"
    )
    assert {p.span.path for p in parts[0].pieces} == {"data.tf"}
    assert parts[1].text == (root / "scripts/join.sh").read_text()
    for part in parts:
        assert part.owner == "aws_launch_template.nodes"
        assert part.span.path == "main.tf"
        assert_pieces_map(part, root)


def test_undecided_conditional_gives_both_payloads_and_spot_fleet_specifications(
    tmp_path: Path,
) -> None:
    root = write(
        tmp_path,
        {
            "main.tf": """
            variable "windows" {
              type = bool
            }

            resource "aws_spot_instance_request" "worker" {
              user_data = (var.windows
                ? "<powershell>Invoke-RestMethod http://169.254.169.254/</powershell>"
                : "#!/bin/sh\\nwget -q http://169.254.169.254/\\n"
              )
            }

            resource "aws_spot_fleet_request" "batch" {
              iam_fleet_role  = "arn:aws:iam::123456789012:role/fleet"
              target_capacity = 2

              launch_specification {
                ami           = "ami-0123456789abcdef0"
                instance_type = "c5.large"
                user_data     = base64encode("#!/bin/bash\\ncurl http://169.254.169.254/\\n")
              }
            }
            """,
        },
    )
    found = targets(root)
    worker = found["aws_spot_instance_request.worker"].user_data
    assert [p.text for p in worker] == [
        "<powershell>Invoke-RestMethod http://169.254.169.254/</powershell>",
        "#!/bin/sh\nwget -q http://169.254.169.254/\n",
    ]
    batch = only(found["aws_spot_fleet_request.batch"])
    assert batch.text == "#!/bin/bash\ncurl http://169.254.169.254/\n"
    for payload in (*worker, batch):
        assert_pieces_map(payload, root)


def _payloads(root: Path) -> dict[tuple[str, str], tuple[Payload, ...]]:
    result = scan([str(root)], Resolver(Overrides()), cwd=str(root))
    assert result.origins is not None
    return {(t.path, t.address): t.user_data for t, _ in result.origins.values()}


@pytest.mark.parametrize("workers", ["2"])
def test_pool_and_serial_scans_give_the_same_payloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    for i in range(3):
        write(tmp_path / f"stack{i}", MODULE_FILES)
    monkeypatch.setenv("IMDS_IAC_JOBS", "1")
    serial = _payloads(tmp_path)
    monkeypatch.setenv("IMDS_IAC_JOBS", workers)
    parallel = _payloads(tmp_path)
    assert serial == parallel
    with_text = [a for a, payloads in serial.items() if payloads]
    assert len(with_text) >= 3 * 4, sorted(serial)
