"""``imds-iac fix`` on hostile and unusual input (issue 12, items 11, 13 and 18): no write
outside the paths given, one bad module does not block fixes elsewhere, and the file edge cases
(YAML anchors, byte-order marks, read-only files, hard links, extended attributes, unique and
locked temporary files, the check-then-rename window)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from imds_iac_checks.fix import write as writer
from imds_iac_checks.fix.write import SUFFIX, FileChanged, write_atomic

from .conftest import run_process
from .hostile.fix import (
    GENERATORS,
    byte_order_marks,
    file_modes,
    many_modules,
    outside_module,
    unstable_neighbour,
    yaml_anchors,
)

SEEDS = range(6)


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under ``root``: kind, bytes, mode, inode, mtime — whatever a write changes."""
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                out[os.path.relpath(path, root)] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                out[os.path.relpath(path, root)] = ("dir", info.st_mode)
            else:
                data = Path(path).read_bytes()
                out[os.path.relpath(path, root)] = (
                    "file",
                    hashlib.sha256(data).hexdigest(),
                    info.st_mode,
                    info.st_ino,
                    info.st_mtime_ns,
                )
    return out


def changed(
    before: dict[str, tuple[object, ...]], after: dict[str, tuple[object, ...]]
) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


# --- item 11: never a write outside the paths given -----------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_fix_never_writes_outside_the_paths_given(tmp_path: Path, seed: int) -> None:
    area = tmp_path / "area"
    outside_module(random.Random(seed), area)
    before = snapshot(tmp_path)
    run = run_process("fix", "--unsafe-fixes", "infra", cwd=area)
    assert "Traceback" not in run.err
    touched = changed(before, snapshot(tmp_path))
    assert touched, run.out  # infra/ itself has findings to fix
    assert all(k.startswith(os.path.join("area", "infra") + os.sep) for k in touched), touched
    assert not [k for k in touched if k.endswith(SUFFIX)]
    assert "fixed [aws_instance.own0]" in run.out
    for mod in sorted((area / "outside").iterdir()):
        # a module reached through a link in infra/ is evaluated (and shown) at its real path
        where = f"outside/{mod.name}/main.tf"
        assert f"not fixed: the fix is in {where}, outside the paths given" in run.out
    # what is left outside is still reported (1); a link out of the tree is a scan error (2)
    assert run.code == (2 if any((area / "infra").rglob("links")) else 1), run.out + run.err


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_a_named_file_authorises_edits_to_that_file_only(tmp_path: Path, seed: int) -> None:
    """pre-commit passes files: a file given on the command line is the only one edited, even
    when fixes in its own directory (or a module it calls) would make its findings go away."""
    area = tmp_path / "area"
    outside_module(random.Random(seed), area)
    infra = next(p for p in (area / "infra").rglob("main.tf") if "links" not in p.parts)
    (infra.parent / "variables.tf").write_text(
        'variable "t" {\n  default = "optional"\n}\n'
        'resource "aws_instance" "v" {\n  metadata_options {\n    http_tokens = var.t\n  }\n}\n'
    )
    named = os.path.relpath(infra, area)
    before = snapshot(tmp_path)
    run = run_process("fix", "--unsafe-fixes", named, cwd=area)
    assert "Traceback" not in run.err
    touched = changed(before, snapshot(tmp_path))
    assert touched == {os.path.relpath(infra, tmp_path)}, touched


@pytest.mark.slow
def test_a_symlinked_named_file_is_edited_where_it_points(tmp_path: Path) -> None:
    real = tmp_path / "real.tf"
    real.write_text('resource "aws_instance" "a" {}\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "link.tf").symlink_to(real)
    run = run_process("fix", "sub/link.tf", cwd=tmp_path)
    assert run.code == 0, run.out + run.err
    assert "metadata_options" in real.read_text()


# --- item 13: one bad module does not block fixes elsewhere ---------------------------------------


def _scanner(root: Path, paths: list[str]):  # type: ignore[no-untyped-def]
    from imds_iac_checks.config import Overrides, Resolver
    from imds_iac_checks.scan import scan

    resolver = Resolver(Overrides(), None)
    return lambda files=None: scan([str(root / p) for p in paths], resolver, str(root), files=files)


def _deep(n: int, call):  # type: ignore[no-untyped-def]
    return _deep(n - 1, call) if n else call()


@pytest.mark.parametrize("seed", SEEDS)
def test_an_unstable_module_does_not_block_a_literal_fix_elsewhere(
    tmp_path: Path, seed: int
) -> None:
    """The unedited bad module gives more findings when scanned at a shallower stack depth:
    they are not the edit's fault."""
    from imds_iac_checks import fix

    unstable_neighbour(random.Random(seed), tmp_path)
    scan = _scanner(tmp_path, ["good", "bad"])
    calls = []

    def shifting(files):  # type: ignore[no-untyped-def]
        calls.append(1)
        return _deep(60 if len(calls) == 1 else 0, lambda: scan(files))  # the first runs deeper

    outcome = fix.run(shifting, str(tmp_path), paths=["good", "bad"])
    good = [f for f in outcome.before.findings if f.path.startswith("good/")]
    assert good
    assert {p.finding for p in outcome.fixed} == set(good), outcome.not_fixed
    assert not [f for f in outcome.after.findings if f.path.startswith("good/")]


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_fix_good_bad_fixes_good(tmp_path: Path, seed: int) -> None:
    unstable_neighbour(random.Random(seed), tmp_path)
    run = run_process("fix", "good", "bad", cwd=tmp_path)
    assert "Traceback" not in run.err
    assert "would cause" not in run.out
    for path in (tmp_path / "good").rglob("*.tf"):
        assert '"optional"' not in path.read_text(), run.out
    after = run_process("check", "--format", "json", "good", cwd=tmp_path)
    assert after.code == 0 and not after.json()["findings"], run.out  # nothing left in good/


@pytest.mark.parametrize("seed", SEEDS)
def test_the_scans_that_verify_edits_see_an_untouched_module_as_the_first_did(
    tmp_path: Path, seed: int
) -> None:
    """They run deeper in the call stack than the first scan; a module whose evaluation stops
    at the recursion limit gives them the same findings all the same (the fix report lists
    what ``check`` lists)."""
    from collections import Counter

    from imds_iac_checks import fix

    unstable_neighbour(random.Random(seed), tmp_path)
    outcome = fix.run(_scanner(tmp_path, ["good", "bad"]), str(tmp_path), write=False)
    assert outcome.fixed

    def bad(result):  # type: ignore[no-untyped-def]
        return Counter((f.rule_id, f.message) for f in result.findings if f.path.startswith("bad/"))

    assert bad(outcome.after) == bad(outcome.before)
    # the scan itself does not depend on the stack: a self-reference is found as such, not as a
    # RecursionError, so the same scan called 40 frames deeper gives the same answer
    stable = _scanner(tmp_path, ["bad"])
    first = stable()
    deeper = _deep(40, stable)
    assert bad(deeper) == bad(first)


def test_a_finding_present_before_the_edit_is_not_caused_by_it(tmp_path: Path) -> None:
    """A finding elsewhere that the scans of the unedited tree disagree on (here one that
    appears on every scan but the first) does not count against an edit."""
    from imds_iac_checks import fix

    unstable_neighbour(random.Random(1), tmp_path)
    scan = _scanner(tmp_path, ["good", "bad"])
    calls = []

    def flaky(files):  # type: ignore[no-untyped-def]
        calls.append(1)
        result = scan(files)
        if len(calls) > 1:
            extra = [f for f in result.findings if f.path.startswith("bad/")][:1]
            result = result._replace(findings=result.findings + extra)
        return result

    outcome = fix.run(flaky, str(tmp_path), paths=["good", "bad"])
    good = [f for f in outcome.before.findings if f.path.startswith("good/")]
    assert {p.finding for p in outcome.fixed} == set(good), outcome.not_fixed


def test_a_finding_the_edit_causes_still_blocks_it(tmp_path: Path) -> None:
    """The other side: a new finding that the unedited tree does not have is the edit's."""
    from imds_iac_checks import fix

    unstable_neighbour(random.Random(2), tmp_path)
    scan = _scanner(tmp_path, ["good", "bad"])

    def edited_only(files):  # type: ignore[no-untyped-def]
        result = scan(files)
        edited = any(Path(k).read_bytes() != v for k, v in files.overlay.items())
        if edited:  # only the scans of the edited tree
            extra = [f for f in result.findings if f.path.startswith("bad/")][:1]
            result = result._replace(findings=result.findings + extra)
        return result

    outcome = fix.run(edited_only, str(tmp_path), paths=["good", "bad"])
    assert not outcome.fixed
    assert any("the edit would cause" in why for why in outcome.not_fixed.values())


# --- item 18 (a): YAML anchors --------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_anchored_yaml_values_keep_their_anchor(tmp_path: Path, seed: int) -> None:
    from imds_iac_checks.fix.structured import valid

    yaml_anchors(random.Random(seed), tmp_path)
    path = tmp_path / "stack.yaml"
    original = path.read_text()
    safe = run_process("fix", ".", cwd=tmp_path)
    assert "would not parse" not in safe.out
    assert "anchored as &" in safe.out  # an edit through an alias changes the other users
    run = run_process("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert "would not parse" not in run.out, run.out
    text = path.read_text()
    assert valid(text.encode(), yaml=True)
    assert text != original
    for anchor in ("&tok", "&lit", "&hop"):
        assert anchor in text
    assert run.code == 0, run.out
    if "*tok" in text or "!Ref Tok" in text:  # else the parameter is not used
        assert "optional" not in text


# --- item 18 (b): byte-order marks ----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_columns_and_fixes_with_several_byte_order_marks(tmp_path: Path, seed: int) -> None:
    byte_order_marks(random.Random(seed), tmp_path)
    run = run_process("check", "--format", "json", ".", cwd=tmp_path)
    found = run.json()["findings"]
    assert found
    for f in found:
        data = (tmp_path / f["path"]).read_bytes()
        line = data.split(b"\n")[f["line"] - 1].decode()
        assert line[f["column"] - 1 :].startswith(("optional", "'optional'")), (f, line)
    originals = {p: p.read_bytes() for p in tmp_path.glob("*.yaml")}
    fixed = run_process("fix", ".", cwd=tmp_path)
    assert fixed.code == 0, fixed.out
    for path, before in originals.items():
        after = path.read_bytes()
        boms = len(before) - len(before.lstrip(b"\xef\xbb\xbf"))
        assert after[:boms] == before[:boms]
        assert after.replace(b"required", b"optional") == before


# --- item 18 (c, d): read-only files, hard links, extended attributes -----------------------------


def _xattrs_supported(directory: Path) -> bool:
    probe = directory / ".probe"
    probe.write_text("")
    try:
        os.setxattr(probe, "user.probe", b"1")
    except (AttributeError, OSError):
        return False
    finally:
        probe.unlink()
    return True


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_read_only_hard_linked_and_attributed_files(tmp_path: Path, seed: int) -> None:
    file_modes(random.Random(seed), tmp_path)
    files = sorted(tmp_path.glob("m*.tf"))
    before = {p: (p.read_bytes(), p.stat()) for p in files}
    attrs = {
        p: os.getxattr(p, "user.imds")
        for p in files
        if hasattr(os, "listxattr") and "user.imds" in os.listxattr(p)
    }
    run = run_process("fix", ".", cwd=tmp_path)
    assert "Traceback" not in run.err
    readonly = [p for p in files if not before[p][1].st_mode & 0o222]
    for path in files:
        data, info = before[path]
        now = path.stat()
        assert stat.S_IMODE(now.st_mode) == stat.S_IMODE(info.st_mode)
        if path in readonly:
            assert path.read_bytes() == data
            assert f"{path.name}: read-only: not written" in run.err
            continue
        assert b'"required"' in path.read_bytes()
        if info.st_nlink > 1:  # written in place: the link is still the same file
            keep = path.with_name(path.name + ".keep")
            assert now.st_ino == info.st_ino == keep.stat().st_ino
            assert keep.read_bytes() == path.read_bytes()
        if path in attrs:
            assert os.getxattr(path, "user.imds") == attrs[path]
    assert run.code == (2 if readonly else 0), run.out + run.err
    assert not list(tmp_path.glob(f"*{SUFFIX}"))


def test_extended_attributes_survive_the_rename(tmp_path: Path) -> None:
    if not _xattrs_supported(tmp_path):
        pytest.skip("no user extended attributes on this file system")
    path = tmp_path / "main.tf"
    path.write_text('resource "aws_instance" "a" {}\n')
    os.setxattr(path, "user.origin", b"vendor")
    inode = path.stat().st_ino
    write_atomic(str(path), b"new\n", path.read_bytes())
    assert path.read_bytes() == b"new\n"
    assert os.getxattr(path, "user.origin") == b"vendor"
    assert path.stat().st_ino != inode  # the atomic rename, not an in-place write


def test_an_attribute_that_cannot_be_copied_means_an_in_place_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not _xattrs_supported(tmp_path):
        pytest.skip("no user extended attributes on this file system")
    path = tmp_path / "main.tf"
    path.write_bytes(b"old text\n")
    os.setxattr(path, "user.label", b"kept")
    inode = path.stat().st_ino

    def refuse(target: object, name: str, value: bytes, *args: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "setxattr", refuse)
    write_atomic(str(path), b"new\n", b"old text\n")
    assert path.read_bytes() == b"new\n"
    assert path.stat().st_ino == inode
    assert os.getxattr(path, "user.label") == b"kept"
    assert list(tmp_path.iterdir()) == [path]


def test_read_only_refused_by_write_atomic(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    path.write_bytes(b"old\n")
    os.chmod(path, 0o444)
    with pytest.raises(writer.ReadOnly):
        write_atomic(str(path), b"new\n", b"old\n")
    assert path.read_bytes() == b"old\n"


# --- item 18 (e): --write-baseline ----------------------------------------------------------------


@pytest.mark.slow
def test_write_baseline_does_not_follow_a_planted_temporary_name(tmp_path: Path) -> None:
    """The old fixed name ``.baseline.json.imds-iac-tmp``: a symbolic link planted there sent
    the baseline into the file it points to."""
    (tmp_path / "main.tf").write_text('resource "aws_instance" "a" {}\n')
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / ".baseline.json.imds-iac-tmp").symlink_to(victim)
    run = run_process("check", "--write-baseline", "baseline.json", ".", cwd=tmp_path)
    assert run.code == 0, run.err
    assert victim.read_text() == "precious\n"
    assert json.loads((tmp_path / "baseline.json").read_text())["findings"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".baseline.json.imds-iac-tmp", "baseline.json", "main.tf", "victim.txt"]
    )
    assert stat.S_IMODE((tmp_path / "baseline.json").stat().st_mode) == 0o666 & ~_umask()


@pytest.mark.slow
@pytest.mark.parametrize("target", ["a-directory", "/dev/null"])
def test_write_baseline_never_replaces_what_is_not_a_regular_file(
    tmp_path: Path, target: str
) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_instance" "a" {}\n')
    (tmp_path / "a-directory").mkdir()
    run = run_process("check", "--write-baseline", target, ".", cwd=tmp_path)
    assert run.code == 2
    why = "is a directory" if target == "a-directory" else "not a regular file"
    assert run.err == f"imds-iac: error: {target}: cannot write: {why}\n"
    assert (tmp_path / "a-directory").is_dir() and Path("/dev/null").is_char_device()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# --- item 18 (f): concurrent runs and stale temporary files ---------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2))
def test_two_fix_runs_at_once(tmp_path: Path, seed: int) -> None:
    reference = tmp_path / "reference"
    many_modules(random.Random(seed), reference)
    tree = tmp_path / "tree"
    many_modules(random.Random(seed), tree)
    assert run_process("fix", "-q", ".", cwd=reference).code == 0
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "imds_iac_checks", "fix", "-q", "."],
            cwd=tree,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    for code, out, err in results:
        assert code == 0, out + err
        assert not err, err
    for path in reference.rglob("*.tf"):
        assert (tree / path.relative_to(reference)).read_bytes() == path.read_bytes()
    assert not [p for p in tree.rglob("*") if p.name.endswith(SUFFIX)]


def test_a_live_writers_temporary_file_is_not_removed(tmp_path: Path) -> None:
    import fcntl

    path = tmp_path / "main.tf"
    path.write_bytes(b"old\n")
    live = tmp_path / ".main.tf.live0001.imds-iac-tmp"
    dead = tmp_path / ".main.tf.dead0001.imds-iac-tmp"
    other = tmp_path / ".main.tf.json.dead0002.imds-iac-tmp"  # main.tf.json's, not ours
    for p in (live, dead, other):
        p.write_bytes(b"half")
    with open(live, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        write_atomic(str(path), b"new\n", b"old\n")
        assert live.exists()
    assert not dead.exists()
    assert other.exists()
    assert path.read_bytes() == b"new\n"


def test_a_file_system_without_locks_still_gets_its_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """flock fails (ENOLCK, as on some network file systems): the file is written all the same,
    and only temporary files old enough to be abandoned are removed."""
    import errno
    import time

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(writer.fcntl, "flock", no_locks)
    path = tmp_path / "main.tf"
    path.write_bytes(b"old\n")
    fresh = tmp_path / ".main.tf.fresh001.imds-iac-tmp"
    old = tmp_path / ".main.tf.old00001.imds-iac-tmp"
    for p in (fresh, old):
        p.write_bytes(b"half")
    hours_ago = time.time() - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    write_atomic(str(path), b"new\n", b"old\n")
    assert path.read_bytes() == b"new\n"
    assert fresh.exists() and not old.exists()


def test_a_file_already_fixed_by_another_run_is_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    path.write_bytes(b"new\n")
    write_atomic(str(path), b"new\n", b"old\n")
    assert path.read_bytes() == b"new\n"


# --- item 18 (g): the check-then-rename window ----------------------------------------------------


@pytest.mark.parametrize("keep_mtime", [True, False])
def test_a_change_just_before_the_rename_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep_mtime: bool
) -> None:
    """Someone rewrites the file (same size, even the same modification time) while the new
    text is being written to the temporary file: the last look sees it."""
    path = tmp_path / "main.tf"
    path.write_bytes(b"old text\n")
    real_copy = writer._copy_xattrs

    def meddle(real: str, fd: int) -> bool:
        info = os.stat(real)
        with open(real, "r+b") as fh:  # in place, same length
            fh.write(b"OLD TEXT\n")
        if keep_mtime:
            os.utime(real, ns=(info.st_atime_ns, info.st_mtime_ns))
        return real_copy(real, fd)

    monkeypatch.setattr(writer, "_copy_xattrs", meddle)
    with pytest.raises(FileChanged):
        write_atomic(str(path), b"new text\n", b"old text\n")
    assert path.read_bytes() == b"OLD TEXT\n"
    assert list(tmp_path.iterdir()) == [path]


# --- the generators themselves --------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generated_cases_scan_and_fix_quickly(tmp_path: Path, name: str) -> None:
    import time

    for seed in range(2):
        root = tmp_path / f"{name}-{seed}"
        root.mkdir()
        GENERATORS[name](random.Random(seed), root)
        start = time.monotonic()
        check = run_process("check", ".", cwd=root)
        fixed = run_process("fix", "--unsafe-fixes", ".", cwd=root)
        assert time.monotonic() - start < 20
        for run in (check, fixed):
            assert "Traceback" not in run.err, run.err
            assert run.code in (0, 1, 2)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2))
def test_fix_of_a_large_file_parses_it_a_bounded_number_of_times(tmp_path: Path, seed: int) -> None:
    """Planning used to parse the file once per finding: 158 findings in an 800 KB file took
    78 s. The tree of a text is parsed once and shared by every finding's plan."""
    from tests.hostile.hcl import large_file

    (tmp_path / "main.tf").write_text(large_file(random.Random(seed), 800_000))
    before = os.times()
    run = run_process("fix", ".", cwd=tmp_path)
    after = os.times()
    assert run.code == 0, run.out + run.err
    assert "Fixed " in run.out, run.out
    assert run_process("check", ".", cwd=tmp_path).code == 0
    cpu = (after.children_user + after.children_system) - (
        before.children_user + before.children_system
    )
    assert cpu < 30, cpu  # about 4 s; it was over 75 s


@pytest.mark.slow
def test_fix_of_a_file_with_exponent_numbers(tmp_path: Path) -> None:
    """The fixer reads a file as the scanner does: `count = 1e3` does not make it unfixable."""
    (tmp_path / "main.tf").write_text(
        'resource "aws_instance" "w" {\n  count = 1e3\n  metadata_options {\n'
        '    http_tokens = "optional"\n  }\n}\n'
    )
    run = run_process("fix", ".", cwd=tmp_path)
    assert run.code == 0, run.out + run.err
    assert 'http_tokens = "required"' in (tmp_path / "main.tf").read_text()
