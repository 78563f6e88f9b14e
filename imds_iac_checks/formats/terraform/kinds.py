"""Terraform resource types that carry instance metadata settings (AWS provider), and how an
instance names the launch template it launches from.

Shared by every Terraform input: HCL, JSON syntax and plan JSON see the same kinds and fields.
"""

from __future__ import annotations

import re

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
