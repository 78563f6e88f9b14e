"""Hostile Terraform for the evaluator (issue 12, items 1, 5, 6, 7, 8): no crash, no hang, no
blow-up, and what cannot be evaluated is named (IMDS004), never dropped.

Every case is generated (tests/hostile/eval.py) at several sizes and shapes; each must finish in
a bounded CPU time (they took from 60 s to forever, or crashed, before) and still report the
ordinary finding in ``good/``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imds_iac_checks.config import Overrides, Resolver
from imds_iac_checks.model import Finding
from imds_iac_checks.scan import ScanResult, scan
from tests.hostile.eval import GENERATORS

from .conftest import run_process

# CPU seconds for one generated case. They finish in well under a second on an idle core; the
# bound leaves room for a loaded CI machine and still fails on any of the old behaviours.
CPU_BOUND = 4.0
SEEDS = range(4)


def _scan(root: Path) -> tuple[ScanResult, float]:
    start = time.process_time()
    result = scan([str(root)], Resolver(Overrides()), cwd=str(root))
    return result, time.process_time() - start


def _case(name: str, seed: int, tmp_path: Path) -> tuple[ScanResult, float]:
    GENERATORS[name](random.Random(seed), tmp_path)
    result, cpu = _scan(tmp_path)
    assert cpu < CPU_BOUND, f"{name} seed {seed}: {cpu:.1f} s of CPU"
    good = [f for f in result.findings if f.path == "good/main.tf"]
    assert [f.rule_id for f in good] == ["IMDS002"], "the ordinary finding was lost"
    for f in result.findings:  # every finding points at a real place
        assert f.path and f.span.line >= 1 and f.span.column >= 1, f
    return result, cpu


def _by_resource(findings: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.resource, []).append(f)
    return out


# --- item 1: an exception in one target's evaluation -------------------------------------------

ISSUE_MODULE = """\
variable "instances" {
  type    = map(object({ tokens = string }))
  default = { a = { tokens = "optional" } }
}
variable "enforce_imdsv2" {
  type = bool
}
resource "aws_instance" "web" {
  for_each = var.instances
  ami      = "ami-1"
  metadata_options {
    http_tokens = var.enforce_imdsv2 ? "required" : each.value.tokens
  }
}
variable "n" {}
variable "x" {}
resource "aws_instance" "counted" {
  count = var.n
  metadata_options {
    http_tokens = var.x ? count.index : "required"
  }
}
"""


@pytest.mark.slow
def test_issue_module_gives_findings_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "mod").mkdir()
    (tmp_path / "mod" / "main.tf").write_text(ISSUE_MODULE)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "main.tf").write_text(GENERATORS_GOOD)
    run = run_process("check", "--format", "sarif", ".", cwd=tmp_path)
    assert "Traceback" not in run.err
    assert run.code == 1, run.err
    results = json.loads(run.out)["runs"][0]["results"]
    where = {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
        for r in results
    }
    assert ("IMDS002", "other/main.tf") in where  # the other file's output is intact
    # `each.value.tokens` is "optional" when the flag is false: found in that branch.
    assert ("IMDS002", "mod/main.tf") in where
    # `count.index` in a branch, with an unknown count: not a silent pass.
    assert ("IMDS004", "mod/main.tf") in where


GENERATORS_GOOD = (
    'resource "aws_instance" "good" {\n  metadata_options {\n    http_tokens = "optional"\n  }\n}\n'
)


@pytest.mark.parametrize("seed", SEEDS)
def test_unknown_branches(seed: int, tmp_path: Path) -> None:
    result, _ = _case("eval_unknown_branches", seed, tmp_path)
    found = _by_resource(result.findings)
    text = (tmp_path / "bad" / "main.tf").read_text()
    for i in range(text.count('"aws_instance" "fe')):
        rules = {f.rule_id for f in found[f"aws_instance.fe{i}"]}
        assert "IMDS004" in rules  # the unknown each.value branch is named
    assert not result.errors


def _module_with(tmp_path: Path, resources: int) -> Path:
    rng = random.Random(resources)
    text = "".join(
        f'resource "aws_instance" "r{i}" {{\n  count = {rng.randint(1, 3)}\n'
        f'  metadata_options {{\n    http_tokens = "{rng.choice(["optional", "required"])}"\n'
        "  }\n}\n"
        for i in range(resources)
    )
    (tmp_path / "main.tf").write_text(text)
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "main.tf").write_text(GENERATORS_GOOD)
    return tmp_path


def test_a_defect_in_one_resource_costs_only_that_resource(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imds_iac_checks.formats.terraform import module as terraform_module

    _module_with(tmp_path, 6)
    baseline, _ = _scan(tmp_path)
    real = terraform_module.Module._target

    def failing(self, spec, address, *args, **kwargs):  # type: ignore[no-untyped-def]
        if address.startswith("aws_instance.r3"):
            raise IndexError("tuple index out of range")
        return real(self, spec, address, *args, **kwargs)

    monkeypatch.setattr(terraform_module.Module, "_target", failing)
    result, _ = _scan(tmp_path)
    failed = [f for f in result.findings if f.resource == "aws_instance.r3"]
    assert [f.rule_id for f in failed] == ["IMDS004"]
    assert "internal error: IndexError" in failed[0].message
    others = [f for f in result.findings if "aws_instance.r3" not in f.resource]
    assert others == [f for f in baseline.findings if "aws_instance.r3" not in f.resource]


def test_a_defect_in_a_rule_costs_only_that_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imds_iac_checks import engine

    _module_with(tmp_path, 4)
    real = engine.RULES["IMDS003"].check

    def failing(target, ctx):  # type: ignore[no-untyped-def]
        if target.address.startswith("aws_instance.r1"):
            raise IndexError("tuple index out of range")
        return real(target, ctx)

    monkeypatch.setitem(engine.RULES, "IMDS003", engine.RULES["IMDS003"]._replace(check=failing))
    result, _ = _scan(tmp_path)
    failed = [f for f in result.findings if "internal error in IMDS003" in f.message]
    assert failed and all(f.rule_id == "IMDS004" for f in failed)
    assert {f.resource for f in failed} <= {"aws_instance.r1", "aws_instance.r1[0]"} | {
        f"aws_instance.r1[{i}]" for i in range(3)
    } | {"aws_instance.r1"}
    assert any(f.path == "good/main.tf" and f.rule_id == "IMDS002" for f in result.findings)


def test_a_defect_in_linking_or_a_module_call_is_a_scan_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imds_iac_checks import scan as scan_module
    from imds_iac_checks.formats.terraform import module as terraform_module

    _module_with(tmp_path, 2)
    (tmp_path / "caller").mkdir()
    (tmp_path / "caller" / "main.tf").write_text(
        'module "a" {\n  source = "../good"\n}\n' + GENERATORS_GOOD.replace('"good"', '"own"')
    )

    def broken_link(targets):  # type: ignore[no-untyped-def]
        raise KeyError("x")

    def broken_call(self, *args):  # type: ignore[no-untyped-def]
        raise ValueError("y")

    monkeypatch.setattr(scan_module, "link", broken_link)
    monkeypatch.setattr(terraform_module.Module, "call_instances", broken_call)
    result, _ = _scan(tmp_path)
    messages = [e.message for e in result.errors]
    assert any("internal error while linking" in m for m in messages)
    assert any(m.startswith("module a: internal error: ValueError") for m in messages)
    assert any(f.resource == "aws_instance.own" for f in result.findings)
    assert any(f.path == "good/main.tf" for f in result.findings)


# --- item 5: self-referencing defaults and locals ------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_self_reference(seed: int, tmp_path: Path) -> None:
    result, _ = _case("eval_self_reference", seed, tmp_path)
    found = _by_resource(result.findings)
    for i in range(4):
        assert "IMDS004" in {f.rule_id for f in found[f"aws_instance.r{i}"]}


def test_variable_default_that_names_itself_twice(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "a" {\n  default = [var.a, var.a]\n}\n'
        'resource "aws_instance" "w" {\n  metadata_options {\n    http_tokens = var.a[1]\n'
        "  }\n}\n"
    )
    result, cpu = _scan(tmp_path)
    assert cpu < CPU_BOUND
    assert [f.rule_id for f in result.findings] == ["IMDS004"]
    assert "refers to itself" in result.findings[0].message


# --- item 6: exponential sharing ----------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_locals_chain(seed: int, tmp_path: Path) -> None:
    result, _ = _case("eval_locals_chain", seed, tmp_path)
    text = (tmp_path / "bad" / "main.tf").read_text()
    l0_line = text.splitlines().index(next(x for x in text.splitlines() if "l0 =" in x)) + 1
    web = [f for f in result.findings if f.resource == "aws_instance.web"]
    # Shared, not expanded: the exact answer, the "optional" written at l0.
    assert any(f.rule_id == "IMDS002" and f.span.line == l0_line for f in web), web
    assert not any("too complex" in f.message for f in web)
    assert any(f.resource == "aws_instance.whole" for f in result.findings)


def test_alternatives_past_the_cap_are_too_complex(tmp_path: Path) -> None:
    depth = random.Random(7).randint(40, 60)
    lines = ['locals {\n  l0 = "optional"\n']
    lines += [f'  l{i} = var.u{i} ? local.l{i - 1} : "v{i}"\n' for i in range(1, depth + 1)]
    lines.append("}\n")
    lines.append(
        f'resource "aws_instance" "w" {{\n  metadata_options {{\n'
        f"    http_tokens = local.l{depth}\n  }}\n}}\n"
    )
    (tmp_path / "main.tf").write_text("".join(lines))
    result, cpu = _scan(tmp_path)
    assert cpu < CPU_BOUND
    # Where the alternatives passed the cap, the value is unknown (one IMDS004); the literals
    # of the conditionals above that point are still alternatives of their own.
    unknown = [f for f in result.findings if f.rule_id == "IMDS004"]
    assert len(unknown) == 1
    assert "too complex to evaluate statically: more than 32 alternative values" in (
        unknown[0].message
    )
    assert len(result.findings) <= 33


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_shared_values_used_whole(seed: int, tmp_path: Path) -> None:
    result, _ = _case("eval_shared_values", seed, tmp_path)
    found = _by_resource(result.findings)
    string = found["aws_instance.string"]
    assert [f.rule_id for f in string] == ["IMDS004"]  # 2^depth characters: not built
    # The set's elements cannot be listed within the bound: each.value is named, not guessed.
    assert [f.rule_id for f in found["aws_instance.set"]] == ["IMDS004"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_module_fanout(seed: int, tmp_path: Path) -> None:
    from imds_iac_checks.formats.terraform.graph import ROOT_MODULES

    result, _ = _case("eval_module_fanout", seed, tmp_path)
    cut = [f for f in result.findings if "too complex to evaluate statically" in f.message]
    assert cut and all(f.rule_id == "IMDS004" and f.kind == "module" for f in cut)
    assert "instance(s) of this call were not evaluated" in cut[0].message
    # Bounded: the root and at most ROOT_MODULES module instances, one finding each.
    assert len(result.findings) <= ROOT_MODULES + 1 + len(cut) + 1


def test_module_fanout_below_the_bound_is_complete(tmp_path: Path) -> None:
    for level in range(4):  # 1 + 3 + 9 + 27 instances
        directory = tmp_path / f"m{level}"
        directory.mkdir()
        text = f'resource "aws_instance" "i{level}" {{\n  metadata_options {{\n'
        text += '    http_tokens = "optional"\n  }\n}\n'
        if level < 3:
            text += "".join(
                f'module "c{c}" {{\n  source = "../m{level + 1}"\n}}\n' for c in range(3)
            )
        (directory / "main.tf").write_text(text)
    result, _ = _scan(tmp_path)
    assert len(result.findings) == 40
    assert not any("too complex" in f.message for f in result.findings)


# --- item 7: huge instance counts and collections ------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_huge_count(seed: int, tmp_path: Path) -> None:
    result, _ = _case("eval_huge_count", seed, tmp_path)
    found = _by_resource(result.findings)
    n = int((tmp_path / "bad" / "main.tf").read_text().split("default = ")[1].split()[0])
    same = found["aws_instance.same"]
    assert [f.rule_id for f in same] == ["IMDS002"]
    assert f"every one of {n:,} instances" in same[0].message
    child = found["module.many.aws_instance.c"]
    assert f"every one of {n:,} instances" in child[0].message
    cut = [f for f in found["aws_instance.indexed"] if f.rule_id == "IMDS004"]
    assert len(cut) == 1 and "only the first 256 were evaluated" in cut[0].message
    assert result.targets < 400


def test_count_below_the_bound_is_expanded(tmp_path: Path) -> None:
    n = random.Random(3).randint(2, 256)
    (tmp_path / "main.tf").write_text(
        f'resource "aws_instance" "w" {{\n  count = {n}\n  metadata_options {{\n'
        '    http_tokens = "optional"\n  }\n}\n'
    )
    result, _ = _scan(tmp_path)
    assert result.targets == n
    assert f"({n} instances)" in result.findings[0].message


@pytest.mark.parametrize(
    ("count", "label"),
    [
        ("1e400", "every one of more than 10^15 instances"),  # an exact int: 10**400
        ("1e15", "every one of more than 10^15 instances"),
        ("2.5e3", "every one of 2,500 instances"),
        ("1E-2", ""),  # not a whole number: Terraform rejects it; evaluated once, never dropped
        ("-3", ""),  # fewer than none: Terraform rejects it; not a silent pass either
    ],
)
def test_count_in_exponent_form(count: str, label: str, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        f'resource "aws_instance" "w" {{\n  count = {count}\n  metadata_options {{\n'
        '    http_tokens = "optional"\n  }\n}\n'
    )
    result, cpu = _scan(tmp_path)
    assert not result.errors, result.errors
    assert [f.rule_id for f in result.findings] == ["IMDS002"], result.findings
    assert label in result.findings[0].message
    assert cpu < CPU_BOUND


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2))  # each spends the whole budget
def test_nested_for(seed: int, tmp_path: Path) -> None:
    result, _ = _case("eval_nested_for", seed, tmp_path)
    web = [f for f in result.findings if f.resource == "aws_instance.web"]
    assert [f.rule_id for f in web] == ["IMDS004"]
    assert "too complex to evaluate statically" in web[0].message


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2))  # each spends the whole budget
def test_many_expressions_past_the_bound(seed: int, tmp_path: Path) -> None:
    result, _ = _case("eval_many_explosions", seed, tmp_path)
    bad = [f for f in result.findings if f.path == "bad/main.tf"]
    resources = (tmp_path / "bad" / "main.tf").read_text().count('resource "aws_instance"')
    assert len(bad) == resources
    assert all(f.rule_id == "IMDS004" and "too complex" in f.message for f in bad)


# --- item 8: symbolic links between module directories ------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_symlinked_modules(seed: int, tmp_path: Path) -> None:
    result, _ = _case("eval_symlink_modules", seed, tmp_path)
    links = len([p for p in (tmp_path / "bad").iterdir() if p.name.startswith("l")])
    loops = [e for e in result.errors if "calls itself" in e.message]
    assert len(loops) == links  # each self-call through a link is named once
    web = [f for f in result.findings if f.path == "bad/main.tf"]
    # bad/ is called by sub/ (through the links `up` and `up/l0`), so, like a module called
    # by its real path, it is evaluated through those two calls, not as a root of its own.
    assert sorted(f.resource for f in web) == [
        "module.up.aws_instance.web",
        "module.up2.aws_instance.web",
    ]
    assert not any("/l" in f.path or "/up" in f.path for f in result.findings)


# --- every generator through the command line: no traceback, bounded time and memory -------------


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generators_through_the_cli(name: str, tmp_path: Path) -> None:
    GENERATORS[name](random.Random(11), tmp_path)
    start = time.monotonic()
    # Measured by a parent of its own, whose only child is the scan: RUSAGE_CHILDREN of the test
    # process would be the largest child of the whole test run so far (a browser, checkov).
    measure = (
        "import resource, subprocess, sys\n"
        "run = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=120)\n"
        "use = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "sys.stderr.write(run.stderr)\n"
        "sys.stdout.write(run.stdout)\n"
        "print()\n"
        "print(use.ru_utime + use.ru_stime, use.ru_maxrss)\n"
        "sys.exit(run.returncode)\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            measure,
            sys.executable,
            "-m",
            "imds_iac_checks",
            "check",
            "--format",
            "json",
            ".",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert "Traceback" not in proc.stderr and proc.returncode in (1, 2), proc.stderr
    output, _, measured = proc.stdout.rstrip("\n").rpartition("\n")
    cpu_text, rss_text = measured.split()
    cpu = float(cpu_text)
    assert cpu < CPU_BOUND + 1, f"{cpu:.1f} s CPU ({time.monotonic() - start:.1f} s wall)"
    if sys.platform.startswith("linux"):  # ru_maxrss in KB
        assert int(rss_text) < 300 * 1024
    assert "good/main.tf" in output
    assert os.path.isdir(tmp_path / "good")
