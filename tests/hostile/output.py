"""Hostile names and values for the output writers (issue 12, item 14).

Every generator writes files whose *names* or *values* carry what a CI log or a terminal acts
on: newlines followed by GitHub workflow commands (``::error ...``), carriage returns, ESC
sequences, C1 controls, Unicode line separators and bidirectional controls, the legacy
``##[command]`` markers, and characters the writers themselves quote (``%`` ``:`` ``,`` ``&``
``<`` ``"``). Each input makes findings or scan errors that print those names and values.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path

# Pieces a hostile name or value is built from.
PAYLOADS = (
    "\n::error title=injected::pwned",
    "\n::warning file=x,line=1::pwned",
    "\r::error::carriage",
    "\r\n::add-mask::secret",
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;https://evil.example\x07link\x1b]8;;\x07",
    "\x1b[2J",
    "\x07\x08\x0b\x0c\x7f",
    "\x85\x9b31m",
    "\u2028::error::ls",
    "\u2029::error::ps",
    "\u202eevil\u202c",
    "\u2066\u2069\u200e\u200f\u061c",
    " ##[error]legacy",
    "##vso[task.setvariable variable=x]1",
    "##teamcity[message text='x']",
    "%0A::error::percent",
    "%25",
    "a:b,c=d",
    "&<>\"'",
    "\\n",
    "\t",
    " ::notice::spaced",
    "\u00a0::error::nbsp",
)
# A file name cannot hold "/" or NUL; the rest may appear.
NAME_PAYLOADS = tuple(p for p in PAYLOADS if "/" not in p)


def hostile_text(rng: random.Random, pieces: tuple[str, ...] = PAYLOADS, n: int = 3) -> str:
    """Ordinary text with ``n`` hostile pieces mixed in."""
    parts = [rng.choice(("v", "optional", "x y", "ü"))]
    for _ in range(n):
        parts.append(rng.choice(pieces))
        parts.append(rng.choice(("", "a", "-", " ")))
    return "".join(parts)


def hostile_name(rng: random.Random) -> str:
    """A file or directory name (at most ~100 bytes) with hostile pieces."""
    name = hostile_text(rng, NAME_PAYLOADS, rng.randint(1, 3))
    while len(name.encode()) > 100:
        name = name[: len(name) // 2]
    return name.replace("/", "_") or "x"


def _hcl_string(value: str) -> str:
    """``value`` as an HCL quoted string (escapes for what HCL cannot hold raw)."""
    out = []
    for c in value:
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029":
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out).replace("${", "$${").replace("%{", "%%{") + '"'


def _tf(resource: str, tokens_hcl: str) -> str:
    return (
        f'resource "aws_instance" "{resource}" {{\n'
        '  ami = "ami-1"\n'
        "  metadata_options {\n"
        f"    http_tokens = {tokens_hcl}\n"
        "  }\n"
        "}\n"
    )


def _safe_mkdir(base: Path, name: str) -> Path | None:
    path = base / name
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError):
        return None
    return path


def names(rng: random.Random, root: Path) -> None:
    """Directories and files with hostile names, each with a finding (IMDS002) to report."""
    for i in range(rng.randint(2, 5)):
        d = _safe_mkdir(root, hostile_name(rng))
        if d is None:
            continue
        filename = hostile_name(rng) + rng.choice((".tf", ".tf", ".yaml", ".json"))
        if filename.endswith(".tf"):
            text = _tf(f"r{i}", '"optional"')
        elif filename.endswith(".yaml"):
            text = (
                "Resources:\n  Web:\n    Type: AWS::EC2::Instance\n    Properties:\n"
                "      ImageId: ami-1\n      MetadataOptions:\n        HttpTokens: optional\n"
            )
        else:
            text = json.dumps({"ImageId": "ami-1", "MetadataOptions": {"HttpTokens": "optional"}})
        try:
            (d / filename).write_text(text, encoding="utf-8")
        except (OSError, ValueError):
            (d / f"fallback{i}.tf").write_text(_tf(f"r{i}", '"optional"'), encoding="utf-8")


def values(rng: random.Random, root: Path) -> None:
    """Setting values (quoted strings and heredocs) that are hostile text: the finding's
    message quotes them."""
    for i in range(rng.randint(2, 6)):
        value = hostile_text(rng)
        if rng.random() < 0.3:  # a heredoc: raw newlines and a payload line of its own
            line = rng.choice(("::warning file=x::pwned", "::error title=t::p", " ##[error]x"))
            tokens = f"<<EOT\noptional\n{line}\nEOT"
        else:
            tokens = _hcl_string(value)
        (root / f"v{i}.tf").write_text(_tf(f"v{i}", tokens), encoding="utf-8")


def cloudformation(rng: random.Random, root: Path) -> None:
    """CloudFormation logical IDs and values with hostile text (YAML and JSON templates)."""
    resources = {}
    for i in range(rng.randint(1, 4)):
        logical = f"Web{i}" + hostile_text(rng, NAME_PAYLOADS, 1)
        resources[logical] = {
            "Type": "AWS::EC2::Instance",
            "Properties": {
                "ImageId": "ami-1",
                "MetadataOptions": {"HttpTokens": hostile_text(rng)},
            },
        }
    doc = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
    (root / "stack.json").write_text(json.dumps(doc, indent=1), encoding="utf-8")
    # YAML double-quoted strings take the same escapes as JSON (and \e, \x.. too)
    (root / "stack.yaml").write_text(json.dumps(doc, indent=1), encoding="utf-8")
    ec2 = {"ImageId": "ami-1", "MetadataOptions": {"HttpTokens": hostile_text(rng)}}
    (root / "launch.json").write_text(json.dumps(ec2), encoding="utf-8")


BROKEN = (
    (".tf", 'resource "aws_instance" "x" {\n  ami = "a"\n'),
    (".yaml", 'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Web: [\n'),
    (".json", '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"Web": '),
)


def broken(rng: random.Random, root: Path) -> None:
    """Files that cannot be parsed, under hostile names: each a scan error on stderr."""
    for i in range(rng.randint(1, 4)):
        ext, text = rng.choice(BROKEN)
        name = hostile_name(rng) + ext
        try:
            (root / name).write_text(text, encoding="utf-8")
        except (OSError, ValueError):
            (root / f"broken{i}.tf").write_text(text, encoding="utf-8")


def undecodable(rng: random.Random, root: Path) -> None:
    """Names that are not UTF-8 (Python reads them with lone surrogates), where the file
    system allows them."""
    base = os.fsencode(root)
    for i in range(rng.randint(1, 3)):
        raw = bytes(rng.randrange(0x80, 0x100) for _ in range(rng.randint(1, 4)))
        try:
            os.makedirs(os.path.join(base, b"d" + raw), exist_ok=True)
            path = os.path.join(base, b"d" + raw, raw + b"%d.tf" % i)
            with open(path, "w", encoding="utf-8") as f:
                f.write(_tf(f"u{i}", '"optional"'))
        except OSError:  # macOS and Windows refuse such names
            (root / f"u{i}.tf").write_text(_tf(f"u{i}", '"optional"'), encoding="utf-8")


def mixed(rng: random.Random, root: Path) -> None:
    """A bit of everything, in hostile-named subdirectories."""
    for gen in (names, values, cloudformation, broken, undecodable):
        sub = _safe_mkdir(root, hostile_name(rng)) or _safe_mkdir(root, gen.__name__)
        assert sub is not None
        gen(rng, sub)


GENERATORS: dict[str, Callable[[random.Random, Path], None]] = {
    "output_names": names,
    "output_values": values,
    "output_cloudformation": cloudformation,
    "output_broken": broken,
    "output_undecodable": undecodable,
    "output_mixed": mixed,
}
