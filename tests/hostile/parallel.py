"""Generators for the parallel scan (issue 12, items 3, 12 and 19).

``module_tree`` writes a realistic Terraform tree: roots (``live/<env>/<stack>``) that call local
modules with and without inputs and with ``terraform.tfvars``; modules called by several roots;
modules that call modules; variables with and without defaults; calls written in the forms
Terraform accepts (one line, trailing slash, comments, ``count``/``for_each``), wrappers in a
hidden directory (not scanned, but followed) that call scanned modules, and module cycles that
no root reaches. With
``directories`` above ``scan.PARALLEL_THRESHOLD`` the tree is scanned by the process pool, so a
serial and a parallel scan of it must print the same bytes.

``many_templates`` writes CloudFormation templates and EC2 JSON in several directories: enough
files to be split across workers (the worker-death test plants a poisoned one among them).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

_TOKENS = ['"required"', '"optional"', "var.http_tokens", "local.tokens", "var.settings.tokens"]
_HOPS = ["1", "2", "var.hop_limit", "3"]


def _variables(rng: random.Random, with_defaults: float) -> str:
    """The variables every generated module declares; each has a default with some chance."""
    out = []
    for name, type_, default in (
        ("http_tokens", "string", f'"{rng.choice(["required", "optional"])}"'),
        ("hop_limit", "number", str(rng.choice([1, 2, 3]))),
        ("enabled", "bool", rng.choice(["true", "false"])),
        ("names", "list(string)", '["a", "b"]'),
        (
            "settings",
            'object({ tokens = optional(string, "required"), hops = optional(number, 1) })',
            "{}",
        ),
    ):
        body = f"  type = {type_}\n"
        if rng.random() < with_defaults:
            body += f"  default = {default}\n"
        out.append(f'variable "{name}" {{\n{body}}}\n')
    return "\n".join(out)


def _resource(rng: random.Random, index: int) -> str:
    kind = rng.choice(["aws_instance", "aws_launch_template"])
    tokens = rng.choice(_TOKENS)
    hops = rng.choice(_HOPS)
    meta = ""
    if rng.random() < 0.3:
        meta = "  count = var.enabled ? 1 : 0\n"
    elif rng.random() < 0.2:
        meta = "  for_each = toset(var.names)\n"
    options = rng.random()
    if options < 0.1:
        block = ""
    elif options < 0.2:
        block = (
            '  dynamic "metadata_options" {\n    for_each = var.enabled ? [1] : []\n'
            f"    content {{\n      http_tokens = {tokens}\n    }}\n  }}\n"
        )
    else:
        block = (
            "  metadata_options {\n"
            '    http_endpoint               = "enabled"\n'
            f"    http_tokens                 = {tokens}\n"
            f"    http_put_response_hop_limit = {hops}\n"
            "  }\n"
        )
    image = "ami" if kind == "aws_instance" else "image_id"
    return (
        f'resource "{kind}" "r{index}" {{\n{meta}  {image} = "ami-{index:04d}"\n'
        f'  instance_type = "t3.micro"\n{block}}}\n'
    )


def _call(rng: random.Random, name: str, src: str, inputs: dict[str, str]) -> str:
    """A module call in one of the forms Terraform accepts."""
    style = rng.random()
    if not inputs and style < 0.3:  # a one-line block
        return f'module "{name}" {{ source = "{src}" }}\n'
    if style < 0.4:
        src_line = f'  source = "{src}/" # trailing slash\n'
    elif style < 0.5:
        src_line = f'  /* where */ source = "{src}"\n'
    elif style < 0.6:
        src_line = f'  source="{src}"\n'
    else:
        src_line = f'  source = "{src}"\n'
    meta = ""
    if rng.random() < 0.15:
        meta = f"  count = {rng.choice([0, 1, 2])}\n"
    elif rng.random() < 0.1:
        meta = '  for_each = toset(["x", "y"])\n'
    body = "".join(f"  {k} = {v}\n" for k, v in inputs.items())
    return f'module "{name}" {{\n{src_line}{meta}{body}}}\n'


def _inputs(rng: random.Random) -> dict[str, str]:
    out: dict[str, str] = {}
    if rng.random() < 0.5:
        out["http_tokens"] = rng.choice(['"required"', '"optional"', "var.http_tokens"])
    if rng.random() < 0.4:
        out["hop_limit"] = rng.choice(["1", "2", "4", "var.hop_limit"])
    if rng.random() < 0.3:
        out["enabled"] = rng.choice(["true", "false"])
    if rng.random() < 0.2:
        out["settings"] = rng.choice(['{ tokens = "optional" }', "{}", "{ hops = 5 }"])
    return out


def module_tree(rng: random.Random, root: Path, directories: int = 240, share: float = 0.5) -> None:
    """About ``directories`` Terraform directories: modules (some calling other modules, most
    called by one or several roots, some by nobody) and roots calling them."""
    modules = max(2, int(directories * 0.55))
    roots = max(1, directories - modules)
    names = [f"m{i:03d}" for i in range(modules)]
    for i, name in enumerate(names):
        text = _variables(rng, with_defaults=rng.choice([0.2, 0.6, 1.0]))
        text += "\nlocals {\n  tokens = var.settings.tokens\n}\n\n"
        text += "\n".join(_resource(rng, k) for k in range(rng.randint(0, 3)))
        if i + 1 < modules and rng.random() < 0.25:  # a module that calls a later module
            child = names[rng.randrange(i + 1, modules)]
            text += "\n" + _call(rng, "inner", f"../{child}", _inputs(rng))
        (root / "modules" / name).mkdir(parents=True)
        (root / "modules" / name / "main.tf").write_text(text)
    # Modules that only modules no root reaches call (a cycle, and a chain hanging off it):
    # scanned after the roots, in sequence.
    for k in range(rng.randint(0, 2)):
        ring = [f"ring{k}-{i}" for i in range(rng.randint(2, 3))]
        for i, name in enumerate(ring):
            text = _variables(rng, with_defaults=0.5) + "\n" + _resource(rng, i)
            text += "\n" + _call(rng, "next", f"../{ring[(i + 1) % len(ring)]}", _inputs(rng))
            if i == 0:
                text += "\n" + _call(rng, "tail", f"../{names[rng.randrange(modules)]}", {})
            (root / "modules" / name).mkdir(parents=True)
            (root / "modules" / name / "main.tf").write_text(text)
    # Wrappers in a hidden directory (not scanned, but followed through module calls): roots
    # calling them reach modules that no scanned directory calls, so those look like roots.
    hidden = [f"w{i}" for i in range(rng.randint(1, 4))]
    for name in hidden:
        text = _variables(rng, with_defaults=1.0)
        for k in range(rng.randint(1, 3)):
            child = names[rng.randrange(modules)]
            text += "\n" + _call(rng, f"h{k}", f"../../modules/{child}", _inputs(rng))
        (root / ".shared" / name).mkdir(parents=True)
        (root / ".shared" / name / "main.tf").write_text(text)
    for j in range(roots):
        env, stack = f"env{j % 5}", f"stack{j:03d}"
        where = root / "live" / env / stack
        where.mkdir(parents=True)
        text = _variables(rng, with_defaults=0.5)
        count = rng.randint(1, 4)
        for k in range(count):
            if rng.random() < share:  # the popular modules: shared by many roots
                child = names[rng.randrange(min(8, modules))]
            else:
                child = names[rng.randrange(modules)]
            text += "\n" + _call(rng, f"c{k}", f"../../../modules/{child}", _inputs(rng))
        if rng.random() < 0.2:
            wrapper = rng.choice(hidden)
            text += "\n" + _call(rng, "wrapped", f"../../../.shared/{wrapper}", _inputs(rng))
        if rng.random() < 0.2:
            text += "\n" + _resource(rng, 99)
        (where / "main.tf").write_text(text)
        if rng.random() < 0.5:
            (where / "terraform.tfvars").write_text(
                f'http_tokens = "{rng.choice(["required", "optional"])}"\n'
                f"hop_limit = {rng.choice([1, 2, 5])}\n"
            )


def _template(rng: random.Random, k: int) -> str:
    tokens = rng.choice(["required", "optional"])
    return (
        'AWSTemplateFormatVersion: "2010-09-09"\n'
        "Resources:\n"
        "  Template:\n"
        "    Type: AWS::EC2::LaunchTemplate\n"
        "    Properties:\n"
        "      LaunchTemplateData:\n"
        f"        ImageId: ami-{k:04d}\n"
        "        MetadataOptions:\n"
        f"          HttpTokens: {tokens}\n"
        f"          HttpPutResponseHopLimit: {rng.choice([1, 2, 3])}\n"
    )


def many_templates(rng: random.Random, root: Path, files: int = 250) -> None:
    """``files`` CloudFormation YAML templates and EC2 API JSON files in a few directories."""
    for k in range(files):
        where = root / f"stacks-{k % 7}"
        where.mkdir(parents=True, exist_ok=True)
        if rng.random() < 0.8:
            (where / f"t{k:04d}.yaml").write_text(_template(rng, k))
        else:
            tokens = rng.choice(["required", "optional"])
            (where / f"lt{k:04d}.json").write_text(
                '{"ImageId": "ami-1", "MetadataOptions": '
                f'{{"HttpTokens": "{tokens}", "HttpPutResponseHopLimit": 1}}}}\n'
            )


GENERATORS: dict[str, Callable[[random.Random, Path], None]] = {
    "module_tree": lambda rng, root: module_tree(rng, root, rng.randint(200, 320)),
    "many_templates": lambda rng, root: many_templates(rng, root, rng.randint(200, 300)),
}
