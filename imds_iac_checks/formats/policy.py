"""Guardrail policies: policy documents read into :class:`~imds_iac_checks.model.Policy`.

A policy that guards IMDS names one of its condition keys or the action that changes the
options: only a file whose bytes name one (:func:`worth`) is read here, so the scan of a tree
without guardrails pays a byte search per file. Where documents are written:

- a JSON or YAML file that is a policy document (``Version`` and ``Statement``) — an SCP kept
  in an organisation's repository, a landing-zone customisation — read here;
- a CloudFormation template's ``AWS::Organizations::Policy`` (``Content`` as a mapping or as a
  JSON string): :mod:`imds_iac_checks.formats.policy_cfn`;
- Terraform ``aws_organizations_policy`` (``content`` as a heredoc, ``jsonencode({...})`` or a
  ``data.aws_iam_policy_document``): :mod:`imds_iac_checks.formats.policy_terraform`, which reads
  a module directory at a time (the document and the policy are often in different files).

:func:`statements` turns a positioned document tree (:class:`~imds_iac_checks.formats.doc.DNode`)
into statements; ``place`` maps the tree's character offsets to file spans, which lets a
document held in a string (a JSON string, a heredoc, a YAML block scalar) be read through the
pieces of its :class:`~imds_iac_checks.model.Payload`.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from imds_iac_checks.formats.doc import MAP, SCALAR, SEQ, DNode, DocError, Locator
from imds_iac_checks.model import (
    Condition,
    Payload,
    Policy,
    ScanError,
    Span,
    Statement,
    Target,
    Written,
    locate,
)

# Bytes (lower-cased) of which a file must hold one to be read for policies: the condition keys
# of the IMDS guardrails (IAM keys are case-insensitive), the action that changes the options,
# and an EC2 declarative policy's instance metadata defaults.
MARKERS = (
    b"ec2:metadatahttp",
    b"ec2:roledelivery",
    b"modifyinstancemetadataoptions",
    b"instance_metadata_defaults",
)

# (start, end) character offsets of the document read -> the span in the file, or None when
# that text is not written as is there (an escape): then nothing may be edited in it.
Place = Callable[[int, int], "Span | None"]


def worth(data: bytes) -> bool:
    """Does the file name something a guardrail policy reads (see :data:`MARKERS`)?"""
    lowered = data.lower()
    return any(marker in lowered for marker in MARKERS)


def read_data(
    shown: str, data: bytes, *, origin: str = ""
) -> tuple[list[Policy], list[Target], list[ScanError]]:
    """The policies (and the account defaults an EC2 declarative policy sets, as targets) a JSON
    or YAML file holds: a policy document, a CloudFormation template's policies, a declarative
    policy. The caller checked :func:`worth`."""
    from imds_iac_checks.formats import doc

    try:
        text = doc.decode(data)
    except DocError:
        return [], [], []  # the file's own reader reports it
    lower = origin.lower() or shown.lower()
    try:
        if lower.endswith(".json") or text.lstrip("\ufeff \t\r\n").startswith(("{", "[")):
            roots = [doc.parse_json(text)]
        else:
            roots = doc.parse_yaml(text)
    except DocError:
        return [], [], []  # the file's own reader reports it
    except Exception:  # a YAML error: the file's own reader reports it
        return [], [], []
    locator = Locator(shown, text)
    policies: list[Policy] = []
    targets: list[Target] = []
    errors: list[ScanError] = []
    for root in roots:
        if root.kind != MAP:
            continue
        if root.get("Statement") is not None:
            span = locator.node_span(root)
            found = statements(root.get("Statement"), _in_file(locator), span)
            policies.append(Policy(shown, shown, span, "policy document", "json", found))
            continue
        for reader in _DATA_READERS:
            module = import_module(reader)
            more_policies, more_targets, more_errors = module.read(shown, root, locator)
            policies += more_policies
            targets += more_targets
            errors += more_errors
    return policies, targets, errors


# Readers of other documents that may hold policies: modules with ``read(shown, root, locator)
# -> (policies, targets, errors)`` (a CloudFormation template, an EC2 declarative policy).
_DATA_READERS: tuple[str, ...] = (
    "imds_iac_checks.formats.policy_cfn",
    "imds_iac_checks.formats.declarative",
    "imds_iac_checks.formats.policy_cli",
)


def read_terraform(
    files: list[tuple[str, str, bytes]],
) -> tuple[list[Policy], list[Target], list[ScanError]]:
    """The policies of a Terraform module directory: ``files`` are its ``.tf`` files as
    (path, shown path, bytes), in order. See :mod:`imds_iac_checks.formats.policy_terraform`."""
    if not _TERRAFORM_READER:
        return [], [], []
    module = import_module(_TERRAFORM_READER)
    return module.read(files)  # type: ignore[no-any-return]


_TERRAFORM_READER = ""


# --- a positioned document -> statements --------------------------------------------------------


def _in_file(locator: Locator) -> Place:
    return locator.span


def in_payload(payload: Payload) -> Place:
    """A :data:`Place` for a document held in a string: offsets of ``payload.text``."""

    def place(start: int, end: int) -> Span | None:
        return locate(payload, start, end)

    return place


def statements(node: DNode | None, place: Place, whole: Span) -> tuple[Statement, ...]:
    """The statements of a document's ``Statement`` (one mapping or a list of them). ``whole``
    is where anything that ``place`` cannot locate points (a value is editable only where it is
    written as is: see :func:`written`)."""
    if node is None:
        return ()
    items = node.items if node.kind == SEQ else [node]
    out: list[Statement] = []
    for index, item in enumerate(items, 1):
        label = f"statement {index}" if node.kind == SEQ else ""
        if item.kind != MAP:
            continue
        out.append(_statement(item, place, whole, label))
    return tuple(out)


def _statement(node: DNode, place: Place, whole: Span, label: str) -> Statement:
    span = place(node.start, node.end) or whole
    sid_node = node.get("Sid")
    sid = str(sid_node.value) if sid_node is not None and sid_node.kind == SCALAR else ""
    if sid:
        label = f"statement {sid}"
    effect_node = node.get("Effect")
    effect = written(effect_node, place, whole) if effect_node is not None else None
    not_action = node.get("Action") is None and node.get("NotAction") is not None
    not_resource = node.get("Resource") is None and node.get("NotResource") is not None
    actions = _list(node.get("NotAction" if not_action else "Action"), place, whole)
    resources = _list(node.get("NotResource" if not_resource else "Resource"), place, whole)
    conditions: list[Condition] = []
    unknown = ""
    block = node.get("Condition")
    if block is not None and block.kind == MAP:
        for op_node, keys in block.pairs():
            operator = _key(op_node, place, whole)
            if keys.kind != MAP:
                unknown = f"the condition {operator.value or operator.expression} is not a mapping"
                continue
            for key_node, values in keys.pairs():
                conditions.append(
                    Condition(operator, _key(key_node, place, whole), _list(values, place, whole))
                )
    elif block is not None:
        unknown = "the Condition is not a mapping"
    return Statement(
        span=span,
        sid=sid,
        effect=effect,
        actions=actions,
        resources=resources,
        conditions=tuple(conditions),
        not_action=not_action,
        not_resource=not_resource,
        unknown=unknown,
        label=label,
    )


def _list(node: DNode | None, place: Place, whole: Span) -> tuple[Written, ...]:
    if node is None:
        return ()
    if node.kind == SEQ:
        return tuple(written(item, place, whole) for item in node.items)
    return (written(node, place, whole),)


def _key(node: DNode, place: Place, whole: Span) -> Written:
    return written(node, place, whole)


def written(node: DNode, place: Place, whole: Span) -> Written:
    """A scalar of a document as :class:`Written` (a mapping, a list or a tagged value such as
    ``!Ref`` is an expression: its value is unknown)."""
    span = place(node.start, node.end) or whole
    if node.kind != SCALAR or node.tag is not None:
        return Written(None, span, None, _shown(node))
    value = node.value
    if value is None:
        return Written(None, span, None, "null")
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float) and value.is_integer() and not node.quoted:
        text = str(value)
    else:
        text = str(value)
    inner = (node.start + 1, node.end - 1) if node.quoted else (node.start, node.end)
    edit = place(*inner) if inner[1] - inner[0] == len(text) else None
    return Written(text, span, edit)


def _shown(node: DNode) -> str:
    if node.tag is not None:
        return f"{node.tag} ..."
    return {MAP: "a mapping", SEQ: "a list"}.get(node.kind, "a value")
