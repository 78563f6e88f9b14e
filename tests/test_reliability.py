"""Never crash, never hang, never lose or corrupt a file: hostile inputs, file-system oddities,
a fixer killed at any moment, and scans of arbitrary bytes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imds_iac_checks import source

from .conftest import FIXTURES, run_process

BAD_TF = (
    'resource "aws_instance" "web" {\n  metadata_options {\n    http_tokens = "optional"\n  }\n}\n'
)


def _alias_bomb() -> str:
    lines = [
        'AWSTemplateFormatVersion: "2010-09-09"',
        "Resources:",
        "  Web:",
        "    Type: AWS::EC2::Instance",
        "    Properties:",
        "      a0: &a0 [x, x, x, x, x, x, x, x, x, x]",
    ]
    for i in range(1, 12):  # 10^12 leaves if expanded
        lines.append(f"      a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    lines.append("      MetadataOptions: {HttpTokens: optional}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    (root / "main.tf").write_text(BAD_TF)  # an ordinary finding, which must still be found
    (root / "bomb.yaml").write_text(_alias_bomb())
    (root / "deep.json").write_text(
        '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": '
        + "[" * 100_000
        + "]" * 100_000
        + "}"
    )
    (root / "deep.yaml").write_text(
        'AWSTemplateFormatVersion: "2010-09-09"\nResources: ' + "[" * 60_000 + "]" * 60_000 + "\n"
    )
    (root / "binary.tf").write_bytes(bytes(range(256)) * 8)
    (root / "binary.yaml").write_bytes(b"AWS::EC2::Instance\x00\x01" * 8)
    (root / "latin1.yaml").write_bytes(
        '# Café\nAWSTemplateFormatVersion: "2010-09-09"\nResources: {}\n'.encode("latin-1")
    )
    (root / "latin1.tf").write_bytes(("# Café\n" + BAD_TF).encode("latin-1"))
    (root / "bom.tf").write_bytes(b"\xef\xbb\xbf" + BAD_TF.replace("web", "bom").encode())
    (root / "crlf.tf").write_bytes(BAD_TF.replace("web", "crlf").replace("\n", "\r\n").encode())
    for name in ("empty.tf", "empty.yaml", "empty.json", "empty.template"):
        (root / name).write_bytes(b"")
    with (root / "big.tf").open("w") as fh:  # over the default 8 MB limit
        block = 'resource "aws_s3_bucket" "b%d" {\n  bucket = "%s"\n}\n'
        for i in range(60_000):
            fh.write(block % (i, "x" * 100))
    (root / "long.tf").write_text('locals {\n  x = "' + "a" * 300_000 + '"\n}\n')
    (root / "tags.yaml").write_text(
        'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  W:\n    Type: AWS::EC2::Instance\n'
        "    Properties:\n      MetadataOptions: !Weird {HttpTokens: !Whatever optional}\n"
    )
    (root / "dup.yaml").write_text(
        'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  W:\n    Type: AWS::EC2::Instance\n'
        "    Properties: {}\n    Properties: {ImageId: ami-1}\n"
    )
    (root / "loop.tf").symlink_to("loop.tf")
    (root / "dangling.tf").symlink_to("nowhere.tf")
    sub = root / "sub"
    sub.mkdir()
    outside = tmp_path_factory.mktemp("outside")
    (outside / "elsewhere.tf").write_text(BAD_TF)
    (sub / "outside.tf").symlink_to(outside / "elsewhere.tf")
    (sub / "up").symlink_to("..")
    (sub / "away").symlink_to(outside)
    return root


EXPECTED_ERRORS = {
    "big.tf": "skipped: 9.1 MB is over the 8 MB limit",
    "binary.tf": "not a text file (it holds NUL bytes): not scanned",
    "binary.yaml": "not a text file (it holds NUL bytes): not scanned",
    "deep.json": "invalid JSON: nesting deeper than 400 levels",
    "deep.yaml": "invalid YAML: nesting too deep",
    "dup.yaml": "duplicate key 'Properties' in W",
    "latin1.yaml": "cannot read: not valid UTF-8 text (byte 0xe9)",
    "loop.tf": "cannot read: symbolic link loop",
    "dangling.tf": "cannot read: broken symbolic link",
    "sub/outside.tf": "skipped: symbolic link to a file outside the scanned tree",
    "sub/up": "not followed: symbolic link loop",
    "sub/away": "not followed: symbolic link to a directory outside the scanned tree",
}


@pytest.mark.slow
def test_hostile_inputs(hostile: Path) -> None:
    start = time.perf_counter()
    run = run_process("check", "--format", "concise", ".", cwd=hostile)
    elapsed = time.perf_counter() - start
    assert elapsed < 60
    assert run.code == 2
    assert "Traceback" not in run.out + run.err
    errors = {}
    for line in run.err.splitlines():
        where, _, message = line.partition(": ")
        errors[where.split(":")[0]] = message
    for path, message in EXPECTED_ERRORS.items():
        assert errors.get(path, "").startswith(message), (path, errors.get(path))
    assert set(errors) == set(EXPECTED_ERRORS), set(errors) ^ set(EXPECTED_ERRORS)
    # everything else is scanned: the ordinary findings, BOM, CRLF, latin-1 comment, the bomb
    for where in ("main.tf:3:19", "bom.tf:3:19", "crlf.tf:3:19", "latin1.tf:4:19"):
        assert f"{where}: IMDS002" in run.out
    assert "bomb.yaml:18:37: IMDS002 [Web]" in run.out
    assert "tags.yaml:6:24: IMDS004" in run.out


@pytest.mark.slow
def test_size_limit_is_configurable(hostile: Path, tmp_path: Path) -> None:
    shutil.copy(hostile / "big.tf", tmp_path / "big.tf")
    run = run_process("check", "--max-file-size", "0", ".", cwd=tmp_path)
    assert run.code == 0 and "No findings (1 file, 0 targets scanned)." in run.out
    (tmp_path / ".imds-iac.toml").write_text("max-file-size = 1\n")
    run = run_process("check", "--format", "concise", ".", cwd=tmp_path)
    assert run.code == 2 and "over the 1 MB limit" in run.err


def test_unreadable_file_is_reported(cli, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "a.tf").write_text(BAD_TF)
    (tmp_path / "b.yaml").write_text("Resources: {}\nAWSTemplateFormatVersion: x\n")
    real = source.Files.read

    def denied(self: source.Files, path: str) -> bytes:
        if os.path.basename(path) in ("a.tf", "b.yaml"):
            raise PermissionError(13, "Permission denied", path)
        return real(self, path)

    monkeypatch.setattr(source.Files, "read", denied)
    run = cli("check", ".", cwd=tmp_path)
    assert run.code == 2
    assert "a.tf: cannot read: Permission denied" in run.err
    assert "b.yaml: cannot read: Permission denied" in run.err


# --- fuzzing properties -----------------------------------------------------------------------

NAMES = ("main.tf", "stack.yaml", "request.json", "stack.template", "main.tf.json")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(NAMES), st.binary(max_size=600) | st.text(max_size=600).map(str.encode))
def test_scan_never_raises(tmp_path_factory, name: str, data: bytes) -> None:
    from imds_iac_checks.config import Overrides, Resolver
    from imds_iac_checks.scan import scan

    directory = tmp_path_factory.mktemp("fuzz")
    (directory / name).write_bytes(data)
    result = scan([str(directory)], Resolver(Overrides(), None), str(directory))
    assert not [e for e in result.errors if e.message.startswith("internal error")]


TEMPLATE_PIECES = st.lists(
    st.sampled_from(
        [
            "  A:\n    Type: AWS::EC2::Instance\n",
            "    Properties:\n",
            "      MetadataOptions:\n",
            "        HttpTokens: optional\n",
            "        HttpTokens: !Ref P\n",
            "      MetadataOptions: {HttpTokens: optional}\n",
            "        HttpPutResponseHopLimit: 5\n",
            "  B:\n    Type: AWS::EC2::LaunchTemplate\n"
            "    Properties:\n      LaunchTemplateData:\n",
            "        ImageId: ami-1\n",
            "# comment\n",
            "\n",
        ]
    ),
    max_size=12,
)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(TEMPLATE_PIECES, st.sampled_from(["\n", "\r\n"]))
def test_fix_on_arbitrary_templates(tmp_path_factory, pieces: list[str], nl: str) -> None:
    """Whatever the fixer writes re-parses, and a second run changes nothing."""
    from imds_iac_checks import fix
    from imds_iac_checks.config import Overrides, Resolver
    from imds_iac_checks.fix.structured import valid
    from imds_iac_checks.scan import scan

    directory = tmp_path_factory.mktemp("fixfuzz")
    text = ('AWSTemplateFormatVersion: "2010-09-09"\nResources:\n' + "".join(pieces)).replace(
        "\n", nl
    )
    path = directory / "t.yaml"
    path.write_bytes(text.encode())
    resolver = Resolver(Overrides(), None)

    def run(files=None):  # type: ignore[no-untyped-def]
        return scan([str(directory)], resolver, str(directory), files=files)

    fix.run(run, str(directory), unsafe=True)
    fixed = path.read_bytes()
    if fixed != text.encode():
        assert valid(fixed, yaml=True)
    assert not fix.run(run, str(directory), unsafe=True, write=False).changes


# --- a fixer killed at any moment -------------------------------------------------------------


@pytest.mark.slow
def test_fix_killed_at_any_moment_leaves_every_file_whole(tmp_path: Path) -> None:
    """SIGKILL during the write phase: each file is the original or the fully fixed version."""
    # Three copies of fixtures/: 129 files the fix changes, a write phase long enough for the
    # kills below to land in it (six copies cost twice the time and reach nothing more).
    pristine = tmp_path / "pristine"
    for i in range(3):
        shutil.copytree(FIXTURES, pristine / f"copy-{i}")
    reference = tmp_path / "reference"
    shutil.copytree(pristine, reference)
    done = run_process("fix", "--unsafe-fixes", "-q", ".", cwd=reference)
    assert done.code in (0, 1), done.err
    original = {p.relative_to(pristine): p.read_bytes() for p in pristine.rglob("*") if p.is_file()}
    fixed = {p.relative_to(reference): p.read_bytes() for p in reference.rglob("*") if p.is_file()}
    changed = {k for k in original if original[k] != fixed[k]}
    assert len(changed) > 60
    outcomes = []
    for trial, delay in enumerate((0.0, 0.005, 0.02, 0.05, 0.1, 0.2)):
        tree = tmp_path / f"trial-{trial}"
        shutil.copytree(pristine, tree)
        # The first write creates a temporary file beside a file that changes: watching those
        # directories alone finds it as soon, and the polling takes less CPU from the fixer.
        stamps = {d: d.stat().st_mtime_ns for d in {(tree / rel).parent for rel in changed}}
        proc = subprocess.Popen(
            [sys.executable, "-m", "imds_iac_checks", "fix", "--unsafe-fixes", "-q", "."],
            cwd=tree,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:  # until the first rename
            if any(d.stat().st_mtime_ns != s for d, s in stamps.items()):
                break
            time.sleep(0.001)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        fixed_count = 0
        for rel, before in original.items():
            now = (tree / rel).read_bytes()
            assert now in (before, fixed[rel]), f"trial {trial}: {rel} is neither"
            fixed_count += now != before
        leftovers = [
            p for p in tree.rglob("*") if p.is_file() and p.relative_to(tree) not in original
        ]
        assert all(p.name.endswith(".imds-iac-tmp") for p in leftovers), leftovers
        outcomes.append(fixed_count)
        # the next run finishes the job, and removes what the killed one left behind
        again = run_process("fix", "--unsafe-fixes", "-q", ".", cwd=tree)
        assert again.code in (0, 1)
        for rel in original:
            assert (tree / rel).read_bytes() == fixed[rel], rel
        assert not [p for p in tree.rglob("*.imds-iac-tmp")]
    assert any(0 < n < len(changed) for n in outcomes), outcomes  # some kills hit mid-write
