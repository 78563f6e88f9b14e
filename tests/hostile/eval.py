"""Hostile Terraform inputs for the evaluator (issue 12, items 1, 5, 6, 7, 8).

Each generator writes one case into an empty directory; ``imds-iac check <dir>`` must finish
quickly on it, without a traceback, and name what it could not evaluate (IMDS004). Every case
also holds ``good/main.tf`` with an ordinary finding, which must still be reported.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

GOOD = (
    'resource "aws_instance" "good" {\n'
    '  ami = "ami-1"\n'
    "  metadata_options {\n"
    '    http_tokens = "optional"\n'
    "  }\n"
    "}\n"
)


def _good(root: Path) -> None:
    (root / "good").mkdir(exist_ok=True)
    (root / "good" / "main.tf").write_text(GOOD)


def _name(rng: random.Random, stem: str) -> str:
    return f"{stem}{rng.randrange(1000)}"


def unknown_branches(rng: random.Random, root: Path) -> None:
    """Item 1: an undecided conditional whose other branch reads an unknown each/count value
    (a variable without a default), in resources and in module calls."""
    _good(root)
    bad = root / "bad"
    bad.mkdir()
    flag, items, n = _name(rng, "enforce"), _name(rng, "instances"), _name(rng, "n")
    lines = [
        f'variable "{flag}" {{\n  type = bool\n}}\n',
        f'variable "{items}" {{}}\n',
        f'variable "{n}" {{}}\n',
    ]
    branches = [
        "each.value.tokens",
        "each.value",
        "each.key",
        'lookup(each.value, "tokens", "optional")',
        "each.value.options.tokens",
    ]
    counted = ["count.index", 'count.index == 0 ? "optional" : "required"', "var.x[count.index]"]
    for i in range(rng.randint(2, 6)):
        yes, no = '"required"', rng.choice(branches)
        if rng.random() < 0.5:
            yes, no = no, yes
        cond = rng.choice([f"var.{flag}", f"!var.{flag}", f"var.{flag} && var.{n} > 0"])
        lines.append(
            f'resource "aws_instance" "fe{i}" {{\n  for_each = var.{items}\n'
            f"  metadata_options {{\n    http_tokens = {cond} ? {yes} : {no}\n"
            f"    http_put_response_hop_limit = {cond} ? 1 : each.value\n  }}\n}}\n"
        )
        yes, no = rng.choice(counted), '"required"'
        if rng.random() < 0.5:
            yes, no = no, yes
        lines.append(
            f'resource "aws_launch_template" "c{i}" {{\n  count = var.{n}\n'
            f"  metadata_options {{\n    http_tokens = var.x ? {yes} : {no}\n  }}\n}}\n"
        )
    lines.append(
        f'module "m" {{\n  source = "./child"\n  for_each = var.{items}\n'
        f'  tokens = var.{flag} ? "required" : each.value.tokens\n}}\n'
    )
    (bad / "main.tf").write_text("".join(lines))
    (bad / "child").mkdir()
    (bad / "child" / "main.tf").write_text(
        'variable "tokens" {}\nresource "aws_instance" "c" {\n'
        "  metadata_options {\n    http_tokens = var.tokens\n  }\n}\n"
    )


def self_reference(rng: random.Random, root: Path) -> None:
    """Item 5: variable defaults and locals that refer to themselves, directly or in a cycle,
    several times over (``default = [var.a, var.a]``)."""
    _good(root)
    bad = root / "bad"
    bad.mkdir()
    size = rng.randint(2, 6)
    cycle = rng.randint(1, 4)
    shapes = [
        lambda ref: "[" + ", ".join([ref] * size) + "]",
        lambda ref: "{" + ", ".join(f"k{i} = {ref}" for i in range(size)) + "}",
        lambda ref: f"merge({ref}, {ref})",
        lambda ref: f"var.u ? {ref} : [{ref}, {ref}]",
    ]
    lines = ['variable "u" {\n  type = bool\n}\n']
    for i in range(cycle):
        ref = f"var.v{(i + 1) % cycle}"
        lines.append(f'variable "v{i}" {{\n  default = {rng.choice(shapes)(ref)}\n}}\n')
    lines.append("locals {\n")
    for i in range(cycle):
        ref = f"local.l{(i + 1) % cycle}"
        lines.append(f"  l{i} = {rng.choice(shapes)(ref)}\n")
    lines.append("}\n")
    for i, expr in enumerate(["var.v0[0]", "local.l0[0]", "var.v0", "local.l0.k0"]):
        lines.append(
            f'resource "aws_instance" "r{i}" {{\n  metadata_options {{\n'
            f"    http_tokens = {expr}\n  }}\n}}\n"
        )
    (bad / "main.tf").write_text("".join(lines))


def locals_chain(rng: random.Random, root: Path) -> None:
    """Item 6: a chain of locals, each using the previous one twice (``lN = var.u ? lM : lM``,
    or an object holding it twice): 2^depth leaves if expanded."""
    _good(root)
    bad = root / "bad"
    bad.mkdir()
    depth = rng.randint(20, 40)
    shape = rng.choice(["cond", "cond2", "object", "list"])
    base = rng.choice(['"optional"', 'var.v ? "optional" : "required"'])
    lines = ['variable "u" {\n  type = bool\n}\n', 'variable "v" {\n  type = bool\n}\n']
    lines.append(f"locals {{\n  l0 = {base}\n")
    for i in range(1, depth + 1):
        prev = f"local.l{i - 1}"
        expr = {
            "cond": f"var.u ? {prev} : {prev}",
            "cond2": f"var.u{i % 3} ? {prev} : {prev}",
            "object": f"{{ a = {prev}, b = {prev} }}",
            "list": f"[{prev}, {prev}]",
        }[shape]
        lines.append(f"  l{i} = {expr}\n")
    lines.append("}\n")
    access = {"object": ".a", "list": "[0]"}.get(shape, "")
    lines.append(
        'resource "aws_instance" "web" {\n  metadata_options {\n'
        f"    http_tokens = local.l{depth}{access * depth}\n  }}\n}}\n"
    )
    lines.append(
        'resource "aws_instance" "whole" {\n  metadata_options {\n'
        f"    http_tokens = local.l{depth}\n  }}\n}}\n"
    )
    (bad / "main.tf").write_text("".join(lines))


def shared_values(rng: random.Random, root: Path) -> None:
    """Item 6: values that double at each step of a chain of locals and are then used whole: a
    template string (``"${local.s}${local.s}"``, 2^depth characters) and a ``for_each`` set."""
    _good(root)
    bad = root / "bad"
    bad.mkdir()
    depth = rng.randint(30, 45)
    lines = ["locals {\n", '  s0 = "ab"\n', '  l0 = "optional"\n']
    for i in range(1, depth + 1):
        lines.append(f'  s{i} = "${{local.s{i - 1}}}${{local.s{i - 1}}}"\n')
        lines.append(f"  l{i} = [local.l{i - 1}, local.l{i - 1}]\n")
    lines.append("}\n")
    lines.append(
        'resource "aws_instance" "string" {\n  metadata_options {\n'
        f"    http_tokens = local.s{depth}\n  }}\n}}\n"
    )
    lines.append(
        f'resource "aws_instance" "set" {{\n  for_each = toset(local.l{depth})\n'
        "  metadata_options {\n    http_tokens = each.value\n  }\n}\n"
    )
    (bad / "main.tf").write_text("".join(lines))


def module_fanout(rng: random.Random, root: Path) -> None:
    """Item 6: ``levels`` module directories, each calling the next ``fan`` times."""
    _good(root)
    levels, fan = rng.randint(9, 12), rng.randint(3, 5)
    for level in range(levels):
        directory = root / f"m{level}"
        directory.mkdir()
        text = 'variable "tokens" {\n  default = "optional"\n}\n'
        text += (
            f'resource "aws_instance" "i{level}" {{\n  metadata_options {{\n'
            "    http_tokens = var.tokens\n  }\n}\n"
        )
        if level + 1 < levels:
            for call in range(fan):
                text += (
                    f'module "c{call}" {{\n  source = "../m{level + 1}"\n'
                    "  tokens = var.tokens\n}\n"
                )
        (directory / "main.tf").write_text(text)


def huge_count(rng: random.Random, root: Path) -> None:
    """Item 7: ``count`` of millions, on resources and module calls, with settings that do and
    do not depend on ``count.index``."""
    _good(root)
    bad = root / "bad"
    bad.mkdir()
    n = rng.choice([10**6, 10**7, 2**31, 10**12])
    lines = [f'variable "n" {{\n  default = {n}\n}}\n']
    lines.append(
        'resource "aws_instance" "same" {\n  count = var.n\n  metadata_options {\n'
        '    http_tokens = "optional"\n  }\n}\n'
    )
    lines.append(
        f'resource "aws_instance" "indexed" {{\n  count = {n}\n  metadata_options {{\n'
        f'    http_tokens = count.index == {rng.randrange(5)} ? "required" : "optional"\n'
        "  }\n}\n"
    )
    lines.append(
        f'module "many" {{\n  source = "./child"\n  count = {n}\n  tokens = "optional"\n}}\n'
    )
    (bad / "main.tf").write_text("".join(lines))
    (bad / "child").mkdir()
    (bad / "child" / "main.tf").write_text(
        'variable "tokens" {}\nresource "aws_instance" "c" {\n'
        "  metadata_options {\n    http_tokens = var.tokens\n  }\n}\n"
    )


def nested_for(rng: random.Random, root: Path) -> None:
    """Item 7: ``for`` expressions nested ``depth`` deep over ``width`` items (width^depth)."""
    _good(root)
    bad = root / "bad"
    bad.mkdir()
    width, depth = rng.randint(30, 50), rng.randint(4, 5)
    items = "[" + ", ".join(f'"i{k}"' for k in range(width)) + "]"
    expr = '"optional"'
    for level in range(depth):
        expr = f"[for x{level} in local.items : {expr}]"
    access = "[0]" * depth
    text = f"locals {{\n  items = {items}\n  big = {expr}\n}}\n"
    text += (
        'resource "aws_instance" "web" {\n  metadata_options {\n'
        f"    http_tokens = local.big{access}\n  }}\n}}\n"
    )
    text += (
        'resource "aws_instance" "flat" {\n  for_each = toset(flatten(local.big))\n'
        '  metadata_options {\n    http_tokens = "optional"\n  }\n}\n'
    )
    (bad / "main.tf").write_text(text)


def many_explosions(rng: random.Random, root: Path) -> None:
    """Item 7: many resources of one module, each with its own expression past the bound: the
    module as a whole is bounded too (not each expression times the number of resources)."""
    _good(root)
    bad = root / "bad"
    bad.mkdir()
    width = rng.randint(30, 40)
    items = "[" + ", ".join(f'"i{k}"' for k in range(width)) + "]"
    text = f"locals {{\n  items = {items}\n}}\n"
    for r in range(rng.randint(10, 30)):
        expr = f'"t{r}"'
        for level in range(4):
            expr = f"[for x{level} in local.items : {expr}]"
        text += (
            f'resource "aws_instance" "r{r}" {{\n  metadata_options {{\n'
            f"    http_tokens = {expr}[0][0][0][0]\n  }}\n}}\n"
        )
    (bad / "main.tf").write_text(text)


def symlink_modules(rng: random.Random, root: Path) -> None:
    """Item 8: module directories reached through symbolic links, including links to the
    directory itself (``l1 -> .``) and to a parent, called several times."""
    _good(root)
    bad = root / "bad"
    bad.mkdir()
    links = rng.randint(2, 5)
    text = (
        'variable "tokens" {\n  default = "optional"\n}\n'
        'resource "aws_instance" "web" {\n  metadata_options {\n'
        "    http_tokens = var.tokens\n  }\n}\n"
    )
    for i in range(links):
        os.symlink(".", bad / f"l{i}")
        text += f'module "self{i}" {{\n  source = "./l{i}"\n}}\n'
    (bad / "main.tf").write_text(text)
    sub = bad / "sub"
    sub.mkdir()
    os.symlink("..", sub / "up")
    (sub / "main.tf").write_text(
        'module "up" {\n  source = "./up"\n}\n' + 'module "up2" {\n  source = "./up/l0"\n}\n'
    )


GENERATORS: dict[str, Callable[[random.Random, Path], None]] = {
    "eval_unknown_branches": unknown_branches,
    "eval_self_reference": self_reference,
    "eval_locals_chain": locals_chain,
    "eval_shared_values": shared_values,
    "eval_module_fanout": module_fanout,
    "eval_huge_count": huge_count,
    "eval_nested_for": nested_for,
    "eval_many_explosions": many_explosions,
    "eval_symlink_modules": symlink_modules,
}
