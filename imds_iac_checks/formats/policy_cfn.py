"""Guardrail policies in CloudFormation templates: ``AWS::Organizations::Policy`` and the IAM
policies, read into :class:`~imds_iac_checks.model.Policy` (and an EC2 declarative policy into
its account-defaults target).

Where a template writes a policy document:

- ``AWS::Organizations::Policy`` ``Properties.Content`` (``Type`` ``SERVICE_CONTROL_POLICY``,
  ``RESOURCE_CONTROL_POLICY``): a mapping (YAML or JSON; CloudFormation converts it to JSON) or
  a JSON string (a JSON template's escaped string, a YAML block scalar ``|``, ``!Sub``). Type
  ``DECLARATIVE_POLICY_EC2`` is an EC2 declarative policy: its
  ``ec2_attributes.instance_metadata_defaults`` are account defaults
  (:func:`imds_iac_checks.formats.declarative.targets`). Other types (tag, backup, AI opt-out
  policies) hold no IAM statements and are not read.
- org-formation's ``organization.yml``: ``OC::ORG::ServiceControlPolicy`` and ``OC::ORG::Policy``
  (``PolicyType``) ``PolicyDocument``, under ``Organization``.
- ``AWS::IAM::ManagedPolicy``, ``AWS::IAM::Policy`` and ``AWS::IAM::RolePolicy`` /
  ``UserPolicy`` / ``GroupPolicy`` ``PolicyDocument``; ``AWS::IAM::Role`` / ``User`` / ``Group``
  inline ``Policies[].PolicyDocument`` (a permissions boundary or a role's own deny is a guardrail
  too, for the principals it is attached to).

Only a document whose text names a guardrail's marker (see
:data:`imds_iac_checks.formats.policy.MARKERS`) is read: a template with fifty roles yields the
one policy that guards IMDS. A document held in a string is read through a
:class:`~imds_iac_checks.model.Payload` whose pieces are the runs written as is, so statements,
values and edits land in the file; ``${...}`` of an ``Fn::Sub`` is a hole, and a value written
around one is an expression (its value unknown). An intrinsic written in a mapping (``!Sub``,
``{"Fn::Sub": ...}``, ``!Ref``) is an expression too. A template that ``cdk synth`` wrote (in a
``cdk.out`` directory) is recorded: its policies are never edited (``Policy.no_fix``).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from itertools import pairwise

from imds_iac_checks.formats import declarative, policy
from imds_iac_checks.formats.doc import MAP, SCALAR, SEQ, DNode, DocError, Locator, parse_json
from imds_iac_checks.formats.policy import Place, statements, worth
from imds_iac_checks.formats.structured import Part, hole, make_payload, parts_of, scalar_runs
from imds_iac_checks.model import Payload, Policy, ScanError, Span, Target, Value

FORMAT = "cloudformation"
# org-formation (OrganizationFormation): an organization.yml declares the organization's
# policies under ``Organization`` as ``OC::ORG::ServiceControlPolicy`` / ``OC::ORG::Policy``
# with a ``PolicyDocument``.
ORG_FORMATION = "org-formation"

ORGANIZATIONS_POLICY = "AWS::Organizations::Policy"

# What an Organizations policy of each type that holds IAM statements is, as findings name it.
_ORGANIZATIONS_WHAT = {
    "SERVICE_CONTROL_POLICY": "service control policy",
    "RESOURCE_CONTROL_POLICY": "resource control policy",
}

# IAM resources whose ``PolicyDocument`` is a policy, and what each is called.
_IAM_DOCUMENTS = {
    "AWS::IAM::ManagedPolicy": "IAM managed policy",
    "AWS::IAM::Policy": "IAM policy",
    "AWS::IAM::RolePolicy": "IAM role policy",
    "AWS::IAM::UserPolicy": "IAM user policy",
    "AWS::IAM::GroupPolicy": "IAM group policy",
}
# IAM resources with inline ``Policies`` (each ``{PolicyName, PolicyDocument}``).
_IAM_INLINE = {
    "AWS::IAM::Role": "inline policy of a role",
    "AWS::IAM::User": "inline policy of a user",
    "AWS::IAM::Group": "inline policy of a group",
}

_NO_FIX = (
    "cdk synth wrote this template: change the policy in the CDK app's source and synthesize again"
)

# ``${Name}`` of an ``Fn::Sub`` string (and ``${!Name}``, which writes ``${Name}``): what is
# written there is not the text deployed, so it is a hole.
_SUB_VARIABLE = re.compile(r"\$\{[^}]*\}")


def read(
    shown: str, root: DNode, locator: Locator
) -> tuple[list[Policy], list[Target], list[ScanError]]:
    """The policies (and declarative policies' account defaults) of a CloudFormation template
    (a reader of :data:`imds_iac_checks.formats.policy._DATA_READERS`)."""
    from imds_iac_checks.formats import cloudformation

    if root.kind != MAP:
        return [], [], []
    resources: DNode | None = None
    organization = root.get("Organization")
    if organization is not None and organization.kind == MAP:
        # org-formation's organization.yml: its resources are under Organization
        resources, what = organization, ORG_FORMATION
    elif cloudformation.is_template(root):
        resources, what = root.get("Resources"), FORMAT
    else:
        return [], [], []
    if resources is None or resources.kind != MAP:
        return [], [], []
    no_fix = _NO_FIX if cloudformation.synthesized(shown) else ""
    reader = Reader(shown, root, locator, what, no_fix)
    for key_node, resource in resources.pairs():
        if resource.kind == MAP and worth(locator.source(resource).encode("utf-8", "replace")):
            reader.resource(key_node, resource)
    return reader.policies, reader.targets, reader.errors


class Reader:
    """Reads the policy documents of one file (a template, an AWS CLI document) into
    ``policies``, ``targets`` (declarative policies' account defaults) and ``errors``.
    ``no_fix``: why nothing read may be edited ("" = editable)."""

    def __init__(self, shown: str, root: DNode, loc: Locator, format: str, no_fix: str) -> None:
        self.shown = shown
        self.format = format
        self.no_fix = no_fix
        self.recorded = bool(no_fix)
        self.root = root
        self.loc = loc
        self.json = loc.text.lstrip("\ufeff \t\r\n").startswith("{")
        self.policies: list[Policy] = []
        self.targets: list[Target] = []
        self.errors: list[ScanError] = []
        self.resource_node: DNode | None = None

    def resource(self, key_node: DNode, resource: DNode) -> None:
        type_node = resource.get("Type")
        kind = type_node.value if type_node is not None else None
        props = resource.get("Properties")
        if not isinstance(kind, str) or props is None or props.kind != MAP:
            return
        logical = str(key_node.value)
        span = self.loc.span(key_node.start, resource.end)
        self.resource_node = resource  # its Metadata suppresses the findings of its policies
        if kind == ORGANIZATIONS_POLICY:
            self.organizations(logical, resource, span, props, "Content", "Type")
        elif kind == "OC::ORG::Policy":
            self.organizations(logical, resource, span, props, "PolicyDocument", "PolicyType")
        elif kind == "OC::ORG::ServiceControlPolicy":
            document = props.get("PolicyDocument")
            if document is not None:
                what = _ORGANIZATIONS_WHAT["SERVICE_CONTROL_POLICY"]
                self.document(logical, span, document, what, "SERVICE_CONTROL_POLICY")
        elif kind in _IAM_DOCUMENTS:
            document = props.get("PolicyDocument")
            if document is not None:
                self.document(logical, span, document, _IAM_DOCUMENTS[kind], "")
        elif kind in _IAM_INLINE:
            inline = props.get("Policies")
            for item in inline.items if inline is not None and inline.kind == SEQ else []:
                document = item.get("PolicyDocument") if item.kind == MAP else None
                if document is None:
                    continue
                name = item.get("PolicyName")
                named = name is not None and name.kind == SCALAR and name.tag is None
                address = f"{logical} policy {name.value}" if named and name else logical
                self.document(address, span, document, _IAM_INLINE[kind], "")

    def organizations(
        self,
        logical: str,
        resource: DNode,
        span: Span,
        props: DNode,
        content_key: str,
        type_key: str,
    ) -> None:
        content = props.get(content_key)
        if content is None:
            return
        type_node = props.get(type_key)
        policy_type = (
            str(type_node.value)
            if type_node is not None and type_node.kind == SCALAR and type_node.tag is None
            else ""
        )
        self.typed(logical, resource, span, content, policy_type)

    def typed(
        self, address: str, resource: DNode, span: Span, content: DNode, policy_type: str
    ) -> None:
        """An Organizations policy of ``policy_type`` ("" when it is an expression) whose
        document is ``content``, written in ``resource`` (at ``span``)."""
        if policy_type == declarative.POLICY_TYPE:
            self.declarative(address, resource, content)
        elif policy_type in _ORGANIZATIONS_WHAT:
            self.document(address, span, content, _ORGANIZATIONS_WHAT[policy_type], policy_type)
        elif not policy_type:  # a Type that is an expression: read as the SCP it most likely is
            self.document(address, span, content, "Organizations policy", "")

    # --- documents --------------------------------------------------------------------------

    def document(self, address: str, span: Span, node: DNode, what: str, policy_type: str) -> None:
        """One policy document (``node``: a mapping, or a JSON string) as a Policy, when its
        text names a guardrail's marker (a role's other inline policies are none of ours). A
        document written with an expression (``!Ref`` to a parameter) cannot be read: the
        resource names a marker, so it is reported as not judged."""
        readable = _intrinsic(node) is None or _intrinsic(node)[0] == "Sub"  # type: ignore[index]
        if readable and not worth(self.loc.source(node).encode("utf-8", "replace")):
            return
        read = self.positioned(address, node)
        if read is None:
            return
        document, place = read
        whole = self.loc.node_span(node)
        if document.kind != MAP:
            self.error(node, f"{address}: the policy document is not a JSON object: not judged")
            return
        found = statements(document.get("Statement"), place, whole)
        suppress: tuple[tuple[str, str, Span | None], ...] = ()
        if self.resource_node is not None:
            from imds_iac_checks.formats.cloudformation import resource_suppressions

            suppress = resource_suppressions(self.loc, self.resource_node)
        self.policies.append(
            Policy(
                address,
                self.shown,
                span,
                what,
                self.format,
                found,
                policy_type,
                self.no_fix,
                suppress=suppress,
            )
        )

    def declarative(self, logical: str, resource: DNode, content: DNode) -> None:
        read = self.positioned(logical, content)
        if read is None:
            return
        document, place = read
        resolve: declarative.Resolve | None = None
        if document is content:  # a mapping in the template: its Refs can be followed
            from imds_iac_checks.formats import cloudformation

            template = cloudformation.Template(self.loc, self.root)

            def resolve_value(node: DNode, key: str) -> list[Value]:
                return template.resolve(declarative.SPEC, key, node)

            resolve = resolve_value
        from imds_iac_checks.formats.cloudformation import resource_suppressions

        for target in declarative.targets(
            document,
            place,
            address=logical,
            path=self.shown,
            whole=self.loc.node_span(resource),
            format=self.format,
            resolve=resolve,
        ):
            self.targets.append(
                target._replace(
                    suppress=resource_suppressions(self.loc, resource),
                    recorded_state=self.recorded,
                )
            )

    def positioned(self, address: str, node: DNode) -> tuple[DNode, Place] | None:
        """The document ``node`` holds, positioned, with what maps its offsets to the file: a
        mapping as it stands; a JSON string (or ``Fn::Sub`` of one) parsed from its payload.
        None (and an error, when the text names a guardrail's marker) when it cannot be read."""
        intrinsic = _intrinsic(node)
        if node.kind == MAP and intrinsic is None:
            mark_intrinsics(node)
            return node, self.loc.span
        if node.kind == SCALAR and node.tag is None and isinstance(node.value, str):
            payload = self.payload(node, False, address)
        elif intrinsic is not None and intrinsic[0] == "Sub":
            string = intrinsic[1]
            if string.kind == SEQ and string.items:
                string = string.items[0]
            if string.kind != SCALAR or not isinstance(string.value, str):
                self.unread(node, address, "Fn::Sub of something other than a string")
                return None
            payload = self.payload(string, True, address)
        else:
            name = intrinsic[0] if intrinsic is not None else "an expression"
            self.unread(node, address, f"it is written with {name}")
            return None
        if payload is None:
            self.unread(node, address, "its text could not be followed in the file")
            return None
        try:
            document = parse_json(payload.text)
        except DocError as exc:
            self.unread(node, address, f"it is not JSON ({exc.message})")
            return None
        if intrinsic is not None:  # Fn::Sub: what ${...} substitutes is known at deploy time
            holes = [(m.start(), m.end()) for m in _SUB_VARIABLE.finditer(payload.text)]
            mark_holes(document, holes)
        mark_intrinsics(document)
        return document, payload_place(payload)

    def payload(self, node: DNode, sub: bool, address: str) -> Payload | None:
        """A string scalar's text and where each run of it is written; in an ``Fn::Sub``
        string, ``${...}`` is a hole (its text kept, so the JSON around it still parses)."""
        found = scalar_runs(self.loc.text, node, self.json)
        if found is None:
            return None
        parts = parts_of(*found)
        if sub:
            parts = _sub_holes(parts)
        span = self.loc.node_span(node)
        return make_payload(self.loc, parts, span, address, what="policy document")

    def unread(self, node: DNode, address: str, why: str) -> None:
        self.error(node, f"{address}: the policy document is not read ({why}): not judged")

    def error(self, node: DNode, message: str) -> None:
        line, column, _ = self.loc.position(node.start)
        self.errors.append(ScanError(self.shown, line, column, message))


def payload_place(payload: Payload) -> Place:
    """Where a run of a document held in a string is written: from where its first character
    is written to where its last ends, when the pieces it covers follow each other with no hole
    between (a ``${...}`` of ``Fn::Sub``, a folded line break) and its ends fall on characters
    written as is or on the ends of an escape. A run inside one piece written as is maps
    exactly; a run over several (a statement over the lines of a block scalar, a string whose
    quotes are the escapes ``\\"``) maps to the bytes that write exactly that text, so a value
    they hold is replaced by writing plain text over them. A run costs a binary search and the
    length of the piece it ends in: the statements of a large policy held in one string are
    placed in linear time."""
    pieces = payload.pieces
    starts = [piece.start for piece in pieces]
    # holes[k]: how many holes lie between pieces[0] and pieces[k]
    holes = [0]
    for before, after in pairwise(pieces):
        holes.append(holes[-1] + (before.end != after.start))
    verbatim: dict[int, bool] = {}

    def edge(index: int, at: int) -> tuple[int, int, int] | None:
        """(byte, line, column) where offset ``at`` of piece ``index`` is written."""
        piece = pieces[index]
        span = piece.span
        if at == piece.start:
            return span.start_byte, span.line, span.column
        if at == piece.end:
            return span.end_byte, span.end_line, span.end_column
        as_is = verbatim.get(index)
        if as_is is None:
            text = payload.text[piece.start : piece.end]
            size = len(text.encode("utf-8", "surrogatepass"))
            as_is = verbatim[index] = span.end_byte - span.start_byte == size
        if not as_is:
            return None  # inside an escape
        between = payload.text[piece.start : at]
        byte = span.start_byte + len(between.encode("utf-8", "surrogatepass"))
        newlines = between.count("\n")
        if not newlines:
            return byte, span.line, span.column + len(between)
        return byte, span.line + newlines, len(between) - between.rfind("\n")

    def place(start: int, end: int) -> Span | None:
        if end < start or not pieces:
            return None
        first = bisect_right(starts, start) - 1  # the piece the run starts in
        if first < 0 or start > pieces[first].end or (start == pieces[first].end and end > start):
            return None
        last = bisect_left(starts, end) - 1 if end > start else first  # the piece it ends in
        if last < first or end > pieces[last].end or holes[last] != holes[first]:
            return None  # past the pieces, or a hole between: not written in one place
        begin, finish = edge(first, start), edge(last, end)
        if begin is None or finish is None:
            return None
        path = pieces[first].span.path
        return Span(path, begin[0], finish[0], begin[1], begin[2], finish[1], finish[2])

    return place


def _intrinsic(node: DNode) -> tuple[str, DNode] | None:
    """(function name without ``Fn::``, its argument) of an intrinsic, else None."""
    if node.tag and node.tag.startswith("!") and not node.tag.startswith("!!"):
        return node.tag[1:], node
    if node.kind == MAP and len(node.items) == 1:
        key = node.items[0][0].value
        if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
            return key.removeprefix("Fn::"), node.items[0][1]
    return None


def mark_intrinsics(node: DNode) -> None:
    """Inside a document written as a mapping, an intrinsic written as a mapping
    (``{"Fn::Sub": "arn:${AWS::Partition}:..."}``) becomes a tagged node (``Fn::Sub``): an
    expression whose value is unknown, as a YAML ``!Sub`` is."""
    stack = [node]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if current.kind == MAP:
            for index, (key, value) in enumerate(current.items):
                replaced = _as_expression(value)
                if replaced is not None:
                    current.items[index] = (key, replaced)
                else:
                    stack.append(value)
        elif current.kind == SEQ:
            for index, value in enumerate(current.items):
                replaced = _as_expression(value)
                if replaced is not None:
                    current.items[index] = replaced
                else:
                    stack.append(value)


def _as_expression(node: DNode) -> DNode | None:
    if node.kind != MAP or node.tag is not None:
        return None
    found = _intrinsic(node)
    if found is None:
        return None
    name, argument = found
    if name == "Sub" and argument.kind == SCALAR and isinstance(argument.value, str):
        # the template is kept: an ARN with ${AWS::Partition} is judged (policy.wildcard_arn)
        return DNode(SCALAR, node.start, node.end, argument.value, tag="Fn::Sub")
    if name == "Join":
        template = policy.join_template(argument)
        if template is not None:  # strings and Refs joined: what an Fn::Sub of them writes
            return DNode(SCALAR, node.start, node.end, template, tag="Fn::Sub")
    tag = "Ref" if name == "Ref" else f"Fn::{name}"
    return DNode(SCALAR, node.start, node.end, None, tag=tag)


def _sub_holes(parts: list[Part]) -> list[Part]:
    """An ``Fn::Sub`` string's parts with each ``${...}`` (``${!...}`` too) a hole."""
    text = "".join(part[0] for part in parts)
    cuts = [(m.start(), m.end()) for m in _SUB_VARIABLE.finditer(text)]
    if not cuts:
        return parts
    out: list[Part] = []
    at = 0
    for part_text, start, end, escape in parts:
        size = len(part_text)
        inside = [(max(a, at), min(b, at + size)) for a, b in cuts if a < at + size and b > at]
        if not inside:
            out.append((part_text, start, end, escape))
        elif start < 0 or end - start != size:  # already a hole, or one escape: keep whole
            out.append(hole(part_text) if start >= 0 else (part_text, start, end, escape))
        else:
            cursor = at
            for lo, hi in inside:
                if lo > cursor:
                    offset = cursor - at
                    out.append((text[cursor:lo], start + offset, start + lo - at, escape))
                out.append(hole(text[lo:hi]))
                cursor = hi
            if cursor < at + size:
                out.append((text[cursor : at + size], start + cursor - at, end, escape))
        at += size
    return out


def mark_holes(document: DNode, holes: list[tuple[int, int]]) -> None:
    """A scalar written around a hole is an expression (``Fn::Sub``): its value is known only
    at deploy time."""
    stack = [document]
    while stack:
        node = stack.pop()
        if node.kind == MAP:
            for key, value in node.items:
                stack.extend((key, value))
        elif node.kind == SEQ:
            stack.extend(node.items)
        elif any(a < node.end and node.start < b for a, b in holes):
            node.tag = "Fn::Sub"
            if not isinstance(node.value, str):  # the text (with its ${...}) is kept
                node.value = None
