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
  a module directory at a time (the document and the policy are often in different files); in
  Terraform's JSON syntax (``*.tf.json``): :mod:`imds_iac_checks.formats.policy_tfjson`.

:func:`statements` turns a positioned document tree (:class:`~imds_iac_checks.formats.doc.DNode`)
into statements; ``place`` maps the tree's character offsets to file spans, which lets a
document held in a string (a JSON string, a heredoc, a YAML block scalar) be read through the
pieces of its :class:`~imds_iac_checks.model.Payload`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import import_module

from imds_iac_checks.formats.doc import MAP, SCALAR, SEQ, DNode, DocError, Locator
from imds_iac_checks.model import (
    POLICY_MARKERS,
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

# What a file must name to be read for policies (see model.POLICY_MARKERS).
MARKERS = POLICY_MARKERS

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
        named = _named_documents(root)
        if named:
            # Policy documents by name (``imds-iac scp --split``, a policy set kept as one file).
            for key, document in named:
                span = locator.node_span(document)
                found = statements(document.get("Statement"), _in_file(locator), span)
                address = f"{shown} {key.value}"
                policies.append(Policy(address, shown, span, "policy document", "json", found))
            continue
        for reader in _DATA_READERS:
            module = import_module(reader)
            more_policies, more_targets, more_errors = module.read(shown, root, locator)
            policies += more_policies
            targets += more_targets
            errors += more_errors
    return policies, targets, errors


def _named_documents(root: DNode) -> list[tuple[DNode, DNode]]:
    """The (name, document) pairs of a mapping whose every value is a policy document (a mapping
    with ``Version`` and ``Statement``); [] for any other mapping."""
    pairs = root.pairs()
    if not pairs:
        return []
    for key, value in pairs:
        if key.kind != SCALAR or value.kind != MAP:
            return []
        if value.get("Statement") is None or value.get("Version") is None:
            return []
    return pairs


# Readers of other documents that may hold policies: modules with ``read(shown, root, locator)
# -> (policies, targets, errors)`` (a CloudFormation template, an EC2 declarative policy).
_DATA_READERS: tuple[str, ...] = (
    "imds_iac_checks.formats.policy_cfn",
    "imds_iac_checks.formats.declarative",
    "imds_iac_checks.formats.policy_cli",
    "imds_iac_checks.formats.policy_tfjson",
)


def read_terraform(
    files: list[tuple[str, str, bytes]],
    callers: list[tuple[str, str, bytes]] | None = None,
    scanned: set[str] | None = None,
) -> tuple[list[Policy], list[Target], list[ScanError]]:
    """The policies of a Terraform module directory: ``files`` are its ``.tf`` files as
    (path, shown path, bytes), in order; ``callers``: the files of the scanned directories
    that call it as a local module (the variable defaults they override are not fixed here);
    ``scanned``: the directories the scan reads (a local module outside them is judged
    through the calls).
    See :mod:`imds_iac_checks.formats.policy_terraform`."""
    if not _TERRAFORM_READER:
        return [], [], []
    module = import_module(_TERRAFORM_READER)
    return module.read(files, callers or [], scanned)  # type: ignore[no-any-return]


_TERRAFORM_READER = "imds_iac_checks.formats.policy_terraform"


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
    resources = _list(node.get("NotResource" if not_resource else "Resource"), place, whole, True)
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


def _list(node: DNode | None, place: Place, whole: Span, arn: bool = False) -> tuple[Written, ...]:
    if node is None:
        return ()
    if node.kind == SEQ and node.tag is None:  # a tagged list is an intrinsic (!Join)
        return tuple(written(item, place, whole, arn) for item in node.items)
    return (written(node, place, whole, arn),)


def _key(node: DNode, place: Place, whole: Span) -> Written:
    return written(node, place, whole)


def written(node: DNode, place: Place, whole: Span, arn: bool = False) -> Written:
    """A scalar of a document as :class:`Written` (a mapping, a list or a tagged value such as
    ``!Ref`` is an expression: its value is unknown). ``arn``: the scalar is a resource ARN, and
    one written as a template whose placeholders fill only its partition, region or account
    (``!Sub "arn:${AWS::Partition}:ec2:*:*:instance/*"``) has the value with ``*`` there
    (:func:`wildcard_arn`; the template is its ``expression``, and it is not editable)."""
    span = place(node.start, node.end) or whole
    if node.kind != SCALAR or node.tag is not None:
        template = _template(node) if arn else None
        value = wildcard_arn(template) if template is not None else None
        if template is not None and value is not None:
            return Written(value, span, None, template)
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


# The tag of a node written as an expression of the format that holds the document (an HCL
# reference or function call in ``jsonencode({...})``, an interpolation in a heredoc): its
# value is the expression's source text, which :func:`written` shows.
EXPRESSION = "expression"


def _shown(node: DNode) -> str:
    if node.tag == EXPRESSION:
        return str(node.value)
    if node.tag is not None:
        return f"{node.tag} ..."
    return {MAP: "a mapping", SEQ: "a list"}.get(node.kind, "a value")


# A placeholder of a template: Terraform's ``${...}``, CloudFormation's ``Fn::Sub`` ``${...}``.
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_HOLE = "\x00"
# Fields of an ARN ("arn:partition:service:region:account:resource") a placeholder may fill and
# still be judged: what it substitutes is a partition, a region or an account id, so the ARN
# matches no more than the same ARN with ``*`` there (a superset: see docs "what is read").
_WILDCARD_FIELDS = (1, 3, 4)


def wildcard_arn(template: str) -> str | None:
    """An ARN written with placeholders for its partition, region or account
    (``arn:${AWS::Partition}:ec2:*:*:instance/*``, ``arn:${data.aws_partition.current.partition}
    :ec2:...``, ``arn:aws:ec2:*:${var.account_id}:instance/*``) as the ARN with ``*`` in those
    fields; None for any other template (a placeholder elsewhere, or not an ARN)."""
    holed = _PLACEHOLDER.sub(_HOLE, template)
    if _HOLE not in holed or not holed.startswith("arn:"):
        return None
    fields = holed.split(":", 5)
    if len(fields) != 6:
        return None
    for index, field in enumerate(fields):
        if _HOLE not in field:
            continue
        if field != _HOLE or index not in _WILDCARD_FIELDS:
            return None
        fields[index] = "*"
    return ":".join(fields)


def _template(node: DNode) -> str | None:
    """The text of a scalar written as a template with placeholders (a Terraform ``"...${}..."``
    string, a CloudFormation ``Fn::Sub`` string, an ``Fn::Join`` of strings and ``Ref``s of
    pseudo parameters) with its placeholders as ``${...}``; None for anything else."""
    tag = node.tag or ""
    if node.kind == SCALAR and isinstance(node.value, str):
        if tag == EXPRESSION:
            text = node.value
            if len(text) >= 2 and text[0] == text[-1] == '"':
                text = text[1:-1]
            return text if "${" in text else None
        if tag in ("!Sub", "Fn::Sub"):
            return node.value
        return None
    if tag in ("!Join", "Fn::Join") and node.kind == SEQ:
        return join_template(node)
    return None


def join_template(node: DNode) -> str | None:
    """``Fn::Join`` ``[delimiter, [parts]]`` (the arguments) as a template: a string part as it
    is, a ``Ref`` as ``${Name}``; None when a part is anything else."""
    if node.kind != SEQ or len(node.items) != 2:
        return None
    delimiter, parts = node.items
    if delimiter.kind != SCALAR or not isinstance(delimiter.value, str) or parts.kind != SEQ:
        return None
    out: list[str] = []
    for part in parts.items:
        if part.kind == SCALAR and part.tag is None and isinstance(part.value, str):
            out.append(part.value)
            continue
        ref: DNode | None = None
        if part.kind == SCALAR and part.tag in ("!Ref", "Ref"):
            ref = part
        elif part.kind == MAP and part.tag is None and len(part.items) == 1:
            key, value = part.items[0]
            if key.value == "Ref":
                ref = value
        if ref is None or not isinstance(ref.value, str):
            return None
        out.append("${" + ref.value + "}")
    return delimiter.value.join(out)
