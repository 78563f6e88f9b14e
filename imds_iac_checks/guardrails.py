"""``imds-iac scp``: the organisation guardrails that keep IMDSv1 out once instances are migrated.

The policies are built as data (dicts) and written as a policy document (JSON), Terraform
(``aws_organizations_policy`` with ``jsonencode``), CloudFormation (``AWS::Organizations::Policy``)
or an EC2 declarative policy. Sources, as they were read for this module:

Amazon EC2 User Guide, "Example policies to control access the Amazon EC2 API", section "Work with
instance metadata" (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ExamplePolicies_EC2.html
#iam-example-instance-metadata): "You can combine the following four policies into one policy
with four statements. When combined as one policy, you can use the policy as a service control
policy (SCP)." Its statements, verbatim apart from layout:

- "Require the use of IMDSv2"::

    {"Sid": "RequireImdsV2", "Effect": "Deny", "Action": "ec2:RunInstances",
     "Resource": "arn:aws:ec2:*:*:instance/*",
     "Condition": {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}}}

- "Deny opt-out of IMDSv2"::

    {"Sid": "DenyIMDSv1HttpTokensModification", "Effect": "Deny",
     "Action": "ec2:ModifyInstanceMetadataOptions", "Resource": "arn:aws:ec2:*:*:instance/*",
     "Condition": {"StringNotEquals": {"ec2:Attribute/HttpTokens": "required"},
                   "Null": {"ec2:Attribute/HttpTokens": false}}}

- "Specify maximum hop limit" (the guide's example limit is 3)::

    {"Sid": "MaxImdsHopLimit", "Effect": "Deny", "Action": "ec2:RunInstances",
     "Resource": "arn:aws:ec2:*:*:instance/*",
     "Condition": {"NumericGreaterThan": {"ec2:MetadataHttpPutResponseHopLimit": "3"}}}

- "Limit who can modify the instance metadata options" (earlier editions of the page; the current
  one keeps the text without the JSON)::

    {"Sid": "AllowOnlyImdsAdminsToModifySettings", "Effect": "Deny",
     "Action": "ec2:ModifyInstanceMetadataOptions", "Resource": "*",
     "Condition": {"StringNotLike": {"aws:PrincipalARN": "arn:aws:iam::*:role/ec2-imds-admins"}}}

- "Require role credentials to be retrieved from IMDSv2"::

    {"Sid": "RequireAllEc2RolesToUseV2", "Effect": "Deny", "Action": "*", "Resource": "*",
     "Condition": {"NumericLessThan": {"ec2:RoleDelivery": "2.0"}}}

The merged policy of issue 18 (and of the transition guide's "IAM policies and SCPs": deny v1
role credentials, launches without tokens required, metadata option changes, and hop limits above
the limit) is these four: role-delivery, require-tokens, no-modify (the guide's statement without
its principal condition: ``--exempt-principal`` adds one) and hop-limit (the configured limit,
1 by default, in place of the example's 3). "Deny opt-out" is offered as ``no-opt-out``, the
statement that still lets the migration itself run (see :data:`MIGRATION_WARNING`).

Declarative policies: AWS Organizations User Guide, "Declarative policy syntax and examples",
Instance Metadata Defaults
(https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_declarative_syntax.html)::

    {"ec2_attributes": {"instance_metadata_defaults": {
        "http_tokens": {"@@assign": "required"},
        "http_put_response_hop_limit": {"@@assign": "4"},
        "http_endpoint": {"@@assign": "enabled"},
        "instance_metadata_tags": {"@@assign": "enabled"}}}}

with ``no_preference`` allowed for each field ("-1" for the hop limit). ``http_tokens_enforced``
(``enabled``/``disabled``) came with the EC2 API change of 2026-02-24 ("Adds httpTokensEnforced
property to ModifyInstanceMetadataDefaults API. Set per account or manage organization-wide using
declarative policies to prevent IMDSv1-enabled instance launch and block attempts to enable IMDSv1
on existing IMDSv2-only instances"); the EC2 User Guide's troubleshooting page names the
declarative-policy case (``httpTokensEnforced = enabled``).

Size: an SCP may hold 10,240 characters since 15 May 2026, when AWS doubled the limit from 5,120
(What's New, "AWS Organizations increased SCP quotas"; LocalStack's docs,
localstack/localstack-docs#758, document 10,240; the sources are listed in docs/guardrails.md).
The AWS Organizations quotas page (https://docs.aws.amazon.com/organizations/latest/userguide/
orgs_reference_limits.html) still said "Service control policies: 5120 characters" when this was
written: ``--size-limit 5120`` checks that limit. A declarative policy may hold 10,000
characters. "If you save the policy using an SDK operation or the AWS CLI, then the policy is
saved exactly as you provided": whitespace counts except in the console. Terraform's
``jsonencode`` sends the document minified; the JSON this module prints is counted as printed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

GUIDE_URL = (
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ExamplePolicies_EC2.html"
    "#iam-example-instance-metadata"
)
DECLARATIVE_URL = (
    "https://docs.aws.amazon.com/organizations/latest/userguide/"
    "orgs_manage_policies_declarative_syntax.html"
)
QUOTAS_URL = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html"

# Characters. AWS doubled it from 5,120 on 15 May 2026 (What's New, "AWS Organizations increased
# SCP quotas"; LocalStack's docs, localstack/localstack-docs#758, document 10,240 too), while the
# quotas page (QUOTAS_URL) still said 5,120 when this was written: --size-limit 5120 checks the old
# limit. Sources: docs/guardrails.md#size.
SCP_SIZE_LIMIT = 10_240
DECLARATIVE_SIZE_LIMIT = 10_000
INSTANCES = "arn:aws:ec2:*:*:instance/*"

# --format: how the policy is written. "declarative" is the declarative policy as JSON (the
# same as --declarative --format json).
FORMATS = ("json", "terraform", "cloudformation", "declarative")

# name -> (Sid, what it denies). The order is the merged policy's.
STATEMENTS: dict[str, tuple[str, str]] = {
    "role-delivery": (
        "RequireAllEc2RolesToUseV2",
        "every API call signed with instance-role credentials that IMDSv1 delivered",
    ),
    "require-tokens": ("RequireImdsV2", "launching an instance that does not require IMDSv2"),
    "no-modify": (
        "DenyModifyInstanceMetadataOptions",
        "every change of an instance's metadata options",
    ),
    "no-opt-out": (
        "DenyIMDSv1HttpTokensModification",
        "changing an instance's metadata options to allow IMDSv1",
    ),
    "hop-limit": ("MaxImdsHopLimit", "launching an instance with a hop limit above the limit"),
}
DEFAULT_STATEMENTS = ("role-delivery", "require-tokens", "no-modify", "hop-limit")

MIGRATION_WARNING = (
    "the no-modify statement denies every ec2:ModifyInstanceMetadataOptions call, including "
    "the one that migrates an instance (aws ec2 modify-instance-metadata-options "
    "--http-tokens required): attach it after every instance is migrated, or select "
    "no-opt-out instead, which denies only changes that allow IMDSv1"
)
ATTACHMENT_NOTE = (
    "accounts and OUs that must stay exempt are left to attachment: attach the policy to the "
    "OUs or accounts it governs (a test OU first), not to the root; an SCP never applies to the "
    "management account"
)

DECLARATIVE_NOTE = (
    "accounts and OUs that must stay exempt are left to attachment: attach the policy to the "
    "OUs or accounts it governs (a test OU first), not to the root; with http_tokens_enforced, "
    "launches that do not require IMDSv2 fail there, whatever the launch asks for"
)


class GuardrailError(ValueError):
    """An option the user must correct (exit 2)."""


def statement(name: str, hop_limit: int) -> dict[str, Any]:
    """One statement of the guide, by name."""
    sid = STATEMENTS[name][0]
    condition: dict[str, dict[str, Any]]
    if name == "role-delivery":
        return _deny(sid, "*", "*", {"NumericLessThan": {"ec2:RoleDelivery": "2.0"}})
    if name == "require-tokens":
        condition = {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}}
        return _deny(sid, "ec2:RunInstances", INSTANCES, condition)
    if name == "no-modify":
        return _deny(sid, "ec2:ModifyInstanceMetadataOptions", "*", None)
    if name == "no-opt-out":
        condition = {
            "StringNotEquals": {"ec2:Attribute/HttpTokens": "required"},
            "Null": {"ec2:Attribute/HttpTokens": False},
        }
        return _deny(sid, "ec2:ModifyInstanceMetadataOptions", INSTANCES, condition)
    if name == "hop-limit":
        condition = {"NumericGreaterThan": {"ec2:MetadataHttpPutResponseHopLimit": str(hop_limit)}}
        return _deny(sid, "ec2:RunInstances", INSTANCES, condition)
    raise KeyError(name)


def _deny(sid: str, action: str, resource: str, condition: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"Sid": sid, "Effect": "Deny", "Action": action, "Resource": resource}
    if condition is not None:
        out["Condition"] = condition
    return out


@dataclass
class Policy:
    """One policy to write: its name (``aws_organizations_policy.name``), the label Terraform
    and CloudFormation give it, its description and document."""

    name: str
    label: str
    description: str
    document: dict[str, Any]
    statements: tuple[str, ...] = ()
    type: str = "SERVICE_CONTROL_POLICY"  # or DECLARATIVE_POLICY_EC2


@dataclass
class Request:
    """What ``imds-iac scp`` was asked for (validated by :func:`build`)."""

    statements: tuple[str, ...] = DEFAULT_STATEMENTS
    hop_limit: int = 1
    split: bool = False
    format: str = "json"
    targets: tuple[str, ...] = ()
    exempt: tuple[str, ...] = ()
    size_limit: int = SCP_SIZE_LIMIT
    minify: bool = False
    declarative: bool = False  # the EC2 declarative policy instead of the SCP
    notes: list[str] = field(default_factory=list)
    # per-path hop limits of the configuration: (configuration file, glob, hop limit)
    per_path_hops: tuple[tuple[str, str, int], ...] = ()


def parse_statements(given: Sequence[str]) -> tuple[str, ...]:
    """Statement names in the merged policy's order, each once. Raises GuardrailError."""
    wanted = set()
    for raw in given:
        name = raw.strip().lower()
        if name not in STATEMENTS:
            raise GuardrailError(
                f"--statement: unknown statement {raw!r} (statements: {', '.join(STATEMENTS)})"
            )
        wanted.add(name)
    if not wanted:
        raise GuardrailError(f"--statement: name at least one of {', '.join(STATEMENTS)}")
    if {"no-modify", "no-opt-out"} <= wanted:
        raise GuardrailError(
            "--statement: no-modify already denies what no-opt-out denies; select one of them"
        )
    return tuple(name for name in STATEMENTS if name in wanted)


# AttachPolicy's TargetId: a root, an OU or an account (AWS Organizations API reference).
_TARGET = re.compile(r"r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|\d{12}")
# aws:PrincipalArn (IAM User Guide, global condition keys) holds the ARN of an IAM user, of a role
# (for a role session, including the credentials an instance receives from its instance profile:
# the role's ARN, arn:aws:iam::ACCOUNT:role/PATH/NAME, not the session's) or, for the root user,
# arn:aws:iam::ACCOUNT:root. It is never a group's ARN.
_ARN = re.compile(r"arn:([^:]*):([^:]*):([^:]*):([^:]*):(.*)", re.DOTALL)
_PARTITION = re.compile(r"aws(?:-[a-z]+)*|\*")
_ACCOUNT = re.compile(r"[0-9*?]+")
# IAM role and user names: letters, digits and + = , . @ _ - (at most 64); paths are made of
# the same here. ``*`` and ``?`` are ArnNotLike's wildcards.
_NAME_PART = re.compile(r"[A-Za-z0-9+=,.@_*?-]+")
_EXAMPLE = "arn:aws:iam::*:role/break-glass"
_WILDCARDS = frozenset("*?")
# An IAM policy variable (${aws:username}, ${aws:PrincipalTag/team}): replaced by its value when
# the policy is evaluated, so it stands for name characters here.
_VARIABLE = re.compile(r"\$\{[A-Za-z][A-Za-z0-9:/_.-]*\}")


def check_target(value: str) -> str:
    if not _TARGET.fullmatch(value):
        raise GuardrailError(
            f"--target: {value!r} is not a root (r-...), OU (ou-...-...) or account id (12 digits)"
        )
    return value


def check_principal(value: str) -> str:
    """An ``--exempt-principal`` pattern that can match the aws:PrincipalArn of some IAM role,
    user or root user, and not of every role or user. Raises GuardrailError."""
    shown = repr(value)
    match = _ARN.fullmatch(value)
    if value.startswith("arn:") and ":sts::" in value:
        raise GuardrailError(
            f"--exempt-principal: {shown} is not an IAM role or user ARN: aws:PrincipalArn "
            "holds the role's ARN (arn:aws:iam::ACCOUNT:role/NAME), not the session's"
        )
    if (
        match is None
        or match.group(2) != "iam"
        or match.group(3) != ""
        or not _PARTITION.fullmatch(match.group(1))
    ):
        raise GuardrailError(
            f"--exempt-principal: {shown} is not an IAM role or user ARN such as {_EXAMPLE}"
        )
    account, resource = match.group(4), match.group(5)
    literal = len(account) - account.count("*")
    if (
        not _ACCOUNT.fullmatch(account)
        or literal > 12
        or ("*" not in account and len(account) != 12)
    ):
        raise GuardrailError(
            f"--exempt-principal: {shown}: the account {account!r} is not an account id "
            "(12 digits) or a pattern that matches one (such as * or 1234567890??)"
        )
    if resource == "root":  # the root user of the matching accounts
        return value
    kind, slash, rest = resource.partition("/")
    if kind not in ("role", "user") or not slash:
        if kind == "group":
            why = (
                "aws:PrincipalArn is never a group's ARN (a group's members call as "
                "themselves): name the users or roles"
            )
        elif set(kind) & _WILDCARDS:
            why = (
                "a wildcard before role/ or user/ covers every role and user, including the "
                "instance roles role-delivery checks: name the roles or users"
            )
        else:
            why = f"name an IAM role or user (role/NAME, user/NAME or root), such as {_EXAMPLE}"
        raise GuardrailError(f"--exempt-principal: {shown}: {why}")
    parts = _VARIABLE.sub("v", rest).split("/")
    for part in parts:
        if not _NAME_PART.fullmatch(part):
            bad = next((c for c in part if not _NAME_PART.fullmatch(c)), None)
            what = (
                f"{bad!r} is not a character IAM allows in a {kind} name or path"
                if bad is not None
                else f"the {kind} name or a path segment is empty"
            )
            raise GuardrailError(
                f"--exempt-principal: {shown}: {what} (letters, digits, + = , . @ _ - and "
                "the wildcards * and ?)"
            )
    name = parts[-1]
    if set(name) <= _WILDCARDS:
        path = rest[: len(rest) - len(name)]  # the name is literal: only wildcards
        where = f" under the path /{path}" if path else ""
        if kind == "role":
            harm = (
                f"including {'any instance role there' if where else 'the instance roles'}: "
                "the aws:PrincipalArn of credentials an "
                "instance receives is its role's ARN (arn:aws:iam::ACCOUNT:role/NAME), so "
                "role-delivery would check none of them, and no statement would deny a "
                "role anything"
            )
        else:
            harm = "no statement would deny a user anything"
        raise GuardrailError(
            f"--exempt-principal: {shown} exempts every {kind}{where} (its name is only "
            f"wildcards), {harm}: name the {kind}s, such as arn:aws:iam::*:{kind}/break-glass "
            f"or arn:aws:iam::*:{kind}/break-glass-*"
        )
    if len(name) - sum(name.count(c) for c in _WILDCARDS) > 64:
        raise GuardrailError(
            f"--exempt-principal: {shown}: an IAM {kind} name is at most 64 characters"
        )
    return value


def build(request: Request) -> list[Policy]:
    """The policies to write. Raises GuardrailError for options that do not go together or a
    policy over the size limit."""
    if request.format not in FORMATS:
        raise GuardrailError(f"--format: unknown format {request.format!r}")
    if request.format == "declarative":
        request.format, request.declarative = "json", True
        shown = "declarative"
    else:
        shown = request.format
    if request.format == "json" and request.targets:
        raise GuardrailError(
            f"--target attaches the policy in Terraform or CloudFormation output, not in "
            f"--format {shown} (attach a JSON policy with aws organizations attach-policy)"
        )
    if request.minify and request.format != "json":
        raise GuardrailError(
            "--minify applies to JSON output (Terraform's jsonencode and CloudFormation send "
            "the document minified already)"
        )
    if request.declarative:
        return [_declarative(request)]
    groups = [(name,) for name in request.statements] if request.split else [request.statements]
    policies = [_scp(group, request) for group in groups]
    for policy in policies:
        _check_size(policy, request)
    return policies


def _scp(names: tuple[str, ...], request: Request) -> Policy:
    statements = [statement(name, request.hop_limit) for name in names]
    if request.exempt:
        principals: str | list[str] = (
            request.exempt[0] if len(request.exempt) == 1 else list(request.exempt)
        )
        for item in statements:
            item.setdefault("Condition", {})["ArnNotLike"] = {"aws:PrincipalArn": principals}
    document = {"Version": "2012-10-17", "Statement": statements}
    if len(names) == 1:
        (name,) = names
        policy_name = f"imdsv2-{name}"
        description = f"IMDSv2 guardrail: deny {STATEMENTS[name][1]}"
        if name == "hop-limit":
            description += f" of {request.hop_limit}"
    else:
        policy_name = "imdsv2-guardrails"
        description = "IMDSv2 guardrails: deny " + "; ".join(
            STATEMENTS[n][1] + (f" of {request.hop_limit}" if n == "hop-limit" else "")
            for n in names
        )
    description += " (imds-iac scp)"
    return Policy(policy_name, policy_name.replace("-", "_"), description, document, names)


_DECLARATIVE_FIELDS = {"require-tokens", "hop-limit"}


def _declarative(request: Request) -> Policy:
    if request.split:
        raise GuardrailError("--split makes one SCP per statement; a declarative policy is one")
    if request.exempt:
        raise GuardrailError(
            "--exempt-principal: a declarative policy sets account attributes for every "
            "principal; exempt accounts by attaching it only to the OUs it governs"
        )
    chosen = [n for n in request.statements if n in _DECLARATIVE_FIELDS]
    others = [n for n in request.statements if n not in _DECLARATIVE_FIELDS]
    if not chosen:
        raise GuardrailError(
            f"declarative policy: {', '.join(others)} has no declarative counterpart "
            "(select require-tokens or hop-limit, or print it as an SCP)"
        )
    if others:
        what = (
            "has no declarative counterpart: keep it"
            if len(others) == 1
            else ("have no declarative counterpart: keep them")
        )
        request.notes.append(
            f"{', '.join(others)} {what} as an SCP (imds-iac scp --statement {','.join(others)})"
        )
    defaults: dict[str, Any] = {}
    if "require-tokens" in chosen:
        defaults["http_tokens"] = {"@@assign": "required"}
    if "hop-limit" in chosen:
        defaults["http_put_response_hop_limit"] = {"@@assign": str(request.hop_limit)}
    defaults["http_endpoint"] = {"@@assign": "no_preference"}
    defaults["instance_metadata_tags"] = {"@@assign": "no_preference"}
    if "require-tokens" in chosen:
        defaults["http_tokens_enforced"] = {"@@assign": "enabled"}
    document = {"ec2_attributes": {"instance_metadata_defaults": defaults}}
    policy = Policy(
        "imdsv2-defaults",
        "imdsv2_defaults",
        "IMDSv2 account defaults (imds-iac scp)",
        document,
        tuple(chosen),
        "DECLARATIVE_POLICY_EC2",
    )
    _check_size(policy, request)
    return policy


def document_text(document: dict[str, Any], *, minify: bool = False) -> str:
    """A policy document as ``--format json`` prints it (without the final newline)."""
    if minify:
        return json.dumps(document, separators=(",", ":"))
    return json.dumps(document, indent=2)


def counted_size(policy: Policy, request: Request) -> int:
    """The characters AWS counts against the size limit for this output: JSON as printed
    (the CLI saves it as given), Terraform's jsonencode and CloudFormation minified."""
    if request.format == "json":
        return len(document_text(policy.document, minify=request.minify))
    return len(document_text(policy.document, minify=True))


def _check_size(policy: Policy, request: Request) -> None:
    declarative = request.declarative
    limit = DECLARATIVE_SIZE_LIMIT if declarative else request.size_limit
    size = counted_size(policy, request)
    if size <= limit:
        return
    kind = "declarative policy" if declarative else "SCP"
    advice = []
    if request.format == "json" and not request.minify:
        minified = len(document_text(policy.document, minify=True))
        if minified <= limit:
            advice.append(f"--minify (the same document is {minified:,} characters minified)")
    if not declarative:
        if not request.split and len(policy.statements) > 1:
            advice.append("--split (one policy per statement)")
        if len(request.exempt) > 1:
            advice.append(
                "fewer --exempt-principal ARNs (a wildcard such as "
                "arn:aws:iam::*:role/break-glass-* covers several)"
            )
    hint = f": use {' or '.join(advice)}" if advice else ""
    raise GuardrailError(
        f"policy {policy.name} is {size:,} characters, over the {kind} size limit of "
        f"{limit:,} ({QUOTAS_URL}){hint}"
    )


def warnings(request: Request) -> list[str]:
    """What the person applying these policies must know, for standard error and comments."""
    out = []
    if not request.declarative and "no-modify" in request.statements:
        if request.exempt:
            out.append(
                MIGRATION_WARNING.replace(
                    "call, including", "call except the exempt principals', including", 1
                )
            )
        else:
            out.append(MIGRATION_WARNING)
    above = [item for item in request.per_path_hops if item[2] > request.hop_limit]
    if not request.declarative and "hop-limit" in request.statements and above:
        named = "; ".join(
            f"{json.dumps(glob)} = {{ hop-limit = {hop} }} in {src}" for src, glob, hop in above
        )
        highest = max(hop for _, _, hop in above)
        out.append(
            f"the hop-limit statement denies launches above {request.hop_limit}, but the "
            f"configuration's per-path hop limits accept more under some paths ({named}): "
            "check passes templates there that the policy denies at launch; use "
            f"--hop-limit {highest} or lower those per-path hop limits"
        )
    roles = [arn for arn in request.exempt if ":role/" in arn]
    if not request.declarative and "role-delivery" in request.statements and roles:
        out.append(
            "role-delivery does not check the exempt roles ("
            + ", ".join(roles)
            + "): an instance that runs as one of them (the aws:PrincipalArn of the credentials "
            "an instance receives is its role's ARN) may use credentials IMDSv1 delivered; "
            "exempt roles people assume, never roles instances run as"
        )
    if request.declarative:
        out.append(DECLARATIVE_NOTE)
    else:
        out.append(ATTACHMENT_NOTE)
    return out


# --- writers ------------------------------------------------------------------------------------


def render(policies: list[Policy], request: Request) -> str:
    if request.format == "json":
        if len(policies) == 1:
            return document_text(policies[0].document, minify=request.minify) + "\n"
        by_name = {p.name: p.document for p in policies}
        if request.minify:
            return json.dumps(by_name, separators=(",", ":")) + "\n"
        return json.dumps(by_name, indent=2) + "\n"
    if request.format == "terraform":
        return _terraform(policies, request)
    return _cloudformation(policies, request)


def _comment_lines(request: Request, prefix: str) -> list[str]:
    if request.declarative:
        lines = [
            f"{prefix} Generated by imds-iac scp: an EC2 declarative policy, {DECLARATIVE_URL}"
        ]
    else:
        lines = [f"{prefix} Generated by imds-iac scp: the IMDSv2 guardrails of {GUIDE_URL}"]
    for text in warnings(request):
        lines.extend(_wrap(f"Warning: {text}.", prefix))
    return lines


def _wrap(text: str, prefix: str, width: int = 100) -> list[str]:
    out, line = [], prefix
    for word in text.split():
        if len(line) + 1 + len(word) > width and line != prefix:
            out.append(line)
            line = prefix
        line += " " + word
    out.append(line)
    return out


# Terraform ---------------------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _hcl_string(value: str) -> str:
    text = value.replace("\\", "\\\\").replace('"', '\\"')
    text = text.replace("${", "$${").replace("%{", "%%{")
    return f'"{text}"'


def _hcl_scalar(value: Any) -> str | None:
    """A value written on one line, or None for one that spans lines (objects, lists of them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _hcl_string(value)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, list) and all(_hcl_scalar(v) is not None for v in value):
        return "[" + ", ".join(str(_hcl_scalar(v)) for v in value) + "]"
    return None


def _hcl_key(key: str) -> str:
    return key if _IDENTIFIER.fullmatch(key) else _hcl_string(key)


def _hcl_body(pairs: list[tuple[str, Any]], indent: int) -> list[str]:
    """``key = value`` lines as ``terraform fmt`` writes them: the ``=`` of consecutive one-line
    attributes aligned; an attribute whose value spans lines ends the run and is not padded."""
    pad = " " * indent
    lines: list[str] = []
    run: list[tuple[str, str]] = []

    def flush() -> None:
        width = max((len(k) for k, _ in run), default=0)
        lines.extend(f"{pad}{k.ljust(width)} = {v}" for k, v in run)
        run.clear()

    for key, value in pairs:
        shown = _hcl_key(key)
        one = _hcl_scalar(value)
        if one is not None:
            run.append((shown, one))
            continue
        flush()
        lines.extend(_hcl_multiline(f"{pad}{shown} = ", value, indent))
    flush()
    return lines


def _hcl_multiline(head: str, value: Any, indent: int, tail: str = "") -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        return [head + "{", *_hcl_body(list(value.items()), indent + 2), f"{pad}}}{tail}"]
    # a list holding objects
    lines = [head + "["]
    inner = " " * (indent + 2)
    for item in value:
        one = _hcl_scalar(item)
        if one is not None:
            lines.append(f"{inner}{one},")
        else:
            lines.extend(_hcl_multiline(inner, item, indent + 2, ","))
    lines.append(f"{pad}]{tail}")
    return lines


def _terraform(policies: list[Policy], request: Request) -> str:
    lines = _comment_lines(request, "#")
    for policy in policies:
        # content = jsonencode({ ... }), closed by "})"
        content = _hcl_multiline("  content = jsonencode(", policy.document, 2, ")")
        lines += [
            "",
            f'resource "aws_organizations_policy" "{policy.label}" {{',
            *_hcl_body(
                [
                    ("name", policy.name),
                    ("description", policy.description),
                    ("type", policy.type),
                ],
                2,
            ),
            *content,
            "}",
        ]
        if request.targets:
            lines += ["", f'resource "aws_organizations_policy_attachment" "{policy.label}" {{']
            reference = f"aws_organizations_policy.{policy.label}.id"
            if len(request.targets) == 1:
                lines += [
                    f"  policy_id = {reference}",
                    f"  target_id = {_hcl_string(request.targets[0])}",
                ]
            else:
                targets = ", ".join(_hcl_string(t) for t in request.targets)
                lines += [
                    f"  for_each  = toset([{targets}])",
                    f"  policy_id = {reference}",
                    "  target_id = each.value",
                ]
            lines.append("}")
    return "\n".join(lines) + "\n"


# CloudFormation --------------------------------------------------------------------------------

_PLAIN_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)  # a JSON string is a YAML double-quoted scalar


# Plain scalars YAML 1.1 reads as booleans or null (the IAM condition operator Null among them).
_YAML_WORDS = {"null", "true", "false", "yes", "no", "on", "off", "y", "n"}


def _yaml_key(key: str) -> str:
    plain = _PLAIN_KEY.fullmatch(key) and key.lower() not in _YAML_WORDS
    return key if plain else json.dumps(key)


def _yaml(value: Any, indent: int) -> list[str]:
    """Block YAML of a mapping or list (never empty here)."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                lines.append(f"{pad}{_yaml_key(key)}:")
                lines.extend(_yaml(item, indent + 2))
            else:
                lines.append(f"{pad}{_yaml_key(key)}: {_yaml_scalar(item)}")
        return lines
    for item in value:
        if isinstance(item, dict):
            inner = _yaml(item, indent + 2)
            lines.append(f"{pad}- {inner[0].lstrip()}")
            lines.extend(inner[1:])
        elif isinstance(item, list):
            lines.append(f"{pad}-")
            lines.extend(_yaml(item, indent + 2))
        else:
            lines.append(f"{pad}- {_yaml_scalar(item)}")
    return lines


def _template_description(request: Request) -> str:
    if request.declarative:
        return "IMDSv2 account defaults: an EC2 declarative policy (imds-iac scp)"
    return "IMDSv2 guardrails (imds-iac scp)"


def _logical_id(label: str) -> str:
    return "".join(part.capitalize() for part in label.split("_")) + "Policy"


def _cloudformation(policies: list[Policy], request: Request) -> str:
    lines = _comment_lines(request, "#")
    lines += [
        'AWSTemplateFormatVersion: "2010-09-09"',
        f"Description: {json.dumps(_template_description(request))}",
        "Resources:",
    ]
    for policy in policies:
        properties: dict[str, Any] = {
            "Name": policy.name,
            "Description": policy.description,
            "Type": policy.type,
            "Content": policy.document,
        }
        if request.targets:
            properties["TargetIds"] = list(request.targets)
        resource = {"Type": "AWS::Organizations::Policy", "Properties": properties}
        lines.append(f"  {_logical_id(policy.label)}:")
        lines.extend(_yaml(resource, 4))
    return "\n".join(lines) + "\n"
