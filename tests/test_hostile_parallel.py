"""Issue 12, items 3 and 12: the process pool never hangs on a worker that dies or stalls, and
a parallel scan prints the serial scan's bytes on generated module trees."""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import random
import signal
import sys
import time
from pathlib import Path

import pytest

from imds_iac_checks import scan as scan_module
from imds_iac_checks import source
from tests.hostile.parallel import many_templates, module_tree

from .conftest import run_process

# Every test here starts a worker pool (and many kill or stall its workers): integration runs.
pytestmark = pytest.mark.slow

FORK = "fork" in multiprocessing.get_all_start_methods()
POISON = b"# POISON:"


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each scan got workers."""
    used: list[bool] = []
    real_pool = scan_module._pool

    def spy(*args):  # type: ignore[no-untyped-def]
        pool = real_pool(*args)
        used.append(pool is not None)
        return pool

    monkeypatch.setattr(scan_module, "_pool", spy)
    return used


def _serial_and_parallel(cli, tree: Path, monkeypatch, pools, *args: str, jobs: str = ""):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IMDS_IAC_JOBS", "1")
    serial = cli("check", *args, ".", cwd=tree)
    if jobs:
        monkeypatch.setenv("IMDS_IAC_JOBS", jobs)
    else:
        monkeypatch.delenv("IMDS_IAC_JOBS")
    pools.clear()
    parallel = cli("check", *args, ".", cwd=tree)
    assert pools == [True], "the tree is large enough for the pool"
    return serial, parallel


# --- item 12: the same bytes serial and parallel --------------------------------------------


@pytest.mark.parametrize(
    ("seed", "fmt", "jobs"),
    [(1, "text", ""), (2, "json", ""), (3, "sarif", "3"), (4, "json", "2")],
)
def test_module_trees_scan_to_the_same_bytes_serial_and_parallel(
    cli, tmp_path: Path, monkeypatch, pools, seed: int, fmt: str, jobs: str
) -> None:
    module_tree(random.Random(seed), tmp_path, directories=230)
    serial, parallel = _serial_and_parallel(
        cli, tmp_path, monkeypatch, pools, "--format", fmt, jobs=jobs
    )
    assert (parallel.code, parallel.err) == (serial.code, serial.err)
    assert parallel.out == serial.out
    assert serial.out.count("IMDS00") > 100


@pytest.mark.parametrize("seed", range(10, 22))
def test_module_trees_every_format_and_size(cli, tmp_path: Path, monkeypatch, pools, seed) -> None:
    """Each format, serial and parallel, through the command. The tree is scanned once in each
    mode and every format written from that scan: the pool changes the scan, never the writers,
    and a scan of these trees costs about twenty times the writing of a report."""
    rng = random.Random(seed)
    module_tree(rng, tmp_path, directories=rng.randint(200, 700), share=rng.random())
    real_scan = scan_module.scan
    scanned: dict[str, scan_module.ScanResult] = {}

    def scan_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        mode = os.environ.get("IMDS_IAC_JOBS", "")
        if mode not in scanned:
            scanned[mode] = real_scan(*args, **kwargs)
        return scanned[mode]

    monkeypatch.setattr(scan_module, "scan", scan_once)
    serial, parallel = _serial_and_parallel(cli, tmp_path, monkeypatch, pools, "--format", "text")
    assert (parallel.code, parallel.out, parallel.err) == (serial.code, serial.out, serial.err)
    for fmt in ("json", "sarif"):
        monkeypatch.setenv("IMDS_IAC_JOBS", "1")
        serial = cli("check", "--format", fmt, ".", cwd=tmp_path)
        monkeypatch.delenv("IMDS_IAC_JOBS")
        parallel = cli("check", "--format", fmt, ".", cwd=tmp_path)
        assert (parallel.code, parallel.out, parallel.err) == (serial.code, serial.out, serial.err)
    assert set(scanned) == {"1", ""}


def test_a_root_reached_through_an_unscanned_module_is_kept_as_serially(
    cli, tmp_path: Path, monkeypatch, pools
) -> None:
    """The cause of the 53 differences: a directory no scanned module calls is a root, and a
    serial scan skips it when an earlier root already reached it (here through a hidden, not
    scanned, wrapper); a worker scanning it in another chunk did not know. Workers now evaluate
    each root on its own and the parent keeps the roots a serial scan keeps."""
    rng = random.Random(5)
    module_tree(rng, tmp_path, directories=210)
    # A root early in the order calls, through the hidden wrapper, a module whose variable has
    # no default: evaluated alone it gives IMDS004, through the call IMDS002.
    (tmp_path / ".shared" / "w0" / "main.tf").write_text(
        'module "inner" {\n  source = "../../zz/target"\n  http_tokens = "optional"\n}\n'
    )
    (tmp_path / "zz" / "target").mkdir(parents=True)
    (tmp_path / "zz" / "target" / "main.tf").write_text(
        'variable "http_tokens" {\n  type = string\n}\n\n'
        'resource "aws_instance" "x" {\n  ami = "ami-1"\n'
        "  metadata_options {\n    http_tokens = var.http_tokens\n  }\n}\n"
    )
    (tmp_path / "aa").mkdir()
    (tmp_path / "aa" / "main.tf").write_text('module "w" {\n  source = "../.shared/w0"\n}\n')
    serial, parallel = _serial_and_parallel(cli, tmp_path, monkeypatch, pools, "--format", "json")
    assert parallel.out == serial.out
    found = [
        (f["path"], f["rule_id"], f["resource"])
        for f in serial.json()["findings"]
        if f["resource"].endswith("aws_instance.x")
    ]
    assert (".shared/w0/main.tf", "IMDS002", "module.w.module.inner.aws_instance.x") in found
    assert not [f for f in found if f[0].startswith("zz/")]  # not evaluated on its own


# --- item 3: a worker that dies or hangs ------------------------------------------------------


def _poison_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make a worker process die (or hang) when it reads a file holding ``# POISON:<how>``;
    this process (the parent, or a serial scan) reads it as any other file."""
    parent = os.getpid()
    real_read = source.Files.read

    def read(self: source.Files, path: str) -> bytes:
        data = real_read(self, path)
        at = data.find(POISON)
        if at >= 0 and os.getpid() != parent:
            how = data[at + len(POISON) :].split(b"\n", 1)[0]
            if how == b"exit":
                os._exit(3)
            if how == b"hang":
                time.sleep(3600)
            faulthandler.disable()  # no traceback on the test's output: just die
            os.kill(os.getpid(), {b"kill": signal.SIGKILL, b"segv": signal.SIGSEGV}[how])
        return data

    monkeypatch.setattr(source.Files, "read", read)


@pytest.mark.skipif(not FORK, reason="the poisoned reader is inherited by forked workers")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_worker_that_dies_becomes_a_scan_error_for_its_file(
    cli, tmp_path: Path, monkeypatch, pools, seed: int
) -> None:
    rng = random.Random(seed)
    many_templates(rng, tmp_path, files=rng.randint(240, 300))
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    poisoned = rng.sample(files, rng.randint(1, 3))
    for path in poisoned:
        how = rng.choice(["exit", "kill", "segv"])
        path.write_bytes(path.read_bytes() + POISON + how.encode() + b"\n")
    _poison_reads(monkeypatch)
    start = time.monotonic()
    serial, parallel = _serial_and_parallel(cli, tmp_path, monkeypatch, pools, "--format", "json")
    assert time.monotonic() - start < 60
    assert parallel.code == 2
    shown = {p.relative_to(tmp_path).as_posix() for p in poisoned}
    errors = parallel.json()["errors"]
    assert {e["path"] for e in errors} == shown
    assert all("worker process died while scanning this file" in e["message"] for e in errors)
    # Everything else is scanned, as serially (the chunk was retried without the bad file).
    expected = [f for f in serial.json()["findings"] if f["path"] not in shown]
    assert parallel.json()["findings"] == expected


@pytest.mark.skipif(not FORK, reason="the poisoned reader is inherited by forked workers")
def test_a_worker_that_dies_in_a_called_module_names_the_root(
    cli, tmp_path: Path, monkeypatch, pools
) -> None:
    rng = random.Random(8)
    module_tree(rng, tmp_path, directories=220)
    bad = tmp_path / "modules" / "m001" / "main.tf"
    bad.write_bytes(bad.read_bytes() + POISON + b"segv\n")
    _poison_reads(monkeypatch)
    serial, parallel = _serial_and_parallel(cli, tmp_path, monkeypatch, pools, "--format", "json")
    assert parallel.code == 2
    errors = [e for e in parallel.json()["errors"] if e not in serial.json()["errors"]]
    assert errors
    assert all(
        e["message"].startswith("worker process died while scanning this module or a module")
        for e in errors
    )
    # The other roots are scanned: only findings of roots that reach the bad module are missing.
    got = {(f["path"], f["line"], f["rule_id"], f["resource"]) for f in parallel.json()["findings"]}
    want = {(f["path"], f["line"], f["rule_id"], f["resource"]) for f in serial.json()["findings"]}
    assert len(got) > len(want) / 2


@pytest.mark.skipif(not FORK, reason="the poisoned reader is inherited by forked workers")
def test_a_worker_that_hangs_is_stopped(cli, tmp_path: Path, monkeypatch, pools) -> None:
    rng = random.Random(4)
    many_templates(rng, tmp_path, files=220)
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    bad = rng.choice(files)
    bad.write_bytes(bad.read_bytes() + POISON + b"hang\n")
    _poison_reads(monkeypatch)
    monkeypatch.setattr(scan_module, "WORKER_TIMEOUT", 1.0)
    monkeypatch.delenv("IMDS_IAC_JOBS", raising=False)
    start = time.monotonic()
    run = cli("check", "--format", "json", ".", cwd=tmp_path)
    assert time.monotonic() - start < 30
    assert pools == [True]
    assert run.code == 2
    [error] = run.json()["errors"]
    assert error["path"] == bad.relative_to(tmp_path).as_posix()
    assert error["message"] == ("worker process spent over 1 s on this file: stopped, not scanned")
    assert run.json()["summary"]["findings"] > 100


@pytest.mark.skipif(sys.platform == "win32", reason="libyaml's crash is what is tested")
def test_deep_block_yaml_among_250_templates_never_hangs(tmp_path: Path, monkeypatch) -> None:
    """The issue's case, end to end in a real process: a 30,000-level `- - - a` document crashed
    libyaml in a worker and the parent slept forever. Whether the file is now refused before
    parsing (a depth guard) or crashes its worker, the scan ends and names it. (Two workers are
    asked for, so that the test does not depend on the machine's cores.)"""
    monkeypatch.setenv("IMDS_IAC_JOBS", "2")
    rng = random.Random(12)
    many_templates(rng, tmp_path, files=250)
    deep = tmp_path / "stacks-3" / "deep.yaml"
    deep.write_text("# AWS::EC2::Instance\n" + "- " * 30000 + "a\n")
    start = time.monotonic()
    run = run_process("check", "--format", "json", ".", cwd=tmp_path)
    assert time.monotonic() - start < 100
    assert run.code == 2, run.err
    errors = run.json()["errors"]
    assert [e["path"] for e in errors] == ["stacks-3/deep.yaml"]
    assert run.json()["summary"]["files_scanned"] >= 250


@pytest.mark.skipif(not FORK, reason="the patched worker code is inherited by forked workers")
@pytest.mark.parametrize("where", ["raise", "die at start"])
def test_workers_that_cannot_work_fall_back_to_this_process(
    cli, tmp_path: Path, monkeypatch, pools, where: str
) -> None:
    """No retry storm and no hang when every worker fails the same way: a unit whose worker
    raised (say, a result that cannot be sent back) is scanned in this process, and when no
    worker scans anything the whole tree is; the output is the serial scan's."""
    module_tree(random.Random(9), tmp_path, directories=150)
    many_templates(random.Random(9), tmp_path / "cfn", files=80)
    parent = os.getpid()
    if where == "raise":
        real_work = scan_module._work

        def work(job):  # type: ignore[no-untyped-def]
            if os.getpid() != parent:
                raise RuntimeError("cannot send this back")
            return real_work(job)

        monkeypatch.setattr(scan_module, "_work", work)
    else:
        real_init = scan_module._init

        def init(*args):  # type: ignore[no-untyped-def]
            os._exit(7)

        monkeypatch.setattr(scan_module, "_init", init)
        assert real_init
    start = time.monotonic()
    serial, parallel = _serial_and_parallel(cli, tmp_path, monkeypatch, pools, "--format", "json")
    assert time.monotonic() - start < 60
    assert (parallel.code, parallel.out, parallel.err) == (serial.code, serial.out, serial.err)


@pytest.mark.skipif(not FORK, reason="the poisoned reader is inherited by forked workers")
def test_many_files_that_kill_workers_stay_bounded(cli, tmp_path: Path, monkeypatch, pools) -> None:
    """An attacker's tree of many crashing files: each costs one worker start, is named, and
    every other file is scanned."""
    rng = random.Random(6)
    many_templates(rng, tmp_path, files=260)
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    poisoned = set(rng.sample(files, 40))
    for path in poisoned:
        path.write_bytes(path.read_bytes() + POISON + b"kill\n")
    _poison_reads(monkeypatch)
    start = time.monotonic()
    serial, parallel = _serial_and_parallel(cli, tmp_path, monkeypatch, pools, "--format", "json")
    assert time.monotonic() - start < 90
    assert parallel.code == 2
    shown = {p.relative_to(tmp_path).as_posix() for p in poisoned}
    errors = parallel.json()["errors"]
    assert {e["path"] for e in errors} == shown
    assert all(e["message"].startswith("worker process died") for e in errors)
    expected = [f for f in serial.json()["findings"] if f["path"] not in shown]
    assert parallel.json()["findings"] == expected
