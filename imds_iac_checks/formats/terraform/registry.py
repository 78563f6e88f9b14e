"""Registry modules that are not on disk: the well-known terraform-aws-modules, judged by what
their code does with ``metadata_options`` at the version the call allows.

Defaults (from the modules' sources, see ../shared/reference/imds-surface.md):

- ``terraform-aws-modules/ec2-instance/aws``: tokens ``required`` from 5.8; ``optional`` before.
- ``terraform-aws-modules/autoscaling/aws``: a secure ``metadata_options`` block from 9.0;
  before 9.0 no block unless the caller passes one.
- ``terraform-aws-modules/eks/aws//modules/{eks,self}-managed-node-group``: tokens required;
  hop limit 1 from 21.0, 2 before.
- ``terraform-aws-modules/eks/aws`` (the top level, 18.x to 21.x): one launch template per entry
  of ``eks_managed_node_groups`` / ``self_managed_node_groups``; see :data:`NODE_GROUP_MODULES`.

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


class GroupMap(NamedTuple):
    """One map input of the EKS module that makes node groups."""

    groups: str  # the input: "eks_managed_node_groups"
    defaults: str  # the input whose entries a group does not set fall back to (18.x-20.x)
    module: str  # the module call inside that makes each group: "eks_managed_node_group"
    managed: bool  # EKS managed (it can use EKS's own launch template) or self-managed (an ASG)


GROUP_MAPS = (
    GroupMap(
        "eks_managed_node_groups", "eks_managed_node_group_defaults", "eks_managed_node_group", True
    ),
    GroupMap(
        "self_managed_node_groups",
        "self_managed_node_group_defaults",
        "self_managed_node_group",
        False,
    ),
)

# How a managed node group ends up on EKS's own launch template (IMDSv1 allowed, hop limit 2).
OWN_18 = 'create_launch_template = false with launch_template_name = ""'
OWN_19 = "use_custom_launch_template = false"


class Era(NamedTuple):
    """What the top-level EKS module does with node groups' metadata options in one range of
    versions, as read from its source at the tags named in ``read``."""

    since: tuple[int, int]
    until: tuple[int, int] | None  # exclusive; None: up to the latest release
    label: str  # "18.x", as messages name the range
    defaults: dict[str, str | int]  # the metadata options of a group that passes none
    default_place: str  # where that default is written, as messages name it
    # A group's metadata_options: True, each attribute it omits takes the default (typed
    # optional() attributes); False, it replaces the default whole (omitted = not set).
    merge: bool
    defaults_input: bool  # the *_node_group_defaults inputs exist (a group falls back to them)
    own_template: str  # OWN_18 or OWN_19 (managed groups)
    read: str  # the source files and tags the behaviour was read from


_HOP2: dict[str, str | int] = {ENDPOINT: "enabled", TOKENS: "required", HOP_LIMIT: 2}
_HOP1: dict[str, str | int] = {ENDPOINT: "enabled", TOKENS: "required", HOP_LIMIT: 1}
_REPLACED = "local.metadata_options in node_groups.tf"

# terraform-aws-modules/eks/aws at its top level. 18.x-20.x: node_groups.tf passes
# ``metadata_options = try(each.value.metadata_options,
# var.<kind>_node_group_defaults.metadata_options, local.metadata_options)`` and the submodules
# write ``try(metadata_options.value.http_tokens, null)`` (an omitted attribute is not set);
# 21.x: ``metadata_options = each.value.metadata_options`` into a submodule variable typed
# ``object({http_tokens = optional(string, "required"), http_put_response_hop_limit =
# optional(number, 1), ...})`` with ``nullable = false``, and no *_defaults inputs.
EKS_ERAS = (
    Era(
        (18, 0),
        (19, 0),
        "18.x",
        _HOP2,
        _REPLACED,
        merge=False,
        defaults_input=True,
        own_template=OWN_18,
        read="node_groups.tf, modules/{eks,self}-managed-node-group/main.tf at v18.0.0, v18.31.2",
    ),
    Era(
        (19, 0),
        (21, 0),
        "19.x-20.x",
        _HOP2,
        _REPLACED,
        merge=False,
        defaults_input=True,
        own_template=OWN_19,
        read="node_groups.tf, modules/{eks,self}-managed-node-group/main.tf at v19.0.0, "
        "v19.16.0, v20.0.0, v20.8.4, v20.37.2",
    ),
    Era(
        (21, 0),
        None,
        "21.x",
        _HOP1,
        "the metadata_options variable of modules/*-managed-node-group",
        merge=True,
        defaults_input=False,
        own_template=OWN_19,
        read="node_groups.tf, variables.tf, modules/{eks,self}-managed-node-group/variables.tf "
        "and main.tf at v21.0.0, v21.19.0",
    ),
)

NODE_GROUP_MODULES: dict[str, tuple[Era, ...]] = {"terraform-aws-modules/eks/aws": EKS_ERAS}


def _plain(source: str) -> str:
    source = source.strip()
    for prefix in ("registry.terraform.io/", "app.terraform.io/"):
        source = source.removeprefix(prefix)
    return source.split("?", 1)[0]


def known_module(source: str) -> Known | None:
    return KNOWN.get(_plain(source))


def node_group_eras(source: str, constraint: str | None) -> tuple[Era, ...] | None:
    """The eras of a top-level node-group module that ``constraint`` admits (None: not such a
    module; empty: none of the modelled versions, such as 17.x)."""
    eras = NODE_GROUP_MODULES.get(_plain(source))
    if eras is None:
        return None
    out = []
    for era in eras:
        from_since = sides(constraint, era.since)[1]
        before_until = era.until is None or sides(constraint, era.until)[0]
        if from_since and before_until:
            out.append(era)
    return tuple(out)


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
