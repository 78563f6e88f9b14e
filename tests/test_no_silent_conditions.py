"""Issue 15, "Done when": no pass is silent. Every conditional resource of the fixtures — a
Terraform resource with `count` or `for_each`, a CloudFormation resource with a `Condition` —
is either evaluated (it has targets) or named in a finding."""

from __future__ import annotations

import re

from imds_iac_checks.formats import cloudformation, data
from imds_iac_checks.formats.terraform import graph
from imds_iac_checks.formats.terraform.kinds import KINDS
from tests.conftest import ROOT

FIXTURES = ROOT / "fixtures"
_RESOURCE = re.compile(r'^resource\s+"(\w+)"\s+"([\w-]+)"\s*\{(.*?)^\}', re.M | re.S)
_META = re.compile(r"^\s*(count|for_each)\s*=", re.M)


def _generic(address: str) -> str:
    return re.sub(r"\[[^\]]*\]", "", address)


def test_every_conditional_terraform_resource_is_evaluated() -> None:
    directories = sorted({p.parent for p in FIXTURES.rglob("*.tf")})
    conditional: set[str] = set()
    for directory in directories:
        for path in directory.glob("*.tf"):
            for kind, name, body in _RESOURCE.findall(path.read_text()):
                if kind in KINDS and _META.search(body):
                    conditional.add(f"{kind}.{name}")
    assert "aws_instance.bastion" in conditional  # the walk sees the case of issue 15
    targets, _ = graph.terraform_targets([str(d) for d in directories], cwd=str(ROOT))
    evaluated = {_generic(t.address).split("module.")[-1].split(".", 1)[-1] for t in targets}
    evaluated |= {_generic(t.address) for t in targets}
    missing = sorted(c for c in conditional if c not in evaluated)
    assert missing == []


def test_every_conditional_cloudformation_resource_is_evaluated() -> None:
    seen = 0
    for path in sorted((FIXTURES / "cloudformation").rglob("*")):
        if path.suffix not in (".yaml", ".yml", ".json", ".template"):
            continue
        text = path.read_text()
        targets, _ = data.parse(str(path), text.encode())
        named = {t.address.split(".")[0] for t in targets}
        for logical, kind in re.findall(
            r"^  (\w+):\n    Type: (AWS::[\w:]+)[^\n]*\n    Condition:", text, re.M
        ):
            if kind in cloudformation.TYPES:
                seen += 1
                assert logical in named, (path, logical)
    assert seen >= 2  # LegacyHost and ProdHost of php-tier.yaml


_MODULE = re.compile(r'^module\s+"([\w-]+)"\s*\{(.*?)^\}', re.M | re.S)


def test_every_conditional_module_call_is_evaluated_or_named() -> None:
    """A module call with `count` or `for_each` (`count = var.enable_bastion ? 1 : 0`, off by
    default only) is evaluated — targets made through it — or named by a target of its own (an
    IMDS004 warning at the call)."""
    directories = sorted({p.parent for p in FIXTURES.rglob("*.tf")})
    conditional: set[str] = set()
    for directory in directories:
        for path in directory.glob("*.tf"):
            for name, body in _MODULE.findall(path.read_text()):
                if _META.search(body):
                    conditional.add(f"module.{name}")
    assert {"module.bastion", "module.jump"} <= conditional  # the cases of issue 15
    targets, _ = graph.terraform_targets([str(d) for d in directories], cwd=str(ROOT))
    reached: set[str] = set()
    for target in targets:
        parts = _generic(target.address).split(".")
        reached |= {f"module.{parts[i + 1]}" for i, p in enumerate(parts[:-1]) if p == "module"}
    missing = sorted(c for c in conditional if c not in reached)
    assert missing == []
