"""Registry modules that are not on disk: the well-known terraform-aws-modules, judged by what
their code does with ``metadata_options`` at the version the call allows.

Defaults (from the modules' sources, see ../shared/reference/imds-surface.md):

- ``terraform-aws-modules/ec2-instance/aws``: tokens ``required`` from 5.8; ``optional`` before.
- ``terraform-aws-modules/autoscaling/aws``: a secure ``metadata_options`` block from 9.0;
  before 9.0 no block unless the caller passes one.
- ``terraform-aws-modules/eks/aws//modules/{eks,self}-managed-node-group``: tokens required;
  hop limit 1 from 21.0, 2 before.

A version constraint that admits versions on both sides of a change gives both defaults, each
labelled with the versions it applies to. Modules Terraform has downloaded
(``.terraform/modules/modules.json``) are evaluated from their code instead.
"""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING, NamedTuple

from imds_iac_checks.model import ENDPOINT, HOP_LIMIT, TOKENS

if TYPE_CHECKING:
    from imds_iac_checks.source import Files


class Known(NamedTuple):
    resource: str  # address of the resource inside the module, without its instance key
    # (first version with the new defaults, defaults before it, defaults from it on);
    # a default of None means the module writes no block at all.
    change: tuple[int, ...]
    before: dict[str, object] | None
    after: dict[str, object] | None
    key: str = "[0]"  # its instance key (the modules create it with `count`)


_SECURE = {ENDPOINT: "enabled", TOKENS: "required", HOP_LIMIT: 1}

KNOWN: dict[str, Known] = {
    "terraform-aws-modules/ec2-instance/aws": Known(
        "aws_instance.this", (5, 8), {ENDPOINT: "enabled", TOKENS: "optional"}, _SECURE
    ),
    "terraform-aws-modules/autoscaling/aws": Known(
        "aws_launch_template.this", (9, 0), None, _SECURE
    ),
    **{
        f"terraform-aws-modules/eks/aws//modules/{kind}-managed-node-group": Known(
            "aws_launch_template.this",
            (21, 0),
            {ENDPOINT: "enabled", TOKENS: "required", HOP_LIMIT: 2},
            _SECURE,
        )
        for kind in ("eks", "self")
    },
}


def known_module(source: str) -> Known | None:
    source = source.strip()
    for prefix in ("registry.terraform.io/", "app.terraform.io/"):
        source = source.removeprefix(prefix)
    source = source.split("?", 1)[0]
    return KNOWN.get(source)


def _version(text: str) -> tuple[int, ...] | None:
    match = re.fullmatch(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+].*)?", text.strip())
    if not match:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def _pad(version: tuple[int, ...]) -> tuple[int, int, int]:
    padded = (*version, 0, 0, 0)
    return padded[0], padded[1], padded[2]


def sides(constraint: str | None, change: tuple[int, ...]) -> tuple[bool, bool]:
    """Does the constraint admit versions before ``change``, and from ``change`` on?
    No constraint means the latest release: from ``change`` on."""
    if not constraint:
        return False, True
    low: tuple[int, int, int] = (0, 0, 0)
    high: tuple[int, int, int] | None = None  # exclusive
    for part in constraint.split(","):
        part = part.strip()
        match = re.fullmatch(r"(~>|>=|<=|!=|>|<|=)?\s*(.+)", part)
        if not match:
            return True, True
        op, raw = match.group(1) or "=", match.group(2)
        version = _version(raw)
        if version is None:
            return True, True
        exact = _pad(version)
        if op == "=":
            low, high = exact, (exact[0], exact[1], exact[2] + 1)
        elif op in (">=", ">"):
            low = max(low, exact if op == ">=" else (exact[0], exact[1], exact[2] + 1))
        elif op in ("<", "<="):
            bound = exact if op == "<" else (exact[0], exact[1], exact[2] + 1)
            high = bound if high is None else min(high, bound)
        elif op == "~>":
            low = max(low, exact)
            upper = (version[0] + 1, 0, 0) if len(version) <= 2 else (version[0], version[1] + 1, 0)
            high = upper if high is None else min(high, upper)
    threshold = _pad(change)
    before = low < threshold
    after = high is None or high > threshold
    return before, after and (high is None or low < high)


def downloaded(root: str, files: Files) -> dict[str, str]:
    """``.terraform/modules/modules.json`` of a root module, read through ``files``: call path
    -> directory."""
    path = os.path.join(root, ".terraform", "modules", "modules.json")
    try:
        doc = json.loads(files.read(path).decode("utf-8"))
    except (OSError, ValueError):
        return {}
    out = {}
    for entry in doc.get("Modules", []) if isinstance(doc, dict) else []:
        if isinstance(entry, dict) and entry.get("Key") and entry.get("Dir"):
            out[str(entry["Key"])] = os.path.normpath(os.path.join(root, str(entry["Dir"])))
    return out
