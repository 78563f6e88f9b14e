"""Terraform resource types that carry instance metadata settings (AWS provider), and how an
instance names the launch template it launches from.

Shared by every Terraform input: HCL, JSON syntax and plan JSON see the same kinds and fields.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from imds_iac_checks.formats.aws import EKS_AMIS_REQUIRING_TOKENS
from imds_iac_checks.model import (
    ENDPOINT,
    HOP_LIMIT,
    IMDS_SUPPORT,
    TOKENS,
    KindSpec,
    Link,
    LinkKind,
    Span,
    Value,
)

FORMAT = "terraform"

# The Elastic Beanstalk option that requires IMDSv2 on an environment's instances.
BEANSTALK_OPTION = ("aws:autoscaling:launchconfiguration", "DisableIMDSv1")

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
        _instance_like("aws_launch_configuration")._replace(template_noun="launch configuration"),
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
            account_default=True,
        ),
        # AMIs: ``imds_support = "v2.0"`` makes the instances launched from them require tokens
        # by default (IMDS009). Only aws_ami can set it (RegisterImage takes ImdsSupport). The
        # provider only reads imds_support on a copy (CopyImage takes none: the copy keeps its
        # source AMI's) and on an image made from an instance (CreateImage takes none: the image
        # keeps the ImdsSupport of the AMI the instance was launched from); neither source is
        # followed, so both are reported with what marks them.
        KindSpec(
            "aws_ami",
            None,
            {IMDS_SUPPORT: "imds_support"},
            {IMDS_SUPPORT: '"v2.0"'},
            needs_block=False,
            block_label="the AMI",
        ),
        KindSpec(
            "aws_ami_copy",
            None,
            {IMDS_SUPPORT: "imds_support"},
            {IMDS_SUPPORT: '"v2.0"'},
            needs_block=False,
            block_label="the AMI",
            plugins=False,
            default_note="CopyImage takes no ImdsSupport: the copy keeps the source AMI's "
            "(source_ami_id), which is not read here",
            remedy='mark the source AMI (imds_support = "v2.0" where it is registered), or the '
            "copy once it is made (aws ec2 modify-image-attribute --image-id <id> "
            "--imds-support v2.0; it cannot be undone)",
        ),
        KindSpec(
            "aws_ami_from_instance",
            None,
            {IMDS_SUPPORT: "imds_support"},
            {IMDS_SUPPORT: '"v2.0"'},
            needs_block=False,
            block_label="the AMI",
            plugins=False,
            default_note="CreateImage takes no ImdsSupport: the image keeps that of the AMI the "
            "instance (source_instance_id) was launched from, which is not read here",
            remedy="launch the source instance from an AMI marked v2.0, or mark the image once "
            "it is made (aws ec2 modify-image-attribute --image-id <id> --imds-support v2.0; "
            "it cannot be undone)",
        ),
        # EMR: the settings sit in the JSON document of ``configuration`` (a string, a heredoc
        # or ``jsonencode({...})``); a cluster names its security configuration.
        KindSpec(
            "aws_emr_security_configuration",
            "InstanceMetadataServiceConfiguration",
            {TOKENS: "MinimumInstanceMetadataServiceVersion", HOP_LIMIT: "HttpPutResponseHopLimit"},
            {TOKENS: "2", HOP_LIMIT: "{hop_limit}"},
            token_map={"2": "required", "1": "optional"},
            block_label="InstanceMetadataServiceConfiguration (in configuration)",
            template_noun="security configuration",
            plugins=False,
            block_in_json=True,
        ),
        # Elastic Beanstalk: option DisableIMDSv1 of aws:autoscaling:launchconfiguration, in a
        # ``setting`` block; an environment may take it from its configuration template.
        *(
            KindSpec(
                kind,
                None,
                {TOKENS: "DisableIMDSv1"},
                {TOKENS: '"true"'},
                needs_block=False,
                token_map={"true": "required", "false": "optional"},
                block_label="setting blocks",
                option=BEANSTALK_OPTION,
                template_noun="configuration template",
                plugins=False,
            )
            for kind in (
                "aws_elastic_beanstalk_environment",
                "aws_elastic_beanstalk_configuration_template",
            )
        ),
    )
}


# --- kinds that launch instances without metadata options of their own -------------------------


class Ref(NamedTuple):
    """Where a resource names the resource its instances take their settings from: the nested
    blocks to it (``()``: the resource itself), the id and name arguments there, the kind it
    names, and the prefix of the keys a literal id or name gives (see
    :func:`template_reference`)."""

    path: tuple[str, ...]
    id: str
    name: str
    kind: str = "aws_launch_template"
    prefix: str = ""


class Launcher(NamedTuple):
    """A resource that launches EC2 instances but cannot give them metadata options itself: they
    come from a launch template it names (``refs``), or else from AWS's defaults (IMDSv1
    allowed: IMDS006). ``needs``: a block without which it launches no EC2 instance (Batch's
    compute resources); ``exempt``: an argument of a block (path, name) whose literal values mean
    no EC2 instance (Fargate). ``remedy`` empty: the resource always names a template or
    configuration (an Auto Scaling group, an EC2 fleet): it is linked, never reported by IMDS006.
    ``noun``: what it names, as messages say it."""

    refs: tuple[Ref, ...]
    remedy: str
    needs: tuple[str, ...] = ()
    exempt: tuple[tuple[str, ...], str, frozenset[str]] | None = None
    noun: str = "launch template"


_TEMPLATE_REMEDY = 'an aws_launch_template whose metadata_options set http_tokens = "required"'
_SPEC = ("launch_template_specification",)
LAUNCHERS: dict[str, Launcher] = {
    # docs/instance-sources.md says where each fact was read.
    "aws_spot_fleet_request": Launcher(
        (Ref(("launch_template_config", *_SPEC), "id", "name"),),
        "replace launch_specification with launch_template_config naming " + _TEMPLATE_REMEDY,
    ),
    "aws_eks_node_group": Launcher(
        (Ref(("launch_template",), "id", "name"),),
        "EKS's own launch template leaves IMDSv1 allowed on AL2 and custom AMIs (AL2023 AMIs "
        "require tokens): set ami_type to an AL2023 type, or give it launch_template naming "
        + _TEMPLATE_REMEDY,
        exempt=((), "ami_type", EKS_AMIS_REQUIRING_TOKENS),
    ),
    "aws_batch_compute_environment": Launcher(
        (
            Ref(
                ("compute_resources", "launch_template"),
                "launch_template_id",
                "launch_template_name",
            ),
        ),
        "give compute_resources a launch_template naming " + _TEMPLATE_REMEDY,
        needs=("compute_resources",),
        exempt=(("compute_resources",), "type", frozenset({"FARGATE", "FARGATE_SPOT"})),
    ),
    "aws_cloud9_environment_ec2": Launcher(
        (),
        "Cloud9 cannot set metadata options: require IMDSv2 for the account and region with "
        'aws_ec2_instance_metadata_defaults (http_tokens = "required")',
    ),
    "aws_emr_cluster": Launcher(
        (
            Ref(
                (),
                "security_configuration",
                "security_configuration",
                "aws_emr_security_configuration",
                "emr:",
            ),
        ),
        "EMR's default (IMDS version 1) leaves IMDSv1 allowed: give it security_configuration "
        "naming an aws_emr_security_configuration whose configuration sets "
        "InstanceMetadataServiceConfiguration.MinimumInstanceMetadataServiceVersion to 2",
        noun="security configuration",
    ),
    "aws_autoscaling_group": Launcher(
        (
            Ref(("launch_template",), "id", "name"),
            Ref(
                ("mixed_instances_policy", "launch_template", *_SPEC),
                "launch_template_id",
                "launch_template_name",
            ),
            Ref(
                ("mixed_instances_policy", "launch_template", "override", *_SPEC),
                "launch_template_id",
                "launch_template_name",
            ),
            Ref(
                (),
                "launch_configuration",
                "launch_configuration",
                "aws_launch_configuration",
                "lc:",
            ),
        ),
        "",
    ),
    "aws_ec2_fleet": Launcher(
        (Ref(("launch_template_config", *_SPEC), "launch_template_id", "launch_template_name"),),
        "",
    ),
}
for _kind, _launcher in LAUNCHERS.items():
    KINDS[_kind] = KindSpec(
        _kind,
        None,
        {},
        {},
        needs_block=False,
        remedy=_launcher.remedy,
        template_noun=_launcher.noun,
        plugins=False,
    )
del _kind, _launcher

# Kinds that other resources name by reference (``template_keys``), with the prefix of the keys
# their literal names give.
NAMED_KINDS = {
    "aws_launch_template": "",
    "aws_launch_configuration": "lc:",
    "aws_emr_security_configuration": "emr:",
    "aws_elastic_beanstalk_configuration_template": "eb:",
}
# An Elastic Beanstalk environment's configuration template (when the environment does not set
# the option itself).
BEANSTALK_TEMPLATE = Ref(
    (), "template_name", "template_name", "aws_elastic_beanstalk_configuration_template", "eb:"
)


# --- launch-template references ---------------------------------------------------------------

TEMPLATE_USERS = ("aws_instance", "aws_spot_instance_request")
# Patterns are strings, compiled by re on first use: most runs never need them.
_TEMPLATE_REF = r"^aws_launch_template\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?\.(?:id|name)$"


def template_reference(
    span: Span, text: str, literal: object, by_name: bool, ref: Ref | None = None
) -> Value:
    """A Value naming a launch template (or the kind ``ref`` names): ``aws_launch_template.X``
    for a reference to a resource, ``name:N`` / ``id:I`` for a literal (with the ref's prefix),
    unknown for anything else (variables, data sources)."""
    kind, prefix = (ref.kind, ref.prefix) if ref is not None else ("aws_launch_template", "")
    link = (Link(span, LinkKind.TEMPLATE_REFERENCE),)
    pattern = _TEMPLATE_REF.replace("aws_launch_template", re.escape(kind))
    if kind != "aws_launch_template":
        pattern = pattern.replace("(?:id|name)", "(?:id|name|arn)")
    match = re.match(pattern, text)
    if match:
        return Value(True, f"{kind}.{match.group(1)}", text, text, link)
    if isinstance(literal, str):
        # A name and an id are the same string for the kinds other than launch templates.
        key = f"{prefix}{'name' if by_name or prefix else 'id'}:{literal}"
        return Value(True, key, literal, text, link)
    return Value(False, None, None, text, link)
