"""Kubernetes manifests: Karpenter's node classes (``EC2NodeClass``, ``AWSNodeTemplate``).

Karpenter launches the EC2 instances of a Kubernetes cluster from a launch template it makes
for each node class; the class's ``spec.metadataOptions`` (``httpEndpoint``, ``httpTokens``,
``httpPutResponseHopLimit``, ``httpProtocolIPv6``) become the template's metadata options.

What Karpenter does with a setting that is not written decides most node classes, since
Karpenter's own examples write none (docs/kubernetes.md has the sources):

- ``karpenter.k8s.aws/v1`` ``EC2NodeClass``: the CRD defaults the whole block and each field:
  tokens required, hop limit 1, endpoint enabled.
- ``karpenter.k8s.aws/v1beta1`` ``EC2NodeClass``: the same for tokens; the hop limit defaults to
  2 when the block is written without it (1 or 2 when the block is omitted, by release).
- ``karpenter.k8s.aws/v1alpha1`` ``AWSNodeTemplate``: an omitted block gives tokens required and
  hop limit 2, but a block written without ``httpTokens`` leaves AWS's default: optional.

So only explicit weakening is a finding: ``httpTokens: optional``, a hop limit written above the
threshold, an ``AWSNodeTemplate`` block without ``httpTokens``.

Files are read as plain manifests, multi-document streams (``---``; a ``kind: List``'s items
too) and Helm chart templates: Go template actions are blanked (:mod:`.gotemplate`), a value
written as an action is unknown (IMDS004), and a document or value under ``{{ if }}`` is judged
with the condition it exists under (a key written only in some branches is also "not set" under
the others). ``${...}``/``%{...}`` placeholders (Terraform ``templatefile()``, envsubst) are
unknown too; YAML merge keys (``<<: *anchor``) are applied as go-yaml applies them.
:mod:`.eksctl` reads eksctl's ``ClusterConfig`` the same way.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping
from typing import NamedTuple

from imds_iac_checks.formats import gotemplate
from imds_iac_checks.formats.doc import (
    MAP,
    SCALAR,
    SEQ,
    DNode,
    DocError,
    Locator,
    decode,
    parse_yaml,
)
from imds_iac_checks.formats.structured import literal_value, unknown_value
from imds_iac_checks.model import (
    ENDPOINT,
    HOP_LIMIT,
    REQUIRED,
    TOKENS,
    KindSpec,
    Link,
    LinkKind,
    ScanError,
    Span,
    Target,
    Value,
    compact,
)

FORMAT = "kubernetes"

# A placeholder that a tool fills in before the file is applied: Terraform's templatefile()
# (``${var}``, ``%{ if }``) and envsubst (``${VAR}``).
_PLACEHOLDER = re.compile(r"[$%]\{")
# How deep merge keys are followed (``<<: *a`` where ``a`` merges ``b``...).
_MAX_MERGE_DEPTH = 16
GROUP = "karpenter.k8s.aws"

_FIELDS = {ENDPOINT: "httpEndpoint", TOKENS: "httpTokens", HOP_LIMIT: "httpPutResponseHopLimit"}
_SUGGEST = {ENDPOINT: '"enabled"', TOKENS: '"required"', HOP_LIMIT: "{hop_limit}"}

EC2_NODE_CLASS = KindSpec(
    "EC2NodeClass",
    "metadataOptions",
    _FIELDS,
    _SUGGEST,
    block_label="metadataOptions",
    plugins=False,
    defaults={ENDPOINT: "enabled", TOKENS: REQUIRED, HOP_LIMIT: 1},
    default_note=(
        "Karpenter's karpenter.k8s.aws/v1 EC2NodeClass requires tokens, with hop limit 1, "
        "when metadataOptions or a field of it is not written"
    ),
)
EC2_NODE_CLASS_V1BETA1 = EC2_NODE_CLASS._replace(
    defaults={ENDPOINT: "enabled", TOKENS: REQUIRED},
    block_defaults={ENDPOINT: "enabled", TOKENS: REQUIRED, HOP_LIMIT: 2},
    default_note=(
        "Karpenter's karpenter.k8s.aws/v1beta1 EC2NodeClass requires tokens when "
        "metadataOptions or httpTokens is not written (hop limit 2 when the block is written "
        "without it)"
    ),
)
AWS_NODE_TEMPLATE = KindSpec(
    "AWSNodeTemplate",
    "metadataOptions",
    _FIELDS,
    _SUGGEST,
    block_label="metadataOptions",
    plugins=False,
    defaults={ENDPOINT: "enabled", TOKENS: REQUIRED, HOP_LIMIT: 2},
    block_defaults={},
    default_note=(
        "Karpenter's karpenter.k8s.aws/v1alpha1 AWSNodeTemplate requires tokens only when "
        "metadataOptions is omitted; a metadataOptions block without httpTokens leaves them "
        "optional"
    ),
)

# The kinds this module reads, by name (the rule catalog's applies_to names them).
KINDS = {spec.kind: spec for spec in (EC2_NODE_CLASS, AWS_NODE_TEMPLATE)}


def worth(data: bytes) -> bool:
    """Only files naming one of Karpenter's node class kinds and its API group (or a Go template
    action, which may write the group: ``apiVersion: {{ .Values.apiVersion }}``) are parsed."""
    return (b"EC2NodeClass" in data or b"AWSNodeTemplate" in data) and (
        GROUP.encode() in data or b"{{" in data
    )


def targets(path: str, data: bytes) -> tuple[list[Target], list[ScanError]]:
    read = Manifests.read(path, data, tuple(KINDS))
    if read is None:
        return [], []
    if isinstance(read, ScanError):
        return [], [read]
    found: list[Target] = []
    errors: list[ScanError] = []
    for doc in read.documents():
        spec = _spec(doc.api_version, doc.kind, read.templated(doc.node.get("apiVersion")))
        if spec is None:
            continue
        try:
            found.append(_node_class(read, doc, spec))
        except Duplicate as exc:
            errors.append(exc.error)
    return found, errors


def _spec(api_version: str | None, kind: str | None, templated: bool) -> KindSpec | None:
    """The kind of a document; an ``apiVersion`` written as a template action is taken as
    Karpenter's (v1 and v1beta1 default the same tokens: required)."""
    if templated:
        api_version = f"{GROUP}/v1"
    if api_version is None or not api_version.startswith(GROUP + "/"):
        return None
    version = api_version[len(GROUP) + 1 :]
    if kind == "EC2NodeClass":
        return EC2_NODE_CLASS_V1BETA1 if version == "v1beta1" else EC2_NODE_CLASS
    if kind == "AWSNodeTemplate":
        return AWS_NODE_TEMPLATE
    return None


def _node_class(read: Manifests, doc: Document, spec: KindSpec) -> Target:
    root = read.merged(doc.node)
    address = f"{spec.kind}/{read.name(root)}"
    loc = read.loc
    body = root.get("spec")
    body_key = root.key_node("spec")
    header = loc.node_span(body_key) if body_key is not None else read.kind_span(root)
    settings: dict[str, tuple[Value, ...]] = {}
    block_span: Span | None = None
    block_key: Span | None = None
    unknown_block: Value | None = None
    if body is not None and body.kind == MAP:
        blocks = read.all(read.merged(body), spec.block or "", doc)
        if blocks:
            block_key = loc.node_span(blocks[0][0])
            for key, block in blocks:
                inserted = read.inserted_after(key.end)
                if inserted is not None and _null(block):
                    unknown_block = read.action_value(inserted, spec.block or "", doc)
                    block_span = loc.node_span(key)
                elif block.kind == MAP:
                    block_span = block_span or loc.node_span(block)
                    block_defaults = (
                        spec.block_defaults if spec.block_defaults is not None else spec.defaults
                    )
                    written = read.settings(spec, block, doc, key.end, block_defaults)
                    for setting, values in written.items():
                        settings[setting] = settings.get(setting, ()) + values
                elif not _null(block):  # a template action, or not a mapping at all
                    unknown_block = read.unknown(block, doc)
                    block_span = loc.node_span(block)
        else:
            loose = read.loose(body, body_key.end if body_key is not None else body.start, doc)
            body = read.merged(body)
            if loose is not None:
                unknown_block = read.action_value(loose, spec.block or "", doc)
                block_span = loc.span(loose.start, loose.end)
    elif body is not None and not _null(body):
        # `spec: {{ toYaml .Values.spec }}` or another non-mapping: nothing literal to read
        unknown_block = read.unknown(body, doc)
        block_span = loc.node_span(body)
    elif body_key is not None:
        inserted = read.inserted_after(body_key.end)
        if inserted is not None:
            unknown_block = read.action_value(inserted, spec.block or "", doc)
            block_span = loc.span(inserted.start, inserted.end)
    return Target(
        spec=spec,
        address=address,
        path=loc.path,
        span=loc.node_span(root),
        header=header,
        block_span=block_span,
        settings=settings,
        format=FORMAT,
        unknown_block=unknown_block,
        block_key=block_key,
        only_when=doc.only_when,
    )


def _null(node: DNode) -> bool:
    return node.kind == SCALAR and node.value is None and not node.quoted


# --- reading manifests (shared with formats/eksctl.py) -----------------------------------------


class Duplicate(Exception):
    """A key written twice in a mapping read, outside different branches of a template
    conditional: which one counts is not clear (kubectl and eksctl reject such files)."""

    def __init__(self, error: ScanError) -> None:
        super().__init__(error.message)
        self.error = error


class Document(NamedTuple):
    """One YAML document (or one item of a ``kind: List``) that is a Kubernetes object."""

    node: DNode
    api_version: str | None
    kind: str | None
    # The text that belongs to the object: from its start to the next document's.
    end: int
    only_when: str | None


class Manifests:
    """A YAML file read as Kubernetes manifests, Helm's Go template actions blanked."""

    def __init__(
        self, loc: Locator, roots: list[DNode], actions: list[gotemplate.Action], blanked: str
    ):
        self.loc = loc
        self.blanked = blanked  # the text as parsed (template actions blanked)
        self.roots = roots
        self.actions = actions
        self.starts = [action.start for action in actions]
        self.scopes = gotemplate.Scopes(actions)

    @classmethod
    def read(cls, path: str, data: bytes, kinds: tuple[str, ...]) -> Manifests | ScanError | None:
        """The file's manifests, or the error that stops reading it: an error only when a
        document of the file declares one of ``kinds`` at its top level (``kind: EC2NodeClass``
        at the start of a line; a NodePool that merely refers to the kind is no concern of
        ours), else None."""
        try:
            text = decode(data)
        except DocError as exc:
            prefix = Locator(path, data.decode("utf-8", "replace")[: exc.offset])
            line, column, _ = prefix.position(exc.offset)
            return ScanError(path, line, column, f"cannot read: {exc.message}")
        actions = gotemplate.actions(text) if "{{" in text else []
        loc = Locator(path, text)
        blanked = gotemplate.blank(text, actions)
        try:
            roots = parse_yaml(blanked)
        except DocError as exc:
            names = "|".join(re.escape(kind) for kind in kinds)
            if not re.search(rf"(?m)^(?:- )?kind:[ \t]*[\"']?(?:{names})\b", text):
                return None
            line, column, _ = loc.position(min(exc.offset, len(text)))
            what = "invalid YAML (Go template actions blanked)" if actions else "invalid YAML"
            return ScanError(path, line, column, f"{what}: {exc.message}")
        return cls(loc, roots, actions, blanked)

    # --- documents ----------------------------------------------------------------------------

    def documents(self) -> Iterator[Document]:
        size = len(self.loc.text)
        for index, root in enumerate(self.roots):
            end = self.roots[index + 1].start if index + 1 < len(self.roots) else size
            if root.kind != MAP:
                continue
            kind = _text(root.get("kind"))
            if kind == "List" and root.get("items") is not None:
                items = root.get("items")
                assert items is not None
                for item in items.items if items.kind == SEQ else []:
                    if item.kind == MAP:
                        yield self._document(item, item.end)
                continue
            yield self._document(root, end)

    def _document(self, node: DNode, end: int) -> Document:
        only_when = self.scopes.describe(self.scopes.at(node.start))
        return Document(
            node, _text(node.get("apiVersion")), _text(node.get("kind")), end, only_when
        )

    def name(self, root: DNode) -> str:
        """``metadata.name`` as written (a template action shows as written)."""
        metadata = root.get("metadata")
        node = metadata.get("name") if metadata is not None else None
        if node is None or node.kind != SCALAR or node.value is None:
            return "(no name)"
        if self.overlap(node) is not None:
            return compact(self.loc.source(node), 60)
        return str(node.value)

    def kind_span(self, root: DNode) -> Span:
        node = root.key_node("kind")
        return self.loc.node_span(node if node is not None else root)

    # --- values -------------------------------------------------------------------------------

    def all(self, mapping: DNode, key: str, doc: Document) -> list[tuple[DNode, DNode]]:
        """Every (key, value) pair of ``mapping`` named ``key``: one, or one per branch of a
        template conditional (``{{ if }} httpTokens: required {{ else }} ...``). Raises
        :class:`Duplicate` for a key written twice in the same branch."""
        pairs = [(k, v) for k, v in mapping.items if k.kind == SCALAR and k.value == key]
        if len(pairs) > 1:
            seen: set[int] = set()
            for k, _ in pairs:
                where = id(self.scopes.at(k.start))  # the branch it is written in
                if where in seen:
                    line, column, _ = self.loc.position(k.start)
                    message = f"duplicate key {key!r} (which one counts is not clear)"
                    raise Duplicate(ScanError(self.loc.path, line, column, message))
                seen.add(where)
        return pairs

    def settings(
        self,
        spec: KindSpec,
        block: DNode,
        doc: Document,
        after: int,
        defaults: Mapping[str, object],
    ) -> dict[str, tuple[Value, ...]]:
        """The settings written in ``block`` (values of template actions unknown). A template
        action at the block's own level (``{{- toYaml .Values.imds | nindent 4 }}``) may write
        any field the block does not write literally: those fields are unknown. A field written
        only under template conditions that may all fail (``{{ if .Values.strict }}`` without
        ``{{ else }}``) is also "not set" under the other condition, when ``defaults`` (what the
        tool does with a field not written) has nothing for it. ``after``: where the block's own
        text begins (its key's end)."""
        settings: dict[str, tuple[Value, ...]] = {}
        loose = self.loose(block, after, doc)
        block = self.merged(block)
        for key, field in spec.fields.items():
            values = []
            keys = []
            for name, node in self.all(block, field, doc):
                value = self.value(spec, key, node, doc)
                if value is not None:
                    values.append(value)
                    keys.append(name)
            if values and defaults.get(key) is None:
                missing = self.not_written(field, keys, after, doc)
                if missing is not None:
                    values.append(missing)
            if not values and loose is not None:
                values.append(self.action_value(loose, field, doc))
            if values:
                settings[key] = tuple(values)
        return settings

    def not_written(self, field: str, keys: list[DNode], after: int, doc: Document) -> Value | None:
        """ "Not set" under the conditions where none of ``keys`` (a field's keys, written in
        branches of template conditionals) is rendered but the mapping they belong to is (its
        own text begins at ``after``); None when one of them is always rendered. It points at
        the action that opens the first branch; no fix writes it (writing the field next to the
        branch would write it twice when the branch is rendered)."""
        if not self.actions or not keys:
            return None
        outside = self.scopes.at(after)
        written = [self.scopes.at(key.start) for key in keys]
        if self.scopes.always(written, outside):
            return None
        negated = self.scopes.negate(written, outside)
        if not negated:
            return None
        holds = self.scopes.describe(outside, self.scopes.at(doc.node.start))
        condition = f"{holds} and {negated}" if holds else negated
        branch = written[0]
        while branch is not None and branch.parent is not outside:
            branch = branch.parent
        at = branch.group if branch is not None and branch.group >= 0 else keys[0].start
        index = bisect_left(self.starts, at)
        opener = self.actions[index] if index < len(self.starts) else None
        node = (
            DNode(SCALAR, opener.start, opener.end)
            if opener is not None and opener.start == at
            else keys[0]
        )
        why = (
            f"{field} is written only in some branches of the template's conditionals: write it "
            "where it is always rendered (outside the conditional, or in each branch and an "
            "{{ else }}) by hand; a fix that added it next to a branch would write the key twice "
            "when that branch is rendered"
        )
        link = Link(self.loc.node_span(node), LinkKind.NOT_WRITTEN, why)
        return Value(True, None, None, compact(self.loc.source(node)), (link,), condition)

    def merged(self, mapping: DNode) -> DNode:
        """``mapping`` with its YAML merge keys applied as go-yaml (which kubectl, Helm and
        eksctl read YAML with) applies them: ``<<: *anchor`` (or ``<<: [*a, *b]``, the first
        one that has a key winning) adds the anchored mapping's keys that ``mapping`` does not
        write itself. The merged keys are the anchor's own nodes, so their values point at the
        anchor's definition (where a person edits; a fix there is unsafe: other mappings merge
        it too). ``mapping`` itself when it has no merge key."""
        if mapping.kind != MAP or not any(
            k.kind == SCALAR and k.value == "<<" and not k.quoted for k, _ in mapping.items
        ):
            return mapping
        items: list[tuple[DNode, DNode]] = []
        seen: set[object] = set()
        self._merge_into(mapping, items, seen, 0)
        merged = DNode(MAP, mapping.start, mapping.end, items=items, tag=mapping.tag)
        return merged

    def _merge_into(
        self, mapping: DNode, items: list[tuple[DNode, DNode]], seen: set[object], depth: int
    ) -> None:
        if depth > _MAX_MERGE_DEPTH or id(mapping) in seen:
            return
        seen.add(id(mapping))
        sources: list[DNode] = []
        for key, value in mapping.items:
            if key.kind == SCALAR and key.value == "<<" and not key.quoted:
                sources.extend(value.items if value.kind == SEQ else [value])
                continue
            if not any(k.value == key.value and k.kind == key.kind for k, _ in items):
                items.append((key, value))
        for source in sources:  # after the mapping's own keys: those win
            if source.kind == MAP:
                self._merge_into(source, items, seen, depth + 1)

    def value(self, spec: KindSpec, key: str, node: DNode, doc: Document) -> Value | None:
        """The Value written at ``node``: a literal, or unknown (a template action, a mapping, a
        tag, a Terraform ``templatefile()`` or envsubst placeholder such as ``${http_tokens}``
        or ``%{ if ... }``, or a null followed by a template action that writes the value)."""
        when = self._condition(node, doc)
        action = self.overlap(node)
        if action is not None and action.end > node.end:  # an action that runs on past the value
            node = DNode(SCALAR, node.start, action.end)
        if (
            action is not None
            or node.kind != SCALAR
            or node.tag is not None
            or (isinstance(node.value, str) and _PLACEHOLDER.search(node.value) is not None)
        ):
            return unknown_value(self.loc, node, condition=when)
        if node.value is None and not node.quoted:
            return None
        return literal_value(self.loc, spec, key, node, condition=when)

    def unknown(self, node: DNode, doc: Document) -> Value:
        """An unknown Value for what ``node`` writes (an options block written as a template
        action, or as something other than a mapping)."""
        return unknown_value(self.loc, node, condition=self._condition(node, doc))

    def action_value(self, action: gotemplate.Action, what: str, doc: Document) -> Value:
        """An unknown Value for what a template action may write (``what``: the field or block
        it may set)."""
        node = DNode(SCALAR, action.start, action.end)
        text = compact(self.loc.source(node))
        return Value(
            False,
            None,
            None,
            f"{what} may be written by the template action {text}, which could not be "
            "evaluated statically",
            (self._link(node),),
            self._condition(node, doc),
        )

    def _link(self, node: DNode) -> Link:
        return Link(self.loc.node_span(node), LinkKind.NOT_EVALUATED)

    def _condition(self, node: DNode, doc: Document) -> str | None:
        """The template conditions ``node`` is under that its document is not."""
        if not self.actions:
            return None
        return self.scopes.describe(self.scopes.at(node.start), self.scopes.at(doc.node.start))

    def templated(self, node: DNode | None) -> bool:
        """Whether ``node`` is written by a template action (``{{ .Values.apiVersion }}``)."""
        return node is not None and self.overlap(node) is not None

    def overlap(self, node: DNode) -> gotemplate.Action | None:
        if not self.actions:
            return None
        return gotemplate.overlapping(self.actions, self.starts, node.start, node.end)

    # --- template actions that write YAML -----------------------------------------------------

    def inserted_after(self, offset: int) -> gotemplate.Action | None:
        """The action that writes the value of a key ending at ``offset`` written without one
        (``metadataOptions:`` followed by ``{{- toYaml ... | nindent 4 }}``): the first action
        that writes output with nothing but blanks and silent actions before it."""
        text = self.loc.text
        at = offset
        for index in range(bisect_left(self.starts, offset), len(self.actions)):
            action = self.actions[index]
            if text[at : action.start].strip(" \t\r\n:"):
                return None
            if not action.silent:
                return action
            at = action.end
        return None

    def loose(self, mapping: DNode, after: int, doc: Document) -> gotemplate.Action | None:
        """An action that writes output at ``mapping``'s own level (``{{- toYaml .Values.x |
        nindent 2 }}`` among its keys), which may write any key: not one inside a nested
        collection, nor one that writes the value of a key written without one. ``after``: where
        the mapping's text begins (its key's end)."""
        if not self.actions:
            return None
        end = self._territory_end(mapping, doc)
        # the nested collections, in order (they do not overlap): an action inside one is theirs
        nested = sorted((v.start, v.end) for _, v in mapping.items if v.kind in (MAP, SEQ))
        nested_starts = [start for start, _ in nested]
        claimed = set()
        for key, value in mapping.items:
            if _null(value):
                found = self.inserted_after(key.end)
                if found is not None:
                    claimed.add(found.start)
        for index in range(bisect_left(self.starts, after), bisect_left(self.starts, end)):
            action = self.actions[index]
            if action.silent or not action.alone:
                continue
            inside = bisect_right(nested_starts, action.start) - 1
            if action.start in claimed or (inside >= 0 and action.start < nested[inside][1]):
                continue
            return action
        return None

    def _territory_end(self, mapping: DNode, doc: Document) -> int:
        """Where the text that may still belong to ``mapping`` ends: the start of the item that
        follows it in the collection that holds it (or of the item that follows that one's, and
        so on up), or the document's end."""
        path = _path_to(doc.node, mapping)
        for parent, index in reversed(path):
            items = parent.items
            if index + 1 < len(items):
                following = items[index + 1]
                return int((following[0] if parent.kind == MAP else following).start)
        return doc.end


def _path_to(root: DNode, target: DNode) -> list[tuple[DNode, int]]:
    """The (collection, index) steps from ``root`` down to ``target`` ([] when ``target`` is
    ``root`` or is not found)."""
    stack: list[tuple[DNode, list[tuple[DNode, int]]]] = [(root, [])]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.kind == MAP:
            for i, (_, value) in enumerate(node.items):
                stack.append((value, [*path, (node, i)]))
        elif node.kind == SEQ:
            for i, value in enumerate(node.items):
                stack.append((value, [*path, (node, i)]))
    return []


def _text(node: DNode | None) -> str | None:
    if node is None or node.kind != SCALAR or node.value is None:
        return None
    return str(node.value)
