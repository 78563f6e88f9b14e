"""Guardrail policies written in Terraform: ``aws_organizations_policy`` and
``data "aws_iam_policy_document"``, read from one module directory at a time.

An organisation writes its service control policies in Terraform in a few ways, all read here
into :class:`~imds_iac_checks.model.Policy` objects (through the tree-sitter HCL layer, never a
pattern over the text):

- ``content`` as a heredoc (``<<EOF``, ``<<-EOF``) or a quoted string holding JSON: the text is
  read as Terraform sees it (a :class:`~imds_iac_checks.model.Payload` whose pieces map every
  literal run to the bytes that wrote it; an escape is a piece of its own and an interpolation a
  hole), then parsed as JSON. A value written through an escape or an interpolation is not
  editable; an interpolation is an expression (its value is not known here);
- ``content = jsonencode({...})``: the HCL object literal becomes a positioned document tree
  (:class:`~imds_iac_checks.formats.doc.DNode`) with the same shape as the JSON it encodes
  (a key may be a bare name or a quoted string); a value that is not a literal is a scalar
  tagged :data:`EXPRESSION` whose value is its source text;
- ``content = data.aws_iam_policy_document.NAME.json`` (or ``.minified_json``): the data
  source's ``statement`` blocks (``sid``, ``effect``, ``actions``/``not_actions``,
  ``resources``/``not_resources``, ``condition { test, variable, values }``). A statement without
  ``effect`` allows (the data source's default): ``Statement.add_effect`` is the edit that
  writes ``effect = "Deny"`` into it, aligned as ``terraform fmt`` aligns;
- any of these through ``local.NAME`` or a variable's default (``var.NAME``), within the
  directory. (A ``.tfvars`` value is not read: the default is what is judged.) A value written
  in a local or default that something else reads too is :attr:`Written.shared` (who else);
- ``content = var.NAME`` in a local module (``source = "./modules/scp"``) that this directory
  calls: read from the call's argument, where it is written (the module's directory alone has
  nothing to judge).

What cannot be read is said, never passed: a ``dynamic "statement"`` block, statements merged
from ``source_policy_documents``, a document with ``override_policy_documents`` (the override
replaces statements: the whole document), content made by a function or taken from
``each.value``, a ``templatefile()`` whose template names a marker, a heredoc with ``%{ }``
directives or that is not JSON, a statement written as an expression each become a statement
whose ``unknown`` says why; such a policy is kept when what it reaches names a marker. An ARN
written with placeholders in its partition, region or account fields has the value with ``*``
there (:func:`imds_iac_checks.formats.policy.wildcard_arn`).
``content = file(...)`` is not read here: the JSON file is scanned as a policy document of its
own when it is in the scanned tree.

An EC2 declarative policy (``type = "DECLARATIVE_POLICY_EC2"``) sets account defaults rather
than denying: its ``content`` (a heredoc, a string, ``jsonencode``) is read the same way and
becomes an account-defaults target (:func:`imds_iac_checks.formats.declarative.targets`) that the
rules on tokens and hop limits judge.

Only policies that name what a guardrail reads (:func:`~imds_iac_checks.formats.policy.worth`:
an IMDS condition key, ``ModifyInstanceMetadataOptions``) are kept: an organisation's other
SCPs are no concern of the rules. A document used by no ``aws_organizations_policy`` that names
one is an IAM policy guardrail of its own (``what`` "IAM policy document"). Policies of other
types (tag, backup, AI services opt-out) are skipped.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from bisect import bisect_right
from typing import TYPE_CHECKING, NamedTuple

from imds_iac_checks.formats import policy
from imds_iac_checks.formats.doc import MAP, SCALAR, SEQ, DNode, DocError, Locator, parse_json
from imds_iac_checks.formats.pieces import ByteChars
from imds_iac_checks.formats.terraform import syntax
from imds_iac_checks.formats.terraform.syntax import NOT_LITERAL, Source
from imds_iac_checks.model import (
    Condition,
    Payload,
    Piece,
    Policy,
    ScanError,
    Span,
    Statement,
    Target,
    Written,
    compact,
)

if TYPE_CHECKING:
    from tree_sitter import Node

FORMAT = "terraform"
# The tag of a document node written as an HCL expression that is not a literal (a reference,
# a function call, a template with ``${}``): its value is the expression's source text.
EXPRESSION = policy.EXPRESSION

POLICY_RESOURCE = "aws_organizations_policy"
DOCUMENT = "aws_iam_policy_document"
# Policy types whose content is an IAM-style policy document, and what each is called.
POLICY_TYPES = {
    "SERVICE_CONTROL_POLICY": "service control policy",
    "RESOURCE_CONTROL_POLICY": "resource control policy",
}
DECLARATIVE_EC2 = "DECLARATIVE_POLICY_EC2"
DEFAULT_TYPE = "SERVICE_CONTROL_POLICY"
DOCUMENT_WHAT = "IAM policy document"

MAX_HOPS = 8  # references followed (local.x -> var.y -> ...) from one expression
MAX_DEPTH = 64  # nested objects and lists read in one jsonencode({...})
_MAX_REACH = 64  # blocks and expressions read to learn whether an unreadable policy guards IMDS

# A file is parsed only when it may hold what is read here.
_WANTED = (
    b"aws_organizations_policy",
    b"aws_iam_policy_document",
    b"locals",
    b"variable",
    b"module",
)


class _File:
    """One ``.tf`` file of the directory: its bytes, text, tree, and where its characters sit
    in the directory's one address space (``base``: documents made of expressions from several
    files, a ``local`` in locals.tf used in main.tf, are one tree with one :data:`Place`)."""

    __slots__ = (
        "base",
        "chars",
        "data",
        "locator",
        "path",
        "root",
        "shown",
        "src",
        "tables",
        "text",
    )

    def __init__(
        self, path: str, shown: str, data: bytes, text: str, root: Node, base: int
    ) -> None:
        self.path = path
        self.shown = shown
        self.data = data
        self.text = text
        self.root = root
        self.base = base
        self.src = Source(shown, data)
        self.locator = Locator(shown, text)
        self.chars = ByteChars(data)
        # the names its references resolve in (a module's files, read for a call, have the
        # call's arguments as their variables)
        self.tables: _Tables | None = None

    def char(self, byte: int) -> int:
        """The address of the character at ``byte``."""
        return self.base + self.chars.char(byte)

    def span(self, node: Node) -> Span:
        return self.src.span(node)


class _Tables:
    """The blocks of one module (the directory read, or a local module read for a call):
    what ``local.x``, ``var.x`` and ``data.aws_iam_policy_document.x`` written in its files
    mean. A module read for a call has the call's arguments as its variables (their
    expressions are written in the caller, and resolve there)."""

    def __init__(self, prefix: str = "", depth: int = 0) -> None:
        self.prefix = prefix  # "module.outer.module.inner." for a module read for calls
        self.depth = depth
        self.directory = ""  # where the module is, for a module read for calls
        self.locals: dict[str, tuple[_File, Node]] = {}
        self.variables: dict[str, tuple[_File, Node]] = {}
        self.documents: dict[str, tuple[_File, Node]] = {}
        self.org_policies: list[tuple[_File, Node, str]] = []
        # module calls of a local module (``source = "./modules/scp"``): (file, block, name,
        # source)
        self.calls: list[tuple[_File, Node, str, str]] = []


# Arguments of a module call that are not its inputs.
_META = ("source", "version", "providers", "depends_on", "count", "for_each")
MAX_NESTING = 4  # module calls followed from a directory (module -> module -> ...)


class _Content(NamedTuple):
    """What a policy's ``content`` is: a document tree (``root`` with its ``place``), the name of
    an ``aws_iam_policy_document`` (``document``), or nothing readable (``unknown`` says why;
    "" with no root and no document: read elsewhere, as ``file()``)."""

    root: DNode | None = None
    place: policy.Place | None = None
    document: str = ""
    unknown: str = ""
    span: Span | None = None
    # what could not be read names a guardrail's marker (a template file's text)
    marked: bool = False
    # the file whose module the document named is in
    home: _File | None = None


def read(
    files: list[tuple[str, str, bytes]],
    callers: list[tuple[str, str, bytes]] | None = None,
    scanned: set[str] | None = None,
) -> tuple[list[Policy], list[Target], list[ScanError]]:
    """The guardrail policies of one module directory (``files``: its ``.tf`` files as (path,
    shown path, bytes)), the account defaults its EC2 declarative policies set (as targets),
    and the errors of files that name a guardrail and do not parse. ``callers``: the files
    of scanned directories that call this one (a default they override is shared);
    ``scanned``: the directories the scan reads (a local module outside them is judged
    through its calls here, with its defaults)."""
    reader = _Directory()
    if scanned is not None:
        reader.scanned = {os.path.abspath(d) for d in scanned}
    errors = reader.load(files)
    if files and callers:
        reader.overridden = _overrides(os.path.dirname(files[0][0]), callers)
    policies, targets = reader.policies()
    return policies, targets, errors


class _Directory:
    """The blocks of one module directory that policies are written with (organizations
    policies, policy documents, locals, variable defaults), read once for all its policies."""

    def __init__(self) -> None:
        self.files: list[_File] = []
        self.bases: list[int] = []
        self.size = 0
        self.tables = _Tables()
        self.locals = self.tables.locals
        self.variables = self.tables.variables
        self.documents = self.tables.documents
        self.org_policies = self.tables.org_policies
        self.calls = self.tables.calls
        # variable -> the calls (in scanned callers) that set it: its default is not theirs
        self.overridden: dict[str, list[str]] = {}
        self._content_index: dict[str, tuple[str, int, int] | None] | None = None
        # the directories the scan reads (None: not known, a module is taken as scanned)
        self.scanned: set[str] | None = None
        # local modules read for calls, by (directory, call file, call start)
        self._adopted: dict[tuple[str, str, int], _Tables | None] = {}
        self._readers: dict[str, list[tuple[str, str, int]]] | None = None
        self._owner_index: dict[str, tuple[list[int], list[tuple[int, int, str]]]] | None = None

    # --- reading the files -------------------------------------------------------------------

    def load(
        self, files: list[tuple[str, str, bytes]], tables: _Tables | None = None
    ) -> list[ScanError]:
        errors: list[ScanError] = []
        for path, shown, data in files:
            if b"\x00" in data or not any(word in data for word in _WANTED):
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                continue  # the module's evaluation reports it
            tree = syntax.parse_tree(data)
            if tree.root_node.has_error:
                if policy.worth(data) and not _evaluated(data):
                    errors.append(syntax.syntax_error(Source(shown, data), tree.root_node))
                continue
            f = _File(path, shown, data, text, tree.root_node, self.size)
            f.tables = tables or self.tables
            self.files.append(f)
            self.bases.append(self.size)
            self.size += len(text) + 1  # one character apart: no range spans two files
            self._blocks(f)
        return errors

    def _blocks(self, f: _File) -> None:
        t = f.tables or self.tables
        for body in syntax.children(f.root, "body"):
            for block in syntax.children(body, "block"):
                kind = syntax.ident(block)
                labels = syntax.labels(f.src, block)
                inner = syntax.child(block, "body")
                if kind == "resource" and len(labels) == 2 and labels[0] == POLICY_RESOURCE:
                    t.org_policies.append((f, block, labels[1]))
                elif kind == "data" and len(labels) == 2 and labels[0] == DOCUMENT:
                    t.documents.setdefault(labels[1], (f, block))
                elif kind == "locals":
                    for name, expr in syntax.attributes(inner).items():
                        t.locals.setdefault(name, (f, expr))
                elif kind == "module" and len(labels) == 1:
                    source = syntax.attributes(inner).get("source")
                    where = syntax.literal(f.src, source) if source is not None else None
                    if isinstance(where, str) and where.startswith(("./", "../")):
                        t.calls.append((f, block, labels[0], where))
                elif kind == "variable" and len(labels) == 1:
                    default = syntax.attributes(inner).get("default")
                    if default is not None:
                        t.variables.setdefault(labels[0], (f, default))

    def place(self, start: int, end: int) -> Span | None:
        """The span of the characters at addresses ``start:end`` (within one file)."""
        index = bisect_right(self.bases, start) - 1
        if index < 0:
            return None
        f = self.files[index]
        if end - f.base > len(f.text):
            return None
        return f.locator.span(start - f.base, end - f.base)

    # --- policies ----------------------------------------------------------------------------

    def policies(self) -> tuple[list[Policy], list[Target]]:
        """The guardrail policies of the directory: each organizations policy with its content
        read (those of the local modules it calls too, with the content the call gives them),
        then each policy document that no policy uses and that names an IMDS key."""
        out: list[Policy] = []
        targets: list[Target] = []
        used: set[str] = set()
        for f, block, name in self.org_policies:
            attrs = syntax.attributes(syntax.child(block, "body"))
            expr = attrs.get("content")
            if expr is None:
                continue
            content = self.content(f, expr, 0)
            if content.document:
                used.add(content.document)
            kind = self._kind(f, attrs.get("type"))
            made = self.organizations(
                f"{POLICY_RESOURCE}.{name}", f.span(block), kind, content, f, block
            )
            if isinstance(made, Policy):
                out.append(made)
            elif made:
                targets += made
        for call in self.calls:
            found, made_targets = self.module_policies(*call)
            out += found
            targets += made_targets
        inputs = self._inputs()
        for name, (f, block) in self.documents.items():
            if name in used:
                continue
            read_ = self.document(name)
            if read_ is None or not _guards(read_, self, f, block):
                continue
            address = f"data.{DOCUMENT}.{name}"
            span = f.span(block)
            what = DOCUMENT_WHAT
            if name in inputs:  # judged on its own, but what is applied is the other document
                what = f"{DOCUMENT_WHAT} (input of {', '.join(inputs[name])})"
            read_ = self.share(read_, [(f, block)])
            out.append(Policy(address, f.shown, span, what, FORMAT, read_, header=span))
        return out, targets

    def _kind(self, f: _File, expr: Node | None) -> str:
        """The policy type ``type`` writes (the default when it is absent, "" when it is an
        expression)."""
        if expr is None:
            return DEFAULT_TYPE
        written = syntax.literal(f.src, expr)
        return written if isinstance(written, str) else ""

    def organizations(
        self,
        address: str,
        span: Span,
        kind: str,
        content: _Content,
        at: _File,
        near: Node,
    ) -> Policy | list[Target] | None:
        """One organizations policy (its block, or the module call that makes it, at ``span``)
        whose content is ``content`` (written in ``at``, in ``near``): a Policy, the
        account defaults of a declarative policy, or None (another policy type, read elsewhere,
        or one that names nothing a guardrail reads)."""
        if kind and kind not in POLICY_TYPES and kind != DECLARATIVE_EC2:
            return None  # a tag, backup or AI services policy: no IAM statements
        whole = content.span or span
        if kind == DECLARATIVE_EC2:
            # account defaults, not IAM statements: a target, with unknown settings when the
            # content cannot be read (the rule on unknown values says so)
            from imds_iac_checks.formats import declarative

            if content.root is not None and content.place is not None:
                return declarative.targets(
                    content.root,
                    content.place,
                    address=address,
                    path=span.path,
                    whole=span,
                    format=FORMAT,
                )
            if content.unknown and b"instance_metadata_defaults" in self.reach(at, near).lower():
                return [declarative.unread(address, span, whole, content.unknown, FORMAT)]
            return []
        what = POLICY_TYPES.get(kind, "organizations policy")
        if content.document:
            home = content.home.tables if content.home is not None else None
            found = self.document(content.document, home)
            if found is None:
                why = f"the content (data.{DOCUMENT}.{content.document}, not found here)"
                statements: tuple[Statement, ...] = (_unknown(whole, why),)
            else:
                doc_address = f"data.{DOCUMENT}.{content.document}"
                statements = tuple(
                    s._replace(label=f"{doc_address} {s.label}".strip()) for s in found
                )
        elif content.root is not None and content.place is not None:
            statements = _tree_statements(content.root, content.place, whole)
        elif content.unknown:
            statements = (_unknown(whole, content.unknown),)
        else:
            return None  # read elsewhere (a file() the scan reads as a document of its own)
        if not content.marked and not _guards(statements, self, at, near):
            return None
        statements = self.share(statements, [(at, near)], _key(content.span))
        return Policy(address, span.path, span, what, FORMAT, statements, kind, header=span)

    def module_policies(
        self,
        f: _File,
        block: Node,
        name: str,
        source: str,
        prefix: str = "",
        outer: tuple[_File, Node] | None = None,
    ) -> tuple[list[Policy], list[Target]]:
        """The organizations policies of the local module ``module.NAME`` calls that read
        something this directory writes (``content = var.content``, ``values =
        [var.hop_limit]``: the call's argument): judged with what the call gives, the fix
        landing in the argument (the module's own directory, read alone, judges it with its
        defaults). Modules it calls in turn are followed too (at most :data:`MAX_NESTING`
        deep). ``outer``: the call written in this directory (the policy's place)."""
        tables = self._adopt(f, block, source)
        if tables is None:
            return [], []
        at, call = outer or (f, block)
        span = at.span(call)
        prefix = f"{prefix}module.{name}."
        made_by = prefix.rstrip(".")
        args = syntax.attributes(syntax.child(block, "body"))
        each = next((args[k] for k in ("for_each", "count") if k in args), None)
        out: list[Policy] = []
        targets: list[Target] = []
        for cf, child_block, policy_name in tables.org_policies:
            attrs = syntax.attributes(syntax.child(child_block, "body"))
            expr = attrs.get("content")
            if expr is None:
                continue
            reached = self._reached(cf, child_block)
            if not any(r.tables is self.tables for r, _ in reached) and not self._outside(tables):
                continue  # nothing this directory writes: judged with the module's directory
            address = f"{prefix}{POLICY_RESOURCE}.{policy_name}"
            kind = self._kind_of(cf, attrs.get("type"))
            text = b"\n".join(r.data[n.start_byte : n.end_byte] for r, n in reached)
            if each is not None and (b"each." in text or b"count." in text):
                # one policy per element, each with its own value: not judged one by one
                reach = text + b"\n" + self.reach(f, each)
                if kind == DECLARATIVE_EC2 or not policy.worth(reach):
                    continue
                what = "for_each" if "for_each" in args else "count"
                why = (
                    f"the content ({made_by} is called with {what} = "
                    f"{compact(_shown(f, each), 60)}: one policy per element, not followed)"
                )
                statements = (_unknown(span, why),)
                kind_what = POLICY_TYPES.get(kind, "organizations policy")
                out.append(
                    Policy(
                        address,
                        span.path,
                        span,
                        f"{kind_what} (made by {made_by}, {source})",
                        FORMAT,
                        statements,
                        kind,
                        header=span,
                    )
                )
                continue
            content = self.content(cf, expr, 0)
            made = self.organizations(address, span, kind, content, cf, child_block)
            if (
                isinstance(made, Policy)
                and not self._outside(tables)
                and not self._written_here(made)
            ):
                continue  # read only the call's other arguments (a name): the module's own
            if isinstance(made, Policy):
                what = f"{made.what} (made by {made_by}, {source})"
                out.append(made._replace(what=what))
            elif made:
                targets += made
        if tables.depth < MAX_NESTING:
            for cf, inner, inner_name, inner_source in tables.calls:
                found, made_targets = self.module_policies(
                    cf, inner, inner_name, inner_source, prefix, (at, call)
                )
                out += found
                targets += made_targets
        return out, targets

    def _written_here(self, made: Policy) -> bool:
        """Whether some statement or value of a policy made by a module call is written in this
        directory (else the module's own reading of it says the same, at the same place)."""
        here = {f.shown for f in self.files if f.tables is self.tables}
        for statement in made.statements:
            if statement.span.path in here:
                return True
            scalars = [statement.effect] if statement.effect is not None else []
            scalars += [*statement.actions, *statement.resources]
            for condition in statement.conditions:
                scalars += [condition.operator, condition.key, *condition.values]
            if any(w.span.path in here for w in scalars):
                return True
        return False

    def _outside(self, tables: _Tables) -> bool:
        """Whether a module read for a call is not scanned (outside the paths given): its
        policy, made with its defaults, is judged through the call, or by nothing."""
        if self.scanned is None:
            return False
        return os.path.abspath(tables.directory) not in self.scanned

    def _adopt(self, f: _File, block: Node, source: str) -> _Tables | None:
        """The local module ``block`` (in ``f``) calls, read into this directory's address
        space with the call's arguments as its variables (once per call)."""
        directory = os.path.normpath(os.path.join(os.path.dirname(f.path), source))
        key = (directory, f.path, block.start_byte)
        if key in self._adopted:
            return self._adopted[key]
        self._adopted[key] = None  # a module that calls itself is read once
        try:
            names = sorted(n for n in os.listdir(directory) if n.endswith(".tf"))
        except OSError:
            return None
        head = posixpath.normpath(posixpath.join(posixpath.dirname(f.shown), source))
        files: list[tuple[str, str, bytes]] = []
        for file_name in names:
            try:
                with open(os.path.join(directory, file_name), "rb") as handle:
                    data = handle.read()
            except OSError:
                continue
            files.append(
                (os.path.join(directory, file_name), posixpath.join(head, file_name), data)
            )
        depth = (f.tables.depth if f.tables is not None else 0) + 1
        tables = _Tables(depth=depth)
        tables.directory = directory
        for arg, expr in syntax.attributes(syntax.child(block, "body")).items():
            if arg not in _META:
                tables.variables[arg] = (f, expr)  # the call's argument wins over the default
        self.load(files, tables)  # errors: reported when the module's directory is read
        self._adopted[key] = tables
        return tables

    def _kind_of(self, f: _File, expr: Node | None) -> str:
        """The policy type ``type`` writes, following ``var.x``/``local.x`` (a module's
        ``type = var.type`` takes the call's argument)."""
        if expr is None:
            return DEFAULT_TYPE
        for _ in range(MAX_HOPS):
            names = _names(f.src, syntax.unwrap(expr))
            if not names or len(names) != 2:
                break
            found = self._reference(f, names)
            if found is None:
                break
            f, expr = found
        return self._kind(f, expr)

    def _inputs(self) -> dict[str, list[str]]:
        """The policy documents used as another document's ``source_policy_documents`` or
        ``override_policy_documents``: name -> the documents that take them in."""
        out: dict[str, list[str]] = {}
        for name, (f, block) in self.documents.items():
            attrs = syntax.attributes(syntax.child(block, "body"))
            for attr in _MERGED:
                if attr not in attrs:
                    continue
                for node in _walk(attrs[attr]):
                    names = _names(f.src, node, indexed=True) if node.type == "expression" else None
                    if names and len(names) >= 3 and names[:2] == ["data", DOCUMENT]:
                        taker = f"data.{DOCUMENT}.{name}"
                        if taker not in out.setdefault(names[2], []):
                            out[names[2]].append(taker)
        return out

    def share(
        self,
        statements: tuple[Statement, ...],
        regions: list[tuple[_File, Node]],
        whole: tuple[str, int, int] | None = None,
    ) -> tuple[Statement, ...]:
        """``statements`` with :attr:`Written.shared` set on each value written in a local or a
        variable default that something else reads too (another policy, an IAM policy, any
        other reference in the directory): a fix there would change them as well. ``regions``:
        where the policy itself is written (what it reaches is its own). ``whole``: where the
        policy's whole content is written; another policy whose content is that same
        expression (a local passed to two module calls) is the same document, and the same fix."""
        owners = self._owners()
        if not owners:
            return statements
        own: list[tuple[str, int, int]] = []
        readers = self._reader_index()

        def mine() -> list[tuple[str, int, int]]:
            if not own:
                for at, node in regions:
                    for reached_file, reached in self._reached(at, node):
                        own.append((reached_file.shown, reached.start_byte, reached.end_byte))
            return own

        def mark(w: Written) -> Written:
            found = owners.get(w.span.path)
            if not found:
                return w
            starts, spans = found
            index = bisect_right(starts, w.span.start_byte) - 1
            if index < 0 or w.span.start_byte >= spans[index][1]:
                return w
            owner = spans[index][2]
            if owner.startswith("var.") and owner[4:] in self.overridden:
                who = ", ".join(self.overridden[owner[4:]])
                return w._replace(shared=f"default of {owner}, overridden by {who}")
            others: list[str] = []
            for reader, path, at_byte in readers.get(owner, []):
                if any(p == path and a <= at_byte < b for p, a, b in mine()):
                    continue
                if whole is not None and self._contents().get(reader) == whole:
                    continue  # a policy with this very document: the same finding, one fix
                if reader not in others:
                    others.append(reader)
            if not others:
                return w
            return w._replace(shared=f"{owner}, also used by {', '.join(others)}")

        out: list[Statement] = []
        for statement in statements:
            conditions = tuple(
                c._replace(
                    operator=mark(c.operator),
                    key=mark(c.key),
                    values=tuple(mark(v) for v in c.values),
                )
                for c in statement.conditions
            )
            out.append(
                statement._replace(
                    effect=mark(statement.effect) if statement.effect is not None else None,
                    actions=tuple(mark(w) for w in statement.actions),
                    resources=tuple(mark(w) for w in statement.resources),
                    conditions=conditions,
                )
            )
        return tuple(out)

    def _contents(self) -> dict[str, tuple[str, int, int] | None]:
        """Where the whole content of each policy the directory writes is (the policy named as
        the block that reads it: ``aws_organizations_policy.x``, ``module.scp``)."""
        if self._content_index is not None:
            return self._content_index
        out: dict[str, tuple[str, int, int] | None] = {}
        self._content_index = out  # reading a call's module does not come back here
        for f, block, name in self.org_policies:
            expr = syntax.attributes(syntax.child(block, "body")).get("content")
            if expr is not None:
                out[f"{POLICY_RESOURCE}.{name}"] = _key(self.content(f, expr, 0).span)
        for f, block, name, source in self.calls:
            tables = self._adopt(f, block, source)
            if tables is None:
                continue
            spans = set()
            for cf, child_block, _ in tables.org_policies:
                expr = syntax.attributes(syntax.child(child_block, "body")).get("content")
                if expr is not None:
                    spans.add(_key(self.content(cf, expr, 0).span))
            if len(spans) == 1:
                out[f"module.{name}"] = spans.pop()
        return out

    def _owners(self) -> dict[str, tuple[list[int], list[tuple[int, int, str]]]]:
        """Where each local and variable default is written, by file: the starts in order, and
        (start, end, its name) for each (they do not overlap)."""
        if self._owner_index is not None:
            return self._owner_index
        spans: dict[str, list[tuple[int, int, str]]] = {}
        for prefix, table in (("local", self.locals), ("var", self.variables)):
            for name, (f, expr) in table.items():
                spans.setdefault(f.shown, []).append(
                    (expr.start_byte, expr.end_byte, f"{prefix}.{name}")
                )
        self._owner_index = {}
        for shown, found in spans.items():
            found.sort()
            self._owner_index[shown] = ([start for start, _, _ in found], found)
        return self._owner_index

    def _reader_index(self) -> dict[str, list[tuple[str, str, int]]]:
        """Every reference to a local or a variable in the directory: ``local.NAME`` ->
        [(the block that reads it, file, byte)], the block named as an address
        (``aws_iam_policy.ci_launch``, ``local.other``, ``module.scp``)."""
        if self._readers is not None:
            return self._readers
        found: dict[str, list[tuple[str, str, int]]] = {}
        for f in self.files:
            if f.tables is not self.tables:
                continue  # a module read for a call: its references are its own
            for body in syntax.children(f.root, "body"):
                for block in syntax.children(body, "block"):
                    kind = syntax.ident(block)
                    labels = syntax.labels(f.src, block)
                    inner = syntax.child(block, "body")
                    if kind == "variable":
                        continue  # its validation reads the variable itself
                    if kind == "locals":
                        parts = [(f"local.{n}", e) for n, e in syntax.attributes(inner).items()]
                    elif kind == "resource" and len(labels) == 2:
                        parts = [(".".join(labels), block)]
                    else:
                        parts = [(".".join([kind, *labels]), block)]
                    for reader, top in parts:
                        for node in _walk(top):
                            if node.type != "expression":
                                continue
                            names = _names(f.src, node, indexed=True)
                            if names and len(names) >= 2 and names[0] in ("local", "var"):
                                key = f"{names[0]}.{names[1]}"
                                found.setdefault(key, []).append((reader, f.shown, node.start_byte))
        self._readers = found
        return found

    def reach(self, f: _File, node: Node) -> bytes:
        """The text of ``node`` and of everything it refers to within the directory (locals,
        variable defaults, policy documents, and what they refer to): where a policy that
        cannot be read may still name an IMDS key."""
        return b"\n".join(at.data[n.start_byte : n.end_byte] for at, n in self._reached(f, node))

    def _reached(self, f: _File, node: Node) -> list[tuple[_File, Node]]:
        """``node`` and every local, variable default and policy document it refers to, and
        what they refer to (at most :data:`_MAX_REACH`)."""
        out: list[tuple[_File, Node]] = []
        seen: set[tuple[str, int]] = set()
        todo: list[tuple[_File, Node]] = [(f, node)]
        while todo and len(seen) < _MAX_REACH:
            at, top = todo.pop()
            if (at.path, top.start_byte) in seen:
                continue
            seen.add((at.path, top.start_byte))
            out.append((at, top))
            stack = [top]
            while stack:
                current = stack.pop()
                names = None
                if current.type == "expression":
                    names = _names(at.src, current, indexed=True)
                found: tuple[_File, Node] | None = None
                if names and len(names) >= 2:
                    if names[0] in ("local", "var"):
                        found = self._reference(at, names[:2])
                    elif names[0] == "data" and len(names) >= 3 and names[1] == DOCUMENT:
                        found = (at.tables or self.tables).documents.get(names[2])
                if found is not None:
                    todo.append(found)
                else:
                    stack.extend(current.named_children)
        return out

    # --- content -----------------------------------------------------------------------------

    def content(self, f: _File, expr: Node, hops: int) -> _Content:
        """What a ``content`` expression (or what it refers to) is."""
        node = syntax.unwrap(expr)
        span = f.span(expr)
        if node.type in ("template_expr", "literal_value"):
            inner = node.named_children[0] if node.named_children else node
            if inner.type in ("quoted_template", "heredoc_template", "string_lit"):
                return self._json(f, inner, span)
            return _Content(unknown=f"the content {_shown(f, expr)}", span=span)
        if node.type == "function_call":
            name = f.src.text(node.named_children[0])
            args = syntax.child(node, "function_arguments")
            exprs = syntax.children(args, "expression") if args is not None else []
            if name == "jsonencode" and len(exprs) == 1:
                root = self.tree(f, exprs[0], hops)
                if root.kind != MAP:
                    return _Content(unknown=f"the content {_shown(f, expr)}", span=span)
                return _Content(root=root, place=self.place, span=span)
            if name in ("file", "templatefile") and exprs:
                return self._file(f, name, exprs[0], expr, span)
            return _Content(unknown=f"the content {_shown(f, expr)}", span=span)
        names = _names(f.src, node, indexed=True)
        if (
            names
            and len(names) == 4
            and names[:2] == ["data", DOCUMENT]
            and names[3] in ("json", "minified_json")
        ):
            return _Content(document=names[2], span=span, home=f)
        names = _names(f.src, node)
        if names and len(names) == 2 and hops < MAX_HOPS:
            found = self._reference(f, names)
            if found is not None:
                return self.content(found[0], found[1], hops + 1)
        return _Content(unknown=f"the content {_shown(f, expr)}", span=span)

    def _file(self, f: _File, name: str, path_expr: Node, expr: Node, span: Span) -> _Content:
        """``file(PATH)`` or ``templatefile(PATH, vars)``: a JSON or YAML file is scanned as a
        document of its own (nothing here); any other file (``scp.json.tpl``) whose text names a
        guardrail's marker is a policy that cannot be read here (a template is filled in at
        plan time), never passed over."""
        written = f.src.text(path_expr).strip()
        if len(written) < 2 or written[0] != '"' or written[-1] != '"':
            return _Content(span=span)
        relative = written[1:-1]
        for placeholder in ("${path.module}", "${path.root}", "${path.cwd}"):
            relative = relative.replace(placeholder, ".")
        if "${" in relative or "\\" in relative:
            return _Content(span=span)
        if name == "file" and relative.lower().endswith((".json", ".yaml", ".yml")):
            return _Content(span=span)  # scanned as a document of its own
        try:
            with open(os.path.join(os.path.dirname(f.path), relative), "rb") as handle:
                data = handle.read()
        except OSError:
            return _Content(span=span)
        if not policy.worth(data):
            return _Content(span=span)
        kind = "a template filled in at plan time" if name == "templatefile" else "a file"
        why = f"the content {_shown(f, expr)} ({kind}: not read)"
        return _Content(unknown=why, span=span, marked=True)

    def _reference(self, f: _File, names: list[str]) -> tuple[_File, Node] | None:
        """What ``local.NAME`` or ``var.NAME`` written in ``f`` is (in ``f``'s module)."""
        tables = f.tables or self.tables
        if names[0] == "local":
            return tables.locals.get(names[1])
        if names[0] == "var":
            return tables.variables.get(names[1])
        return None

    def _json(self, f: _File, node: Node, span: Span) -> _Content:
        """A heredoc or quoted string that holds a JSON document."""
        payload, holes = _payload(f, node, span)
        directives = [c for c in node.named_children if c.type == "template_directive"]
        if directives:  # %{ if }/%{ for }: the document is made at plan time
            first = directives[0].start_byte
            intro = f.data[first : f.data.find(b"}", first) + 1 or directives[0].end_byte]
            shown = compact(intro.decode("utf-8", "replace"), 40)
            reason = f"the content (a template with directives, {shown}: not read)"
            return _Content(unknown=reason, span=span)
        try:
            root = parse_json(payload.text)
        except DocError as exc:
            where = payload.located(exc.offset, exc.offset) or span
            at = f" at line {where.line}, column {where.column}" if where is not span else ""
            reason = f"the content (not a JSON document: {exc.message}{at})"
            return _Content(unknown=reason, span=span)
        if holes:
            _tag_holes(root, payload.text, holes)
        if root.kind != MAP:
            return _Content(unknown="the content (a JSON value that is not an object)", span=span)
        return _Content(root=root, place=_spanning(policy.in_payload(payload)), span=span)

    # --- HCL expressions as a document tree ------------------------------------------------

    def tree(self, f: _File, expr: Node, hops: int, depth: int = 0) -> DNode:
        """An HCL expression as a positioned document node (addresses: see :meth:`place`).
        Nested deeper than :data:`MAX_DEPTH`, it is an expression (no policy nests so)."""
        node = syntax.unwrap(expr)
        kind = node.type
        if kind == "collection_value" and node.named_children and depth < MAX_DEPTH:
            depth += 1
            inner = node.named_children[0]
            if inner.type == "object":
                items: list[tuple[DNode, DNode]] = []
                for elem in syntax.children(inner, "object_elem"):
                    parts = syntax.children(elem, "expression")
                    if len(parts) != 2:
                        continue
                    items.append((self._key(f, parts[0]), self.tree(f, parts[1], hops, depth)))
                return DNode(MAP, f.char(inner.start_byte), f.char(inner.end_byte), items=items)
            if inner.type == "tuple":
                values = [
                    self.tree(f, e, hops, depth) for e in syntax.children(inner, "expression")
                ]
                return DNode(SEQ, f.char(inner.start_byte), f.char(inner.end_byte), items=values)
        start, end = f.char(expr.start_byte), f.char(expr.end_byte)
        value = syntax.literal(f.src, expr)
        if value is not NOT_LITERAL:
            quoted = _quoted(node)
            if quoted:
                start, end = f.char(node.start_byte), f.char(node.end_byte)
            return DNode(SCALAR, start, end, value=value, quoted=quoted)
        names = _names(f.src, node)
        if names and len(names) == 2 and hops < MAX_HOPS:
            found = self._reference(f, names)
            if found is not None:
                return self.tree(found[0], found[1], hops + 1, depth)
        return DNode(SCALAR, start, end, value=f.src.text(expr).strip(), tag=EXPRESSION)

    def _key(self, f: _File, expr: Node) -> DNode:
        node = syntax.unwrap(expr)
        start, end = f.char(expr.start_byte), f.char(expr.end_byte)
        if node.type == "variable_expr":  # a bare name is the key itself
            return DNode(SCALAR, start, end, value=f.src.text(node))
        value = syntax.literal(f.src, expr)
        if isinstance(value, str) and _quoted(node):
            return DNode(
                SCALAR, f.char(node.start_byte), f.char(node.end_byte), value=value, quoted=True
            )
        return DNode(SCALAR, start, end, value=f.src.text(expr).strip(), tag=EXPRESSION)

    # --- aws_iam_policy_document --------------------------------------------------------------

    def document(self, name: str, tables: _Tables | None = None) -> tuple[Statement, ...] | None:
        """The statements of ``data.aws_iam_policy_document.NAME`` (of the module ``tables``
        holds, the directory's by default)."""
        found = (tables or self.tables).documents.get(name)
        if found is None:
            return None
        f, block = found
        body = syntax.child(block, "body")
        out: list[Statement] = []
        index = 0
        overridden: Statement | None = None
        for item in body.named_children if body is not None else []:
            if item.type == "attribute":
                attr = (item.named_children[0].text or b"").decode("utf-8", "replace")
                if attr in _OVERRIDE:
                    # a statement with the sid of one here is replaced by the override's: the
                    # document applied is not the one written here (none of it is judged)
                    what = compact(f.src.text(item), 80)
                    why = f"the document (its statements are overridden by {what})"
                    overridden = _unknown(f.span(block), why)
                elif attr in _MERGED:
                    what = compact(f.src.text(item), 80)
                    out.append(
                        _unknown(
                            f.span(item),
                            f"the statements merged from {attr} ({what})",
                            attr,
                        )
                    )
                continue
            if item.type != "block":
                continue
            kind = syntax.ident(item)
            if kind == "statement":
                index += 1
                out.append(self._statement(f, item, index))
            elif kind == "dynamic" and syntax.labels(f.src, item)[:1] == ["statement"]:
                index += 1
                out.append(
                    _unknown(
                        f.span(item),
                        'a dynamic "statement" block (its statements are made from for_each)',
                        f"statement {index} (dynamic)",
                    )
                )
        if overridden is not None:  # what else it says is not judged: why, each
            return (*[s for s in out if s.label in _MERGED], overridden)
        each = syntax.attributes(body).get("for_each")
        if each is not None:  # one document per element: statements that take each.value
            why = f"the statement (it takes each.value of for_each = {_shown(f, each)})"
            out = [s._replace(unknown=s.unknown or why) if _takes_each(s) else s for s in out]
        return tuple(out)

    def _statement(self, f: _File, block: Node, index: int) -> Statement:
        body = syntax.child(block, "body")
        attrs = syntax.attributes(body)
        whole = f.span(block)
        sid = ""
        if "sid" in attrs:
            value = syntax.literal(f.src, attrs["sid"])
            sid = value if isinstance(value, str) else ""
        effect = self._written(f, attrs["effect"], whole) if "effect" in attrs else None
        not_action = "actions" not in attrs and "not_actions" in attrs
        not_resource = "resources" not in attrs and "not_resources" in attrs
        actions = self._list(f, attrs.get("not_actions" if not_action else "actions"), whole)
        resources = self._list(
            f, attrs.get("not_resources" if not_resource else "resources"), whole, arn=True
        )
        conditions: list[Condition] = []
        unknown = ""
        for inner in body.named_children if body is not None else []:
            if inner.type != "block":
                continue
            kind = syntax.ident(inner)
            if kind == "condition":
                conditions.append(self._condition(f, inner))
            elif kind == "dynamic" and syntax.labels(f.src, inner)[:1] == ["condition"]:
                unknown = 'a dynamic "condition" block (its conditions are made from for_each)'
        return Statement(
            span=whole,
            sid=sid,
            effect=effect,
            actions=actions,
            resources=resources,
            conditions=tuple(conditions),
            not_action=not_action,
            not_resource=not_resource,
            default_effect="Allow",
            add_effect=None if effect is not None else self._add_effect(f, block),
            unknown=unknown,
            label=f"statement {sid}" if sid else f"statement {index}",
        )

    def _condition(self, f: _File, block: Node) -> Condition:
        attrs = syntax.attributes(syntax.child(block, "body"))
        whole = f.span(block)
        missing = [name for name in ("test", "variable", "values") if name not in attrs]
        operator = (
            self._written(f, attrs["test"], whole) if "test" in attrs else Written(None, whole)
        )
        key = (
            self._written(f, attrs["variable"], whole)
            if "variable" in attrs
            else Written(None, whole)
        )
        values: tuple[Written, ...] = ()
        unknown = ""
        if "values" in attrs:
            node = self.tree(f, attrs["values"], 0)
            if node.kind == SEQ:
                values = tuple(policy.written(item, self.place, whole) for item in node.items)
            else:
                unknown = compact(str(node.value), 80)
        if missing:
            unknown = f"a condition block without {' or '.join(missing)}"
        return Condition(operator, key, values, unknown)

    def _written(self, f: _File, expr: Node, whole: Span) -> Written:
        return policy.written(self.tree(f, expr, 0), self.place, whole)

    def _list(
        self, f: _File, expr: Node | None, whole: Span, arn: bool = False
    ) -> tuple[Written, ...]:
        if expr is None:
            return ()
        node = self.tree(f, expr, 0)
        if node.kind == SEQ:
            return tuple(policy.written(item, self.place, whole, arn) for item in node.items)
        return (policy.written(node, self.place, whole, arn),)

    def _add_effect(self, f: _File, block: Node) -> tuple[str, int, int, bytes] | None:
        """The edit that writes ``effect = "Deny"`` into a statement block that has none: a line
        of its own, after ``sid`` when that comes first, else first; its ``=`` aligned with
        its neighbours' (and theirs with it) when the block is aligned as ``terraform fmt``
        aligns. None for a block written on one line."""
        from imds_iac_checks.formats.terraform import layout

        data = f.data
        body = syntax.child(block, "body")
        children = body.named_children if body is not None else []
        items = [c for c in children if c.type in ("attribute", "block")]
        opening = syntax.child(block, "block_start")
        if not items or opening is None or items[0].start_point[0] == opening.start_point[0]:
            return None
        first = items[0]
        indent = _indentation(data, first.start_byte)
        if data[_line_start(data, first.start_byte) : first.start_byte] != indent:
            return None  # something before the first item on its line
        at = _line_start(data, first.start_byte)
        if (
            first.type == "attribute"
            and f.src.text(first.named_children[0]) == "sid"
            and first.end_point[0] == first.start_point[0]
        ):
            at = _next_line(data, first.end_byte)
        newline = b"\r\n" if b"\r\n" in data[: data.find(b"\n") + 1] else b"\n"
        line = indent + b'effect = "Deny"' + newline
        # Alignment runs end at the block's `{` and `}` lines: the block alone is re-aligned,
        # when it was aligned (a block `terraform fmt` wrote).
        low = _line_start(data, block.start_byte)
        high = _next_line(data, block.end_byte - 1)
        old = data[low:high]
        new = old[: at - low] + line + old[at - low :]
        if layout.aligned(old):
            new = layout.align(new)
        # the smallest edit that makes `new`, starting at or before the insertion
        prefix = 0
        limit = at - low
        while prefix < limit and old[prefix] == new[prefix]:
            prefix += 1
        suffix = 0
        limit = min(len(old) - prefix, len(new) - prefix, high - at)
        while suffix < limit and old[-1 - suffix] == new[-1 - suffix]:
            suffix += 1
        start, end = low + prefix, high - suffix
        return f.shown, start, end, new[prefix : len(new) - suffix]


# Attributes of aws_iam_policy_document whose statements are merged in from other documents.
_MERGED = ("source_policy_documents", "override_policy_documents", "source_json", "override_json")
# Those whose statements replace the document's own of the same sid.
_OVERRIDE = ("override_policy_documents", "override_json")


def _takes_each(statement: Statement) -> bool:
    """Whether a statement has a value written with ``each.`` (a ``for_each`` element)."""
    scalars = [statement.effect] if statement.effect is not None else []
    scalars += [*statement.actions, *statement.resources]
    for condition in statement.conditions:
        scalars += [condition.operator, condition.key, *condition.values]
        if "each." in condition.unknown:
            return True
    return any(w.value is None and "each." in w.expression for w in scalars)


def _overrides(directory: str, callers: list[tuple[str, str, bytes]]) -> dict[str, list[str]]:
    """The variables of the module in ``directory`` that every call in ``callers`` sets (a
    default some call keeps is applied, and its fix is the module's): name ->
    ["module.scp (../root/main.tf)", ...]."""
    calls: list[tuple[str, set[str]]] = []
    here = os.path.abspath(directory)
    for path, shown, data in callers:
        if b"module" not in data or b"\x00" in data:
            continue
        tree = syntax.parse_tree(data)
        src = Source(shown, data)
        for body in syntax.children(tree.root_node, "body"):
            for block in syntax.children(body, "block"):
                labels = syntax.labels(src, block)
                if syntax.ident(block) != "module" or len(labels) != 1:
                    continue
                args = syntax.attributes(syntax.child(block, "body"))
                source = syntax.literal(src, args["source"]) if "source" in args else None
                if not isinstance(source, str) or not source.startswith(("./", "../")):
                    continue
                if os.path.abspath(os.path.join(os.path.dirname(path), source)) != here:
                    continue
                calls.append((f"module.{labels[0]} ({shown})", set(args) - set(_META)))
    if not calls:
        return {}
    every = set.intersection(*(given for _, given in calls))
    return {name: [who for who, _ in calls] for name in sorted(every)}


def _key(span: Span | None) -> tuple[str, int, int] | None:
    return (span.path, span.start_byte, span.end_byte) if span is not None else None


def _walk(node: Node) -> list[Node]:
    """``node`` and every node under it."""
    out: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(current.named_children)
    return out


def _evaluated(data: bytes) -> bool:
    """Whether the module's evaluation parses (and so reports the errors of) this file."""
    from imds_iac_checks.formats.terraform import module

    return module.relevant(data)


def _guards(statements: tuple[Statement, ...], where: _Directory, f: _File, block: Node) -> bool:
    """Whether a policy names what a guardrail reads (see :func:`policy.worth`): in the values
    of its statements (wherever they are written: a local in another file), or, when some
    statement or value cannot be read (an expression, ``each.value.key``), in the text of its
    block and of all it refers to (a variable default that ``for_each`` walks, a module
    call's argument): a policy is never dropped because part of it could not be read."""
    parts: list[str] = []
    for statement in statements:
        scalars = [statement.effect] if statement.effect is not None else []
        scalars += [*statement.actions, *statement.resources]
        for condition in statement.conditions:
            scalars += [condition.operator, condition.key, *condition.values]
        parts += [w.value if w.value is not None else w.expression for w in scalars]
        unread = any(w.value is None for w in scalars) or any(
            c.unknown for c in statement.conditions
        )
        if statement.unknown or unread:
            parts.append(where.reach(f, block).decode("utf-8", "replace"))
            break
    return policy.worth("\n".join(parts).encode("utf-8", "replace"))


def _unknown(span: Span, why: str, label: str = "") -> Statement:
    return Statement(
        span=span,
        sid="",
        effect=None,
        actions=(),
        resources=(),
        conditions=(),
        unknown=why,
        label=label,
    )


def _tree_statements(root: DNode, place: policy.Place, whole: Span) -> tuple[Statement, ...]:
    """The statements of a document tree: :func:`policy.statements`, and a statement whose
    ``unknown`` says why for each written as an expression (or a ``Statement`` that is one)."""
    node = root.get("Statement")
    if node is None:
        return (_unknown(whole, "the document (it has no Statement)"),)
    read = list(policy.statements(node, place, whole))
    items = node.items if node.kind == SEQ else [node]
    out: list[Statement] = []
    for index, item in enumerate(items, 1):
        if item.kind == MAP:
            if read:
                out.append(read.pop(0))
            continue
        label = f"statement {index}" if node.kind == SEQ else ""
        shown = compact(str(item.value), 80) if item.kind == SCALAR else "a list"
        span = place(item.start, item.end) or whole
        out.append(_unknown(span, f"the statement {shown}", label))
    return tuple(out)


def _names(src: Source, node: Node, indexed: bool = False) -> list[str] | None:
    """``a.b.c`` as its names; None for anything else (a splat, a call, and an index unless
    ``indexed``: ``data.aws_iam_policy_document.x[0].json`` is the document of every instance
    of a data source with ``count``)."""
    if node.type == "variable_expr":
        return [src.text(node)]
    if node.type != "expression" or not node.named_children:
        return None
    head = node.named_children[0]
    if head.type != "variable_expr":
        return None
    names = [src.text(head)]
    for part in node.named_children[1:]:
        if part.type == "index" and indexed:
            continue
        if part.type != "get_attr":
            return None
        ident = syntax.child(part, "identifier")
        if ident is None:
            return None
        names.append(src.text(ident))
    return names


def _quoted(node: Node) -> bool:
    """A quoted string (its node's first and last characters are its quotes)."""
    if node.type == "literal_value" and node.named_children:
        return node.named_children[0].type == "string_lit"
    if node.type == "template_expr" and node.named_children:
        return node.named_children[0].type == "quoted_template"
    return node.type in ("string_lit", "quoted_template")


def _shown(f: _File, expr: Node) -> str:
    return compact(f.src.text(expr), 80)


def _line_start(data: bytes, offset: int) -> int:
    return data.rfind(b"\n", 0, offset) + 1


def _next_line(data: bytes, offset: int) -> int:
    index = data.find(b"\n", offset)
    return len(data) if index < 0 else index + 1


def _indentation(data: bytes, offset: int) -> bytes:
    start = _line_start(data, offset)
    end = start
    while end < len(data) and data[end : end + 1] in (b" ", b"\t"):
        end += 1
    return data[start:end]


# --- a JSON document in an HCL string or heredoc ---------------------------------------------

_QUOTED_MARKS = re.compile(rb"\$\$\{|%%\{|\\(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")
_HEREDOC_MARKS = re.compile(rb"\$\$\{|%%\{")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def _payload(f: _File, node: Node, span: Span) -> tuple[Payload, list[tuple[int, int]]]:
    """The text of a quoted string or heredoc as Terraform sees it, and the ranges of its
    holes: literal runs are pieces (an escape a piece of its own), an interpolation or directive
    a hole holding its source text, written as a JSON string where it stands outside one
    (``"Resource": ${jsonencode(var.arns)}``: the document still parses, the value is an
    expression)."""
    data = f.data
    named = node.named_children
    if node.type == "heredoc_template":
        idents = [c for c in named if c.type == "heredoc_identifier"]
        if len(idents) < 2:
            return Payload("", (), span, _WHAT), []
        start = data.find(b"\n", idents[0].end_byte, idents[-1].start_byte) + 1
        end = _line_start(data, idents[-1].start_byte)
        quoted, strip = False, data.startswith(b"<<-", node.start_byte)
    else:
        start, end = node.start_byte + 1, node.end_byte - 1
        quoted, strip = True, False
    code = [(c.start_byte, c.end_byte) for c in named if c.type not in _NOT_CODE]
    text = _Text()
    pieces: list[Piece] = []
    escape = "hcl-string" if quoted else "hcl-template"

    def add(value: str, a: int, b: int) -> None:
        if value:
            loc = f.locator.span(f.chars.char(a), f.chars.char(b))
            pieces.append(Piece(text.at, text.at + len(value), loc, escape))
            text.add(value)

    def literal(a: int, b: int) -> None:
        marks = _QUOTED_MARKS if quoted else _HEREDOC_MARKS
        pos = a
        while pos < b:
            if strip and pos == _line_start(data, pos):  # a <<- heredoc: without the indent
                width = 0
                while width < cut and data[pos + width : pos + width + 1] in (b" ", b"\t"):
                    width += 1
                pos += width
                if pos >= b:
                    break
            stop = b
            if strip:
                newline = data.find(b"\n", pos, b)
                stop = b if newline < 0 else newline + 1
            run = pos
            for match in marks.finditer(data, pos, stop):
                add(data[run : match.start()].decode("utf-8", "replace"), run, match.start())
                token = match.group()
                if token in (b"$${", b"%%{"):
                    meaning = token[1:].decode()
                elif token[1:2] in (b"u", b"U") and len(token) > 2:
                    meaning = chr(int(token[2:], 16))
                else:
                    letter = token[1:].decode("utf-8", "replace")
                    meaning = _ESCAPES.get(letter, letter)
                add(meaning, match.start(), match.end())
                run = match.end()
            add(data[run:stop].decode("utf-8", "replace"), run, stop)
            pos = stop

    cut = _indent(data, start, end, code) if strip else 0
    holes: list[tuple[int, int]] = []
    at = start
    for a, b in code:
        if a < at or b > end:
            continue
        literal(at, a)
        source = data[a:b].decode("utf-8", "replace")
        begin = text.at
        text.add(source if text.in_string else json.dumps(source), scan=False)
        holes.append((begin, text.at))
        # A piece of its own, never edited (escape ""): where a finding about it points.
        where = f.locator.span(f.chars.char(a), f.chars.char(b))
        pieces.append(Piece(begin, text.at, where, ""))
        at = b
    literal(at, end)
    return Payload("".join(text.parts), tuple(pieces), span, _WHAT), holes


_WHAT = "policy document"
# Children of a template that are not code (interpolations and directives are).
_NOT_CODE = frozenset(
    {
        "template_literal",
        "quoted_template_start",
        "quoted_template_end",
        "heredoc_start",
        "heredoc_identifier",
    }
)


class _Text:
    """The text of a payload as it is built, and whether its end is inside a JSON string."""

    __slots__ = ("at", "escaped", "in_string", "parts")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.at = 0
        self.in_string = False
        self.escaped = False

    def add(self, value: str, scan: bool = True) -> None:
        """Add ``value``; ``scan``: it is JSON text (a hole's source is not: its quotes are
        the expression's own)."""
        self.parts.append(value)
        self.at += len(value)
        if not scan:
            return
        if '"' not in value and "\\" not in value:
            if self.escaped and value:
                self.escaped = False
            return
        for char in value:
            if self.escaped:
                self.escaped = False
            elif char == "\\" and self.in_string:
                self.escaped = True
            elif char == '"':
                self.in_string = not self.in_string


def _indent(data: bytes, start: int, end: int, code: list[tuple[int, int]]) -> int:
    """The indentation a ``<<-`` heredoc strips: the least leading whitespace of its lines
    that hold more than whitespace."""
    least: int | None = None
    line = start
    while line < end:
        if not any(a < line < b for a, b in code):
            width = 0
            while line + width < end and data[line + width] in b" \t":
                width += 1
            after = line + width
            if after < end and data[after : after + 1] not in (b"\n", b"\r"):
                least = width if least is None else min(least, width)
        newline = data.find(b"\n", line, end)
        if newline < 0:
            break
        line = newline + 1
    return least or 0


def _spanning(place: policy.Place) -> policy.Place:
    """``place``, and where it cannot locate a run as one (it spans an interpolation or an
    escape), the span from the run's first character to its last: where a finding points. (No
    edit is made there: a value that holds an escape or an interpolation is not editable, see
    :func:`policy.written`.)"""

    def located(start: int, end: int) -> Span | None:
        found = place(start, end)
        if found is not None or end <= start:
            return found
        first, last = place(start, start + 1), place(end - 1, end)
        if first is None or last is None or first.path != last.path:
            return None
        return Span(
            first.path,
            first.start_byte,
            last.end_byte,
            first.line,
            first.column,
            last.end_line,
            last.end_column,
        )

    return located


def _tag_holes(root: DNode, text: str, holes: list[tuple[int, int]]) -> None:
    """Mark every scalar that holds an interpolation as an expression (its value is not known
    here: the source text is kept)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.kind == MAP:
            for key, value in node.items:
                stack += [key, value]
        elif node.kind == SEQ:
            stack += node.items
        elif any(a < node.end and node.start < b for a, b in holes):
            raw = text[node.start : node.end]
            if node.quoted and isinstance(node.value, str):
                raw = node.value
            node.value, node.tag = raw, EXPRESSION
