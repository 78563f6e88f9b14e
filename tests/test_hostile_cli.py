"""Hostile input at the command line (issue 12, items 4, 9 and 17): named pipes, devices and
directories where a file is expected, oversized side files, broken configuration values, deep
nesting, closed or broken standard output, empty rule selections. Each ends with exit 2 and a
message naming the option or file, never a traceback or a hang.

Anything that could block (a named pipe) runs the real command in a subprocess with a timeout:
a regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from imds_iac_checks import source
from tests.conftest import ROOT, Run
from tests.hostile.cli import (
    BAD_MAX_FILE_SIZES,
    GENERATORS,
    GOOD_TF,
    SCANNED_NAMES,
    fifo_config,
    fifo_scanned,
    fifo_tfvars,
    long_integer_json,
    nested_json,
)

# Named pipes, /dev/zero, `sh -c '... >&-'`, SIGPIPE: POSIX only.
posix_only = pytest.mark.skipif(os.name != "posix" or not hasattr(os, "mkfifo"), reason="POSIX")

TIMEOUT = 30  # seconds; each case takes well under a second once fixed
SEEDS = range(4)
PIPE = "not a regular file (a named pipe)"


def _env() -> dict[str, str]:
    env = dict(os.environ, IMDS_IAC_CACHE_DIR="", PYTHONPATH=str(ROOT))
    env.pop("IMDS_IAC_DEBUG", None)
    return env


def run(*args: str, cwd: Path) -> Run:
    """The real command, killed (and the test failed) if it blocks."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "imds_iac_checks", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=_env(),
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"imds-iac {' '.join(args)} did not finish in {TIMEOUT} s (blocked?)")
    return Run(proc.returncode, proc.stdout, proc.stderr)


def assert_clean_error(result: Run, *needles: str) -> None:
    """Exit 2, each needle in standard error, no traceback."""
    assert result.code == 2, result
    assert "Traceback" not in result.err, result.err
    for needle in needles:
        assert needle in result.err, (needle, result.err)


# --- every generator: exit 2 with a message, quickly ----------------------------------------


@pytest.mark.slow
@posix_only
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generated_case_is_an_error_not_a_crash(name: str, seed: int, tmp_path: Path) -> None:
    case = tmp_path / "case"
    case.mkdir()
    GENERATORS[name](random.Random(seed), case)
    result = run("check", str(case), cwd=tmp_path)
    assert_clean_error(result)
    assert "internal error" not in result.err
    # Either an `imds-iac: error:` (a configuration) or scan errors, beside the good findings.
    assert "imds-iac: error: " in result.err or "IMDS001 [aws_instance.good]" in result.out


# --- item 9: named pipes, devices, directories ------------------------------------------------


@pytest.mark.slow
@posix_only
@pytest.mark.parametrize("seed", SEEDS)
def test_named_pipes_under_scanned_names_are_reported(seed: int, tmp_path: Path) -> None:
    fifo_scanned(random.Random(seed), tmp_path)
    pipes = sorted(p for p in tmp_path.rglob("*") if p.is_fifo())
    result = run("check", ".", cwd=tmp_path)
    assert_clean_error(result)
    assert "main.tf:1:1: IMDS001 [aws_instance.good]" in result.out
    for pipe in pipes:
        assert f"{pipe.relative_to(tmp_path).as_posix()}: cannot read: {PIPE}" in result.err
    # Named one by one, as pre-commit passes them.
    named = run("check", *(str(p.relative_to(tmp_path)) for p in pipes), cwd=tmp_path)
    assert_clean_error(named, PIPE)
    # The fixer reads through the same door: it fixes the good file and names the pipes.
    fixed = run("fix", ".", cwd=tmp_path)
    assert_clean_error(fixed, PIPE)
    assert re.search(r'http_tokens *= "required"', (tmp_path / "main.tf").read_text())
    assert all(p.is_fifo() for p in pipes)


@pytest.mark.slow
@posix_only
@pytest.mark.parametrize("seed", SEEDS)
def test_named_pipes_as_automatic_tfvars_are_reported(seed: int, tmp_path: Path) -> None:
    fifo_tfvars(random.Random(seed), tmp_path)
    result = run("check", ".", cwd=tmp_path)
    assert_clean_error(result)
    assert "main.tf:1:1: IMDS001" in result.out
    for pipe in (p for p in tmp_path.iterdir() if p.is_fifo()):
        assert f"{pipe.name}: cannot read: {PIPE}" in result.err


@pytest.mark.slow
@posix_only
@pytest.mark.parametrize("seed", SEEDS)
def test_named_pipe_as_configuration_is_an_error(seed: int, tmp_path: Path) -> None:
    fifo_config(random.Random(seed), tmp_path)
    (pipe,) = (p for p in tmp_path.rglob("*") if p.is_fifo())
    for command in ("check", "fix"):
        result = run(command, ".", cwd=tmp_path)
        assert_clean_error(result, f"imds-iac: error: {pipe}: cannot read: {PIPE}")


def _specials(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Things that are not regular files: path -> (path, what the message says)."""
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    folder = tmp_path / "folder.json"
    folder.mkdir()
    out = {"pipe": (str(pipe), PIPE), "directory": (str(folder), "is a directory")}
    if os.path.exists("/dev/zero"):
        out["/dev/zero"] = ("/dev/zero", "not a regular file (a character device)")
    return out


@pytest.mark.slow
@posix_only
@pytest.mark.parametrize("kind", ["pipe", "directory", "/dev/zero"])
@pytest.mark.parametrize(
    ("option", "fatal"),
    [("--var-file", True), ("--parameters", True), ("--baseline", True), ("--config", True)],
)
def test_special_files_given_as_options(
    kind: str, option: str, fatal: bool, tmp_path: Path
) -> None:
    specials = _specials(tmp_path)
    if kind not in specials:
        pytest.skip(f"no {kind} here")
    path, message = specials[kind]
    (tmp_path / "main.tf").write_text(GOOD_TF)
    result = run("check", option, path, "main.tf", cwd=tmp_path)
    assert_clean_error(result, message)
    if fatal:  # a file that sets up the whole scan: `imds-iac: error: FILE: ...`, no scan
        assert "imds-iac: error: " in result.err and path in result.err
        assert result.out == ""
    else:  # a file found by the scan: a scan error beside the findings
        assert f"{os.path.basename(path)}: cannot read: {message}" in result.err
        assert "IMDS001" in result.out


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_side_files_obey_max_file_size(seed: int, tmp_path: Path) -> None:
    """tfvars, --var-file, --parameters, --baseline and --config files are bounded like scanned
    files (a 24 MB .auto.tfvars took 29 s and 3.2 GB)."""
    rng = random.Random(seed)
    limit_mb = rng.choice((0.01, 0.03))
    size = int(limit_mb * 1_000_000 * rng.uniform(1.05, 2.0))
    (tmp_path / "main.tf").write_text(GOOD_TF)
    auto = tmp_path / "x.auto.tfvars"
    auto.write_text("\n".join(f'v{i} = "{"y" * 40}"' for i in range(size // 48)) + "\n")
    flag = ("--max-file-size", str(limit_mb))
    result = run("check", *flag, ".", cwd=tmp_path)
    assert_clean_error(result, "x.auto.tfvars: cannot read: ", f"over the {limit_mb:g} MB limit")
    assert "IMDS001" in result.out
    auto.unlink()
    entries = [{"fingerprint": f"{i:032x}"} for i in range(size // 40)]
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"version": 1, "tool": "imds-iac", "findings": entries}))
    for option in ("--var-file", "--parameters", "--baseline", "--config"):
        result = run("check", *flag, option, str(big), "main.tf", cwd=tmp_path)
        assert_clean_error(result, f"over the {limit_mb:g} MB limit")
    toml = tmp_path / ".imds-iac.toml"
    toml.write_text("# " + "z" * size + "\n")
    result = run("check", *flag, ".", cwd=tmp_path)
    assert_clean_error(result, f"imds-iac: error: {toml}: cannot read: ")


def test_source_read_reads_whole_files_and_stops_past_the_limit(tmp_path: Path) -> None:
    rng = random.Random(7)
    for _ in range(20):
        data = rng.randbytes(rng.choice((0, 1, 4095, 4096, 65537, rng.randint(0, 3_000_000))))
        path = tmp_path / "f.tf"
        path.write_bytes(data)
        assert source.read_regular(str(path), 0) == data
        assert source.read_regular(str(path), len(data) or 1) == data
        if len(data) > 1:  # (a limit of 0 is no limit)
            with pytest.raises(source.TooLarge):
                source.read_regular(str(path), len(data) - 1)


@posix_only
def test_source_read_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    with pytest.raises(source.NotRegularFile, match="is a directory"):
        source.read_regular(str(tmp_path))
    if os.path.exists("/dev/zero"):
        with pytest.raises(source.NotRegularFile, match="character device"):
            source.Files().read("/dev/zero")
    path = tmp_path / "f.tf"
    path.write_bytes(b"x" * 1000)
    assert source.read_regular(str(path), 1000) == b"x" * 1000
    with pytest.raises(source.TooLarge, match=r"over the 0\.000999 MB limit"):
        source.read_regular(str(path), 999)
    assert source.read_regular(str(path), 0) == b"x" * 1000  # 0: no limit


@posix_only
def test_source_read_does_not_block_on_a_named_pipe(tmp_path: Path) -> None:
    pipe = tmp_path / "p.tf"
    os.mkfifo(pipe)
    code = (
        "import sys; from imds_iac_checks import source\n"
        "try:\n    source.Files().read(sys.argv[1])\n"
        "except source.NotRegularFile as exc:\n    print(exc.strerror)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(pipe)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
    )
    assert proc.stdout.strip() == PIPE, proc


# --- item 4: option values, configuration and document errors -------------------------------


@pytest.mark.parametrize("value", [*BAD_MAX_FILE_SIZES[:-1], "1e400", "9" * 5000])
def test_bad_max_file_size_option(cli, tmp_path: Path, value: str) -> None:
    (tmp_path / "main.tf").write_text(GOOD_TF)
    result = cli("check", f"--max-file-size={value}", "main.tf", cwd=tmp_path)
    assert_clean_error(result, "imds-iac: error: --max-file-size: max-file-size must be a number")
    assert len(result.err) < 300  # not a 5,000-digit echo


def test_large_but_finite_max_file_size_is_accepted(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(GOOD_TF)
    result = cli("check", "--max-file-size", "1e9", "main.tf", cwd=tmp_path)
    assert result.code == 1 and "IMDS001" in result.out, result


@pytest.mark.parametrize("seed", SEEDS)
def test_bad_max_file_size_in_configuration(cli, seed: int, tmp_path: Path) -> None:
    GENERATORS["bad_max_file_size"](random.Random(seed), tmp_path)
    config = next(p for p in tmp_path.iterdir() if p.suffix == ".toml")
    result = cli("check", ".", cwd=tmp_path)
    assert_clean_error(result, f"imds-iac: error: {config}: max-file-size must be a number")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("command", ["check", "fix"])
def test_deep_or_undecodable_or_long_configuration(
    cli, command: str, seed: int, tmp_path: Path
) -> None:
    expected = {
        "deep_config": "nested too deeply",
        "latin1_pyproject": "is not UTF-8",
        "long_integer_config": "a number is too long (over 4,300 digits)",
    }
    for name, message in expected.items():
        case = tmp_path / name
        case.mkdir()
        GENERATORS[name](random.Random(seed), case)
        config = next(p for p in case.iterdir() if p.suffix == ".toml")
        result = cli(command, str(case), cwd=tmp_path)
        assert_clean_error(result, f"imds-iac: error: {config}: invalid TOML: ", message)
        assert (case / "main.tf").read_text() == GOOD_TF  # fix changed nothing


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("option", ["--baseline", "--parameters", "--config"])
def test_deep_or_long_documents_given_as_options(
    cli, option: str, seed: int, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    (tmp_path / "main.tf").write_text(GOOD_TF)
    suffix = ".toml" if option == "--config" else ".json"
    deep = tmp_path / f"deep{suffix}"
    depth = rng.randint(1000, 20000)
    if option == "--config":
        from tests.hostile.cli import nested_toml

        deep.write_text(f"x = {nested_toml(rng, depth)}\n")
    else:
        deep.write_text(nested_json(rng, depth))
    result = cli("check", option, str(deep), "main.tf", cwd=tmp_path)
    assert_clean_error(result, "imds-iac: error: ", "nested too deeply", str(deep))
    if option != "--config":
        long = tmp_path / "long.json"
        long.write_text(long_integer_json(rng))
        result = cli("check", option, str(long), "main.tf", cwd=tmp_path)
        assert_clean_error(result, f"imds-iac: error: {long}: ", "over 4,300 digits")
        assert "set_int_max_str_digits" not in result.err


# --- item 4: standard output closed or broken -----------------------------------------------


def _findings_tree(rng: random.Random, directory: Path) -> None:
    """Enough findings that the report outgrows a pipe's buffer (64 KB)."""
    count = rng.randint(1500, 2500)
    (directory / "main.tf").write_text(
        "".join(f'resource "aws_instance" "r{i}" {{\n  ami = "a"\n}}\n' for i in range(count))
    )


# `imds-iac ARGS >&-`: standard output closed before Python starts.
CLOSED_STDOUT = ("sh", "-c", '"$0" -m imds_iac_checks "$@" >&-', sys.executable)


@pytest.mark.slow
@posix_only
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_closed_standard_output(fmt: str, tmp_path: Path) -> None:
    _findings_tree(random.Random(len(fmt)), tmp_path)
    proc = subprocess.run(
        [*CLOSED_STDOUT, "check", "--format", fmt, "."],
        cwd=tmp_path,
        capture_output=False,
        stderr=subprocess.PIPE,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
    )
    assert proc.returncode == 2, proc
    assert proc.stderr == "imds-iac: error: cannot write to standard output: it is closed\n"
    # ...but a report to a file does not need it.
    proc = subprocess.run(
        [*CLOSED_STDOUT, "check", "-o", "report.txt", "."],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc
    assert "IMDS001" in (tmp_path / "report.txt").read_text()


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_standard_output(tmp_path: Path) -> None:
    _findings_tree(random.Random(1), tmp_path)
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "imds_iac_checks", "check", "."],
            cwd=tmp_path,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=TIMEOUT,
            env=_env(),
        )
    assert proc.returncode == 2, proc
    assert proc.stderr.startswith("imds-iac: error: cannot write to standard output: "), proc


@pytest.mark.slow
@posix_only
@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_reader_going_away_is_quiet(fmt: str, seed: int, tmp_path: Path) -> None:
    """``imds-iac check | head -1``: nothing on standard error, no traceback."""
    _findings_tree(random.Random(seed), tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "imds_iac_checks", "check", "--format", fmt, "."],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    try:
        err = proc.stderr.read()
        code = proc.wait(timeout=TIMEOUT)
    finally:
        proc.kill()
    assert err == b"", err
    # 2 when a write fails with EPIPE; a report written in one large write can end with the pipe
    # taking a partial write and no error reported, so the scan's own code (1: findings) stands.
    assert code in (1, 2)


# --- item 4: the last-resort guard ------------------------------------------------------------


def test_unexpected_exception_is_one_line(cli, tmp_path: Path, monkeypatch) -> None:
    from imds_iac_checks import scan

    def broken(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded\nwith a second line")

    monkeypatch.setattr(scan, "scan", broken)
    monkeypatch.delenv("IMDS_IAC_DEBUG", raising=False)
    (tmp_path / "main.tf").write_text(GOOD_TF)
    result = cli("check", ".", cwd=tmp_path)
    assert result.code == 2
    assert result.err.startswith("imds-iac: internal error: RecursionError: maximum recursion")
    assert result.err.count("\n") == 1 and "please report" in result.err
    monkeypatch.setenv("IMDS_IAC_DEBUG", "1")
    with pytest.raises(RecursionError):
        cli("check", ".", cwd=tmp_path)


# --- item 17: empty rule selections ------------------------------------------------------------


def _empty_selections(rng: random.Random) -> list[str]:
    """`--select` values that select nothing: '', ',', ' , ,', ..."""
    out = ["", ",", " , "]
    for _ in range(5):
        out.append(rng.choice(("", " ", ",")) * rng.randint(1, 6))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_empty_select_option_is_rejected(cli, seed: int, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(GOOD_TF)
    for value in _empty_selections(random.Random(seed)):
        for args in (["--select", value], [f"--select={value}"]):
            result = cli("check", *args, "main.tf", cwd=tmp_path)
            assert_clean_error(result, "imds-iac: error: --select: an empty selection")
            result = cli("fix", "--diff", *args, "main.tf", cwd=tmp_path)
            assert_clean_error(result, "imds-iac: error: --select: an empty selection")


@pytest.mark.parametrize("seed", range(8))
def test_empty_selection_in_configuration_is_rejected(cli, seed: int, tmp_path: Path) -> None:
    GENERATORS["empty_selection"](random.Random(seed), tmp_path)
    config = next(p for p in tmp_path.iterdir() if p.suffix == ".toml")
    result = cli("check", ".", cwd=tmp_path)
    assert_clean_error(result, f"imds-iac: error: {config}")
    assert "every rule" in result.err


@pytest.mark.parametrize(
    "args",
    [
        ["--ignore", "ALL"],
        ["--ignore", "imds"],
        ["--select", "IMDS002", "--ignore", "IMDS00"],
        ["--select", "IMDS001,IMDS002", "--ignore", "IMDS001", "--ignore", "IMDS002"],
    ],
)
def test_ignore_that_leaves_no_rule_is_rejected(cli, args: list[str], tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(GOOD_TF)
    result = cli("check", *args, "main.tf", cwd=tmp_path)
    assert_clean_error(result, "no rule left to run")


def test_selections_that_leave_rules_still_work(cli, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(GOOD_TF)
    kept = (["--ignore", ""], ["--ignore", ","], ["--select", "IMDS001,"], ["--select", "all"])
    for args in kept:
        result = cli("check", *args, "main.tf", cwd=tmp_path)
        assert result.code == 1 and "IMDS001" in result.out, (args, result)
    # A per-path ignore of everything is a way to exclude, not a mistake.
    (tmp_path / ".imds-iac.toml").write_text('[per-path]\n"sandbox/**" = { ignore = ["ALL"] }\n')
    (tmp_path / "sandbox").mkdir()
    (tmp_path / "sandbox" / "main.tf").write_text(GOOD_TF)
    result = cli("check", ".", cwd=tmp_path)
    assert result.code == 1 and "sandbox/main.tf" not in result.out, result
    assert "main.tf:1:1: IMDS001" in result.out


def test_scanned_names_cover_every_adapter() -> None:
    from imds_iac_checks.formats import scanned_kind

    assert all(scanned_kind(name) is not None for name in SCANNED_NAMES)
