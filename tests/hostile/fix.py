"""Hostile inputs for ``imds-iac fix`` (issue 12, items 11, 13 and 18).

Each generator writes one case into an empty directory; ``imds-iac check <dir>`` scans it and
``imds-iac fix`` is expected to fix what it may and leave the rest, quickly. The tests in
tests/test_hostile_fix.py use them with their own expectations (which paths they name, which
files must stay untouched).
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable
from pathlib import Path

TOKENS = ("optional", '"optional"')


def _instance(name: str, tokens: str = '"optional"', hop: int | None = None) -> str:
    hop_line = f"    http_put_response_hop_limit = {hop}\n" if hop is not None else ""
    return (
        f'resource "aws_instance" "{name}" {{\n'
        '  ami = "ami-1"\n'
        "  metadata_options {\n"
        f"    http_tokens = {tokens}\n"
        f"{hop_line}"
        "  }\n"
        "}\n"
    )


def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)


# --- item 11: modules outside the paths given -----------------------------------------------------


def outside_module(rng: random.Random, root: Path) -> None:
    """``infra/`` (the path a test names) calls modules in ``outside/`` by relative sources, a
    symbolic link inside ``infra/`` and a module-call argument; ``outside/`` has literal findings
    and variable defaults that only an edit outside ``infra/`` could fix."""
    depth = rng.randint(0, 3)
    infra = root / "infra" / Path(*[f"level{i}" for i in range(depth)])
    up = "../" * (depth + 1)
    calls = []
    for m in range(rng.randint(1, 3)):
        mod = root / "outside" / f"mod{m}"
        body = 'variable "tokens" {\n  default = "optional"\n}\n'
        for r in range(rng.randint(1, 3)):
            body += _instance(f"lit{r}", '"optional"', rng.choice([None, 4]))
        body += _instance("shared", "var.tokens")
        _write(mod / "main.tf", body)
        if rng.random() < 0.5:
            source = f"{up}outside/mod{m}"
        else:  # through a symbolic link inside the tree
            (infra / "links").mkdir(parents=True, exist_ok=True)
            os.symlink(os.path.relpath(mod, infra / "links"), infra / "links" / f"mod{m}")
            source = f"./links/mod{m}"
        args = '  tokens = "optional"\n' if rng.random() < 0.5 else ""
        calls.append(f'module "ext{m}" {{\n  source = "{source}"\n{args}}}\n')
    own = "".join(_instance(f"own{i}") for i in range(rng.randint(1, 3)))
    _write(infra / "main.tf", "".join(calls) + own)
    # a neighbour of infra/ that the test does not name either
    _write(root / "sibling" / "main.tf", _instance("sib"))


# --- item 13: an unstable module next to a good one ----------------------------------------------

# Self-referencing defaults whose evaluation stops at the recursion limit: how far it got
# depends on the stack depth the scan runs at.
UNSTABLE = (
    'var.a == "" ? "optional" : var.a',
    'var.a != "x" ? "optional" : var.a',
    'var.a == "" ? var.a : "optional"',
    'var.a == "required" ? var.a : "optional"',
)


def unstable_neighbour(rng: random.Random, root: Path) -> None:
    """``good/`` has literal findings; ``bad/`` calls a child module whose variable refers to
    itself; ``bad/`` may also have an unfixable finding of its own."""
    for g in range(rng.randint(1, 3)):
        text = "".join(_instance(f"g{g}_{i}") for i in range(rng.randint(1, 3)))
        _write(root / "good" / f"m{g}" / "main.tf", text)
    _write(root / "bad" / "main.tf", 'module "child" {\n  source = "./child"\n}\n')
    child = f'variable "a" {{\n  default = {rng.choice(UNSTABLE)}\n}}\n' + _instance("b", "var.a")
    _write(root / "bad" / "child" / "main.tf", child)
    if rng.random() < 0.5:
        _write(root / "bad" / "other.tf", _instance("unknown", "local.nowhere"))


# --- item 18 -------------------------------------------------------------------------------------


def yaml_anchors(rng: random.Random, root: Path) -> None:
    """CloudFormation values written once with an anchor and used again through aliases, with
    a core tag, in block and flow style."""
    lines = ["Parameters:", "  Tok:", "    Type: String", "    Default: &tok optional"]
    lines.append("Resources:")
    hop_tag = rng.choice(["", "!!int "])
    lines += [
        "  T:",
        "    Type: AWS::EC2::LaunchTemplate",
        "    Properties:",
        "      LaunchTemplateData:",
        f"        MetadataOptions: {{HttpTokens: &lit optional, HttpPutResponseHopLimit: "
        f"&hop {hop_tag}{rng.randint(2, 9)}}}",
    ]
    for i in range(rng.randint(1, 4)):
        tokens = rng.choice(["*tok", "*lit", "!Ref Tok"])
        lines += [
            f"  I{i}:",
            "    Type: AWS::EC2::Instance",
            "    Properties:",
            "      MetadataOptions:",
            f"        HttpTokens: {tokens}",
            "        HttpPutResponseHopLimit: *hop",
        ]
    _write(root / "stack.yaml", "\n".join(lines) + "\n")


def byte_order_marks(rng: random.Random, root: Path) -> None:
    """YAML templates that start with one to three UTF-8 byte-order marks."""
    for n in range(rng.randint(1, 3)):
        boms = b"\xef\xbb\xbf" * rng.randint(1, 3)
        pad = " " * rng.randint(0, 3)
        text = (
            "Resources:\n  A:\n    Type: AWS::EC2::Instance\n    Properties:\n"
            f"      MetadataOptions: {{{pad}HttpTokens: optional}}\n"
            "  B:\n    Type: AWS::EC2::Instance\n    Properties:\n      MetadataOptions:\n"
            f"        HttpTokens: {rng.choice(['optional', repr('optional')])}\n"
        )
        _write(root / f"t{n}.yaml", boms + text.encode())


def file_modes(rng: random.Random, root: Path) -> None:
    """Files to fix that are read-only, hard-linked (inside the tree) or carry extended
    attributes, next to plain ones."""
    for i in range(rng.randint(3, 6)):
        path = root / f"m{i}.tf"
        _write(path, _instance(f"r{i}"))
        kind = rng.choice(["plain", "readonly", "linked", "xattr"])
        if kind == "readonly":
            os.chmod(path, 0o444)
        elif kind == "linked":
            os.link(path, root / f"m{i}.tf.keep")  # not a .tf name: scanned once
        elif kind == "xattr" and hasattr(os, "setxattr"):
            with contextlib.suppress(OSError):  # a file system without user attributes
                os.setxattr(path, "user.imds", f"x{i}".encode())


def many_modules(rng: random.Random, root: Path) -> None:
    """Many small modules with literal findings: two fix runs at once on this tree."""
    for m in range(rng.randint(20, 40)):
        text = "".join(_instance(f"r{i}", '"optional"', 3) for i in range(rng.randint(1, 3)))
        _write(root / f"mod{m:02d}" / "main.tf", text)


# The fuzz harness gives the command this path of the case: everything beside it is outside.
outside_module.given = "infra"  # type: ignore[attr-defined]

GENERATORS: dict[str, Callable[[random.Random, Path], None]] = {
    "fix_outside_module": outside_module,
    "fix_unstable_neighbour": unstable_neighbour,
    "fix_yaml_anchors": yaml_anchors,
    "fix_byte_order_marks": byte_order_marks,
    "fix_file_modes": file_modes,
    "fix_many_modules": many_modules,
}
