"""The rule catalog: well-formed, in step with the engine, examples that really behave as they
say, generated docs up to date, and shipped inside the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from imds_iac_checks import catalog
from imds_iac_checks.engine import RULES, Context, evaluate
from imds_iac_checks.formats import ansible, cdk, ec2api, packer_targets
from imds_iac_checks.formats.cloudformation import LAUNCHERS, TYPES
from imds_iac_checks.formats.terraform import module as hcl
from imds_iac_checks.formats.terraform.kinds import KINDS
from imds_iac_checks.link import link
from tests.conftest import ROOT

CATALOG = catalog.load()
RULE_IDS = sorted(CATALOG)


def test_catalog_and_engine_define_the_same_rules() -> None:
    assert sorted(RULES) == RULE_IDS
    files = catalog.entries()
    assert sorted(files) == RULE_IDS, "one catalog file per registered rule"
    for rule_id, info in RULES.items():
        assert files[rule_id]["name"] == info.name
        assert files[rule_id]["severity"] == info.severity
        assert files[rule_id]["title"] == info.title
        assert "peers" not in files[rule_id], "peer ids live in the rule module"


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_file_schema(rule_id: str) -> None:
    rule = CATALOG[rule_id]
    path = Path(catalog.catalog_dir()) / f"{rule_id}.toml"
    assert path.is_file(), "one file per rule, named after its id"
    for key in catalog.REQUIRED_KEYS:
        assert key in rule, key
    for key in ("id", "name", "title", "severity", "summary", "why", "fix_safety"):
        assert isinstance(rule[key], str) and rule[key].strip(), key
    assert rule["severity"] in ("error", "warning")
    assert rule["name"] == rule["name"].lower() and " " not in rule["name"]
    assert not rule["title"].endswith(".")
    formats = {fix["format"] for fix in rule["how_to_fix"]}
    assert all(fix["text"].strip() and fix["snippet"].strip() for fix in rule["how_to_fix"])
    ami = "imds_support" in RULES[rule_id].reads  # AMIs: CloudFormation makes none
    examples = {ex["format"] for ex in rule["examples"]}
    if RULES[rule_id].policy is not None:
        # it judges guardrail policies: no resource kind; policy documents as examples
        assert rule["applies_to"] == []
        assert examples >= {"policy-json"}
        assert formats >= {"policy-json", "terraform", "cloudformation"}
        urls = " ".join(ref["url"] for ref in rule["references"])
        assert "docs.aws.amazon.com/IAM/latest/UserGuide" in urls
        return
    assert examples >= ({"terraform"} if ami else {"terraform", "cloudformation"})
    assert all(ref["url"].startswith("https://") and ref["title"] for ref in rule["references"])
    assert all(isinstance(ids, list) and ids for ids in rule["peers"].values())
    if RULES[rule_id].audit is not None:
        # it judges suppressions (comments, Metadata): no resource kind, no EC2 API JSON
        assert rule["applies_to"] == []
        assert formats == {"terraform", "cloudformation"}
        return
    if RULES[rule_id].hazard is not None:
        # it judges code that runs on instances: no resource kind; fixes in the code's language
        assert rule["applies_to"] == []
        assert formats >= {"terraform", "cloudformation"}
    elif ami:
        assert formats >= {"terraform", "ec2-api-json"}
    else:  # and the formats of other adapters (Ansible) where they apply
        assert formats >= {"terraform", "cloudformation", "ec2-api-json"}
    urls = " ".join(ref["url"] for ref in rule["references"])
    assert "docs.aws.amazon.com" in urls
    assert "attack.mitre.org/techniques/T1552/005" in urls
    assert "cisecurity.org" in urls


def test_peer_ids() -> None:
    assert "CKV_AWS_79" in CATALOG["IMDS002"]["peers"]["checkov"]
    assert "AVD-AWS-0028" in CATALOG["IMDS002"]["peers"]["trivy"]
    assert CATALOG["IMDS003"]["peers"]["checkov"] == ["CKV_AWS_341"]
    assert CATALOG["IMDS004"]["peers"] == {}


# Kinds of the formats that are neither Terraform nor CloudFormation (each module's KINDS).
_FORMAT_KINDS = {
    kind
    for module in (
        "imds_iac_checks.formats.ansible",
        "imds_iac_checks.formats.kubernetes",
        "imds_iac_checks.formats.eksctl",
        "imds_iac_checks.formats.packer_targets",
        "imds_iac_checks.formats.cdk",
    )
    for spec in __import__(module, fromlist=["KINDS"]).KINDS
    for kind in [spec if isinstance(spec, str) else spec.kind]
} | {spec.kind for spec in ec2api.AMI_KINDS}


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_applies_to_names_real_kinds(rule_id: str) -> None:
    terraform = {k for k in CATALOG[rule_id]["applies_to"] if k.startswith("aws_")}
    assert terraform <= set(KINDS)
    cloudformation = {k for k in CATALOG[rule_id]["applies_to"] if not k.startswith("aws_")}
    assert cloudformation <= TYPES | set(LAUNCHERS) | _FORMAT_KINDS


def test_every_kind_is_documented() -> None:
    # (an AMI's imds_support is IMDS009's, which lists the kinds that carry it)
    amis = {kind for kind, spec in KINDS.items() if "imds_support" in spec.fields}
    assert amis and amis <= set(CATALOG["IMDS009"]["applies_to"])
    with_options = {kind for kind, spec in KINDS.items() if spec.fields} - amis
    assert with_options <= set(CATALOG["IMDS002"]["applies_to"])
    assert set(TYPES) <= set(CATALOG["IMDS002"]["applies_to"])
    # Kinds without metadata options of their own: the rule that reports them lists them.
    launchers = {k for k, s in KINDS.items() if s.remedy and not s.fields} | {
        k for k, launcher in LAUNCHERS.items() if launcher.spec.remedy
    }
    launchers |= {s.kind for s in ansible.KINDS if s.remedy and not s.fields}
    launchers |= {k for k, s in packer_targets.KINDS.items() if s.remedy and not s.fields}
    launchers |= {cdk.CLUSTER_CAPACITY}
    assert launchers and any(launchers == set(e["applies_to"]) for e in CATALOG.values())
    # Kinds that only name a template (Auto Scaling groups, EC2 fleets): IMDS004 when it
    # cannot be found.
    linkers = {k for k, s in KINDS.items() if not s.fields and not s.remedy and not s.block}
    linkers -= {"aws_ec2_instance_metadata_defaults"}
    linkers |= {k for k, launcher in LAUNCHERS.items() if not launcher.spec.remedy}
    assert linkers and linkers <= set(CATALOG["IMDS004"]["applies_to"])
    assert "aws_ec2_instance_metadata_defaults" not in CATALOG["IMDS001"]["applies_to"]


def _terraform_examples() -> list[tuple[str, int, dict[str, Any]]]:
    return [
        (rule_id, i, ex)
        for rule_id in RULE_IDS
        for i, ex in enumerate(CATALOG[rule_id]["examples"])
        if ex["format"] == "terraform"
        and RULES[rule_id].audit is None
        and RULES[rule_id].hazard is None
        and RULES[rule_id].policy is None
    ]


def _policy_examples() -> list[tuple[str, int, dict[str, Any]]]:
    return [
        (rule_id, i, ex)
        for rule_id in RULE_IDS
        for i, ex in enumerate(CATALOG[rule_id]["examples"])
        if RULES[rule_id].policy is not None
    ]


@pytest.mark.parametrize(
    ("rule_id", "index", "example"),
    _policy_examples(),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_policy_examples_behave_as_documented(
    cli, tmp_path: Path, rule_id: str, index: int, example
) -> None:
    """A rule that judges guardrail policies fires on its bad example, scanned as a policy
    document, and not on its good one."""
    assert example["format"] == "policy-json"
    fired = []
    for text in (example["bad"], example["good"]):
        (tmp_path / "scp.json").write_text(text)
        doc = cli("check", "--format", "json", "scp.json", cwd=tmp_path).json()
        assert doc["errors"] == []
        assert doc["summary"]["policies"] == 1
        fired.append([f["rule_id"] for f in doc["findings"]])
    assert rule_id in fired[0]
    assert fired[1] == []


def _hazard_examples() -> list[tuple[str, int, dict[str, Any]]]:
    return [
        (rule_id, i, ex)
        for rule_id in RULE_IDS
        for i, ex in enumerate(CATALOG[rule_id]["examples"])
        if RULES[rule_id].hazard is not None
    ]


# The file an example of each format is scanned as (a CloudFormation example is a resource).
_EXAMPLE_FILES = {
    "terraform": ("main.tf", ""),
    "cloudformation": ("stack.yaml", "Resources:\n"),
    "shell": ("bootstrap.sh", ""),
    "powershell": ("bootstrap.ps1", ""),
    "python": ("app.py", ""),
    "requirements": ("requirements.txt", ""),
    "package.json": ("package.json", ""),
}


@pytest.mark.parametrize(
    ("rule_id", "index", "example"),
    _hazard_examples(),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_hazard_examples_behave_as_documented(
    cli, tmp_path: Path, rule_id: str, index: int, example
) -> None:
    """A rule that judges code run on instances fires on its bad example, scanned as a file of
    its format, and not on its good one."""
    name, prefix = _EXAMPLE_FILES[example["format"]]
    fired = []
    for text in (example["bad"], example["good"]):
        body = text if not prefix else "".join("  " + line + "\n" for line in text.splitlines())
        (tmp_path / name).write_text(prefix + body)
        doc = cli("check", "--format", "json", name, cwd=tmp_path).json()
        assert doc["errors"] == []
        fired.append([f["rule_id"] for f in doc["findings"] if f["rule_id"] == rule_id])
    assert rule_id in fired[0]
    assert fired[1] == []


def _audit_examples() -> list[tuple[str, int, dict[str, Any]]]:
    return [
        (rule_id, i, ex)
        for rule_id in RULE_IDS
        for i, ex in enumerate(CATALOG[rule_id]["examples"])
        if RULES[rule_id].audit is not None
    ]


@pytest.mark.parametrize(
    ("rule_id", "index", "example"),
    _audit_examples(),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_suppression_examples_behave_as_documented(
    cli, tmp_path: Path, rule_id: str, index: int, example
) -> None:
    """A rule that judges suppressions fires on its bad example, scanned as a file, and not on
    its good one."""
    name = "main.tf" if example["format"] == "terraform" else "stack.yaml"
    prefix = "" if example["format"] == "terraform" else "Resources:\n"
    fired = []
    for text in (example["bad"], example["good"]):
        body = text if not prefix else "".join("  " + line + "\n" for line in text.splitlines())
        (tmp_path / name).write_text(prefix + body)
        doc = cli("check", "--format", "json", name, cwd=tmp_path).json()
        assert doc["errors"] == []
        fired.append([f["rule_id"] for f in doc["findings"] if f["suppressed"] is None])
    assert rule_id in fired[0]
    assert fired[1] == []


def _rules_fired(text: str) -> list[str]:
    targets, errors = hcl.parse("example.tf", text.encode())
    assert errors == [], errors
    assert targets, "the example has no resource imds-iac checks"
    return [f.rule_id for t in link(targets) for f in evaluate(t, Context())]


@pytest.mark.parametrize(
    ("rule_id", "index", "example"),
    _terraform_examples(),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_terraform_examples_behave_as_documented(rule_id: str, index: int, example) -> None:
    assert rule_id in _rules_fired(example["bad"])
    assert _rules_fired(example["good"]) == []


def test_generated_docs_are_current() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr


def test_rules_command(cli) -> None:
    listing = cli("rules")
    assert listing.code == 0
    lines = listing.out.splitlines()
    assert [line.split()[0] for line in lines] == RULE_IDS
    assert "tokens-not-required" in lines[1]
    one = cli("rules", "imds002")
    assert one.code == 0
    for section in ("What it does", "Why is this bad?", "Use instead:", "Fix safety", "References"):
        assert section in one.out
    assert "CKV_AWS_79" in one.out
    assert "```" not in one.out
    md = cli("rules", "IMDS003", "--format", "markdown")
    assert md.out.startswith("# IMDS003 hop-limit-above-threshold")
    assert "```hcl" in md.out
    assert cli("rules", "--format", "json").code == 0
    missing = cli("rules", "IMDS999")
    assert missing.code == 2
    assert "unknown rule 'IMDS999'" in missing.err


@pytest.mark.slow
def test_wheel_ships_the_catalog(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    (wheel,) = tmp_path.glob("imds_iac-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for rule_id in RULE_IDS:
        assert f"imds_iac_checks/rules/{rule_id}.toml" in names
    assert "imds_iac_checks/formats/terraform/syntax.py" in names
    assert not any(n.startswith(("tests/", "fixtures/")) for n in names)


def test_cloudformation_examples_are_valid_yaml() -> None:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    for rule in CATALOG.values():
        for example in rule["examples"]:
            if example["format"] != "cloudformation":
                continue
            for text in (example["bad"], example["good"]):
                (resource,) = yaml.load(text).values()
                assert resource["Type"].startswith("AWS::")
