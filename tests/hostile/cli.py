"""Hostile inputs for the command line and the files it reads besides the scanned ones (issue 12,
items 4, 9 and 17): named pipes under scanned names, variable files and configuration names;
configurations with a non-finite or huge ``max-file-size``, nested 1,000+ deep, with a non-UTF-8
byte, a 5,000-digit integer or an empty rule selection; oversized ``.auto.tfvars``.

``GENERATORS`` (name -> ``fn(rng, directory)``) each write one case into an empty directory;
``imds-iac check <directory>`` must end quickly with exit 2 and a message naming the file
(``imds-iac: error: ...`` or a scan error), never a traceback or a hang. The helpers below them
build the documents the tests also pass as ``--baseline``, ``--parameters`` or ``--var-file``.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

# A regular file with one finding (IMDS001): the scan must still report it next to the bad input.
GOOD_TF = 'resource "aws_instance" "good" {\n  ami = "ami-1"\n}\n'

SCANNED_NAMES = ("evil.tf", "evil.yaml", "evil.yml", "evil.json", "evil.template", "evil.tf.json")
TFVARS_NAMES = (
    "terraform.tfvars",
    "terraform.tfvars.json",
    "a.auto.tfvars",
    "z.auto.tfvars.json",
)
CONFIG_NAMES = (".imds-iac.toml", "pyproject.toml")


def _subdirectory(rng: random.Random, directory: Path) -> Path:
    """``directory`` or a directory a few levels below it."""
    here = directory
    for _ in range(rng.randint(0, 3)):
        here = here / rng.choice(("a", "mod", "stacks", "x y", "deep"))
    here.mkdir(parents=True, exist_ok=True)
    return here


def _config(rng: random.Random, directory: Path, body: str) -> Path:
    """Write the imds-iac options ``body`` as .imds-iac.toml or as pyproject.toml."""
    if rng.random() < 0.5:
        path = directory / ".imds-iac.toml"
        path.write_text(body, encoding="utf-8")
    else:
        path = directory / "pyproject.toml"
        head = '[project]\nname = "x"\n\n' if rng.random() < 0.5 else ""
        path.write_text(f"{head}[tool.imds-iac]\n{body}", encoding="utf-8")
    return path


# --- named pipes (item 9) ----------------------------------------------------------------------


def fifo_scanned(rng: random.Random, directory: Path) -> None:
    """Named pipes under the names of scanned files, next to a regular file with a finding."""
    (directory / "main.tf").write_text(GOOD_TF)
    for name in rng.sample(SCANNED_NAMES, rng.randint(1, len(SCANNED_NAMES))):
        os.mkfifo(_subdirectory(rng, directory) / name)


def fifo_tfvars(rng: random.Random, directory: Path) -> None:
    """Named pipes as the variable files Terraform loads automatically."""
    (directory / "main.tf").write_text(GOOD_TF)
    for name in rng.sample(TFVARS_NAMES, rng.randint(1, len(TFVARS_NAMES))):
        os.mkfifo(directory / name)


def fifo_config(rng: random.Random, directory: Path) -> None:
    """A named pipe under a configuration file name, in the scanned tree."""
    here = _subdirectory(rng, directory)
    (here / "main.tf").write_text(GOOD_TF)
    os.mkfifo(here / rng.choice(CONFIG_NAMES))


def oversized_tfvars(rng: random.Random, directory: Path) -> None:
    """An .auto.tfvars over the configured max-file-size (the 24 MB one, scaled down)."""
    limit_mb = rng.choice((0.01, 0.02, 0.05))
    _config(rng, directory, f"max-file-size = {limit_mb}\n")
    (directory / "main.tf").write_text(GOOD_TF)
    lines = []
    size = 0
    target = int(limit_mb * 1_000_000 * rng.uniform(1.1, 3.0))
    i = 0
    while size < target:
        line = f'v{i} = "{"x" * rng.randint(1, 60)}"\n'
        lines.append(line)
        size += len(line)
        i += 1
    name = rng.choice(("terraform.tfvars", "big.auto.tfvars"))
    (directory / name).write_text("".join(lines))


# --- configurations (items 4 and 17) -----------------------------------------------------------

BAD_MAX_FILE_SIZES = ("inf", "-inf", "+inf", "nan", "-nan", "1e308", "-1", "-0.5", "1e10", '"8"')


def bad_max_file_size(rng: random.Random, directory: Path) -> None:
    """``max-file-size`` not finite, negative, absurdly large or not a number."""
    value = rng.choice((*BAD_MAX_FILE_SIZES, "9" * rng.randint(20, 4000)))
    _config(rng, directory, f"max-file-size = {value}\n")
    (directory / "main.tf").write_text(GOOD_TF)


def nested_toml(rng: random.Random, depth: int) -> str:
    """A TOML value nested ``depth`` deep: arrays, inline tables or both."""
    opening: list[str] = []
    closing: list[str] = []
    for _ in range(depth):
        if rng.random() < 0.5:
            opening.append("[")
            closing.append("]")
        else:
            opening.append("{a = ")
            closing.append("}")
    return "".join(opening) + "1" + "".join(reversed(closing))


def deep_config(rng: random.Random, directory: Path) -> None:
    """A configuration whose value is nested 1,000 to 5,000 deep (RecursionError in tomllib)."""
    key = rng.choice(("select", "exclude", "per-path", "x"))
    _config(rng, directory, f"{key} = {nested_toml(rng, rng.randint(1000, 5000))}\n")
    (directory / "main.tf").write_text(GOOD_TF)


def latin1_pyproject(rng: random.Random, directory: Path) -> None:
    """A pyproject.toml with ``[tool.imds-iac]`` and one byte that is not UTF-8 (latin-1)."""
    lines = [b'[project]\nname = "x"\n', b"[tool.imds-iac]\n", b"hop-limit = 1\n"]
    bad = bytes([rng.choice((0xE9, 0xFC, 0xA9, 0xFF, 0xC0))])
    where = rng.randrange(len(lines) + 1)
    lines.insert(where, rng.choice((b"# caf" + bad + b"\n", b'description = "na' + bad + b've"\n')))
    (directory / "pyproject.toml").write_bytes(b"".join(lines))
    (directory / "main.tf").write_text(GOOD_TF)


def long_integer_config(rng: random.Random, directory: Path) -> None:
    """An integer of 4,301 to 6,000 digits (over Python's int-to-string limit)."""
    key = rng.choice(("hop-limit", "max-file-size", "x"))
    digits = str(rng.randint(1, 9)) + "".join(rng.choices("0123456789", k=rng.randint(4300, 6000)))
    _config(rng, directory, f"{key} = {digits}\n")
    (directory / "main.tf").write_text(GOOD_TF)


def empty_selection(rng: random.Random, directory: Path) -> None:
    """A configuration whose selection leaves no rule: ``select = []`` and its relatives."""
    blanks = [rng.choice(("", " ", "  ", "\\t")) for _ in range(rng.randint(0, 3))]
    choice = rng.randrange(3)
    if choice == 0:
        body = "select = [" + ", ".join(f'"{b}"' for b in blanks) + "]\n"
    elif choice == 1:
        body = 'ignore = ["' + rng.choice(("ALL", "all", "IMDS", "imds0")) + '"]\n'
    else:
        rule = rng.choice(("IMDS001", "IMDS002", "IMDS003", "IMDS004"))
        body = f'select = ["{rule}"]\nignore = ["{rule[: rng.randint(4, 7)]}"]\n'
    _config(rng, directory, body)
    (directory / "main.tf").write_text(GOOD_TF)


GENERATORS: dict[str, Callable[[random.Random, Path], None]] = {
    "fifo_scanned": fifo_scanned,
    "fifo_tfvars": fifo_tfvars,
    "fifo_config": fifo_config,
    "oversized_tfvars": oversized_tfvars,
    "bad_max_file_size": bad_max_file_size,
    "deep_config": deep_config,
    "latin1_pyproject": latin1_pyproject,
    "long_integer_config": long_integer_config,
    "empty_selection": empty_selection,
}


# --- documents given on the command line (--baseline, --parameters, --var-file) ----------------


def nested_json(rng: random.Random, depth: int) -> str:
    """A JSON document nested ``depth`` deep: arrays, objects or both."""
    opening: list[str] = []
    closing: list[str] = []
    for _ in range(depth):
        if rng.random() < 0.5:
            opening.append("[")
            closing.append("]")
        else:
            opening.append('{"Parameters": ')
            closing.append("}")
    return "".join(opening) + "1" + "".join(reversed(closing))


def long_integer_json(rng: random.Random) -> str:
    """A baseline- or parameters-shaped JSON document holding a 4,301+ digit integer."""
    digits = str(rng.randint(1, 9)) + "".join(rng.choices("0123456789", k=rng.randint(4300, 6000)))
    return rng.choice(
        (
            f'{{"version": {digits}, "findings": []}}',
            f'{{"version": 1, "findings": [{{"fingerprint": {digits}}}]}}',
            f'[{{"ParameterKey": "Tokens", "ParameterValue": {digits}}}]',
            f'{{"Parameters": {{"Tokens": {digits}}}}}',
        )
    )
