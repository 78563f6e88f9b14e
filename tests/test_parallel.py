"""A large tree is scanned by a process pool: the result is the same as a serial scan's, byte
for byte, and the fixer never uses workers (it records what it reads in its own process)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from imds_iac_checks import scan as scan_module

from .conftest import FIXTURES


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    for copy in range(3):  # enough directories and files to be worth splitting
        shutil.copytree(FIXTURES, root / f"copy-{copy}")
    return root


@pytest.fixture
def pools(monkeypatch) -> list[bool]:
    """Whether each scan got a process pool."""
    used: list[bool] = []
    real_pool = scan_module._pool

    def spy(*args):  # type: ignore[no-untyped-def]
        pool = real_pool(*args)
        used.append(pool is not None)
        return pool

    monkeypatch.setattr(scan_module, "_pool", spy)
    return used


def test_parallel_scan_equals_serial_scan(cli, tree: Path, monkeypatch, pools) -> None:
    monkeypatch.setenv("IMDS_IAC_JOBS", "1")
    serial = cli("check", "--format", "json", ".", cwd=tree)
    monkeypatch.delenv("IMDS_IAC_JOBS")
    monkeypatch.setattr(scan_module, "PARALLEL_THRESHOLD", 0)
    pools.clear()
    parallel = cli("check", "--format", "json", ".", cwd=tree)
    assert pools == [True]
    assert parallel.out == serial.out
    assert (parallel.code, parallel.err) == (serial.code, serial.err)
    assert serial.json()["summary"]["findings"] > 200


@pytest.mark.slow
def test_small_trees_and_the_fixer_stay_serial(cli, tree: Path, monkeypatch, pools) -> None:
    cli("check", ".", cwd=tree / "copy-0" / "terraform" / "storefront")
    monkeypatch.setattr(scan_module, "PARALLEL_THRESHOLD", 0)
    cli("fix", "--diff", ".", cwd=tree)
    assert pools and not any(pools)


def test_spawned_workers_read_within_the_configured_size_limit(
    cli, tmp_path: Path, monkeypatch, pools
) -> None:
    """A worker started by ``spawn`` (where there is no ``fork``) inherits nothing: it gets the
    size limit of the configuration with the Files it reads through, not the default one."""
    import multiprocessing

    from imds_iac_checks.source import DEFAULT_LIMIT

    (tmp_path / "big.json").write_bytes(b'{"a": "' + b"x" * DEFAULT_LIMIT + b'"}')
    for k in range(3):
        (tmp_path / f"s{k}.yaml").write_text("AWSTemplateFormatVersion: x\nResources: {}\n")
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    monkeypatch.setenv("IMDS_IAC_JOBS", "2")
    run = cli("check", "--max-file-size", "0", ".", cwd=tmp_path)
    assert pools == [True]
    assert (run.code, run.err) == (0, ""), run.out
    assert "No findings (4 files, 0 targets scanned)." in run.out
