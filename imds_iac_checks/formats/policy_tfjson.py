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
from imds_iac_checks.formats.policy import Place, statements, worth, written
from imds_iac_checks.formats.policy_cfn import Reader, mark_holes, mark_intrinsics, payload_place
from imds_iac_checks.model import (
    Condition,
    Policy,
    ScanError,
    Statement,
    Target,
    Written,
    compact,
)

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
    """The ``aws_organizations_policy`` resources of a ``.tf.json`` file (``"resource"`` as an
    object, or a list of objects as Terraform also accepts)."""
    if not shown.lower().endswith(".tf.json") or root.kind != MAP:
        return [], [], []
    reader = Reader(shown, root, locator, FORMAT, "")
    documents = _documents(root)
    policies: list[Policy] = []
    targets: list[Target] = []
    for name_node, body in _blocks(root, "resource", "aws_organizations_policy"):
        for block in body.items if body.kind == SEQ else [body]:
            if block.kind != MAP:
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
            doc_name = _document_name(content)
            own = worth(locator.source(block).encode("utf-8", "replace"))
            if kind == declarative.POLICY_TYPE:
                read_ = _document(reader, address, content)
                whole = locator.node_span(content)
                if isinstance(read_, tuple):
                    document, place = read_
                    targets += declarative.targets(
                        document, place, address=address, path=shown, whole=span, format=FORMAT
                    )
                elif b"instance_metadata_defaults" in locator.source(root).encode().lower():
                    # content made elsewhere in the file (a local): unknown account defaults
                    targets.append(declarative.unread(address, span, whole, read_, FORMAT))
                continue
            whole = locator.node_span(content)
            found: tuple[Statement, ...]
            if doc_name and doc_name in documents:
                doc_node = documents[doc_name]
                if not worth(locator.source(doc_node).encode("utf-8", "replace")):
                    continue
                found = _document_statements(doc_name, doc_node, locator)
            else:
                if not own:
                    continue
                read_ = _document(reader, address, content)
                if isinstance(read_, str):
                    found = (Statement(whole, "", None, (), (), (), unknown=read_),)
                else:
                    document, place = read_
                    found = statements(document.get("Statement"), place, whole)
                    if not found:
                        found = (Statement(whole, "", None, (), (), (), unknown="the content"),)
            policies.append(
                Policy(address, shown, span, _WHAT[kind], FORMAT, found, kind, header=span)
            )
    return policies, targets, reader.errors


def _blocks(root: DNode, section: str, kind: str) -> list[tuple[DNode, DNode]]:
    """(name, body) of each ``section`` (``resource``, ``data``) block of type ``kind``:
    the section written as an object or as a list of objects."""
    top = root.get(section)
    out: list[tuple[DNode, DNode]] = []
    for part in (top.items if top.kind == SEQ else [top]) if top is not None else []:
        if part.kind != MAP:
            continue
        blocks = part.get(kind)
        for each in (blocks.items if blocks.kind == SEQ else [blocks]) if blocks else []:
            if each.kind == MAP:
                out += each.pairs()
    return out


def _documents(root: DNode) -> dict[str, DNode]:
    """The ``data.aws_iam_policy_document`` blocks of the file, by name."""
    out: dict[str, DNode] = {}
    for name, body in _blocks(root, "data", "aws_iam_policy_document"):
        block = body.items[0] if body.kind == SEQ and body.items else body
        if block.kind == MAP and isinstance(name.value, str):
            out.setdefault(name.value, block)
    return out


_DOC_REFERENCE = re.compile(
    r"^\$\{\s*data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.(?:minified_)?json\s*\}$"
)


def _document_name(content: DNode) -> str:
    """``"${data.aws_iam_policy_document.NAME.json}"``: NAME ("" for anything else)."""
    if content.kind != SCALAR or not isinstance(content.value, str):
        return ""
    match = _DOC_REFERENCE.match(content.value.strip())
    return match.group(1) if match else ""


def _document_statements(name: str, block: DNode, locator: Locator) -> tuple[Statement, ...]:
    """The statements of a ``data.aws_iam_policy_document`` written in JSON syntax
    (``statement`` and ``condition`` as objects or lists of objects), each value editable where
    it is written."""
    place = locator.span
    whole = locator.node_span(block)
    label = f"data.aws_iam_policy_document.{name}"
    out: list[Statement] = []
    for index, item in enumerate(_list(block.get("statement")), 1):
        if item.kind != MAP:
            continue
        at = locator.node_span(item)
        sid_node = item.get("sid")
        sid = str(sid_node.value) if sid_node is not None and sid_node.kind == SCALAR else ""
        effect_node = item.get("effect")
        not_action = item.get("actions") is None and item.get("not_actions") is not None
        not_resource = item.get("resources") is None and item.get("not_resources") is not None
        actions = item.get("not_actions" if not_action else "actions")
        resources = item.get("not_resources" if not_resource else "resources")
        conditions: list[Condition] = []
        for c in _list(item.get("condition")):
            if c.kind != MAP:
                continue
            c_at = locator.node_span(c)
            parts = {k: c.get(k) for k in ("test", "variable", "values")}
            missing = [k for k, v in parts.items() if v is None]
            test, variable, values = parts["test"], parts["variable"], parts["values"]
            conditions.append(
                Condition(
                    written(test, place, c_at) if test is not None else Written(None, c_at),
                    written(variable, place, c_at) if variable is not None else Written(None, c_at),
                    tuple(written(v, place, c_at) for v in _list(values)),
                    f"a condition without {' or '.join(missing)}" if missing else "",
                )
            )
        out.append(
            Statement(
                span=at,
                sid=sid,
                effect=written(effect_node, place, at) if effect_node is not None else None,
                actions=tuple(written(v, place, at) for v in _list(actions)),
                resources=tuple(written(v, place, at, True) for v in _list(resources)),
                conditions=tuple(conditions),
                not_action=not_action,
                not_resource=not_resource,
                default_effect="Allow",
                label=f"{label} {f'statement {sid}' if sid else f'statement {index}'}",
            )
        )
    if not out:
        return (Statement(whole, "", None, (), (), (), unknown=f"{label} (no statement read)"),)
    return tuple(out)


def _list(node: DNode | None) -> list[DNode]:
    if node is None:
        return []
    return node.items if node.kind == SEQ else [node]


def _document(reader: Reader, address: str, content: DNode) -> tuple[DNode, Place] | str:
    """The positioned document a ``content`` string holds, or why it cannot be read."""
    if content.kind != SCALAR or not isinstance(content.value, str):
        return "the content (not a string)"
    text = content.value.strip()
    if text.startswith("${") and text.endswith("}") and text.count("${") == 1:
        return f"the content {compact(text, 60)} (an interpolation)"
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
