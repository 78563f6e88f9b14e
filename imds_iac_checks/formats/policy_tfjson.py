"""Guardrail policies in Terraform's JSON syntax (``*.tf.json``): ``aws_organizations_policy``
whose ``content`` is a JSON string (a reader of
:data:`imds_iac_checks.formats.policy._DATA_READERS`).

The string is read as a CloudFormation template's JSON string ``Content`` is (every run of it
mapped to the bytes that write it, so a value written as is stays editable); a ``${...}`` in it
is a Terraform interpolation: a hole, and a value written around one is an expression (an ARN
with one for its partition, region or account is judged with ``*`` there, see
:func:`imds_iac_checks.formats.policy.wildcard_arn`). A ``content`` that is not a string (an
interpolation of a data source: ``"${data.aws_iam_policy_document.x.json}"``) is reported as
not judged, as the resource names a guardrail's marker.
"""

from __future__ import annotations

import re

from imds_iac_checks.formats import declarative
from imds_iac_checks.formats.doc import MAP, SCALAR, SEQ, DNode, DocError, Locator, parse_json
from imds_iac_checks.formats.policy import Place, statements, worth
from imds_iac_checks.formats.policy_cfn import Reader, mark_holes, mark_intrinsics, payload_place
from imds_iac_checks.model import Policy, ScanError, Statement, Target

FORMAT = "terraform"
# A Terraform interpolation in a string: a hole of the document.
_INTERPOLATION = re.compile(r"\$\{[^}]*\}")
_WHAT = {
    "SERVICE_CONTROL_POLICY": "service control policy",
    "RESOURCE_CONTROL_POLICY": "resource control policy",
}


def read(
    shown: str, root: DNode, locator: Locator
) -> tuple[list[Policy], list[Target], list[ScanError]]:
    """The ``aws_organizations_policy`` resources of a ``.tf.json`` file."""
    if not shown.lower().endswith(".tf.json") or root.kind != MAP:
        return [], [], []
    resources = root.get("resource")
    blocks = resources.get("aws_organizations_policy") if resources is not None else None
    if resources is None or resources.kind != MAP or blocks is None or blocks.kind != MAP:
        return [], [], []
    reader = Reader(shown, root, locator, FORMAT, "")
    policies: list[Policy] = []
    targets: list[Target] = []
    for name_node, body in blocks.pairs():
        for block in body.items if body.kind == SEQ else [body]:
            if block.kind != MAP or not worth(locator.source(block).encode("utf-8", "replace")):
                continue
            address = f"aws_organizations_policy.{name_node.value}"
            span = locator.span(name_node.start, block.end)
            type_node = block.get("type")
            kind = "SERVICE_CONTROL_POLICY"
            if type_node is not None:
                kind = str(type_node.value) if type_node.kind == SCALAR else ""
            if kind not in _WHAT and kind != declarative.POLICY_TYPE:
                continue
            content = block.get("content")
            if content is None:
                continue
            read_ = _document(reader, address, content)
            if kind == declarative.POLICY_TYPE:
                if isinstance(read_, tuple):
                    document, place = read_
                    targets += declarative.targets(
                        document, place, address=address, path=shown, whole=span, format=FORMAT
                    )
                continue
            whole = locator.node_span(content)
            if isinstance(read_, str):
                found: tuple[Statement, ...] = (
                    Statement(whole, "", None, (), (), (), unknown=read_),
                )
            else:
                document, place = read_
                found = statements(document.get("Statement"), place, whole)
                if not found:
                    found = (Statement(whole, "", None, (), (), (), unknown="the content"),)
            policies.append(
                Policy(address, shown, span, _WHAT[kind], FORMAT, found, kind, header=span)
            )
    return policies, targets, reader.errors


def _document(reader: Reader, address: str, content: DNode) -> tuple[DNode, Place] | str:
    """The positioned document a ``content`` string holds, or why it cannot be read."""
    if content.kind != SCALAR or not isinstance(content.value, str):
        return "the content (not a string)"
    text = content.value.strip()
    if text.startswith("${") and text.endswith("}") and text.count("${") == 1:
        return f"the content {text} (an interpolation)"
    payload = reader.payload(content, True, address)
    if payload is None:
        return "the content (its text could not be followed in the file)"
    try:
        document = parse_json(payload.text)
    except DocError as exc:
        return f"the content (not a JSON document: {exc.message})"
    if document.kind != MAP:
        return "the content (a JSON value that is not an object)"
    holes = [(m.start(), m.end()) for m in _INTERPOLATION.finditer(payload.text)]
    mark_holes(document, holes)
    mark_intrinsics(document)
    return document, payload_place(payload)
