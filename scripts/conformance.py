#!/usr/bin/env python3
"""Peer conformance: scan the peer scanners' IMDS fixtures and put each peer's verdict beside ours.

    python scripts/conformance.py ../shared/peer-corpus            # Markdown table
    python scripts/conformance.py ../shared/peer-corpus --check    # exit 1: unexplained difference

The fixtures are not part of this project (they live in ``../shared/peer-corpus``); the peers'
verdicts below are transcribed from its ``EXPECTED.md``. A peer's token check (checkov
CKV_AWS_79 / CKV_AWS_371, trivy AVD-AWS-0028 / AVD-AWS-0130, KICS, semgrep, tfsec) is compared
with IMDS001 + IMDS002; checkov's hop-limit check CKV_AWS_341 with IMDS003. Every difference
must be explained in ``DIFFERENCES`` (and in docs/conformance.md); ``--check`` also fails when an
explained difference no longer happens, so the documentation cannot go stale.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import NamedTuple

from imds_iac_checks.engine import Context, evaluate
from imds_iac_checks.formats import data
from imds_iac_checks.formats.terraform import module as hcl
from imds_iac_checks.link import link
from imds_iac_checks.model import HOP_LIMIT

TOKENS_CHECK, HOP_CHECK = "tokens", "hop"


class PeerVerdict(NamedTuple):
    file: str  # relative to the corpus root
    address: str
    peer: str  # "checkov CKV_AWS_79", ...
    family: str  # TOKENS_CHECK or HOP_CHECK
    verdict: str  # "PASS" / "FAIL"


def _rows(file: str, peer: str, family: str, verdicts: dict[str, str]) -> list[PeerVerdict]:
    return [PeerVerdict(file, a, peer, family, v) for a, v in verdicts.items()]


CK = "checkov/tests/terraform/checks/resource/aws"
PEERS: list[PeerVerdict] = [
    # checkov (EXPECTED.md section 1)
    *_rows(
        f"{CK}/example_IMDSv1Disabled/main.tf",
        "checkov CKV_AWS_79",
        TOKENS_CHECK,
        {
            "aws_instance.defaults": "FAIL",
            "aws_instance.optional_token": "FAIL",
            "aws_instance.disabled": "PASS",
            "aws_instance.required": "PASS",
            "aws_launch_configuration.required_lc": "PASS",
            "aws_launch_configuration.optional_lc": "FAIL",
            "aws_launch_template.optional_lt": "FAIL",
            "aws_launch_template.default_lt": "FAIL",
        },
    ),
    *_rows(
        f"{CK}/example_LaunchTemplateMetadataHop/main.tf",
        "checkov CKV_AWS_341",
        HOP_CHECK,
        {
            "aws_launch_configuration.pass": "PASS",
            "aws_launch_configuration.pass2": "PASS",
            "aws_launch_configuration.fail": "FAIL",
            "aws_launch_template.pass": "PASS",
            "aws_launch_template.pass2": "PASS",
            "aws_launch_template.fail": "FAIL",
        },
    ),
    *_rows(
        f"{CK}/example_LaunchTemplateMetadataHop/main.tf",
        "checkov CKV_AWS_79",
        TOKENS_CHECK,
        {
            "aws_launch_template.pass": "PASS",
            "aws_launch_template.pass2": "PASS",
            "aws_launch_template.fail": "PASS",
            "aws_launch_configuration.pass": "FAIL",
            "aws_launch_configuration.pass2": "FAIL",
            "aws_launch_configuration.fail": "FAIL",
        },
    ),
    *_rows(
        "checkov/tests/terraform/parser/resources/parser_scenarios/ternary_793/main.tf",
        "checkov CKV_AWS_79",
        TOKENS_CHECK,
        {"aws_instance.foo": "PASS"},
    ),
    *_rows(
        f"{CK}/example_SagemakerNotebookInstanceAllowsIMDSv2/main.tf",
        "checkov CKV_AWS_371",
        TOKENS_CHECK,
        {
            "aws_sagemaker_notebook_instance.my_notebook_instance_pass": "PASS",
            "aws_sagemaker_notebook_instance.my_notebook_instance_fail_1": "FAIL",
            "aws_sagemaker_notebook_instance.my_notebook_instance_fail_2": "FAIL",
        },
    ),
    # trivy / tfsec (EXPECTED.md section 2)
    *_rows(
        "trivy/examples/AWS-0028_terraform_good_1.tf",
        "trivy AVD-AWS-0028",
        TOKENS_CHECK,
        {"aws_instance.good_example": "PASS"},
    ),
    *_rows(
        "trivy/examples/AWS-0028_terraform_bad_1.tf",
        "trivy AVD-AWS-0028",
        TOKENS_CHECK,
        {"aws_instance.bad_example": "FAIL"},
    ),
    *_rows(
        "trivy/examples/AWS-0130_terraform_good_1.tf",
        "trivy AVD-AWS-0130",
        TOKENS_CHECK,
        {"aws_launch_template.good_example": "PASS"},
    ),
    *_rows(
        "trivy/examples/AWS-0130_terraform_good_2.tf",
        "trivy AVD-AWS-0130",
        TOKENS_CHECK,
        {"aws_launch_configuration.good_example": "PASS"},
    ),
    *_rows(
        "trivy/examples/AWS-0130_terraform_bad_1.tf",
        "trivy AVD-AWS-0130",
        TOKENS_CHECK,
        {"aws_launch_template.bad_example": "FAIL"},
    ),
    *_rows(
        "trivy/examples/AWS-0130_terraform_bad_2.tf",
        "trivy AVD-AWS-0130",
        TOKENS_CHECK,
        {"aws_launch_configuration.bad_example": "FAIL"},
    ),
    *_rows(
        "trivy/adapter_tests/tf_adapt__configured.tf",
        "trivy AVD-AWS-0028",
        TOKENS_CHECK,
        {"aws_instance.example": "PASS"},
    ),
    *_rows(
        "trivy/adapter_tests/tf_adapt__defaults.tf",
        "trivy AVD-AWS-0028",
        TOKENS_CHECK,
        {"aws_instance.example": "FAIL"},
    ),
    *[
        row
        for ref in ("id", "name")
        for row in (
            *_rows(
                f"trivy/adapter_tests/tf_adapt__ec2_instance_with_launch_template_ref_to_{ref}.tf",
                "trivy AVD-AWS-0130",
                TOKENS_CHECK,
                {"aws_launch_template.this": "PASS"},
            ),
            *_rows(
                f"trivy/adapter_tests/tf_adapt__ec2_instance_with_launch_template_ref_to_{ref}.tf",
                "trivy AVD-AWS-0028",
                TOKENS_CHECK,
                {"aws_instance.this": "PASS"},
            ),
            # EXPECTED.md, "Cross-peer divergences" (observed running checkov 3.3.30)
            *_rows(
                f"trivy/adapter_tests/tf_adapt__ec2_instance_with_launch_template_ref_to_{ref}.tf",
                "checkov CKV_AWS_79",
                TOKENS_CHECK,
                {"aws_instance.this": "FAIL"},
            ),
        )
    ],
    *_rows(
        "trivy/adapter_tests/tf_autoscaling__basic_config.tf",
        "trivy AVD-AWS-0130",
        TOKENS_CHECK,
        {"aws_launch_configuration.my_config": "FAIL"},
    ),
    *_rows(
        "trivy/adapter_tests/tf_autoscaling__user_data_overrides_user_data_base_64.tf",
        "trivy AVD-AWS-0130",
        TOKENS_CHECK,
        {"aws_launch_configuration.my_config": "FAIL"},
    ),
    *_rows(
        "trivy/adapter_tests/tf_autoscaling__https_token_enforced.tf",
        "trivy AVD-AWS-0130",
        TOKENS_CHECK,
        {"aws_launch_template.my_tmpl": "PASS"},
    ),
    *[
        row
        for name, verdict in (
            ("case1_no_metadata_options_FIRE", "FAIL"),
            ("case2_tokens_optional_FIRE", "FAIL"),
            ("case3_tokens_required_NOFIRE", "PASS"),
            ("case4_endpoint_disabled_NOFIRE", "PASS"),
        )
        for row in _rows(
            f"trivy/tfsec_legacy/{name}.tf",
            "tfsec AWS079",
            TOKENS_CHECK,
            {"aws_instance.working example": verdict},
        )
    ],
    # KICS (EXPECTED.md section 3)
    *[
        row
        for n, verdict in [(i, "FAIL") for i in range(1, 6)] + [(i, "PASS") for i in range(1, 4)]
        for kind in ("positive" if verdict == "FAIL" else "negative",)
        for row in _rows(
            f"kics/terraform/{kind}{n}.tf",
            "KICS",
            TOKENS_CHECK,
            {
                f"aws_instance.{kind}{n}_1": verdict,
                f"aws_launch_configuration.{kind}{n}_2": verdict,
                f"aws_launch_template.{kind}{n}_3": verdict,
            },
        )
    ],
    *[
        row
        for n, verdict in [(i, "FAIL") for i in range(6, 11)] + [(i, "PASS") for i in range(4, 7)]
        for kind in ("positive" if verdict == "FAIL" else "negative",)
        for row in _rows(
            f"kics/terraform/{kind}{n}.tf",
            "KICS",
            TOKENS_CHECK,
            {f"module.{kind}{n}_instance": verdict, f"module.{kind}{n}_launch_config": verdict},
        )
    ],
    # CloudFormation: checkov (section 1), trivy (section 2), KICS (section 3)
    *_rows(
        "checkov/tests/cloudformation/checks/resource/aws/example_IMDSv1Disabled/FAILED.yml",
        "checkov CKV_AWS_79",
        TOKENS_CHECK,
        {"MetadataOptionsNone": "FAIL", "IMDSv1Enabled": "FAIL", "IMDSv2Optional": "FAIL"},
    ),
    *_rows(
        "checkov/tests/cloudformation/checks/resource/aws/example_IMDSv1Disabled/PASSED.yml",
        "checkov CKV_AWS_79",
        TOKENS_CHECK,
        {"IMDSv1Disabled": "PASS", "IMDSv2Enabled": "PASS"},
    ),
    *_rows(
        "checkov/tests/cloudformation/checks/resource/aws/example_SagemakerNotebookInstanceAllowsIMDSv2/"
        "SagemakerNotebookInstanceAllowsIMDSv2-FAILED.yaml",
        "checkov CKV_AWS_371",
        TOKENS_CHECK,
        {"BasicNotebookInstanceFail1": "FAIL", "BasicNotebookInstanceFail2": "FAIL"},
    ),
    *_rows(
        "checkov/tests/cloudformation/checks/resource/aws/example_SagemakerNotebookInstanceAllowsIMDSv2/"
        "SagemakerNotebookInstanceAllowsIMDSv2-PASSED.yaml",
        "checkov CKV_AWS_371",
        TOKENS_CHECK,
        {"BasicNotebookInstancePass": "PASS"},
    ),
    *_rows(
        "trivy/examples/AWS-0130_cloudformation_good_1.yaml",
        "trivy AVD-AWS-0130",
        TOKENS_CHECK,
        {"GoodExample": "PASS"},
    ),
    *_rows(
        "trivy/examples/AWS-0130_cloudformation_bad_1.yaml",
        "trivy AVD-AWS-0130",
        TOKENS_CHECK,
        {"BadExample": "FAIL"},
    ),
    *_rows(
        "trivy/adapter_tests/cf_adapt__complete.yaml",
        "trivy AVD-AWS-0028",
        TOKENS_CHECK,
        {"MyEC2Instance": "FAIL"},
    ),
    *_rows(
        "trivy/adapter_tests/cf_adapt__complete.yaml",
        "trivy AVD-AWS-0130",
        TOKENS_CHECK,
        {"myLaunchConfig": "PASS"},
    ),
    *_rows(
        "trivy/adapter_tests/cf_adapt__ec2_instance_with_metadata_options.yaml",
        "trivy AVD-AWS-0028",
        TOKENS_CHECK,
        {"MyEC2Instance": "PASS"},
    ),
    *[
        row
        for ref in ("id", "name")
        for row in (
            *_rows(
                f"trivy/adapter_tests/cf_adapt__ec2_instance_with_launch_template_ref_to_{ref}.yaml",
                "trivy AVD-AWS-0130",
                TOKENS_CHECK,
                {"MyLaunchTemplate": "PASS"},
            ),
            *_rows(
                f"trivy/adapter_tests/cf_adapt__ec2_instance_with_launch_template_ref_to_{ref}.yaml",
                "trivy AVD-AWS-0028",
                TOKENS_CHECK,
                {"MyEC2Instance": "PASS"},
            ),
        )
    ],
    *[
        row
        for n in range(1, 11)
        for row in _rows(
            f"kics/cloudformation/positive{n}.{'yaml' if n % 2 else 'json'}",
            "KICS",
            TOKENS_CHECK,
            {"MyEC2Instance": "FAIL", "MyLaunchTemplate": "FAIL"},
        )
    ],
    *[
        row
        for n in range(1, 7)
        for row in _rows(
            f"kics/cloudformation/negative{n}.{'yaml' if n % 2 else 'json'}",
            "KICS",
            TOKENS_CHECK,
            {"MyEC2Instance": "PASS", "MyLaunchTemplate": "PASS"},
        )
    ],
    # semgrep (EXPECTED.md section 4)
    *[
        row
        for file, kind in (
            ("semgrep/aws-ec2-instance-metadata-service-v1-enabled.tf", "aws_instance"),
            (
                "semgrep/aws-ec2-launch-template-metadata-service-v1-enabled.tf",
                "aws_launch_template",
            ),
        )
        for row in _rows(
            file,
            "semgrep",
            TOKENS_CHECK,
            {
                **{f"{kind}.fail_{i}": "FAIL" for i in range(1, 6)},
                f"{kind}.pass_1": "PASS",
                f"{kind}.pass_2": "PASS",
            },
        )
    ],
]

# Why a difference is intended. Keys: (file, address, peer) -> reason id (see REASONS).
REASONS = {
    "launch-template-inheritance": (
        "The instance names a launch template (`launch_template { id | name }`) that requires "
        "tokens, and sets no metadata options itself. checkov ignores the reference and fails "
        "the instance; imds-iac, like trivy, follows it: the instance runs with the template's "
        "options, and a weak template would be reported once, on the template."
    ),
    "registry-module-defaults": (
        "A call to terraform-aws-modules/ec2-instance `~> 6.0` that does not set http_tokens. "
        "KICS judges the `metadata_options` argument by name and fails it; imds-iac evaluates "
        "the call against the module's defaults for the versions the constraint allows, and "
        'ec2-instance has defaulted http_tokens to "required" (hop limit 1) since 5.8.'
    ),
}

DIFFERENCES: dict[tuple[str, str, str], str] = {
    **{
        (
            f"trivy/adapter_tests/tf_adapt__ec2_instance_with_launch_template_ref_to_{ref}.tf",
            "aws_instance.this",
            "checkov CKV_AWS_79",
        ): "launch-template-inheritance"
        for ref in ("id", "name")
    },
    **{
        (f"kics/terraform/positive{n}.tf", f"module.positive{n}_instance", "KICS"): (
            "registry-module-defaults"
        )
        for n in (8, 9, 10)
    },
}


class Ours(NamedTuple):
    rules: tuple[str, ...]  # every rule reported on the resource
    tokens: str  # PASS / FAIL / UNKNOWN / NO TARGET
    hop: str


def scan_corpus(root: Path) -> dict[tuple[str, str], list[Ours]]:
    """(file, address) -> our verdicts, one per resource with that address (in file order)."""
    ours: dict[tuple[str, str], list[Ours]] = defaultdict(list)
    paths = [p for p in root.rglob("*") if p.suffix in (".tf", ".yaml", ".yml", ".json")]
    for path in sorted(paths):
        rel = path.relative_to(root).as_posix()
        parse = hcl.parse if path.suffix == ".tf" else data.parse
        targets, errors = parse(rel, path.read_bytes())
        for error in errors:
            print(f"{rel}:{error.line}:{error.column}: {error.message}", file=sys.stderr)
        for target in link(targets):  # each fixture file is its own module or stack
            found = evaluate(target, Context(hop_limit=1))
            rules = tuple(f.rule_id for f in found)
            unknown = {f.setting for f in found if f.rule_id == "IMDS004"}
            tokens = "FAIL" if {"IMDS001", "IMDS002"} & set(rules) else "PASS"
            if tokens == "PASS" and unknown - {HOP_LIMIT}:
                tokens = "UNKNOWN"
            hop = "FAIL" if "IMDS003" in rules else ("UNKNOWN" if HOP_LIMIT in unknown else "PASS")
            ours[(rel, target.address)].append(Ours(rules, tokens, hop))
    return ours


def compare(root: Path) -> tuple[list[list[str]], list[str]]:
    ours = scan_corpus(root)
    table: list[list[str]] = []
    problems: list[str] = []
    seen_differences: set[tuple[str, str, str]] = set()
    for row in PEERS:
        if not (root / row.file).is_file():
            problems.append(f"{row.file}: missing from the corpus")
            continue
        mine = ours.get((row.file, row.address))
        if mine is None and row.address.startswith("module."):
            # A module call: the verdicts of the resources inside it.
            inside = [
                result
                for (file, address), results in ours.items()
                if file == row.file and address.startswith(row.address + ".")
                for result in results
            ]
            if inside:
                worst = max(inside, key=lambda r: ("PASS", "UNKNOWN", "FAIL").index(r.tokens))
                mine = [worst]
        mine = mine or [Ours((), "NO TARGET", "NO TARGET")]
        for index, result in enumerate(mine):
            verdict = result.tokens if row.family == TOKENS_CHECK else result.hop
            key = (row.file, row.address, row.peer)
            if verdict == row.verdict:
                status = "agree"
            elif key in DIFFERENCES:
                status = f"differs: {DIFFERENCES[key]}"
                seen_differences.add(key)
            else:
                status = "UNEXPECTED"
                problems.append(
                    f"{row.file}: {row.address}: {row.peer} says {row.verdict}, imds-iac {verdict}"
                )
            address = row.address + (f" (#{index + 1})" if len(mine) > 1 else "")
            rules = ", ".join(result.rules) or "—"
            table.append([row.file, address, row.peer, row.verdict, verdict, rules, status])
    for key in sorted(set(DIFFERENCES) - seen_differences):
        if (root / key[0]).is_file():
            problems.append(f"{key[0]}: {key[1]}: documented difference no longer happens")
    return table, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="the peer corpus (../shared/peer-corpus)")
    parser.add_argument("--check", action="store_true", help="exit 1 on unexplained differences")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        parser.error(f"{args.corpus}: not a directory")
    table, problems = compare(args.corpus)
    header = ["fixture", "resource", "peer check", "peer", "imds-iac", "imds-iac rules", "status"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for cells in table:
        print("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    counts = Counter("agree" if c[-1] == "agree" else c[-1].split(":")[0] for c in table)
    print()
    print(
        f"{len(table)} verdicts: {counts['agree']} agree, {counts['differs']} differ on purpose, "
        f"{counts['UNEXPECTED']} unexpected."
    )
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if args.check and problems else 0


if __name__ == "__main__":
    sys.exit(main())
