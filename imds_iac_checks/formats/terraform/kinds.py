"""Terraform resource types that carry instance metadata settings (AWS provider), and how an
instance names the launch template it launches from.

Shared by every Terraform input: HCL, JSON syntax and plan JSON see the same kinds and fields.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from imds_iac_checks.model import ENDPOINT, HOP_LIMIT, TOKENS, KindSpec, Link, LinkKind, Span, Value

FORMAT = "terraform"

_INSTANCE_FIELDS = {
    ENDPOINT: "http_endpoint",
    TOKENS: "http_tokens",
    HOP_LIMIT: "http_put_response_hop_limit",
}
_SUGGEST = {ENDPOINT: '"enabled"', TOKENS: '"required"', HOP_LIMIT: "{hop_limit}"}


def _instance_like(kind: str) -> KindSpec:
    return KindSpec(
        kind, "metadata_options", _INSTANCE_FIELDS, _SUGGEST, block_label="metadata_options block"
    )


KINDS: dict[str, KindSpec] = {
    spec.kind: spec
    for spec in (
        _instance_like("aws_instance"),
        _instance_like("aws_spot_instance_request"),
        _instance_like("aws_launch_template"),
        _instance_like("aws_launch_configuration"),
        KindSpec(
            "aws_imagebuilder_infrastructure_configuration",
            "instance_metadata_options",
            {TOKENS: "http_tokens", HOP_LIMIT: "http_put_response_hop_limit"},
            _SUGGEST,
            block_label="instance_metadata_options block",
        ),
        KindSpec(
            "aws_sagemaker_notebook_instance",
            "instance_metadata_service_configuration",
            {TOKENS: "minimum_instance_metadata_service_version"},
            {TOKENS: '"2"'},
            token_map={"2": "required", "1": "optional"},
            block_label="instance_metadata_service_configuration block",
        ),
        KindSpec(
            "aws_ec2_instance_metadata_defaults",
            None,
            _INSTANCE_FIELDS,
            _SUGGEST,
            needs_block=False,
            hop_no_preference=(-1, "no-preference"),
        ),
    )
}


# --- kinds that launch instances without metadata options of their own -------------------------


class Launcher(NamedTuple):
    """A resource that launches EC2 instances but cannot give them metadata options itself: they
    come from a launch template it names (``refs``: the nested blocks to the reference and the
    id and name arguments there), or else from AWS's defaults (IMDSv1 allowed: IMDS006).
    ``needs``: a block without which it launches no EC2 instance (Batch's compute resources);
    ``exempt``: an argument of a block (path, name) whose literal values mean no EC2 instance
    (Fargate)."""

    refs: tuple[tuple[tuple[str, ...], str, str], ...]
    remedy: str
    needs: tuple[str, ...] = ()
    exempt: tuple[tuple[str, ...], str, frozenset[str]] | None = None


_TEMPLATE_REMEDY = 'an aws_launch_template whose metadata_options set http_tokens = "required"'
LAUNCHERS: dict[str, Launcher] = {
    # docs/instance-sources.md says where each fact was read.
    "aws_spot_fleet_request": Launcher(
        ((("launch_template_config", "launch_template_specification"), "id", "name"),),
        "replace launch_specification with launch_template_config naming " + _TEMPLATE_REMEDY,
    ),
    "aws_eks_node_group": Launcher(
        ((("launch_template",), "id", "name"),),
        "EKS's own launch template leaves IMDSv1 allowed: give it launch_template naming "
        + _TEMPLATE_REMEDY,
    ),
    "aws_batch_compute_environment": Launcher(
        ((("compute_resources", "launch_template"), "launch_template_id", "launch_template_name"),),
        "give compute_resources a launch_template naming " + _TEMPLATE_REMEDY,
        needs=("compute_resources",),
        exempt=(("compute_resources",), "type", frozenset({"FARGATE", "FARGATE_SPOT"})),
    ),
    "aws_cloud9_environment_ec2": Launcher(
        (),
        "Cloud9 cannot set metadata options: require IMDSv2 for the account and region with "
        'aws_ec2_instance_metadata_defaults (http_tokens = "required")',
    ),
}
for _kind, _launcher in LAUNCHERS.items():
    KINDS[_kind] = KindSpec(_kind, None, {}, {}, needs_block=False, remedy=_launcher.remedy)
del _kind, _launcher


# --- launch-template references ---------------------------------------------------------------

TEMPLATE_USERS = ("aws_instance", "aws_spot_instance_request")
# Patterns are strings, compiled by re on first use: most runs never need them.
_TEMPLATE_REF = r"^aws_launch_template\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?\.(?:id|name)$"


def template_reference(span: Span, text: str, literal: object, by_name: bool) -> Value:
    """A Value naming a launch template: ``aws_launch_template.X`` for a reference to a resource,
    ``name:N`` / ``id:I`` for a literal, unknown for anything else (variables, data sources)."""
    link = (Link(span, LinkKind.TEMPLATE_REFERENCE),)
    match = re.match(_TEMPLATE_REF, text)
    if match:
        return Value(True, f"aws_launch_template.{match.group(1)}", text, text, link)
    if isinstance(literal, str):
        key = f"{'name' if by_name else 'id'}:{literal}"
        return Value(True, key, literal, text, link)
    return Value(False, None, None, text, link)
