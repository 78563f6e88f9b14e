"""Expected findings written into the test inputs themselves: one convention for ``fixtures/``
(tests/test_fixtures.py) and ``tests/rules/`` (tests/test_rules.py).

- HCL (``.tf``, ``.tfvars``) and YAML (``.yaml``, ``.yml``, ``.template``): a line that must get a
  finding ends with a comment ``# imds-expect: IMDS002`` (``//`` works in HCL too); several
  findings on one line: ``# imds-expect: IMDS002, IMDS003``. A rule may name the finding's column
  (1-based, in characters, as the text report prints it): ``IMDS002@19``.
- Code that runs on instances (shell, PowerShell, Python, systemd units, Dockerfiles, Terraform
  ``.tpl`` templates; JavaScript, Go and Java with ``//``) carries the same comment at the end of
  the line of the call; the column is where the call's command word (``curl``, ``wget``,
  ``Invoke-RestMethod``) or call expression starts.
- JSON has no comments: ``x.json`` (or a JSON ``x.template``) has a sidecar ``x.json.expect``, one
  ``LINE RULE[@COLUMN] RESOURCE`` a line; lines starting with ``#`` are comments. An empty
  sidecar (or none, in ``fixtures/``) means no findings.
- A comment ``imds-args: --hop-limit 2`` (``# imds-args: ...`` in a file or a sidecar) gives the
  command-line arguments a case is scanned with (tests/rules/ only).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import NamedTuple

EXPECT = re.compile(r"(?:#|//)\s*imds-expect:\s*([A-Z0-9@, ]+)")
ARGS = re.compile(r"(?:#|//)\s*imds-args:(.*)$")
INLINE = (
    ".tf",
    ".tfvars",
    ".pkr.hcl",  # Packer HCL2 templates and their variable files
    ".pkrvars.hcl",
    ".yaml",
    ".yml",
    ".template",
    ".config",
    # code that runs on instances (IMDS007 cases): `#` comments, `//` in JavaScript, Go, Java
    ".sh",
    ".bash",
    ".ps1",
    ".py",
    ".service",
    ".tpl",
    ".js",
    ".ts",
    ".go",
    ".java",
    "Dockerfile",
)
SIDECAR = ".expect"


class Expected(NamedTuple):
    """One finding a file says it must get."""

    path: Path
    line: int
    rule: str
    column: int | None = None  # not stated: any column
    resource: str | None = None  # stated in sidecars only


def _rule(token: str) -> tuple[str, int | None]:
    rule, _, column = token.partition("@")
    return rule, int(column) if column else None


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR)


def expected_in(path: Path) -> list[Expected]:
    """The findings ``path`` must get, from its own comments or from its sidecar."""
    found: list[Expected] = []
    side = sidecar(path)
    if side.exists():
        for line in side.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            number, token, resource = line.split(" ", 2)
            rule, column = _rule(token)
            found.append(Expected(path, int(number), rule, column, resource))
    elif path.name.endswith(INLINE):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = EXPECT.search(line)
            if match:
                for token in filter(None, (t.strip() for t in match.group(1).split(","))):
                    rule, column = _rule(token)
                    found.append(Expected(path, number, rule, column))
    return found


def arguments_in(path: Path) -> list[str]:
    """The command-line arguments ``path`` (or its sidecar) asks to be scanned with."""
    side = sidecar(path)
    source = side if side.exists() else path
    if not source.name.endswith((*INLINE, SIDECAR)):
        return []
    args: list[str] = []
    for line in source.read_text(encoding="utf-8").splitlines():
        match = ARGS.search(line)
        if match:
            args += shlex.split(match.group(1))
    return args


def annotated_files(root: Path) -> list[Path]:
    """Every file under ``root`` (or ``root`` itself) that can carry expectations: all but the
    sidecars, in sorted order."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(SIDECAR))
