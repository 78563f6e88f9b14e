"""Tests per rule: ``tests/rules/<RULE ID>/`` holds the cases of one rule, as ruff's
``test_case(Rule::X, "file")`` table does. A case is

- a file: a CloudFormation template (YAML or JSON), EC2 API JSON, a Terraform plan or a
  ``.tf.json`` file, scanned alone; or
- a directory: a Terraform project (``.tf`` files with their ``.tfvars``, local modules, a
  ``.imds-iac.toml``), scanned as a whole. ``.tf`` files always sit in a case directory, since a
  Terraform module is every ``.tf`` file of a directory.

A case states the findings it must get as tests/expect.py describes — ``# imds-expect:
IMDS002@19`` on the line, or ``LINE IMDS002@19 RESOURCE`` in a JSON file's ``.expect`` sidecar,
always with the column — and the command-line arguments it needs, if any (``# imds-args:
--hop-limit 2``). A case with no expectation is a case where the rule must not fire. The test runs
``imds-iac check --format json [ARGS] CASE`` from the rule's directory (paths in ARGS are relative
to it) and compares the findings of that rule only: a case about IMDS002 may also get IMDS004,
which the IMDS004 cases pin.

Reproduce a case by hand: ``cd tests/rules/IMDS002 && imds-iac check CASE``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.conftest import require_tool
from tests.expect import SIDECAR, Expected, annotated_files, arguments_in, expected_in

RULES_DIR = Path(__file__).resolve().parent / "rules"


def rule_ids() -> list[str]:
    """The rules the scanner has: the one place this module asks for them."""
    from imds_iac_checks.rules import REGISTRY

    return list(REGISTRY)


def reads_code(rule: str) -> bool:
    """Whether ``rule`` judges code that runs on instances (a ``hazard`` rule) rather than
    targets' settings."""
    from imds_iac_checks.rules import REGISTRY

    return REGISTRY[rule].hazard is not None


def reads_policies(rule: str) -> bool:
    """Whether ``rule`` judges guardrail policies (a ``policy`` rule) rather than targets."""
    from imds_iac_checks.rules import REGISTRY

    return REGISTRY[rule].policy is not None


class Case(NamedTuple):
    rule: str
    path: Path  # a file or a directory in tests/rules/<rule>/
    expected: list[Expected]
    args: list[str]

    @property
    def id(self) -> str:
        return f"{self.rule}/{self.path.name}"


def load_cases(root: Path = RULES_DIR) -> list[Case]:
    cases = []
    for rule_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for entry in sorted(rule_dir.iterdir()):
            if entry.name.endswith(SIDECAR):
                continue
            files = annotated_files(entry)
            expected = [e for path in files for e in expected_in(path)]
            args = [arg for path in files for arg in arguments_in(path)]
            cases.append(Case(rule_dir.name, entry, expected, args))
    return cases


CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_case(cli, case: Case) -> None:
    here = case.path.parent
    run = cli("check", "--format", "json", *case.args, case.path.name, cwd=here)
    doc = run.json()
    assert doc["errors"] == []
    if reads_code(case.rule):
        # A rule on code that runs on instances (IMDS007) reads scripts tied to no target.
        assert doc["summary"]["files_scanned"] > 0, "the case holds nothing imds-iac reads"
    elif reads_policies(case.rule):
        assert doc["summary"]["policies"] > 0, "the case holds no policy imds-iac reads"
    else:
        assert doc["summary"]["targets"] > 0, "the case holds nothing imds-iac reads"
    found = [f for f in doc["findings"] if f["rule_id"] == case.rule]
    actual = sorted(f"{f['path']}:{f['line']}:{f['column']}" for f in found)
    expected = sorted(
        f"{e.path.relative_to(here).as_posix()}:{e.line}:{e.column}" for e in case.expected
    )
    assert actual == expected, "\n".join(
        f"{f['path']}:{f['line']}:{f['column']}: {f['message']}" for f in found
    )
    resources = {
        (e.path.relative_to(here).as_posix(), e.line, e.column): e.resource for e in case.expected
    }
    for f in found:
        wanted = resources[(f["path"], f["line"], f["column"])]
        if wanted is not None:
            assert f["resource"] == wanted


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_case_is_well_formed(case: Case) -> None:
    """Expectations name the case's own rule and a column; a JSON case has a sidecar (even an
    empty one), so that every case says what it expects."""
    for e in case.expected:
        assert (e.rule, e.column is not None) == (case.rule, True), e
    if case.path.is_file():
        assert not case.path.name.endswith(".tf"), "a .tf case is a directory: the module"
        if case.path.name.endswith(".json"):
            assert case.path.with_name(case.path.name + SIDECAR).exists(), "no sidecar"


def test_every_rule_has_cases_that_fire_and_cases_that_do_not() -> None:
    rules = rule_ids()
    assert sorted(p.name for p in RULES_DIR.iterdir() if p.is_dir()) == sorted(rules)
    for rule in rules:
        mine = [case for case in CASES if case.rule == rule]
        assert any(case.expected for case in mine), f"{rule}: no case where it fires"
        assert any(not case.expected for case in mine), f"{rule}: no case where it must not fire"


HCL_FILES = sorted(p for p in RULES_DIR.rglob("*") if p.name.endswith((".tf", ".tfvars")))


@pytest.mark.parametrize("path", HCL_FILES, ids=lambda p: p.relative_to(RULES_DIR).as_posix())
def test_terraform_cases_are_valid_for_hashicorps_parser(path: Path) -> None:
    """A case Terraform itself would reject tests nothing a user writes."""
    require_tool(
        importlib.util.find_spec("pygohcl") is not None, "pygohcl (HashiCorp's HCL parser)"
    )
    import pygohcl

    pygohcl.loads(path.read_text(encoding="utf-8"))
