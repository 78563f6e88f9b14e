"""Differential test against tfparse (defsec's Terraform evaluator, the engine behind trivy's
Terraform scanning): for every evaluable fixture module, the metadata options imds-iac resolves
must agree with tfparse's wherever both know the value. Differences on purpose are listed in
``KNOWN`` with their reason (and in docs/conformance.md)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from imds_iac_checks.formats.terraform.graph import terraform_targets
from imds_iac_checks.formats.terraform.kinds import KINDS
from imds_iac_checks.formats.terraform.module import tfvars_files
from imds_iac_checks.model import ENDPOINT, HOP_LIMIT, TOKENS, normalize
from tests.conftest import FIXTURES, require_tool

ROOTS = [
    "terraform/storefront",
    "terraform/build-farm",
    "terraform/images",
    "terraform/notebooks",
    "terraform/org-baseline",
    "terraform/secure-baseline",
    "terraform/platform/examples/complete",
    "terraform/platform/envs/prod",
    "terraform/evaluation",
]

# (root, address, setting) -> why the two evaluators differ on purpose
KNOWN: dict[tuple[str, str, str], str] = {}


@pytest.fixture(scope="module", autouse=True)
def _tfparse() -> None:
    require_tool(importlib.util.find_spec("tfparse") is not None, "tfparse")


def _theirs(root: Path) -> dict[tuple[str, str], object]:
    import tfparse

    # Terraform loads terraform.tfvars and *.auto.tfvars itself; tfparse must be told.
    var_files = [os.path.basename(p) for p in tfvars_files(str(root))]  # relative to root
    parsed = tfparse.load_from_path(str(root), allow_downloads=False, vars_paths=var_files or None)
    out: dict[tuple[str, str], object] = {}
    for kind, spec in KINDS.items():
        for resource in parsed.get(kind, []):
            address = resource.get("__tfmeta", {}).get("path")
            options = resource if spec.block is None else resource.get(spec.block)
            if isinstance(options, list):
                options = options[0] if options else None
            if not isinstance(options, dict):
                continue
            for key, field in spec.fields.items():
                raw = options.get(field)
                if raw is None or isinstance(raw, (dict, list)):
                    continue
                if isinstance(raw, str) and ("${" in raw or raw.startswith(("var.", "data."))):
                    continue  # tfparse could not resolve it either
                value, problem = normalize(spec, key, raw)
                if value is not None and problem is None:
                    out[(address, key)] = value
    return out


def _ours(root: Path) -> dict[tuple[str, str], object]:
    targets, _ = terraform_targets([str(root)], cwd=str(root))
    out: dict[tuple[str, str], object] = {}
    for target in targets:
        for key in (ENDPOINT, TOKENS, HOP_LIMIT):
            values = target.settings.get(key, ())
            if len(values) == 1 and values[0].known and values[0].value is not None:
                out[(target.address, key)] = values[0].value
    return out


@pytest.mark.parametrize("root", ROOTS)
def test_resolved_settings_agree_with_tfparse(root: str) -> None:
    ours, theirs = _ours(FIXTURES / root), _theirs(FIXTURES / root)
    both = sorted(set(ours) & set(theirs))
    assert both, "nothing to compare: the fixture should resolve some settings"
    disagreements = [
        (address, key, ours[(address, key)], theirs[(address, key)])
        for address, key in both
        if ours[(address, key)] != theirs[(address, key)] and (root, address, key) not in KNOWN
    ]
    assert disagreements == []


def test_tfparse_resolves_nothing_we_call_unknown() -> None:
    """Where tfparse has a literal value and imds-iac has none, imds-iac misses something."""
    missed = []
    for root in ROOTS:
        ours, theirs = _ours(FIXTURES / root), _theirs(FIXTURES / root)
        targets, _ = terraform_targets([str(FIXTURES / root)], cwd=str(FIXTURES / root))
        addresses = {t.address for t in targets}
        for (address, key), value in theirs.items():
            if address in addresses and (address, key) not in ours:
                missed.append((root, address, key, value))
    assert missed == []
