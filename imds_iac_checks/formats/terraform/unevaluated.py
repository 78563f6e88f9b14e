"""Module calls whose code is not evaluated: what the IMDS004 warning on each says, and the few
registry modules known to create no instances (which need no warning).

A module call is evaluated when its code is on disk (a local ``./`` or ``../`` source, or a
module Terraform downloaded: ``.terraform/modules/modules.json``) or when it is a call of a
well-known module whose defaults are modelled (:mod:`.registry`). Any other call — a registry,
git, S3, HTTP or other remote source not downloaded, a local directory that does not exist —
is reported once per call, so that a scan that passes has looked everywhere: nothing says
whether the module creates instances, and what it passes them.
"""

from __future__ import annotations

from imds_iac_checks.model import show

# Registry modules that create no EC2 instances, launch templates, launch configurations,
# Auto Scaling groups, fleets or node groups in any release (their resources, from the modules'
# sources): a call of one is "known to create none", not a module that could not be looked at.
# Only modules whose whole purpose excludes compute are listed; a module that merely usually
# creates none (a wrapper that can create a bastion host) is not.
NO_INSTANCES: dict[str, str] = {
    "terraform-aws-modules/vpc/aws": "networking only (aws_vpc, subnets, route tables, gateways)",
    "terraform-aws-modules/s3-bucket/aws": "an S3 bucket and its configuration",
    "terraform-aws-modules/security-group/aws": "security groups and their rules",
    "terraform-aws-modules/iam/aws": "IAM roles, users, groups and policies",
    "terraform-aws-modules/kms/aws": "a KMS key, its aliases and grants",
    "terraform-aws-modules/acm/aws": "an ACM certificate and its validation records",
    "terraform-aws-modules/route53/aws": "Route 53 zones and records",
    "terraform-aws-modules/dynamodb-table/aws": "a DynamoDB table",
    "terraform-aws-modules/sns/aws": "an SNS topic and its subscriptions",
    "terraform-aws-modules/sqs/aws": "an SQS queue and its policy",
    "terraform-aws-modules/eks/aws//modules/karpenter": (
        "IAM roles, an SQS queue and EventBridge rules (v19-v21); Karpenter nodes take their "
        "metadata options from the EC2NodeClass manifest, outside Terraform"
    ),
}


def registry_name(source: str) -> str:
    """A registry source without its host and query: ``NAMESPACE/NAME/PROVIDER[//SUBMODULE]``."""
    text = source.strip()
    for prefix in ("registry.terraform.io/", "app.terraform.io/"):
        text = text.removeprefix(prefix)
    return text.split("?", 1)[0]


def creates_no_instances(source: str) -> str | None:
    """Why a call of ``source`` needs no evaluation (a module known to create no instances, or a
    submodule of one), or None."""
    name = registry_name(source)
    return NO_INSTANCES.get(name) or NO_INSTANCES.get(name.split("//", 1)[0])


def is_local(source: str) -> bool:
    return source.startswith(("./", "../"))


def explain(
    name: str,
    source: object,
    version: object,
    *,
    missing_directory: str | None = None,
    initialized: bool = False,
) -> str:
    """The IMDS004 message on a module call that was not evaluated."""
    shown = show(source) if isinstance(source, str) else "not a literal"
    what = f"module {name} (source {shown}"
    if isinstance(version, str):
        what += f", version {show(version)}"
    what += ") was not evaluated"
    if not isinstance(source, str):
        return f"{what}: its source must be a literal string"
    if missing_directory is not None:
        return f"{what}: {missing_directory} does not exist"
    if initialized:
        return (
            f"{what}: .terraform/modules/modules.json does not list it; run terraform init "
            "again so that .terraform/modules holds it"
        )
    return (
        f"{what}: run terraform init so that .terraform/modules holds it, or check out the "
        "module and call it by a local path; if it creates no instances, suppress this "
        "warning on the module block"
    )


def explain_unit(source: object, reason: str | None = None) -> str:
    """The IMDS004 message on a Terragrunt unit whose module was not evaluated (see
    :mod:`.terragrunt`): ``reason`` says why, when it is not that nothing was downloaded."""
    if source is None:
        shown = "not in this file"
    else:
        shown = show(source) if isinstance(source, str) else "not a literal"
    what = f"terragrunt unit (source {shown}) was not evaluated"
    if source is not None and not isinstance(source, str):
        return f"{what}: its source must be a literal string"
    if reason is not None:
        return f"{what}: {reason}"
    return f"{what}: run terragrunt init (or plan) so that .terragrunt-cache holds it"
