"""Run the generated hostile inputs of ``tests/hostile/*.py`` against the real command.

Used by ``python scripts/fuzz.py --generated`` and by ``tests/test_hostile_generated.py`` (a fixed
seed and a time budget). See ``scripts/fuzz.py`` for what a case must satisfy.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
Generator = Callable[[random.Random, Path], None]

# One run of the command on one case; a case is small, so this is generous.
CASE_TIMEOUT = 30.0
# Control characters that must never reach a terminal or a CI log raw (newline excepted).
_RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# A line that GitHub Actions would run as a workflow command (`::error ...::`): in text output or
# on standard error, only a file's content or name can have put it there.
_WORKFLOW_COMMAND = re.compile(r"^\s*::[A-Za-z-]+[ :]", re.MULTILINE)


def generators(only: list[str] | None = None) -> dict[str, Generator]:
    """Every generator of ``tests/hostile/*.py``, as ``area.name``, in a stable order."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    found: dict[str, Generator] = {}
    for path in sorted((ROOT / "tests" / "hostile").glob("*.py")):
        if path.name.startswith("_"):
            continue
        module = importlib.import_module(f"tests.hostile.{path.stem}")
        for name, function in sorted(getattr(module, "GENERATORS", {}).items()):
            key = f"{path.stem}.{name}"
            if not only or any(key == o or key.startswith(o + ".") for o in only):
                found[key] = function
    return found


def _snapshot(directory: Path) -> dict[str, str]:
    """Relative path -> content hash (or link target) of everything below ``directory``."""
    out: dict[str, str] = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            full = os.path.join(root, name)
            rel = os.path.relpath(full, directory)
            if os.path.islink(full):
                out[rel] = "link:" + os.readlink(full)
            elif os.path.isfile(full):
                try:
                    with open(full, "rb") as fh:
                        out[rel] = hashlib.sha256(fh.read()).hexdigest()
                except OSError as exc:
                    out[rel] = f"unreadable:{exc.errno}"
            elif os.path.isdir(full):
                out[rel] = "dir"
            else:
                out[rel] = "special"
    return out


def _command(args: list[str], cwd: Path, jobs: str) -> tuple[int, str, str, float]:
    env = dict(os.environ, IMDS_IAC_JOBS=jobs, IMDS_IAC_CACHE_DIR="", NO_COLOR="1")
    env.pop("IMDS_IAC_DEBUG", None)
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "imds_iac_checks", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=CASE_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return -1, "", f"timed out after {CASE_TIMEOUT:g} s", CASE_TIMEOUT
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    return proc.returncode, out, err, time.monotonic() - started


def check_case(case: Path, given: str = ".") -> list[str]:
    """Every way the command misbehaves on one generated case (empty: it behaved). ``given`` is
    the path passed to the command, relative to the case: what lies beside it is "outside"."""
    problems: list[str] = []
    runs: dict[str, tuple[int, str, str, float]] = {}
    for mode, jobs in (("serial", "1"), ("parallel", "2")):
        for fmt in ("text", "json"):
            runs[f"{mode}/{fmt}"] = _command(["check", "--format", fmt, given], case, jobs)
    for label, (code, out, err, _) in runs.items():
        if code not in (0, 1, 2):
            problems.append(f"check ({label}) exited {code}: {err.strip()[-300:]}")
        if "Traceback" in err or "internal error" in err + out:
            problems.append(f"check ({label}) crashed: {err.strip()[-500:] or out[-500:]}")
        if _RAW_CONTROL.search(err):
            problems.append(f"check ({label}): raw control character on standard error")
        if label.endswith("/text") and _RAW_CONTROL.search(out):
            problems.append(f"check ({label}): raw control character in text output")
        if _WORKFLOW_COMMAND.search(err) or (
            label.endswith("/text") and _WORKFLOW_COMMAND.search(out)
        ):
            problems.append(f"check ({label}): a line of output is a workflow command")
    for fmt in ("text", "json"):
        serial, parallel = runs[f"serial/{fmt}"], runs[f"parallel/{fmt}"]
        if serial[:3] != parallel[:3] and serial[0] != -1:
            problems.append(f"serial and parallel {fmt} output differ")
    before = _snapshot(case)
    code, out, err, _ = _command(["fix", "--unsafe-fixes", given], case, "1")
    if code not in (0, 1, 2) or "Traceback" in err or "internal error" in err + out:
        problems.append(f"fix exited {code}: {err.strip()[-500:]}")
    after = _snapshot(case)
    inside = given == "." or None
    for rel in sorted(set(before) | set(after)):
        if before.get(rel) == after.get(rel) or rel.endswith(".imds-iac-tmp"):
            continue
        if inside or rel == given or rel.startswith(given + os.sep):
            continue
        problems.append(f"fix changed {rel}, outside the path it was given")
    return problems


def _special(directory: str, names: list[str]) -> list[str]:
    """Names copytree must not open (named pipes, devices): it would block on a FIFO."""
    return [
        n
        for n in names
        if not os.path.islink(os.path.join(directory, n))
        and not os.path.isdir(os.path.join(directory, n))
        and not os.path.isfile(os.path.join(directory, n))
    ]


def run_generated(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fuzz.py --generated")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budget", type=float, default=120.0, help="seconds in all")
    parser.add_argument("--only", nargs="*", help="generators (area or area.name)")
    parser.add_argument("--keep", type=Path, help="copy failing cases here")
    parser.add_argument("--list", action="store_true", help="list the generators and stop")
    args = parser.parse_args(argv)
    found = generators(args.only)
    if args.list:
        print("\n".join(found))
        return 0
    if not found:
        print("no generators found", file=sys.stderr)
        return 2
    deadline = time.monotonic() + args.budget
    counts = dict.fromkeys(found, 0)
    failures = 0
    round_no = 0
    while True:
        for name, generate in found.items():
            if round_no and time.monotonic() > deadline:
                break
            rng = random.Random(f"{args.seed}:{name}:{round_no}")
            with tempfile.TemporaryDirectory(prefix="imds-hostile-") as tmp:
                case = Path(tmp) / "case"
                case.mkdir()
                try:
                    generate(rng, case)
                except Exception as exc:  # a generator bug is a harness failure, said as one
                    problems = [f"generator raised {type(exc).__name__}: {exc}"]
                else:
                    problems = check_case(case, getattr(generate, "given", "."))
                counts[name] += 1
                if problems:
                    failures += 1
                    print(f"FAIL {name} (seed {args.seed}, round {round_no}):")
                    for problem in problems:
                        print("   ", problem.encode("unicode_escape").decode("ascii")[:800])
                    if args.keep:
                        target = args.keep / f"{name}-{args.seed}-{round_no}"
                        shutil.rmtree(target, ignore_errors=True)
                        shutil.copytree(case, target, symlinks=True, ignore=_special)
        round_no += 1
        if time.monotonic() > deadline:
            break
    total = sum(counts.values())
    print(f"{total} cases from {len(found)} generators, {failures} failed (seed {args.seed})")
    print(f"{total - failures} passed, {failures} failed")
    return 1 if failures else 0
