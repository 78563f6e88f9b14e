"""eksctl cluster configuration files: ``ClusterConfig`` (``eksctl.io/v1alpha5``) node groups.

eksctl makes a launch template for each entry of ``nodeGroups`` (self-managed) and
``managedNodeGroups``, with metadata options from two booleans of the entry (eksctl's
``makeMetadataOptions``, pkg/cfn/builder/nodegroup.go):

- ``HttpTokens`` is ``required`` when ``disableIMDSv1`` or ``disablePodIMDS`` is true, else
  ``optional``;
- ``HttpPutResponseHopLimit`` is 2 (so that pods reach IMDS), 1 when ``disablePodIMDS`` is true.

``disableIMDSv1`` defaults to true since eksctl 0.143.0 (PR #6631, May 2023) and to false
before, so a node group that writes neither is no finding (the message of a finding names the
version). ``disableIMDSv1: false`` is the finding (its fix writes ``true``), unless the entry's
``disablePodIMDS: true`` requires tokens anyway. ``disablePodIMDS`` is read as a tokens setting:
it blocks pods from IMDS entirely (hop limit 1), so it is not proposed as a fix. The hop limit is
never written in the file, so IMDS003 has nothing to judge (docs/kubernetes.md).

A managed node group with ``launchTemplate: {id: ...}`` runs with that template's options
(eksctl rejects ``disableIMDSv1`` and ``disablePodIMDS`` there): the template is not in the
file, so the group gets IMDS004 naming it.
"""

from __future__ import annotations

from imds_iac_checks.formats.doc import MAP, SCALAR, SEQ, DNode
from imds_iac_checks.formats.kubernetes import Document, Duplicate, Manifests
from imds_iac_checks.model import (
    REQUIRED,
    TOKENS,
    KindSpec,
    Link,
    LinkKind,
    ScanError,
    Target,
    Value,
    compact,
    show,
)

FORMAT = "eksctl"
API = "eksctl.io/"

_NOTE = (
    "eksctl 0.143.0 and later set disableIMDSv1 to true when it is not written, which requires "
    "tokens; earlier releases left IMDSv1 allowed"
)

NODE_GROUP = KindSpec(
    "ClusterConfig.nodeGroups",
    None,
    {TOKENS: "disableIMDSv1"},
    {TOKENS: "true"},
    needs_block=False,
    token_map={"true": REQUIRED, "false": "optional"},
    block_label="node group",
    plugins=False,
    defaults={TOKENS: REQUIRED},
    default_note=_NOTE,
)
MANAGED_NODE_GROUP = NODE_GROUP._replace(kind="ClusterConfig.managedNodeGroups")

KINDS = {spec.kind: spec for spec in (NODE_GROUP, MANAGED_NODE_GROUP)}
_LISTS = (("nodeGroups", NODE_GROUP), ("managedNodeGroups", MANAGED_NODE_GROUP))


def worth(data: bytes) -> bool:
    return API.encode() in data and b"ClusterConfig" in data


def targets(path: str, data: bytes) -> tuple[list[Target], list[ScanError]]:
    read = Manifests.read(path, data, ("ClusterConfig",))
    if read is None:
        return [], []
    if isinstance(read, ScanError):
        return [], [read]
    found: list[Target] = []
    errors: list[ScanError] = []
    for doc in read.documents():
        if doc.kind != "ClusterConfig" or not (doc.api_version or "").startswith(API):
            continue
        cluster = read.name(doc.node)
        for key, spec in _LISTS:
            groups = doc.node.get(key)
            if groups is None or groups.kind != SEQ:
                continue
            for index, entry in enumerate(groups.items):
                if entry.kind != MAP:
                    continue
                try:
                    found.append(_node_group(read, doc, spec, key, cluster, index, entry))
                except Duplicate as exc:
                    errors.append(exc.error)
    return found, errors


def _node_group(
    read: Manifests,
    doc: Document,
    spec: KindSpec,
    key: str,
    cluster: str,
    index: int,
    entry: DNode,
) -> Target:
    loc = read.loc
    written = entry  # as written (a template action among its keys is read there)
    entry = read.merged(entry)  # with its merge keys (`<<: *defaults`) applied
    name_node = entry.get("name")
    if name_node is not None and name_node.kind == SCALAR and name_node.value is not None:
        name = compact(loc.source(name_node), 60) if read.overlap(name_node) else name_node.value
    else:
        name = f"[{index}]"
    name_key = entry.key_node("name")
    header = loc.node_span(name_key if name_key is not None else entry)
    settings: dict[str, tuple[Value, ...]] = {}
    template_ref: Value | None = None
    tokens = [
        value
        for _, node in read.all(entry, "disableIMDSv1", doc)
        if (value := _boolean(read, spec, "disableIMDSv1", node, doc)) is not None
    ]
    pods = [
        value
        for _, node in read.all(entry, "disablePodIMDS", doc)
        if (value := _pod_imds(read, spec, node, doc)) is not None
    ]
    if any(v.known and v.value == REQUIRED and v.condition is None for v in pods):
        # disablePodIMDS: true requires tokens whatever disableIMDSv1 says
        tokens = [v for v in pods if v.known and v.value == REQUIRED and v.condition is None]
    elif pods:
        tokens += [v for v in pods if not v.known or v.value == REQUIRED]
    if tokens:
        settings[TOKENS] = tuple(tokens)
    if spec is MANAGED_NODE_GROUP:
        template = entry.get("launchTemplate")
        if template is not None:
            template_ref = _template(read, template, doc)
            spec = spec._replace(defaults={}, default_note="")
    loose = read.loose(written, written.start, doc)
    if TOKENS not in settings and loose is not None:
        settings[TOKENS] = (read.action_value(loose, "disableIMDSv1", doc),)
    return Target(
        spec=spec,
        address=f"ClusterConfig/{cluster}/{key}/{name}",
        path=loc.path,
        span=loc.node_span(entry),
        header=header,
        block_span=loc.node_span(entry),
        settings=settings,
        format=FORMAT,
        template_ref=template_ref,
        only_when=doc.only_when,
    )


def _boolean(
    read: Manifests, spec: KindSpec, field: str, node: DNode, doc: Document
) -> Value | None:
    """A boolean field as a tokens value. A quoted ``"false"`` or ``"true"`` is a string, which
    eksctl (a ``*bool`` field) rejects: the file does not load, so the value is reported as not
    evaluable with that reason (IMDS004), never "fixed" to another string."""
    value = read.value(spec, TOKENS, node, doc)
    if value is None or not value.known or not node.quoted or not isinstance(node.value, str):
        return value
    written = compact(read.loc.source(node))
    why = (
        f"{field} is {written}, a string: eksctl reads only a boolean (true or false, unquoted) "
        "and rejects the file; write it without quotes"
    )
    return Value(
        False,
        None,
        None,
        why,
        (Link(read.loc.node_span(node), LinkKind.NOT_EVALUATED),),
        value.condition,
    )


def _pod_imds(read: Manifests, spec: KindSpec, node: DNode, doc: Document) -> Value | None:
    """``disablePodIMDS`` as a tokens value: true requires tokens (eksctl also sets hop limit
    1); false or null says nothing about them (None)."""
    value = _boolean(read, spec, "disablePodIMDS", node, doc)
    if value is None or not value.known:
        return value
    if value.value == REQUIRED:
        return value._replace(expression=f"disablePodIMDS: {value.expression}")
    return None


def _template(read: Manifests, template: DNode, doc: Document) -> Value:
    """The launch template a managed node group names: never in the file (eksctl takes an
    existing template by id)."""
    loc = read.loc
    node = template.get("id") if template.kind == MAP else None
    if node is None or node.kind != SCALAR or node.value is None or read.overlap(node):
        shown = compact(loc.source(node if node is not None else template))
        link = Link(loc.node_span(node if node is not None else template), LinkKind.EXPRESSION)
        return Value(False, None, None, shown, (link,))
    link = Link(loc.node_span(node), LinkKind.TEMPLATE_REFERENCE)
    return Value(True, f"id:{node.value}", node.value, show(str(node.value)), (link,))
