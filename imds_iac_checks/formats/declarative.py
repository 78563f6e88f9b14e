"""EC2 declarative policies (AWS Organizations, type ``DECLARATIVE_POLICY_EC2``): the account
defaults they set for instance metadata, as targets.

A declarative policy sets EC2 account attributes that the accounts it is attached to cannot
change. Its Instance Metadata Defaults are ``ec2_attributes.instance_metadata_defaults``, each
field set with the ``@@assign`` operator of management policies::

    {"ec2_attributes": {"instance_metadata_defaults": {
        "http_tokens": {"@@assign": "required"},
        "http_put_response_hop_limit": {"@@assign": "2"},
        "http_endpoint": {"@@assign": "no_preference"},
        "instance_metadata_tags": {"@@assign": "no_preference"}}}}

(the AWS Organizations User Guide, "Declarative policy syntax and examples"). They are the
account's defaults for instances launched without settings of their own, as
``aws_ec2_instance_metadata_defaults`` and ``modify-instance-metadata-defaults`` are: one
:data:`SPEC` (``account_default``) whose settings the rules on tokens and hop limits judge.
``"no_preference"`` leaves a field to the other defaults (the AMI's, AWS's: IMDSv1 allowed), so
tokens of ``no_preference`` are not required; a hop limit of ``-1`` is no preference. A field the
policy does not write is not set by it (a child policy inherits its parent's, an account keeps
its own): no finding, as for a ``modify-instance-metadata-defaults`` request.

The same document is written as a file of its own (``aws organizations create-policy --content
file://...``; :func:`read`), as a CloudFormation ``AWS::Organizations::Policy`` ``Content``
(:mod:`imds_iac_checks.formats.policy_cfn`) and as a Terraform ``aws_organizations_policy``
``content``: each reader positions the document as a :class:`DNode` tree and calls
:func:`targets` with a ``place`` that maps the tree's offsets to file spans (the file's own, or
those of a document held in a string: :func:`imds_iac_checks.formats.policy.in_payload`).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from imds_iac_checks.formats.doc import MAP, SCALAR, SEQ, DNode, DocError, Locator
from imds_iac_checks.model import (
    ENDPOINT,
    HOP_LIMIT,
    TOKENS,
    KindSpec,
    Link,
    LinkKind,
    Policy,
    ScanError,
    Span,
    Target,
    Value,
    compact,
    normalize,
)

# The Organizations policy type of an EC2 declarative policy (Terraform's ``type``,
# CloudFormation's ``Type``, ``create-policy --type``); also the kind of its targets.
POLICY_TYPE = "DECLARATIVE_POLICY_EC2"

SPEC = KindSpec(
    POLICY_TYPE,
    None,
    {
        ENDPOINT: "http_endpoint",
        TOKENS: "http_tokens",
        HOP_LIMIT: "http_put_response_hop_limit",
    },
    {ENDPOINT: '"enabled"', TOKENS: '"required"', HOP_LIMIT: "{hop_limit}"},
    needs_block=False,
    # A field not written is not set by this policy: a parent policy's or the account's holds.
    absent_ok=True,
    hop_no_preference=(-1,),
    block_label="instance_metadata_defaults",
    plugins=False,
    account_default=True,
)

# The operator that sets a field's value (management policy syntax).
ASSIGN = "@@assign"

# (start, end) character offsets of the document read -> the span in the file, or None when
# that text is not written as is there (see formats.policy.Place).
Place = Callable[[int, int], "Span | None"]
# A value node and the canonical key it sets -> its possible Values (formats.structured.Resolve):
# a reader that can evaluate expressions (a CloudFormation template's ``Ref``) gives one.
Resolve = Callable[[DNode, str], list[Value]]


def targets(
    root: DNode,
    place: Place,
    *,
    address: str,
    path: str,
    whole: Span,
    format: str,
    resolve: Resolve | None = None,
) -> list[Target]:
    """The account-defaults target a declarative policy document sets (none when it has no
    ``ec2_attributes.instance_metadata_defaults``).

    ``root`` is the document (``{"ec2_attributes": ...}``) as a positioned tree; ``place`` maps
    its offsets to file spans; ``address`` names the policy (a Terraform address, a logical id);
    ``path`` is the file; ``whole`` the span of the policy (the resource, or the document), where
    anything ``place`` cannot locate points; ``format`` the target's format. ``resolve`` evaluates
    a value that is not a plain scalar (a CloudFormation ``!Ref``); without it such a value is
    unknown (IMDS004 says it could not be evaluated)."""
    attributes = root.get("ec2_attributes") if root.kind == MAP else None
    defaults = attributes.get("instance_metadata_defaults") if attributes is not None else None
    if attributes is None or defaults is None:
        return []
    key = attributes.key_node("instance_metadata_defaults")
    key_span = (place(key.start, key.end) if key is not None else None) or whole
    block_span = place(defaults.start, defaults.end) or whole
    target = Target(
        spec=SPEC,
        address=address,
        path=path,
        span=whole,
        header=key_span,
        block_span=block_span,
        settings={},
        format=format,
        block_key=key_span,
    )
    if defaults.kind != MAP or defaults.tag is not None:
        # the whole block is an expression (a CloudFormation !If, a Terraform variable)
        value = _unknown(defaults, place, whole)
        return [target._replace(unknown_block=value)]
    settings: dict[str, tuple[Value, ...]] = {}
    for canonical, field in SPEC.fields.items():
        node = defaults.get(field)
        if node is None:
            continue
        found = _values(node, canonical, place, whole, resolve)
        if found:
            settings[canonical] = tuple(found)
    return [target._replace(settings=settings)]


def unread(address: str, span: Span, whole: Span, why: str, format: str) -> Target:
    """The account-defaults target of a declarative policy whose content cannot be read (a
    function of variables, ``each.value``): its whole block is an unknown value, which the rule
    on unknown values reports, never a policy passed over. ``span``: the policy's resource;
    ``whole``: where the content is written; ``why``: what it is."""
    value = Value(False, None, None, why, (Link(whole, LinkKind.EXPRESSION),))
    return Target(
        spec=SPEC,
        address=address,
        path=span.path,
        span=span,
        header=span,
        block_span=whole,
        settings={},
        format=format,
        block_key=whole,
        unknown_block=value,
    )


def _values(
    node: DNode, key: str, place: Place, whole: Span, resolve: Resolve | None
) -> list[Value]:
    """The Values a field sets: its ``@@assign`` (a field written without an operator is read
    as its value: AWS rejects it, but it says what its author meant). [] when the field holds
    operators only (``@@operators_allowed_for_child_policies``): this policy sets no value."""
    if node.kind == MAP and node.tag is None and not _intrinsic_map(node):
        assigned = node.get(ASSIGN)
        if assigned is None:
            return []
        node = assigned
    if node.kind == SCALAR and (node.tag is None or node.tag.startswith("!!")):
        value = _literal(node, key, place, whole)
        return [value] if value is not None else []
    if resolve is not None:
        return resolve(node, key)
    return [_unknown(node, place, whole)]


def _literal(node: DNode, key: str, place: Place, whole: Span) -> Value | None:
    raw = node.value
    canonical, problem = normalize(SPEC, key, raw)
    if canonical is None and problem is None:
        return None  # null or no preference (a hop limit of -1): not set
    span = place(node.start, node.end)
    if node.quoted and (span is None or span.end_byte - span.start_byte != node.end - node.start):
        # A document held in a string (a JSON string, a heredoc) writes the quotes as escapes
        # (\"): the text between them is where the value is written, as is (a fix writes
        # over it).
        span = place(node.start + 1, node.end - 1) or span
    link = Link(span or whole, LinkKind.LITERAL)
    return Value(True, canonical, raw, _shown(node), (link,), None, problem)


def _unknown(node: DNode, place: Place, whole: Span) -> Value:
    span = place(node.start, node.end) or whole
    return Value(False, None, None, _shown(node), (Link(span, LinkKind.EXPRESSION),))


def _intrinsic_map(node: DNode) -> bool:
    """A CloudFormation intrinsic written as a mapping (``{"Ref": "Tokens"}``)."""
    if len(node.items) != 1:
        return False
    name = node.items[0][0].value
    return name == "Ref" or (isinstance(name, str) and name.startswith("Fn::"))


def _shown(node: DNode) -> str:
    """A value as messages quote it (the text written is not at hand: the tree may be a
    document held in a string)."""
    if node.kind == SCALAR:
        text = json.dumps(node.value) if isinstance(node.value, str) else _scalar(node.value)
        return f"{node.tag} {text}" if node.tag else text
    try:
        text = json.dumps(node.plain(), separators=(", ", ": "))
    except (ValueError, TypeError, DocError):  # DocError: nested past what plain() reads
        text = "a mapping" if node.kind == MAP else "a list" if node.kind == SEQ else "a value"
    return compact(f"{node.tag} {text}" if node.tag else text)


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- a declarative policy written as a file of its own ----------------------------------------


def read(
    shown: str, root: DNode, locator: Locator
) -> tuple[list[Policy], list[Target], list[ScanError]]:
    """A JSON (or YAML) file that is an EC2 declarative policy (``{"ec2_attributes": ...}``,
    what ``aws organizations create-policy --type DECLARATIVE_POLICY_EC2 --content file://...``
    takes): its account-defaults target (a reader of :data:`formats.policy._DATA_READERS`)."""
    if root.kind != MAP or root.get("ec2_attributes") is None:
        return [], [], []
    found = targets(
        root,
        locator.span,
        address="ec2_attributes.instance_metadata_defaults",
        path=shown,
        whole=locator.node_span(root),
        format="json",
    )
    return [], found, []
