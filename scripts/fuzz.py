"""Coverage-guided fuzzing of the scanner and the fixer with atheris (libFuzzer for Python).

Each input is one file: its first byte picks the name (``main.tf``, ``stack.yaml``,
``request.json``, ``stack.template``), the rest is its content. The harness scans it in-process
and fails on any internal error; then runs ``fix --unsafe-fixes`` on it and fails when the fixer
writes a file that does not parse, changes a file that could not be scanned, or changes
anything on a second run (fixes must be idempotent).

    pip install atheris
    python scripts/fuzz.py --seeds /tmp/fuzz-corpus            # write seeds from fixtures/
    python scripts/fuzz.py /tmp/fuzz-corpus -max_total_time=1800 -rss_limit_mb=4096

libFuzzer options go after the corpus directory; crashes are written as ``crash-*`` files,
which ``python scripts/fuzz.py crash-...`` replays.

Generated hostile trees (no atheris needed; the test suite runs this with a fixed seed):

    python scripts/fuzz.py --generated --seed 1 --budget 120 [--only NAME ...] [--keep DIR]

Each generator in ``tests/hostile/*.py`` (``GENERATORS``: name -> function writing one hostile
input into an empty directory) is run round-robin until the budget is spent, every one at least
once. Each case is scanned by the real command, serially and with the process pool, and fixed
with ``--unsafe-fixes``; the case fails on a traceback or internal error, an exit code other
than 0/1/2, a run over its time limit, serial and parallel output that differ, a raw control
character on standard error or in text output, or a fix that writes outside the path it was
given. A generator with a ``given`` attribute names the path, relative to the case, that the
command is given (everything beside it is "outside"); otherwise the case itself is given.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

NAMES = ("main.tf", "stack.yaml", "request.json", "stack.template")
# Errors that mean the file as a whole could not be read (others concern one resource).
_UNREADABLE = (
    "syntax error",
    "invalid YAML",
    "invalid JSON",
    "cannot read",
    "a single-line",
    "attribute redefined",
    "missing newline",
    "invalid single-argument",
    "not a text file",
)
ROOT = Path(__file__).resolve().parent.parent


def write_seeds(directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in sorted((ROOT / "fixtures").rglob("*")):
        if not path.is_file():
            continue
        suffix = path.name.lower()
        for kind, name in enumerate(NAMES):
            if suffix.endswith(name.split(".", 1)[1]) or (kind == 1 and suffix.endswith(".yml")):
                (directory / f"seed-{count:04d}").write_bytes(bytes([kind]) + path.read_bytes())
                count += 1
                break
    return count


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--generated":
        from hostile_run import run_generated

        sys.exit(run_generated(sys.argv[2:]))
    if len(sys.argv) > 2 and sys.argv[1] == "--seeds":
        print(f"{write_seeds(Path(sys.argv[2]))} seeds written to {sys.argv[2]}")
        return
    import atheris

    with atheris.instrument_imports():
        from imds_iac_checks import fix
        from imds_iac_checks.config import Overrides, Resolver
        from imds_iac_checks.fix.edits import NoFix  # noqa: F401 - instrumented with the rest
        from imds_iac_checks.scan import scan

    workdir = tempfile.mkdtemp(prefix="imds-fuzz-")
    os.environ["IMDS_IAC_CACHE_DIR"] = ""
    resolver = Resolver(Overrides(), None)

    def run_scan(files=None):  # type: ignore[no-untyped-def]
        return scan([workdir], resolver, workdir, files=files)

    def test_one_input(data: bytes) -> None:
        if not data:
            return
        name = NAMES[data[0] % len(NAMES)]
        body = data[1:]
        for leftover in os.listdir(workdir):
            os.unlink(os.path.join(workdir, leftover))
        path = os.path.join(workdir, name)
        with open(path, "wb") as fh:
            fh.write(body)
        result = run_scan()
        for error in result.errors:
            if error.message.startswith("internal error"):
                raise AssertionError(f"{name}: {error.message}")
        outcome = fix.run(run_scan, workdir, unsafe=True, write=True)
        with open(path, "rb") as fh:
            fixed = fh.read()
        unreadable = [e for e in result.errors if e.message.startswith(_UNREADABLE)]
        if unreadable and fixed != body:
            raise AssertionError(f"{name}: a file that could not be parsed was changed")
        if fixed != body:
            again = run_scan()
            new_errors = {e.message for e in again.errors} - {e.message for e in result.errors}
            if new_errors:
                raise AssertionError(f"{name}: the fixed file does not scan: {new_errors}")
            second = fix.run(run_scan, workdir, unsafe=True, write=False)
            if second.changes:
                raise AssertionError(f"{name}: the fix is not idempotent: {second.changes}")
        if outcome.errors:
            raise AssertionError(f"{name}: fix errors {outcome.errors}")

    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
