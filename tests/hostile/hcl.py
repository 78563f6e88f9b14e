"""Hostile and unusual HCL for imds-iac (issue 12, items 10, 16 and 19): generators.

``GENERATORS`` maps a name to a function that writes one case into an empty directory, for
``scripts/fuzz.py`` and the tests. The ``document`` / ``numbers`` helpers also return what
HashiCorp's parser must read from the text, for the differential tests.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

# What HCL allows between a block's type, its labels and its "{", and around "=": blanks and
# block comments, including ones that span lines (a newline inside /* */ is not a line break).
_GAPS = ["", " ", "  ", "\t", "/* c */", " /* legacy */ ", "/**/", "/* a\nb */", " /* } { = */ "]
# What may end a line after an argument or a "{" (before its newline).
_TAILS = ["", " ", " # note", " // note", " /* c */", "\t/* x\ny */", " /* } */ # tail"]
TOKENS = ["required", "optional"]


def gap(rng: random.Random, needed: bool = False) -> str:
    """A gap between two tokens; ``needed`` when the tokens would merge without one."""
    choice = rng.choice(_GAPS)
    return choice if choice or not needed else " "


def number(rng: random.Random, value: int) -> str:
    """``value`` written in one of the forms HCL accepts: exponents with and without a fraction
    or a sign, upper or lower case ``e``."""
    forms = [
        str(value),
        f"{value}e0",
        f"{value}E0",
        f"{value}e+0",
        f"{value}E-0",
        f"{value * 10}e-1",
        f"{value * 100}E-2",
        f"{value}.0",
        f"{value}.0e0",
        f"0.{value}e1" if value < 10 else str(value),
    ]
    if value and value % 10 == 0:
        forms.append(f"{value // 10}e1")
    if value == 1000:
        forms += ["1e3", "1e+3", "1E3", "10e2"]
    return rng.choice(forms)


def label(rng: random.Random, text: str) -> str:
    return f'"{text}"' if rng.random() < 0.85 else text


def resource(
    rng: random.Random,
    kind: str,
    name: str,
    count: int | None,
    tokens: str | None,
    hops: int | None,
) -> str:
    """One resource block with random gaps, tails and number forms."""
    first = label(rng, kind)
    second = label(rng, name)
    head = (
        "resource"
        + gap(rng, needed=not first.startswith('"'))
        + first
        + gap(rng, needed=not (first.endswith('"') or second.startswith('"')))
        + second
        + gap(rng)
        + "{"
        + rng.choice(_TAILS)
        + "\n"
    )
    body = ""
    if count is not None:
        body += f"  count{gap(rng)}={gap(rng)}{number(rng, count)}{rng.choice(_TAILS)}\n"
    body += f'  ami = "ami-{rng.randrange(16**6):06x}"{rng.choice(_TAILS)}\n'
    options = ""
    if tokens is not None:
        value = f'"{tokens}"'
        options += f"    http_tokens{gap(rng)}={gap(rng)}{value}{rng.choice(_TAILS)}\n"
    if hops is not None:
        options += (
            f"    http_put_response_hop_limit{gap(rng)}={gap(rng)}{number(rng, hops)}"
            f"{rng.choice(_TAILS)}\n"
        )
    if options or rng.random() < 0.5:
        body += f"  metadata_options{gap(rng)}{{{rng.choice(_TAILS)}\n{options}  }}\n"
    return head + body + "}\n"


def document(rng: random.Random, blocks: int = 4) -> tuple[str, dict[str, dict[str, object]]]:
    """A .tf file of aws_instance resources and what HashiCorp's parser must read from it:
    ``{address: {"http_tokens": ..., "http_put_response_hop_limit": ...}}`` (one address per
    instance of ``count``)."""
    parts: list[str] = []
    expected: dict[str, dict[str, object]] = {}
    for i in range(blocks):
        count = rng.choice([None, None, 1, 2, 3])
        tokens = rng.choice([None, *TOKENS])
        hops = rng.choice([None, 1, 2, 3])
        name = f"w{i}"
        parts.append(resource(rng, "aws_instance", name, count, tokens, hops))
        if rng.random() < 0.3:
            parts.append(rng.choice(["# between\n", "/* between */\n", "\n", "// x\n"]))
        settings: dict[str, object] = {}
        if tokens is not None:
            settings["http_tokens"] = tokens
        if hops is not None:
            settings["http_put_response_hop_limit"] = hops
        suffixes = [""] if count is None else [f"[{n}]" for n in range(count)]
        for suffix in suffixes:
            expected[f"aws_instance.{name}{suffix}"] = settings
    return "".join(parts), expected


def nested_template(depth: int, inner: str = '"optional"') -> str:
    """``"${"${ ... }"}"`` ``depth`` levels deep around ``inner``."""
    return '"${' * depth + inner + '}"' * depth


def _comments_and_spacing(rng: random.Random, out: Path) -> None:
    text, _expected = document(rng, rng.randint(1, 8))
    (out / "main.tf").write_text(text)


def _exponents(rng: random.Random, out: Path) -> None:
    value = rng.choice([1, 2, 3, 10, 1000])
    text = (
        f'resource "aws_instance" "n" {{\n  count = {number(rng, rng.choice([1, 2]))}\n'
        f"  metadata_options {{\n    http_put_response_hop_limit = {number(rng, value)}\n"
        f'    http_tokens = "required"\n  }}\n}}\n'
        f'variable "big" {{\n  default = {rng.choice(["1e400", "1E-400", "1e+308", "9e9"])}\n}}\n'
    )
    (out / "main.tf").write_text(text)


def _deep_template(rng: random.Random, out: Path) -> None:
    depth = rng.randint(40, 400)
    text = (
        f'resource "aws_instance" "deep" {{\n  metadata_options {{\n'
        f"    http_tokens = {nested_template(depth)}\n  }}\n}}\n"
    )
    (out / "main.tf").write_text(text)


def large_file(rng: random.Random, size: int, target_share: float = 0.1) -> str:
    """About ``size`` bytes of resource blocks, ``target_share`` of them aws_instance targets,
    the rest security groups (blocks no rule reads), formatted as ``terraform fmt`` writes."""
    parts: list[str] = []
    total = i = 0
    while total < size:
        if rng.random() < target_share:
            note = rng.choice(["", "/* pinned */ ", "/* a\nb */"])  # a comment in an expression
            block = (
                f'resource "aws_instance" "web_{i}" {{\n  ami           = "ami-{i:08x}"\n'
                f'  instance_type = "t3.micro"\n\n  metadata_options {{\n'
                f'    http_tokens = {note}"{rng.choice(TOKENS)}"\n  }}\n}}\n\n'
            )
        else:
            block = (
                f'resource "aws_security_group" "sg_{i}" {{\n  name   = "sg-{i}"\n'
                f'  vpc_id = "vpc-123"\n\n  ingress {{\n    from_port   = 443\n'
                f'    to_port     = 443\n    protocol    = "tcp"\n'
                f'    cidr_blocks = ["10.0.0.0/8", "10.1.0.0/16"] # internal\n  }}\n\n'
                f'  tags = {{\n    Name = "sg-{i}"\n    Env  = "prod"\n  }}\n}}\n\n'
            )
        parts.append(block)
        total += len(block)
        i += 1
    return "".join(parts)


def _large(rng: random.Random, out: Path) -> None:
    (out / "main.tf").write_text(large_file(rng, rng.randint(300_000, 1_500_000)))


GENERATORS: dict[str, Callable[[random.Random, Path], None]] = {
    "hcl-comments-and-spacing": _comments_and_spacing,
    "hcl-exponents": _exponents,
    "hcl-deep-template": _deep_template,
    "hcl-large-file": _large,
}
