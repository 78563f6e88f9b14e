"""A Terraform module (one directory of ``.tf`` files) evaluated as a root module.

Variables take their value, as Terraform does, from the last of: the default, ``TF_VAR_name`` in
the environment, ``terraform.tfvars``, ``terraform.tfvars.json``, ``*.auto.tfvars`` and
``*.auto.tfvars.json`` in lexical order, then ``--var-file`` and ``--var`` in command-line order;
the value is converted through the variable's type, so an object input that omits an
``optional(type, default)`` attribute gets the default. A value given as text (``--var``,
``TF_VAR_name``) is read as Terraform reads it: see :func:`text_input_mode`.
Resources are expanded by ``count`` and ``for_each`` (``aws_instance.web["a"]``), and a
``dynamic`` options block by its ``for_each``: an empty collection means no block.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from imds_iac_checks import source
from imds_iac_checks.formats.terraform import syntax
from imds_iac_checks.formats.terraform.eval import (
    MAX_STEPS,
    Budget,
    EvalError,
    Scope,
    TooComplex,
    Val,
    charge,
    evaluate,
    unknown,
)
from imds_iac_checks.formats.terraform.kinds import (
    BEANSTALK_TEMPLATE,
    FORMAT,
    KINDS,
    LAUNCHERS,
    NAMED_KINDS,
    TEMPLATE_USERS,
    Launcher,
    template_reference,
)
from imds_iac_checks.formats.terraform.syntax import Source
from imds_iac_checks.model import (
    HOP_LIMIT,
    NO_FILE,
    TOKENS,
    TOO_COMPLEX,
    KindSpec,
    Link,
    LinkKind,
    Payload,
    ScanError,
    Span,
    Target,
    Value,
    compact,
    normalize,
    show,
)

if TYPE_CHECKING:
    from tree_sitter import Node, Tree

    from imds_iac_checks.formats.terraform import registry


# Plain classes, not NamedTuples: this module loads on every `check` of a .tf file, and string
# annotations would make each NamedTuple field compile a ForwardRef at import time.
class ParsedFile:
    __slots__ = ("root", "src")

    def __init__(self, src: Source, root: Node) -> None:
        self.src = src
        self.root = root


class VarInput:
    """A value for a variable from outside the module: a tfvars file, the command line or a
    module call's argument, or the environment. HCL inputs are an expression to evaluate; JSON
    inputs and module arguments arrive as a ready Val; text from the command line or the
    environment (``raw``) is read when the variable's type is known (see
    :func:`text_input_mode`). ``kind`` is the LinkKind of where it is written."""

    __slots__ = ("caller", "kind", "node", "origin", "raw", "src", "value")

    def __init__(
        self,
        src: Source | None,
        node: Node | None,
        origin: str,
        value: Val | None = None,
        kind: str = LinkKind.VARIABLE_FILE,
        raw: str | None = None,
    ) -> None:
        self.src = src
        self.node = node
        # "terraform.tfvars", "--var tokens=optional", "TF_VAR_tokens", "module.web[0]", ...
        self.origin = origin
        self.value = value
        self.kind = kind
        self.raw = raw
        # A module input: the caller's expression, and the module and scope it is evaluated in
        # (``(src, node, module, scope)``), so that what is read from the text follows it (user
        # data: see :mod:`.userdata`). None for every other input.
        self.caller: tuple[Source, Node, Module, Scope] | None = None

    def label(self, name: str) -> tuple[str, str, str]:
        """How a literal given for variable ``name`` is labelled (see :meth:`Val.relabelled`)."""
        if self.kind == LinkKind.MODULE_INPUT:
            return self.kind, name, self.origin
        return self.kind, f"var.{name}", self.origin


def parse(path: str, data: bytes) -> tuple[list[Target], list[ScanError]]:
    """Scan one ``.tf`` file as a module of its own (variables, locals and defaults evaluated).
    A file with a syntax error yields only the error. ``imds-iac check`` evaluates whole
    directories: see :mod:`imds_iac_checks.formats.terraform.graph`."""
    parsed, errors = parse_bytes(path, data)
    if parsed is None:
        return [], errors
    module = Module([parsed], {})
    targets = module.targets()
    for src, block, name in module.module_calls:
        targets.extend(module.registry_targets(src, block, name, ""))
    return targets, []


def load_file(
    path: str, shown: str, data: bytes | None = None, *, files: source.Files | None = None
) -> tuple[ParsedFile | None, list[ScanError]]:
    """Parse a .tf file (``data``, or what ``files`` reads); None without parsing when nothing
    in it can matter (see relevant)."""
    if data is None:
        if files is None:
            raise TypeError("load_file: give the bytes or the Files to read them through")
        data = files.read(path)
    if b"\x00" in data:  # binary data is reported, never skipped or parsed
        return None, [ScanError(shown, 0, 0, "not a text file (it holds NUL bytes): not scanned")]
    if not relevant(data):
        return None, []
    return parse_bytes(shown, data, only_relevant=True)


_relevant: Any = None
_line_start: Any = None
# Data sources whose output is user data (read by .userdata): kept when a file is parsed.
_USER_DATA_SOURCES = frozenset({"cloudinit_config", "template_cloudinit_config", "template_file"})
_USER_DATA_SOURCE = rb'"?(?:cloudinit_config|template_cloudinit_config|template_file)\b'


def relevant(data: bytes) -> bool:
    """Whether a .tf file can hold a target or anything a target depends on: a resource of a kind
    that carries metadata settings, a variable, locals or a module call. Files with only outputs,
    providers, other resources or data sources are not parsed (so their syntax is not checked).

    HCL allows comments and no space at all between a block's type and labels
    (``resource /* c */ "aws_instance" "w" {``, ``resource"aws_instance""w"{``), a block after a
    comment on its line, identifier labels, and escapes in labels (``"aws_\u0069nstance"``): the
    pattern accepts all of these; a false match only costs a parse."""
    global _relevant, _line_start
    if _relevant is None:
        import re

        kinds = "|".join(sorted(KINDS))
        gap = rb"(?:[ \t]|/\*(?s:.*?)\*/)*"  # blanks and block comments
        # Keyword first, so that the regex engine skips fast to the few places worth a look.
        _relevant = re.compile(
            rb"\b(?:variable|locals|module)\b|\bresource"
            + gap
            + rb'"?(?:'
            + kinds.encode()
            + rb")\b|\bresource[^\n]*\\[uU]"  # an escape in a label: let the parser decode it
            + rb"|\bdata"
            + gap
            + _USER_DATA_SOURCE
        )
        # What may stand before a block on its line: blanks, a BOM, the end of a comment.
        _line_start = re.compile(rb"(?:\xef\xbb\xbf)*[ \t]*|.*\*/[ \t]*")
    return _relevant_in(data, 0, len(data))


def _relevant_in(data: bytes, start: int, end: int) -> bool:
    """:func:`relevant` for the bytes ``data[start:end]`` (``start`` at a line's start)."""
    for match in _relevant.finditer(data, start, end):
        at = match.start()
        if _line_start.fullmatch(data, max(data.rfind(b"\n", 0, at) + 1, start), at):
            return True
    return False


def parse_bytes(
    shown: str, data: bytes, only_relevant: bool = False
) -> tuple[ParsedFile | None, list[ScanError]]:
    """Parse and validate a file. With ``only_relevant`` (a .tf file), a large file is parsed in
    chunks and only its top-level blocks a target can depend on are kept (see _parse_chunks)."""
    src = Source(shown, data)
    if only_relevant and len(data) >= _CHUNKED_FROM:
        chunked = _parse_chunks(src)
        if chunked is not None:
            return chunked
    tree = syntax.parse_tree(data)
    if tree.root_node.has_error:
        return None, [syntax.syntax_error(src, tree.root_node)]
    invalid = syntax.structure_error(src, tree.root_node)
    if invalid is not None:
        return None, [invalid]
    return ParsedFile(src, tree.root_node), []


_CHUNKED_FROM = 256 * 1024
_CHUNK = 8 * 1024
# Where a chunk may end: a "}" alone at the start of a line (a top-level block's end, in a file
# `terraform fmt` wrote), blank lines, then a line that starts a block, an argument or a comment.
_BOUNDARY = rb"\n\}[ \t]*\r?\n(?:[ \t]*\r?\n)*(?=[A-Za-z_#/])"
_boundary: Any = None
_block_head: Any = None
_spans_lines: Any = None


def _skippable(data: bytes, start: int, end: int) -> bool:
    """A chunk with nothing :func:`relevant` looks for, nothing that can span lines (a heredoc, a
    block comment, a template) and balanced brackets and quotes: a chunk of whole top-level blocks
    no rule reads. It is not parsed (an error inside, such as `a = = 1`, goes unreported, as in a
    file with nothing relevant)."""
    if _relevant_in(data, start, end) or _spans_lines.search(data, start, end):
        return False
    count = data.count
    return (
        count(b"{", start, end) == count(b"}", start, end)
        and count(b"[", start, end) == count(b"]", start, end)
        and count(b"(", start, end) == count(b")", start, end)
        and count(b'"', start, end) % 2 == 0
    )


class _Body:
    """Stands in for a ``body`` node: the top-level blocks kept from the chunks of a large file."""

    __slots__ = ("named_children",)
    type = "body"

    def __init__(self, blocks: list[Node]) -> None:
        self.named_children = blocks


class _Root:
    __slots__ = ("named_children",)
    type = "config_file"

    def __init__(self, body: _Body) -> None:
        self.named_children = [body]


def _parse_chunks(src: Source) -> tuple[ParsedFile | None, list[ScanError]] | None:
    """A large .tf file, parsed chunk by chunk (positions are the file's: tree-sitter parses a byte
    range of the whole text). A chunk of blocks no rule reads (see _skippable) is neither parsed
    nor checked, as a whole file with nothing relevant is not. Every other chunk is checked as
    the whole file would be, and only its top-level blocks a target can depend on are kept, with
    the trees that hold them: the module never walks the others. A chunk that does not parse
    alone is repaired as :func:`syntax.parse_tree` repairs a file; if it still does not, the rest
    of the file is parsed as one chunk (a heredoc or comment across the cut) and its syntax
    error, if any, reported. None when the file has no chunk boundary: the caller parses the
    whole file."""
    global _boundary, _block_head, _spans_lines
    data = src.data
    if _boundary is None:
        import re

        relevant(b"")
        kinds = "|".join(sorted(KINDS)).encode()
        gap = rb"(?:[ \t]|/\*(?s:.*?)\*/)*"
        _boundary = re.compile(_BOUNDARY)
        _spans_lines = re.compile(rb"<<|/\*|\$\{|%\{")
        _block_head = re.compile(
            rb"(?:variable|locals|module)\b|resource"
            + gap
            + rb'"?(?:'
            + kinds
            + rb")\b|resource[^\n{]*\\[uU]|data"
            + gap
            + _USER_DATA_SOURCE
        )
    bounds = [0]
    at = _CHUNK
    while at < len(data):
        match = _boundary.search(data, at)
        if match is None:
            break
        bounds.append(match.end())
        at = match.end() + _CHUNK
    if len(bounds) == 1:
        return None
    bounds.append(len(data))
    body_id, _attr, block_id, _start, _end = syntax.kind_ids()
    top_names: dict[bytes, Node] = {}
    kept: list[list[Node]] = []
    # Chunks whose kept blocks hold comments that must be blanked: reparsed at the end on one
    # view of the whole file (a view per chunk would hold a copy of the file per chunk).
    stray: list[tuple[int, tuple[int, int, int], Tree, list[Node]]] = []

    def heads(root: Node) -> list[Node]:
        return [
            block
            for body in root.children
            if body.kind_id == body_id
            for block in body.children
            if block.kind_id == block_id and _block_head.match(data, block.start_byte)
        ]

    # One buffer for every repair (exponents, deep templates, comments), made on first need:
    # trees keep a reference to what they were parsed from, a buffer per chunk would be a copy
    # of the file per chunk.
    view: bytearray | None = None
    row = 0
    count = len(bounds) - 1
    i = 0
    while i < count:
        start, end = bounds[i], bounds[i + 1]
        part = (start, end, row)
        row += data.count(b"\n", start, end)
        i += 1
        if _skippable(data, start, end):
            kept.append([])
            continue
        buffer = data if view is None else view
        tree = syntax.parse_tree(buffer, part, repair=False, blank=False)
        if tree.root_node.has_error:
            if view is None:
                view = bytearray(data)
            if syntax.repair_range(view, start, end):
                tree = syntax.parse_tree(view, part, repair=False, blank=False)
        if tree.root_node.has_error:
            # A heredoc or comment across the cut, or a real error: the rest of the file is one
            # chunk (everything before it parsed whole, so this parses as the whole file would).
            assert view is not None
            part = (start, len(data), part[2])
            row, i = part[2] + data.count(b"\n", start), count
            tree = syntax.parse_tree(view, part, repair=False, blank=False)
            if tree.root_node.has_error:
                first = syntax.error_start(tree)
                if syntax.repair_range(view, start, len(data)):
                    repaired = syntax.parse_tree(view, part, repair=False, blank=False)
                    if not repaired.root_node.has_error or syntax.error_start(repaired) >= first:
                        tree = repaired
            if tree.root_node.has_error:
                # The chunks before this one parsed: HashiCorp's parser is run from here.
                return None, [syntax.syntax_error(src, tree.root_node, start)]
        root = tree.root_node
        invalid = syntax.structure_error(src, root, top_names, start)
        if invalid is not None:
            return None, [invalid]
        blocks = heads(root)
        kept.append(blocks)
        if blocks and syntax.comment_start(data, part[0], part[1]):
            comments = syntax.stray_comments(tree)
            if comments:
                stray.append((len(kept) - 1, part, tree, comments))
    if stray:
        if view is None:
            view = bytearray(data)
        syntax.blank_in_place(view, [c for _i, _p, _t, cs in stray for c in cs])
        for index, part, tree, comments in stray:
            kept[index] = heads(syntax.reparse(tree, view, comments, part).root_node)
    root_node = cast("Node", _Root(_Body([b for blocks in kept for b in blocks])))
    return ParsedFile(src, root_node), []


def tfvars_files(directory: str) -> list[str]:
    """The variable files Terraform loads automatically, lowest precedence first."""
    names = sorted(os.listdir(directory)) if os.path.isdir(directory) else []
    out: list[str] = [n for n in ("terraform.tfvars", "terraform.tfvars.json") if n in names]
    out += [n for n in names if n.endswith((".auto.tfvars", ".auto.tfvars.json"))]
    return [os.path.join(directory, n) for n in out]


def var_inputs(
    path: str, shown: str, files: source.Files
) -> tuple[dict[str, VarInput], list[ScanError]]:
    """Attributes of a .tfvars (HCL) or .tfvars.json file, read through ``files``. One that
    cannot be read (missing, a named pipe or device, over the size limit) is an error, never
    skipped in silence."""
    try:
        data = files.read(path)
    except OSError as exc:
        return {}, [ScanError(shown, 0, 0, f"cannot read: {exc.strerror or exc}")]
    if path.endswith(".json"):
        return _json_var_inputs(data, shown)
    parsed, errors = parse_bytes(shown, data)
    if parsed is None:
        return {}, errors
    origin = os.path.basename(shown)
    out = {}
    for body in syntax.children(parsed.root, "body"):
        for name, expr in syntax.attributes(body).items():
            out[name] = VarInput(parsed.src, expr, origin)
    return out, []


def _json_var_inputs(data: bytes, shown: str) -> tuple[dict[str, VarInput], list[ScanError]]:
    from imds_iac_checks.formats.doc import MAP, DNode, DocError, Locator, decode, parse_json

    try:
        text = decode(data)
        root = parse_json(text)
    except DocError as exc:
        loc = Locator(shown, data.decode("utf-8", "replace"))
        line, column, _ = loc.position(min(exc.offset, len(loc.text)))
        return {}, [ScanError(shown, line, column, f"invalid JSON: {exc.message}")]
    loc = Locator(shown, text)
    if root.kind != MAP:
        return {}, [ScanError(shown, 1, 1, "a .tfvars.json file holds one object")]

    def to_val(node: DNode) -> Val:
        link = (Link(loc.node_span(node), LinkKind.LITERAL),)
        if node.kind == MAP:
            return Val({str(k.value): to_val(v) for k, v in node.pairs()}, link)
        if node.kind == "seq":
            return Val([to_val(v) for v in node.items], link)
        return Val(node.value, link, expr=loc.source(node))

    origin = os.path.basename(shown)
    return {str(k.value): VarInput(None, None, origin, to_val(v)) for k, v in root.pairs()}, []


def cli_var_input(assignment: str) -> tuple[str, VarInput] | None:
    """``NAME=VALUE`` as ``terraform -var`` takes it: the name up to the first ``=``; None when
    there is no ``=``, no name, or a name ending in a space (Terraform's usage errors). The value
    is text, read when the variable's type is known (:func:`text_input_mode`)."""
    name, sep, raw = assignment.partition("=")
    if not sep or not name or name.endswith(" "):
        return None
    origin = "--var " + compact(assignment, 80)
    return name, VarInput(None, None, origin, kind=LinkKind.VARIABLE_CLI, raw=raw)


def env_var_inputs(environment: Mapping[str, str]) -> dict[str, VarInput]:
    """Values for root-module variables from ``TF_VAR_name`` environment variables
    (``environment`` maps the names, without the prefix, to the text), as Terraform reads them:
    text, read when the variable's type is known (:func:`text_input_mode`)."""
    return {
        name: VarInput(None, None, f"TF_VAR_{name}", kind=LinkKind.VARIABLE_ENV, raw=raw)
        for name, raw in environment.items()
        if name
    }


# How Terraform reads a variable's value given as text (-var, TF_VAR_name), from
# hashicorp/terraform:
# - internal/configs/named_values.go: a variable block without `type` gets ParsingMode
#   VariableParseLiteral; decodeVariableType returns VariableParseLiteral for a primitive type
#   (string, number, bool; and the legacy quoted "string") and VariableParseHCL for everything
#   else (the `list` and `map` keywords, `any`, collection, object and tuple types);
#   VariableParsingMode.Parse takes a literal as cty.StringVal(value), and parses HCL with
#   hclsyntax.ParseExpression, then expr.Value(nil): no variables, no functions.
# - internal/backend/unparsed_value.go: a value for an undeclared variable is parsed as
#   VariableParseLiteral.
# - internal/command/meta_vars.go (collectVariableValues): TF_VAR_name first (the lowest
#   precedence), then terraform.tfvars, terraform.tfvars.json, *.auto.tfvars(.json) in lexical
#   order, then -var and -var-file in command-line order.
LITERAL, HCL = "literal", "hcl"
_PRIMITIVE_TYPES = frozenset({"string", "number", "bool"})


def _type_name(src: Source, type_expr: Node) -> str:
    """A type constraint's text, without the quotes of the legacy form (``"string"``)."""
    text = src.text(syntax.unwrap(type_expr)).strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    return text


def text_input_mode(src: Source | None, type_expr: Node | None) -> str:
    """LITERAL or HCL: how a value given as text is read for a variable declared with
    ``type_expr`` (None: no ``type``, or an undeclared variable). See the note above."""
    if src is None or type_expr is None:
        return LITERAL
    return LITERAL if _type_name(src, type_expr) in _PRIMITIVE_TYPES else HCL


def _relabel(value: Val, kind: str, subject: str = "", place: str = "") -> Val:
    """Say what kind of place the leaves were written in (see :meth:`Val.relabelled`)."""
    return value.relabelled(kind, subject, place)


# Bounds for hostile input. Evaluation steps per module instance (every setting, local and
# variable together; one expression gets at most MAX_STEPS of them), instances of one resource or
# module call expanded from `count`/`for_each`, and instances of all resources of one module.
MODULE_STEPS = 500_000
MAX_INSTANCES = 256
MODULE_INSTANCES = 10_000
_UNBOUNDED = 1 << 62


class Module:
    def __init__(
        self,
        files: list[ParsedFile],
        inputs: dict[str, VarInput],
        work: list[int] | None = None,
        where: tuple[str, str, str, source.Files] | None = None,
    ) -> None:
        self.files = files
        # (this module's directory, the root module's directory, the scan's working directory,
        # the Files of the scan): where ``file()`` and ``templatefile()`` read (see .userdata);
        # None when the module is not read from a directory.
        self.where = where
        # Data sources user data is read from (see .userdata.DATA_KINDS), by (type, name).
        self.data_blocks: dict[tuple[str, str], tuple[Source, Node]] = {}
        self.inputs = inputs
        # Evaluation steps left: per module instance, or shared by every module of a root.
        self.work = work if work is not None else [MODULE_STEPS]
        self.expanded = 0  # instances of this module's resources and calls so far
        self.variables: dict[str, tuple[Source, Node]] = {}
        self.module_calls: list[tuple[Source, Node, str]] = []
        self.local_exprs: dict[str, tuple[Source, Node]] = {}
        self.resources: list[tuple[Source, Node, list[str]]] = []
        for parsed in files:
            for body in syntax.children(parsed.root, "body"):
                for block in syntax.children(body, "block"):
                    kind = syntax.ident(block)
                    labels = syntax.labels(parsed.src, block)
                    if kind == "variable" and len(labels) == 1:
                        self.variables.setdefault(labels[0], (parsed.src, block))
                    elif kind == "locals":
                        for name, expr in syntax.attributes(syntax.child(block, "body")).items():
                            self.local_exprs.setdefault(name, (parsed.src, expr))
                    elif kind == "resource" and len(labels) == 2 and labels[0] in KINDS:
                        self.resources.append((parsed.src, block, labels))
                    elif kind == "module" and len(labels) == 1:
                        self.module_calls.append((parsed.src, block, labels[0]))
                    elif kind == "data" and len(labels) == 2 and labels[0] in _USER_DATA_SOURCES:
                        self.data_blocks.setdefault((labels[0], labels[1]), (parsed.src, block))
        self._vars: dict[str, Val] = {}
        self._locals: dict[str, Val] = {}
        self._busy: set[str] = set()
        self._busy_vars: set[str] = set()
        self.scope = Scope(
            self._variable, self._local, written=self._written, declared=self._declared
        )
        # Evaluated with an input set to take a branch its default does not (see
        # _off_by_default): no further alternatives are tried from here.
        self.assumed = False

    def _written(self, span: Span) -> bool:
        """The text at ``span`` is a literal (True when the file is not one of this module's)."""
        for parsed in self.files:
            if parsed.src.path == span.path:
                return (
                    _LITERAL.fullmatch(parsed.src.data[span.start_byte : span.end_byte]) is not None
                )
        return True

    def _declared(self, kind: str, name: str) -> tuple[Source, Node] | None:
        """A local's expression (``kind`` "local") or a variable's block ("var")."""
        return (self.local_exprs if kind == "local" else self.variables).get(name)

    # --- names ----------------------------------------------------------------------------------
    def _variable(self, name: str, src: Source, node: Node) -> Val:
        if name in self._vars:
            return self._vars[name]
        if name in self._busy_vars:  # a default that refers to the variable itself
            return unknown(src, node, f"var.{name} (its value refers to itself)")
        self._busy_vars.add(name)
        try:
            value = self._variable_value(name, src, node)
        except TooComplex as exc:
            value = unknown(src, node, f"{TOO_COMPLEX}: var.{name}: {exc}", LinkKind.TOO_COMPLEX)
        finally:
            self._busy_vars.discard(name)
        self._vars[name] = value
        return value

    def _variable_value(self, name: str, src: Source, node: Node) -> Val:
        declared = self.variables.get(name)
        given = self.inputs.get(name)
        value: Val
        if given is not None:
            if given.raw is not None:
                value = self._text_input(name, given, declared)
            elif given.value is not None:
                value = given.value
            else:
                assert given.src is not None and given.node is not None
                value = self._eval(given.src, given.node)
            value = _relabel(value, *given.label(name))
        elif declared is not None:
            default = syntax.attributes(syntax.child(declared[1], "body")).get("default")
            if default is None:
                # Nothing was written anywhere: the finding belongs where the variable is used.
                value = Val(None, (), False, f"var.{name} (no default and no value given)")
            else:
                default_value = self._eval(declared[0], default)
                value = _relabel(default_value, LinkKind.VARIABLE_DEFAULT, f"var.{name}")
        else:
            value = unknown(src, node, f"var.{name} (not declared)")
        if declared is not None:
            attrs = syntax.attributes(syntax.child(declared[1], "body"))
            type_expr = attrs.get("type")
            if type_expr is not None:
                value = self._convert(value, declared[0], type_expr, f"var.{name}")
            nullable = attrs.get("nullable")
            default = attrs.get("default")
            not_nullable = nullable is not None and syntax.literal(declared[0], nullable) is False
            if value.is_null and not_nullable and default is not None:
                default_value = self._eval(declared[0], default)
                value = _relabel(default_value, LinkKind.VARIABLE_DEFAULT, f"var.{name}")
        return value

    def _text_input(self, name: str, given: VarInput, declared: tuple[Source, Node] | None) -> Val:
        """The value of a variable given as text (``--var``, ``TF_VAR_name``), read as Terraform
        reads it (:func:`text_input_mode`). Its links have no file: a finding points at the
        first place in a file that uses it (see Value.span)."""
        assert given.raw is not None
        raw = given.raw
        label = given.label(name)
        src, type_expr = None, None
        if declared is not None:
            src = declared[0]
            type_expr = syntax.attributes(syntax.child(declared[1], "body")).get("type")
        if text_input_mode(src, type_expr) == LITERAL:
            value: Any = raw
            primitive = _type_name(src, type_expr) if src is not None and type_expr else ""
            if primitive == "number":
                value = _text_number(raw)
            elif primitive == "bool" and raw in ("true", "false"):
                value = raw == "true"
            return Val(value, (Link(NO_FILE, *label),))
        parsed, _errors = parse_bytes("", f"v = {raw}\n".encode())
        expr = None
        if parsed is not None:
            body = syntax.children(parsed.root, "body")
            attrs = syntax.attributes(body[0]) if len(body) == 1 else {}
            if list(attrs) == ["v"] and not syntax.children(body[0], "block"):
                expr = attrs["v"]
        if parsed is None or expr is None:
            why = (
                f"{given.origin}: not a valid expression (var.{name} is not of a primitive "
                "type: Terraform reads its value as HCL)"
            )
            return Val(None, (Link(NO_FILE, *label),), False, why)

        def no_reference(ref: str, at: Source, node: Node) -> Val:
            return unknown(at, node, f"{ref} (no references allowed in {given.origin})")

        scope = Scope(
            lambda n, at, node: no_reference(f"var.{n}", at, node),
            lambda n, at, node: no_reference(f"local.{n}", at, node),
        )
        value = self._eval(parsed.src, expr, scope)
        if not value.known and not value.choices:
            value = Val(None, (Link(NO_FILE, *label),), False, f"{value.expr} in {given.origin}")
        return _relabel(value, *label)

    def _local(self, name: str, src: Source, node: Node) -> Val:
        if name in self._locals:
            return self._locals[name]
        found = self.local_exprs.get(name)
        if found is None or name in self._busy:
            return unknown(src, node, f"local.{name}")
        self._busy.add(name)
        try:
            value = _relabel(self._eval(*found), LinkKind.LOCAL, f"local.{name}")
        finally:
            self._busy.discard(name)
        self._locals[name] = value
        return value

    def _known_value(self, src: Source) -> Callable[[Node], object]:
        """An expression's value when it is known, else None."""

        def value_of(node: Node) -> object:
            value = self._eval(src, node)
            return value.v if value.known else None

        return value_of

    def evaluate(self, src: Source, node: Node, scope: Scope | None = None) -> Val:
        """Evaluate an expression of one of this module's files (or of a file read with it,
        such as a ``terragrunt.hcl``) within this module's bounds; see :meth:`_eval`."""
        return self._eval(src, node, scope)

    def _eval(self, src: Source, node: Node, scope: Scope | None = None) -> Val:
        """Evaluate an expression; whatever cannot be evaluated (an error Terraform would
        report, a bound reached, a defect here) is unknown, with the reason."""
        outer = Budget.active
        if not outer:
            if self.work[0] <= 0:
                why = "the evaluation steps allowed for this module tree are used up"
                return unknown(src, node, f"{TOO_COMPLEX}: {why}", LinkKind.TOO_COMPLEX)
            Budget.limit = Budget.left = min(MAX_STEPS, self.work[0])
            Budget.active = True
        try:
            return evaluate(src, node, scope or self.scope)
        except EvalError as exc:
            return unknown(src, node, f"{compact(src.text(node))} ({exc})")
        except TooComplex as exc:
            return unknown(src, node, f"{TOO_COMPLEX}: {exc}", LinkKind.TOO_COMPLEX)
        except RecursionError:
            return unknown(src, node, "expression nested too deeply")
        except Exception as exc:  # a defect here must not end the scan: say what happened
            return unknown(src, node, f"internal error: {type(exc).__name__}: {exc}")
        finally:
            if not outer:
                self.work[0] -= Budget.limit - max(Budget.left, 0)
                Budget.active = False
                Budget.left = _UNBOUNDED  # copies made outside an evaluation are its results

    # --- types ------------------------------------------------------------------------------------
    def _convert(self, value: Val, src: Source, type_expr: Node, where: str) -> Val:
        """Apply ``optional(type, default)`` attribute defaults of object types, recursively."""
        node = syntax.unwrap(type_expr)
        if node.type != "function_call" or value.choices or not value.known:
            return value
        charge()
        name = src.text(node.named_children[0])
        args_node = syntax.child(node, "function_arguments")
        args = [c for c in args_node.named_children if c.type == "expression"] if args_node else []
        if name in ("map", "list", "set") and len(args) == 1:
            if isinstance(value.v, dict):
                return Val(
                    {k: self._convert(v, src, args[0], where) for k, v in value.v.items()},
                    value.links,
                )
            if isinstance(value.v, list):
                return Val([self._convert(v, src, args[0], where) for v in value.v], value.links)
            return value
        if name != "object" or len(args) != 1 or not isinstance(value.v, dict):
            return value
        fields = syntax.unwrap(args[0])
        if fields.type != "collection_value":
            return value
        converted = dict(value.v)
        for elem in fields.named_children[0].named_children:
            if elem.type != "object_elem":
                continue
            exprs = [c for c in elem.named_children if c.type == "expression"]
            if len(exprs) != 2:
                continue
            attr = src.text(exprs[0]).strip().strip('"')
            attr_type = syntax.unwrap(exprs[1])
            current = converted.get(attr)
            if (
                attr_type.type == "function_call"
                and src.text(attr_type.named_children[0]) == "optional"
            ):
                opt_args_node = syntax.child(attr_type, "function_arguments")
                opt_args = (
                    [c for c in opt_args_node.named_children if c.type == "expression"]
                    if opt_args_node
                    else []
                )
                if (current is None or current.is_null) and len(opt_args) == 2:
                    default = _relabel(
                        self._eval(src, opt_args[1]),
                        LinkKind.OPTIONAL_DEFAULT,
                        f"{where}.{attr}",
                    )
                    current = self._convert(default, src, opt_args[0], f"{where}.{attr}")
                elif current is None:
                    link = (Link(src.span(exprs[0]), LinkKind.OPTIONAL_ATTRIBUTE),)
                    current = Val(None, link)
                elif opt_args:
                    current = self._convert(current, src, opt_args[0], f"{where}.{attr}")
            elif current is not None:
                current = self._convert(current, src, exprs[1], f"{where}.{attr}")
            if current is not None:
                converted[attr] = current
        return Val(converted, value.links)

    # --- resources --------------------------------------------------------------------------------
    def local_calls(
        self,
        directory: str,
        downloaded: dict[str, str] | None = None,
        call_path: tuple[str, ...] = (),
    ) -> list[tuple[Source, Node, str, str]]:
        """Module calls whose code is on disk: a local source (``./``, ``../``), or a module
        Terraform downloaded (``downloaded`` maps call paths as ``modules.json`` writes them,
        such as ``eks.nodes``, to directories; ``call_path`` is this module's, ``("eks",)``).
        ``(src, block, name, child directory)``."""
        out = []
        for src, block, name in self.module_calls:
            literal = self.call_source(src, block)
            if not isinstance(literal, str):
                continue
            if isinstance(literal, str) and literal.startswith(("./", "../")):
                out.append((src, block, name, os.path.normpath(os.path.join(directory, literal))))
            elif downloaded and (key := ".".join((*call_path, name))) in downloaded:
                out.append((src, block, name, downloaded[key]))
        return out

    def call_source(self, src: Source, block: Node) -> object:
        source = syntax.attributes(syntax.child(block, "body")).get("source")
        return syntax.literal(src, source) if source is not None else None

    def registry_targets(
        self,
        src: Source,
        block: Node,
        name: str,
        prefix: str,
        outer: tuple[tuple[str, str], ...] = (),
    ) -> list[Target]:
        """Targets for a call of a well-known registry module that is not on disk. ``outer``:
        the instance names of the module instance that makes the call (Target.instance_names)."""
        from imds_iac_checks.formats.terraform import registry

        source = self.call_source(src, block)
        if not isinstance(source, str):
            return []
        body = syntax.child(block, "body")
        attrs = syntax.attributes(body)
        version_expr = attrs.get("version")
        constraint = syntax.literal(src, version_expr) if version_expr is not None else None
        constraint = constraint if isinstance(constraint, str) else None
        eras = registry.node_group_eras(source, constraint)
        if eras is not None:
            where = version_expr if version_expr is not None else attrs.get("source", block)
            return self.node_group_targets(
                src, block, name, prefix, outer, eras, source, constraint, src.span(where)
            )
        known = registry.known_module(source)
        if known is None:
            return []
        before, after = registry.sides(constraint, known.change)
        where = version_expr if version_expr is not None else attrs.get("source", block)
        change = ".".join(str(p) for p in known.change)
        kind = known.resource.split(".")[0]
        spec = KINDS[kind]
        out = []
        for suffix, inputs in self.call_inputs(src, block, f"{prefix}module.{name}"):
            given = inputs.get("metadata_options")
            options = given.value if given is not None else None
            sides_present = [
                (label, defaults)
                for label, present, defaults in (
                    (f"module version < {change}", before, known.before),
                    (f"module version >= {change}", after, known.after),
                )
                if present
            ]
            block_span = None
            settings: dict[str, tuple[Value, ...]] = {}
            labelled = len(sides_present) > 1
            for label, defaults in sides_present:
                has_input = options is not None and options.known and isinstance(options.v, dict)
                if defaults is None and not has_input:
                    if labelled:  # this version writes no block: tokens not set there
                        link = (
                            Link(
                                src.span(where),
                                LinkKind.KNOWN_MODULE,
                                str(source),
                                constraint or "latest",
                            ),
                        )
                        settings.setdefault(TOKENS, ())
                        settings[TOKENS] += (Value(True, None, None, "", link, label),)
                    continue
                block_span = src.span(block)
                for key, field in spec.fields.items():
                    value: Val | None = None
                    if has_input and field in options.v:  # type: ignore[union-attr]
                        value = options.v[field]  # type: ignore[union-attr]
                    elif defaults is not None and key in defaults:
                        link = (
                            Link(
                                src.span(where),
                                LinkKind.KNOWN_MODULE_DEFAULT,
                                str(source),
                                constraint or "(latest)",
                            ),
                        )
                        value = Val(defaults[key], link, expr=str(defaults[key]))
                    if value is None:
                        continue
                    values = to_values(
                        spec,
                        key,
                        value,
                        label if labelled else None,
                        (Link(src.span(block), LinkKind.EXPRESSION),),
                    )
                    settings[key] = settings.get(key, ()) + tuple(values)
            if TOKENS in settings and block_span is None:
                block_span = src.span(block)
            call = f"{prefix}module.{name}"
            resource = f"{call}{suffix}.{known.resource}"
            own = ((resource + known.key, resource),) if known.key else ()
            instance = ((call + suffix, call),) if suffix else ()
            out.append(
                Target(
                    spec=spec,
                    address=resource + known.key,
                    path=src.path,
                    span=src.span(block),
                    header=src.span(block.named_children[0], block.named_children[1]),
                    block_span=block_span,
                    settings=settings,
                    format=FORMAT,
                    instance_names=own + instance + outer,
                )
            )
        return out

    def unevaluated_call(
        self,
        src: Source,
        block: Node,
        name: str,
        prefix: str,
        outer: tuple[tuple[str, str], ...] = (),
        *,
        missing_directory: str | None = None,
        initialized: bool = False,
    ) -> Target | None:
        """An IMDS004 target for a module call whose code is not evaluated: not on disk (or a
        local directory that does not exist: ``missing_directory``), not downloaded (with
        ``initialized``, ``modules.json`` exists but does not list it), and not a well-known
        module; None for a call that needs no evaluation (a module known to create no
        instances, a well-known one judged by its defaults). It points at the ``source``."""
        from imds_iac_checks.formats.terraform import registry, unevaluated

        source = self.call_source(src, block)
        if isinstance(source, str) and missing_directory is None:
            if unevaluated.is_local(source) or registry.known_module(source) is not None:
                return None
            if registry.node_group_eras(source, None) is not None:
                return None  # a modelled top-level module (its node groups, or none)
            if unevaluated.creates_no_instances(source) is not None:
                return None
        attrs = syntax.attributes(syntax.child(block, "body"))
        version_expr = attrs.get("version")
        version = syntax.literal(src, version_expr) if version_expr is not None else None
        why = unevaluated.explain(
            name,
            source,
            version,
            missing_directory=missing_directory,
            initialized=initialized,
        )
        where = attrs.get("source")
        span = src.span(where) if where is not None else src.span(block)
        target = problem_target(
            MODULE_CALL, f"{prefix}module.{name}", src, block, span, why, LinkKind.NOT_EVALUATED
        )
        return target._replace(instance_names=outer)

    def node_group_targets(
        self,
        src: Source,
        block: Node,
        name: str,
        prefix: str,
        outer: tuple[tuple[str, str], ...],
        eras: tuple[registry.Era, ...],
        source: str,
        constraint: str | None,
        version_span: Span,
    ) -> list[Target]:
        """Targets for a call of the top-level EKS module that is not on disk: one per node group
        of its ``eks_managed_node_groups`` / ``self_managed_node_groups`` inputs, with the
        metadata options each gets in the versions ``eras`` cover (labelled when there are
        several). See :data:`registry.NODE_GROUP_MODULES`."""
        from imds_iac_checks.formats.terraform import registry

        call = f"{prefix}module.{name}"
        who = f"module {name} ({source.strip()} {constraint or 'latest'})"
        out: list[Target] = []
        for suffix, inputs in self.call_inputs(src, block, call):
            create = inputs.get("create")
            if create is not None and _flag(create.value) is False:
                continue
            instance = ((call + suffix, call),) if suffix else ()
            for kind in registry.GROUP_MAPS:
                given = inputs.get(kind.groups)
                if given is None or given.value is None:
                    continue
                groups = given.value
                inner = f"{call}{suffix}.module.{kind.module}"
                if groups.known and groups.v is None:
                    continue
                if not groups.known or not isinstance(groups.v, dict):
                    unknown_groups = to_values(KINDS["aws_launch_template"], TOKENS, groups)
                    if not unknown_groups or unknown_groups[0].known:
                        continue  # not a map: Terraform rejects it
                    out.append(
                        Target(
                            spec=KINDS["aws_launch_template"],
                            address=f"{inner}.aws_launch_template.this",
                            path=src.path,
                            span=src.span(block),
                            header=src.span(block.named_children[0], block.named_children[1]),
                            block_span=unknown_groups[0].span,
                            settings={},
                            format=FORMAT,
                            unknown_block=unknown_groups[0]._replace(
                                expression=f"{kind.groups} = {unknown_groups[0].expression}"
                            ),
                            instance_names=instance + outer,
                        )
                    )
                    continue
                defaults = inputs.get(kind.defaults)
                shared = defaults.value if defaults is not None else None
                for key, group in groups.v.items():
                    made = self._node_group(
                        src, block, kind, key, group, shared, eras, who, version_span
                    )
                    group_address = f"{inner}[{show(key)}]"
                    for resource, (spec, settings, block_span, unknown_block, ref) in made.items():
                        out.append(
                            Target(
                                spec=spec,
                                address=f"{group_address}.{resource}[0]",
                                path=src.path,
                                span=src.span(block),
                                header=src.span(block.named_children[0], block.named_children[1]),
                                block_span=block_span,
                                settings=settings,
                                format=FORMAT,
                                unknown_block=unknown_block,
                                template_ref=ref,
                                instance_names=(
                                    (
                                        f"{group_address}.{resource}[0]",
                                        f"{group_address}.{resource}",
                                    ),
                                    (group_address, inner),
                                    *instance,
                                    *outer,
                                ),
                            )
                        )
        return out

    def _node_group(
        self,
        src: Source,
        block: Node,
        kind: registry.GroupMap,
        key: str,
        group: Val,
        shared: Val | None,
        eras: tuple[registry.Era, ...],
        who: str,
        version_span: Span,
    ) -> dict[
        str, tuple[KindSpec, dict[str, tuple[Value, ...]], Span | None, Value | None, Value | None]
    ]:
        """What one node group (``group``: its map entry) launches from, in each era: resource
        inside the group's module -> (kind, settings, options block, unknown block, template
        reference)."""
        from imds_iac_checks.formats.terraform import registry

        template = KINDS["aws_launch_template"]
        labelled = len(eras) > 1
        call_span = src.span(block)
        made: dict[str, list[Any]] = {}

        def entry(era: registry.Era, field: str) -> tuple[Val | None, bool]:
            """The group's ``field``, or (18.x-20.x) its defaults input's; and whether it came
            from the defaults (shared by every group that does not set it)."""
            if group.known and isinstance(group.v, dict) and field in group.v:
                value = group.v[field]
                if not (value.known and value.v is None and era.defaults_input):
                    return value, False
            if era.defaults_input and shared is not None:
                if not shared.known:
                    return shared, True
                if isinstance(shared.v, dict) and field in shared.v:
                    return shared.v[field], True
            return None, False

        def slot(resource: str, spec: KindSpec) -> list[Any]:
            return made.setdefault(resource, [spec, {}, None, None, None])

        for era in eras:
            label = f"module version {era.label}" if labelled else None
            if not group.known:
                unknown_group = to_values(template, TOKENS, group)
                row = slot("aws_launch_template.this", template)
                row[2] = row[2] or unknown_group[0].span
                row[3] = unknown_group[0]._replace(condition=label)
                continue
            create, _ = entry(era, "create_launch_template")
            custom, _ = entry(era, "use_custom_launch_template")
            creates = True if create is None else _flag(create)
            uses = True if custom is None or era.own_template == registry.OWN_18 else _flag(custom)
            if era.own_template == registry.OWN_18 and creates is False:
                name_val, _ = entry(era, "launch_template_name")
                own = name_val is not None and name_val.known and name_val.v == ""
                uses = not own
            deciding = [
                v
                for v, flag in ((create, creates), (custom, uses))
                if v is not None and flag is not True
            ]
            if creates is None or uses is None:  # a flag that cannot be evaluated
                culprit = create if creates is None else custom
                assert culprit is not None
                row = slot("aws_launch_template.this", template)
                bad = to_values(template, TOKENS, culprit)
                value = bad[0] if bad else Value(False, None, None, culprit.expr, culprit.links)
                row[2] = row[2] or value.span
                row[3] = value._replace(condition=label)
                continue
            if kind.managed and not uses:  # EKS's own launch template
                flag_val = deciding[-1] if deciding else None
                span = flag_val.links[0].span if flag_val and flag_val.links else call_span
                link = (Link(span, LinkKind.EKS_OWN_TEMPLATE, era.own_template, who),)
                spec = template._replace(kind="aws_eks_node_group")
                row = slot("aws_eks_node_group.this", spec)
                row[2] = row[2] or span
                for setting, raw in ((TOKENS, "optional"), (HOP_LIMIT, 2)):
                    _add(row[1], setting, Value(True, raw, raw, show(raw), link, label))
                continue
            if not creates:  # a launch template made outside the module
                ref_field = "launch_template_id"
                ref_val, _ = entry(era, ref_field)
                if ref_val is None and era.own_template == registry.OWN_18:
                    ref_field = "launch_template_name"
                    ref_val, _ = entry(era, ref_field)
                resource = (
                    "aws_eks_node_group.this" if kind.managed else "aws_autoscaling_group.this"
                )
                spec = template._replace(kind=resource.split(".")[0])
                row = slot(resource, spec)
                shown = ref_field
                if ref_val is not None and ref_val.expr:
                    shown += f" = {ref_val.expr}"
                elif ref_val is not None and ref_val.known and isinstance(ref_val.v, str):
                    shown += f" = {show(ref_val.v)}"
                span = create.links[0].span if create is not None and create.links else call_span
                row[4] = Value(
                    False,
                    None,
                    None,
                    f"{shown} (create_launch_template = false)",
                    (Link(span, LinkKind.TEMPLATE_REFERENCE),),
                    label,
                )
                continue
            row = slot("aws_launch_template.this", template)
            settings: dict[str, tuple[Value, ...]] = row[1]
            options, from_defaults = entry(era, "metadata_options")
            module_default = (
                Link(version_span, LinkKind.NODE_GROUP_DEFAULT, who, era.default_place),
            )
            if options is None or (era.merge and options.known and options.v is None):
                row[2] = row[2] or call_span
                for setting, raw in era.defaults.items():
                    _add(settings, setting, Value(True, raw, raw, show(raw), module_default, label))
                continue
            if not options.known:
                bad = to_values(template, TOKENS, options)
                row[2] = row[2] or bad[0].span
                row[3] = bad[0]._replace(condition=label)
                continue
            if options.v is None or (
                isinstance(options.v, dict)
                and not options.v
                and era.since >= (19, 0)
                and not era.merge
            ):
                continue  # no metadata_options block at all
            if not isinstance(options.v, dict):
                continue  # Terraform rejects it
            block_span = (
                options.links[0].span
                if options.links and options.links[0].span.path == src.path
                else call_span
            )
            row[2] = row[2] or block_span
            for setting, field in template.fields.items():
                given = options.v.get(field)
                if given is not None and not (given.known and given.v is None):
                    values = to_values(
                        template, setting, given, label, (Link(block_span, LinkKind.EXPRESSION),)
                    )
                    if from_defaults:
                        values = [_shared(v) for v in values]
                    for one in values:
                        _add(settings, setting, one)
                elif era.merge and setting in era.defaults:
                    raw = era.defaults[setting]
                    _add(settings, setting, Value(True, raw, raw, show(raw), module_default, label))
        return {resource: tuple(row) for resource, row in made.items()}

    def call_inputs(
        self, src: Source, block: Node, address: str
    ) -> list[tuple[str, dict[str, VarInput]]]:
        """The instances of a module call (``count``/``for_each``) and the inputs of each,
        evaluated here, in the caller. A literal written at the call site is labelled as that
        module input, so that a finding names it."""
        return [(suffix, inputs) for suffix, inputs, _ in self.call_instances(src, block, address)]

    def call_instances(
        self, src: Source, block: Node, address: str
    ) -> list[tuple[str, dict[str, VarInput], Expansion]]:
        """:meth:`call_inputs` with how the instances were expanded (the same Expansion for
        every instance)."""
        body = syntax.child(block, "body")
        out = []
        expansion = self._instances(src, body)
        for suffix, names in expansion.items:
            scope = self.scope.with_names(**names)
            inputs = {}
            for name, expr in syntax.attributes(body).items():
                if name in _META_ARGUMENTS:
                    continue
                value = _relabel(
                    self._eval(src, expr, scope), LinkKind.MODULE_INPUT, name, f"{address}{suffix}"
                )
                inputs[name] = VarInput(
                    None, None, f"{address}{suffix}", value, LinkKind.MODULE_INPUT
                )
                inputs[name].caller = (src, expr, self, scope)
            # An input written as a block (`metadata_options { ... }`): Terraform rejects it in a
            # module call, some tools accept it; read it as the object it means.
            for inner in syntax.children(body, "block") if body is not None else []:
                name = syntax.ident(inner)
                if name in _META_ARGUMENTS or name in inputs or syntax.labels(src, inner):
                    continue
                label = (LinkKind.MODULE_INPUT, name, f"{address}{suffix}")
                fields = {
                    k: _relabel(self._eval(src, e, scope), *label)
                    for k, e in syntax.attributes(syntax.child(inner, "body")).items()
                }
                value = Val(fields, (Link(src.span(inner), *label),))
                inputs[name] = VarInput(
                    None, None, f"{address}{suffix}", value, LinkKind.MODULE_INPUT
                )
            out.append((suffix, inputs, expansion))
        return out

    def targets(self, prefix: str = "", outer: tuple[tuple[str, str], ...] = ()) -> list[Target]:
        """The targets of this module's resources, one per instance. A resource whose
        evaluation fails (a defect, not an expression Terraform would reject: those are unknown
        values) becomes an IMDS004 target of its own; the other resources are unaffected.
        ``prefix`` is this module instance's address (``module.web[0].``), ``outer`` its
        instance names (see Target.instance_names)."""
        out: list[Target] = []
        for src, block, labels in self.resources:
            out.extend(self._resource_targets(src, block, labels, prefix, outer))
        return out

    def _resource_targets(
        self,
        src: Source,
        block: Node,
        labels: list[str],
        prefix: str,
        outer: tuple[tuple[str, str], ...],
    ) -> list[Target]:
        out: list[Target] = []
        spec = KINDS[labels[0]]
        address = f"{prefix}{labels[0]}.{labels[1]}"
        body = syntax.child(block, "body")
        launcher = LAUNCHERS.get(labels[0])
        if launcher is not None and not _launches(src, body, launcher, self._known_value(src)):
            return out  # no EC2 instances (Fargate, an unmanaged compute environment)
        try:
            expansion = self._instances(src, body)
            if expansion.off is not None and not self.assumed:
                out.extend(self._off_by_default(src, block, labels, prefix, outer, expansion))
            for suffix, names in expansion.items:
                scope = self.scope.with_names(**names)
                own = ((address + suffix, address),) if suffix else ()
                state = True if launcher is None else self._launch_state(src, body, launcher, scope)
                if state is False:
                    continue  # this instance's compute resources launch no EC2 instance
                if state is not True:
                    where, why = state
                    vague = problem_target(spec, address + suffix, src, block, where, why)
                    out.append(vague._replace(instance_names=own + outer))
                    continue
                target = self._target(spec, address + suffix, src, block, body, labels, scope)
                target = target._replace(instance_names=own + outer)
                if expansion.every is not None:
                    target = target._replace(instances=expansion.every)
                out.append(target)
            if expansion.cut is not None:
                where, why = expansion.cut
                cut = problem_target(spec, address, src, block, where, why, LinkKind.TOO_COMPLEX)
                out.append(cut._replace(instance_names=outer))
        except Exception as exc:  # a defect must not cost the other resources their findings
            why = f"internal error: {type(exc).__name__}: {exc}"
            failed = problem_target(spec, address, src, block, src.span(block), why)
            out.append(failed._replace(instance_names=outer))
        return out

    def _off_by_default(
        self,
        src: Source,
        block: Node,
        labels: list[str],
        prefix: str,
        outer: tuple[tuple[str, str], ...],
        expansion: Expansion,
    ) -> list[Target]:
        """A resource that ``count``/``for_each`` leaves out under the inputs' defaults only
        (``count = var.create ? 1 : 0`` with ``default = false`` and no value given): it is
        evaluated with the input that decides it set to take the other branch, and its targets
        say under which input they exist. When no such value can be derived, an IMDS004 target
        says that it was not evaluated. Left out by a value someone gave (a tfvars entry, a
        module argument, the command line) or by the code itself, it does not exist."""
        flipped = self._flipped(expansion)
        if flipped is None:
            return []
        when, alternative, why = flipped
        assert expansion.off is not None
        where = expansion.off[1]
        spec = KINDS[labels[0]]
        address = f"{prefix}{labels[0]}.{labels[1]}"
        if alternative is None:
            why = (
                f"the resource exists only when {when}, and imds-iac could not derive a value "
                f"to evaluate it with: {why}"
            )
            cut = problem_target(spec, address, src, block, where, why)
            return [cut._replace(instance_names=outer, only_when=when)]
        made = alternative._resource_targets(src, block, labels, prefix, outer)
        self.expanded = alternative.expanded
        if not made:
            why = f"the resource exists only when {when}, and is not created then either"
            cut = problem_target(spec, address, src, block, where, why)
            return [cut._replace(instance_names=outer, only_when=when)]
        return [target._replace(only_when=when) for target in made]

    def _flipped(self, expansion: Expansion) -> tuple[str, Module | None, str] | None:
        """For a block that ``count``/``for_each`` leaves out (``expansion.off``) under a
        variable's default only: under which input it exists (``var.create is true: its
        default at variables.tf:3 is false``), and this module with that variable set to take
        the other branch (None when no such value can be derived: the third item says why).
        None when something else leaves it out (a value someone gave, the code itself)."""
        assert expansion.off is not None
        off, _ = expansion.off
        decision = next((link.decision for link in off.links if link.decision is not None), None)
        decided_by = decision.input_link if decision is not None else None
        if decision is None or decided_by is None:
            # No single input decides it (`length(var.hosts) > 0 ? 1 : 0`, `count = var.n`): it
            # is still off only because of variable defaults when the value came from them and
            # from nothing anyone gave. Then it is named (IMDS004), never left out in silence.
            kinds = {link.kind for link in off.links}
            defaults = {
                link.subject for link in off.links if link.kind == LinkKind.VARIABLE_DEFAULT
            }
            if decision is not None and decision.reads_input:
                # A condition of several inputs, or a function of one: the variables it names,
                # when every one of them has its default here.
                # A condition that also reads locals or anything else is not judged here (a
                # local may carry a value someone gave: `local.create = var.create && ...`).
                named = set(re.findall(r"\bvar\.([A-Za-z_][\w-]*)", decision.condition))
                others = re.search(r"\b(?:local|module|data|each|count)\.", decision.condition)
                if (
                    not named
                    or others is not None
                    or any(n not in self.variables or n in self.inputs for n in named)
                ):
                    return None
                defaults = {f"var.{n}" for n in named}
            elif LinkKind.VARIABLE_DEFAULT not in kinds or kinds & _GIVEN_KINDS:
                return None
            names = sorted(defaults)
            when = f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} not the default"
            why = "no single input decides whether it exists"
            return when, None, why
        if decided_by.kind != LinkKind.VARIABLE_DEFAULT:
            return None
        other = "false" if decision.taken else "true"
        at = decided_by.span
        said = decided_by.description
        if decided_by.subject == decision.subject and not decision.through:
            said = "its default"
        when = f"{decision.condition} is {other}: {said} at {at.path}:{at.line} is {decision.shown}"
        name = decision.subject.removeprefix("var.")
        if (
            decision.flip is None
            or not decision.subject.startswith("var.")
            or not name.isidentifier()
            or name not in self.variables
        ):
            return when, None, decision.why or decision.subject + " is computed"
        assumed = Val(decision.flip, (Link(at, LinkKind.VARIABLE_DEFAULT, decided_by.subject),))
        inputs = dict(self.inputs)
        inputs[name] = VarInput(None, None, decided_by.subject, assumed, LinkKind.VARIABLE_DEFAULT)
        alternative = Module(self.files, inputs, self.work, self.where)
        alternative.assumed = True
        alternative.expanded = self.expanded
        return when, alternative, ""

    def call_off_by_default(
        self, src: Source, block: Node, address: str
    ) -> tuple[list[tuple[str, dict[str, VarInput], Expansion]], str] | Target | None:
        """A module call that ``count``/``for_each`` leaves out under the inputs' defaults only
        (``count = var.enable_bastion ? 1 : 0``, ``default = false``), as
        :meth:`_off_by_default` does for a resource: its instances under the input that creates
        it, with under which input that is; or an IMDS004 target at the ``count`` when no value
        can be derived (or the call is not made then either); None when it does not exist
        (left out by a value someone gave, by the code itself) or this module is itself
        evaluated under an assumed input."""
        if self.assumed:
            return None
        expansion = self._instances(src, syntax.child(block, "body"))
        if expansion.off is None:
            return None
        flipped = self._flipped(expansion)
        if flipped is None:
            return None
        when, alternative, why = flipped
        where = expansion.off[1]
        if alternative is not None:
            instances = alternative.call_instances(src, block, address)
            self.expanded = alternative.expanded
            if instances:
                return instances, when
            why = f"the module call exists only when {when}, and is not made then either"
        else:
            why = (
                f"the module call exists only when {when}, and imds-iac could not derive a "
                f"value to evaluate it with: {why}"
            )
        return problem_target(MODULE_CALL, address, src, block, where, why)  # it says when

    def _instances(self, src: Source, body: Node | None) -> Expansion:
        """The instances ``count``/``for_each`` make: at most MAX_INSTANCES (and MODULE_INSTANCES
        for the whole module). Past the bound, one target stands for every instance when the
        block does not read ``count.index``/``each``; else the first instances are evaluated and
        the cut is said (an IMDS004 "too complex" target)."""
        attrs = syntax.attributes(body)
        if "count" in attrs:
            count = self._eval(src, attrs["count"])
            total = _whole(count.v) if count.known and not count.choices else None
            if total is not None:

                def at(i: int) -> tuple[str, dict[str, Val]]:
                    return f"[{i}]", {"count": Val({"index": Val(i, count.links)}, count.links)}

                made = self._bounded(src, body, attrs["count"], "count", total, at)
                if total == 0:
                    made.off = (count, src.span(attrs["count"]))
                return made
            index = Val(None, (), False, _compact_text(src, attrs["count"]))
            return Expansion([("", {"count": Val({"index": index}, count.links)})])
        if "for_each" in attrs:
            each = self._eval(src, attrs["for_each"])
            items = self._each_items(each)
            if items is not None:

                def item(i: int) -> tuple[str, dict[str, Val]]:
                    k, v = items[i]
                    bound = Val({"key": Val(str(k), each.links), "value": v}, each.links)
                    return f"[{show(str(k))}]", {"each": bound}

                made = self._bounded(src, body, attrs["for_each"], "for_each", len(items), item)
                if not items:
                    made.off = (each, src.span(attrs["for_each"]))
                return made
            placeholder = Val(None, (), False, _compact_text(src, attrs["for_each"]))
            return Expansion(
                [("", {"each": Val({"key": placeholder, "value": placeholder}, each.links)})]
            )
        return Expansion([("", {})])

    def _each_items(self, each: Val) -> list[tuple[str, Val]] | None:
        """The ``(key, value)`` pairs of a ``for_each`` collection (a set's elements are their
        own keys), or None when they cannot be had statically."""
        if not each.known or each.choices or not isinstance(each.v, (dict, list)):
            return None
        if isinstance(each.v, dict):
            return list(each.v.items())
        outer = Budget.active
        if not outer:  # keys of a set: its elements, as text (bounded like an evaluation)
            Budget.limit = Budget.left = MAX_STEPS
            Budget.active = True
        try:
            return [(_to_key(v.plain()), v) for v in each.v]
        except TooComplex:
            return None
        finally:
            if not outer:
                Budget.active = False
                Budget.left = _UNBOUNDED

    def _bounded(
        self,
        src: Source,
        body: Node | None,
        expr: Node,
        meta: str,
        total: int,
        at: Any,
    ) -> Expansion:
        bound = max(1, min(MAX_INSTANCES, MODULE_INSTANCES - self.expanded))
        if total <= bound:
            self.expanded += total
            return Expansion([at(i) for i in range(total)])
        self.expanded += bound
        reads = _READS_COUNT if meta == "count" else _READS_EACH
        if body is None or not reads.search(src.text(body)):
            # The same settings for every instance: evaluate one, say it stands for all.
            _, names = at(0)
            return Expansion([("", names)], every=total)
        why = (
            f"{TOO_COMPLEX}: {meta} makes {total:,} instances; "
            f"only the first {bound:,} were evaluated"
        )
        return Expansion([at(i) for i in range(bound)], cut=(src.span(expr), why))

    def _target(
        self,
        spec: KindSpec,
        address: str,
        src: Source,
        block: Node,
        body: Node | None,
        labels: list[str],
        scope: Scope,
    ) -> Target:
        header = src.span(block.named_children[0], block.named_children[2])
        options_body: Node | None
        block_span: Span | None
        iterator: dict[str, Val] = {}
        block_key: Span | None = None
        if spec.block is None:
            options_body, block_span = body, src.span(block)
        else:
            options_body, block_span, iterator, block_key = self._options(
                src, body, spec.block, scope
            )
        settings: dict[str, tuple[Value, ...]] = {}
        if spec.option is not None:
            settings = self._option_settings(spec, src, body, scope)
        elif spec.block_in_json:
            block_span, settings, block_key = self._json_settings(spec, src, body, scope)
        elif block_span is not None:
            attrs = syntax.attributes(options_body)
            inner = scope.with_names(**iterator) if iterator else scope
            for key, field in spec.fields.items():
                expr = attrs.get(field)
                if expr is None:
                    continue
                value = self._eval(src, expr, inner)
                if not value.known and not value.choices and not value.links:
                    value = unknown(src, expr)  # no origin of its own: report it where it is used
                where = (Link(src.span(expr), LinkKind.EXPRESSION),)
                values = to_values(spec, key, value, where=where)
                if values:
                    settings[key] = tuple(values)
        template = (
            _template_ref(src, body) if body is not None and labels[0] in TEMPLATE_USERS else None
        )
        more: tuple[Value, ...] = ()
        launcher = LAUNCHERS.get(labels[0])
        if launcher is not None and body is not None:

            def evaluated(expr: Node, where: Scope | None) -> Val:
                return self._eval(src, expr, where or scope)

            def blocks(path: tuple[str, ...]) -> list[tuple[Node, Scope, Node | None]]:
                return self._blocks(src, body, path, scope)

            found = _launcher_refs(src, body, launcher, evaluated, blocks)
            template, more = (found[0], tuple(found[1:])) if found else (None, ())
        elif spec.option is not None and body is not None and not settings:
            # Not set here: the environment's configuration template may set it.
            found = _launcher_refs(src, body, Launcher((BEANSTALK_TEMPLATE,), ""))
            template = found[0] if found else None
        keys: tuple[str, ...] = ()
        if labels[0] in NAMED_KINDS:
            base = f"{labels[0]}.{labels[1]}"
            name_expr = syntax.attributes(body).get("name")
            name = self._eval(src, name_expr, scope) if name_expr is not None else None
            prefix = NAMED_KINDS[labels[0]]
            keys = (base,) + (
                (f"{prefix}name:{name.v}",)
                if name is not None and name.known and isinstance(name.v, str)
                else ()
            )
        user_data: tuple[Payload, ...] = ()
        if src.data.find(b"user_data", block.start_byte, block.end_byte) >= 0:
            from imds_iac_checks.formats.terraform import userdata

            user_data = userdata.read(self, src, body, scope, address, labels[0])
        return Target(
            spec=spec,
            address=address,
            path=src.path,
            span=src.span(block),
            header=header,
            block_span=block_span,
            settings=settings,
            format=FORMAT,
            template_ref=template,
            template_keys=keys,
            block_key=block_key,
            more_refs=more,
            user_data=user_data,
        )

    def _option_settings(
        self, spec: KindSpec, src: Source, body: Node | None, scope: Scope
    ) -> dict[str, tuple[Value, ...]]:
        """The tokens setting of a kind whose settings are option entries (Elastic Beanstalk's
        ``setting { namespace, name, value }`` blocks, static or ``dynamic``): the values of the
        entries whose namespace and name are the kind's option. An entry whose namespace or name
        cannot be evaluated, or a ``dynamic`` block whose ``for_each`` cannot, may be it: when no
        entry is known to be it, the setting is unknown there (IMDS004), never a silent pass."""
        assert spec.option is not None
        namespace, option = spec.option
        found: list[Value] = []
        maybe: list[Value] = []
        for block in syntax.children(body, "block") if body is not None else []:
            ident, labels = syntax.ident(block), syntax.labels(src, block)
            entries: list[tuple[Node, Scope]] = []
            if ident == "setting" and not labels:
                inner = syntax.child(block, "body")
                if inner is not None:
                    entries.append((inner, scope))
            elif ident == "dynamic" and labels == ["setting"]:
                dyn = syntax.child(block, "body")
                attrs = syntax.attributes(dyn)
                iterator_expr = attrs.get("iterator")
                name = src.text(iterator_expr).strip() if iterator_expr is not None else "setting"
                content = None
                for inner in syntax.children(dyn, "block") if dyn is not None else []:
                    if syntax.ident(inner) == "content":
                        content = syntax.child(inner, "body")
                for_each = attrs.get("for_each")
                if content is None or for_each is None:
                    continue
                items = self._eval(src, for_each, scope)
                if not (items.known and not items.choices and isinstance(items.v, (list, dict))):
                    why = f"a dynamic setting block over {_compact_text(src, for_each)}"
                    maybe.append(
                        Value(
                            False, None, None, why, (Link(src.span(for_each), LinkKind.EXPRESSION),)
                        )
                    )
                    continue
                pairs = (
                    list(items.v.items()) if isinstance(items.v, dict) else list(enumerate(items.v))
                )
                for key, value in pairs:
                    bound = Val({"key": Val(key, items.links), "value": value}, items.links)
                    entries.append((content, scope.with_names(**{name: bound})))
            for inner, where in entries:
                attrs = syntax.attributes(inner)
                ns_expr, name_expr = attrs.get("namespace"), attrs.get("name")
                if ns_expr is None or name_expr is None:
                    continue
                said = [self._eval(src, expr, where) for expr in (ns_expr, name_expr)]
                value_expr = attrs.get("value")
                if all(v.known and not v.choices for v in said):
                    if (said[0].v, said[1].v) != (namespace, option) or value_expr is None:
                        continue
                    value = self._eval(src, value_expr, where)
                    if not value.known and not value.choices and not value.links:
                        value = unknown(src, value_expr)
                    link = (Link(src.span(value_expr), LinkKind.EXPRESSION),)
                    found.extend(to_values(spec, TOKENS, value, where=link))
                elif value_expr is not None:
                    text = f"a setting whose namespace or name is {_compact_text(src, name_expr)}"
                    maybe.append(
                        Value(
                            False, None, None, text, (Link(src.span(inner), LinkKind.EXPRESSION),)
                        )
                    )
        if found:
            return {TOKENS: tuple(found)}
        return {TOKENS: (maybe[0],)} if maybe else {}

    def _json_settings(
        self, spec: KindSpec, src: Source, body: Node | None, scope: Scope
    ) -> tuple[Span | None, dict[str, tuple[Value, ...]], Span | None]:
        """The options block of a kind whose settings sit in a JSON document held in a string
        (EMR's ``configuration``): its span, settings and the span of its key. ``jsonencode({...})``
        is evaluated as the object it encodes (values point at what is written); a string or a
        heredoc is read as JSON (values point at the string: a fix edits inside it)."""
        attrs = syntax.attributes(body)
        expr = attrs.get("configuration")
        block = spec.block or ""
        if expr is None:
            return None, {}, None
        call = expr
        while call.type in ("expression", "expr_term") and call.named_children:
            call = call.named_children[0]
        document: Val | None = None
        if call.type == "function_call":
            ident = call.named_children[0] if call.named_children else None
            args = [c for c in call.named_children[1:] if c.type == "function_arguments"]
            if ident is not None and src.text(ident) == "jsonencode" and args:
                inner = [c for c in args[0].named_children if c.type == "expression"]
                if len(inner) == 1:
                    document = self._eval(src, inner[0], scope)
        span = src.span(expr)
        if document is None:
            text = self._eval(src, expr, scope)
            if not text.known or text.choices:
                why = Value(
                    False, None, None, _compact_text(src, expr), (Link(span, LinkKind.EXPRESSION),)
                )
                return span, {TOKENS: (why,)}, None
            import json

            try:
                data = json.loads(text.v) if isinstance(text.v, str) else None
            except (ValueError, RecursionError):
                data = None
            imds = data.get(block) if isinstance(data, dict) else None
            if not isinstance(imds, dict):
                return None, {}, None
            settings: dict[str, tuple[Value, ...]] = {}
            for key, field in spec.fields.items():
                raw = imds.get(field)
                if raw is None or isinstance(raw, (dict, list)):
                    continue
                canonical, problem = normalize(spec, key, raw)
                link = (Link(span, LinkKind.LITERAL),)
                settings[key] = (Value(True, canonical, raw, json.dumps(raw), link, None, problem),)
            return span, settings, span
        if not document.known or document.choices or not isinstance(document.v, dict):
            if document.known and not document.choices:
                return None, {}, None
            why = Value(
                False, None, None, _compact_text(src, expr), (Link(span, LinkKind.EXPRESSION),)
            )
            return span, {TOKENS: (why,)}, None
        imds_val = document.v.get(block)
        if imds_val is None:
            return None, {}, None
        if not imds_val.known or imds_val.choices or not isinstance(imds_val.v, dict):
            where = imds_val.links[0].span if imds_val.links else span
            why = Value(
                False, None, None, imds_val.expr or block, (Link(where, LinkKind.EXPRESSION),)
            )
            return span, {TOKENS: (why,)}, None
        out: dict[str, tuple[Value, ...]] = {}
        for key, field in spec.fields.items():
            val = imds_val.v.get(field)
            if val is None:
                continue
            values = to_values(spec, key, val, where=(Link(span, LinkKind.EXPRESSION),))
            if values:
                out[key] = tuple(values)
        first = imds_val.links[0].span if imds_val.links else span
        return span, out, first

    def _blocks(
        self, src: Source, body: Node | None, path: tuple[str, ...], scope: Scope
    ) -> list[tuple[Node, Scope, Node | None]]:
        """The bodies of the nested blocks ``path`` names (every match at each step), each with
        the scope its content sees. A ``dynamic "<step>"`` block's content comes once per
        element of its ``for_each`` (the iterator bound to it), not at all when ``for_each`` is
        known to be empty, and once with an unknown iterator when ``for_each`` cannot be
        evaluated: the third item is then that ``for_each`` (the dynamic block when it has
        none), None otherwise."""
        found: list[tuple[Node, Scope, Node | None]] = (
            [(body, scope, None)] if body is not None else []
        )
        for step in path:
            out: list[tuple[Node, Scope, Node | None]] = []
            for outer, where, vague in found:
                for block in syntax.children(outer, "block"):
                    labels = syntax.labels(src, block)
                    inner = syntax.child(block, "body")
                    if inner is None:
                        continue
                    if syntax.ident(block) == step and not labels:
                        out.append((inner, where, vague))
                    elif syntax.ident(block) == "dynamic" and labels == [step]:
                        out += self._dynamic_contents(src, block, inner, step, where, vague)
            found = out
        return found

    def _dynamic_contents(
        self, src: Source, block: Node, dyn: Node, step: str, scope: Scope, vague: Node | None
    ) -> list[tuple[Node, Scope, Node | None]]:
        """The contents of one ``dynamic`` block, as :meth:`_blocks` lists them."""
        attrs = syntax.attributes(dyn)
        iterator_expr = attrs.get("iterator")
        name = src.text(iterator_expr).strip() if iterator_expr is not None else step
        contents = [
            content_body
            for content in syntax.children(dyn, "block")
            if syntax.ident(content) == "content"
            for content_body in [syntax.child(content, "body")]
            if content_body is not None
        ]
        for_each = attrs.get("for_each")
        items = self._eval(src, for_each, scope) if for_each is not None else None
        if items is not None and items.known and not items.choices:
            raw = items.v
            if isinstance(raw, (list, dict)):
                pairs = list(raw.items()) if isinstance(raw, dict) else list(enumerate(raw))
                out: list[tuple[Node, Scope, Node | None]] = []
                for key, value in pairs:
                    bound = Val({"key": Val(key, items.links), "value": value}, items.links)
                    inner = scope.with_names(**{name: bound})
                    out += [(content, inner, vague) for content in contents]
                return out
        text = _compact_text(src, for_each) if for_each is not None else f"dynamic {step!r}"
        placeholder = Val(None, (), False, text)
        links = items.links if items is not None else ()
        inner = scope.with_names(**{name: Val({"key": placeholder, "value": placeholder}, links)})
        return [(content, inner, vague or for_each or block) for content in contents]

    def _launch_state(
        self, src: Source, body: Node | None, launcher: Launcher, scope: Scope
    ) -> bool | tuple[Span, str]:
        """Whether one instance of a launcher kind launches EC2 instances, judged with its
        ``count``/``for_each`` names bound and its ``dynamic`` blocks expanded (see
        :func:`_launches` for what counts). ``(where, why)`` when a ``dynamic`` block that
        decides it cannot be evaluated: the resource is then an IMDS004 warning, neither a
        silent pass nor a guessed IMDS006."""
        if launcher.needs:
            needed = self._blocks(src, body, launcher.needs, scope)
            if not needed:
                return False
        if launcher.exempt is None:
            return True
        path, name, values = launcher.exempt
        static = {(inner.start_byte, inner.end_byte) for inner in _bodies(src, body, path)}
        unjudged: tuple[Span, str] | None = None
        for inner, where, vague in self._blocks(src, body, path, scope):
            expr = syntax.attributes(inner).get(name)
            value: object = None
            if expr is not None:
                value = syntax.literal(src, expr)
                if not (isinstance(value, str) and value in values):
                    said = self._eval(src, expr, where)
                    value = said.v if said.known and not said.choices else None
            if isinstance(value, str) and value in values:
                continue  # this one launches no EC2 instance
            dynamic = vague is not None or (inner.start_byte, inner.end_byte) not in static
            if not dynamic or (vague is None and (expr is None or value is not None)):
                return True  # launches, or may (a static block's unknown value): judged
            if unjudged is None:
                node, said_as = (vague, "for_each") if vague is not None else (expr, name)
                assert node is not None
                text = "no for_each" if node.type == "block" else f"{said_as} = "
                text += "" if node.type == "block" else _compact_text(src, node)
                unjudged = (
                    src.span(node),
                    f"{path[-1] if path else 'the resource'} in a dynamic block could not be "
                    f"evaluated ({text}): whether it launches EC2 instances is not known",
                )
        return unjudged if unjudged is not None else False

    def _options(
        self, src: Source, body: Node | None, name: str, scope: Scope
    ) -> tuple[Node | None, Span | None, dict[str, Val], Span | None]:
        """The options block's body, span, the names its content sees (a ``dynamic`` block's
        iterator) and the span of its name as written."""
        if body is None:
            return None, None, {}, None
        for block in syntax.children(body, "block"):
            ident = syntax.ident(block)
            if ident == name and not syntax.labels(src, block):
                named = src.span(block.named_children[0])
                return syntax.child(block, "body"), src.span(block), {}, named
            if ident == "dynamic" and syntax.labels(src, block) == [name]:
                named = src.span(block.named_children[0], block.named_children[1])
                dyn = syntax.child(block, "body")
                attrs = syntax.attributes(dyn)
                iterator_expr = attrs.get("iterator")
                iterator = src.text(iterator_expr).strip() if iterator_expr is not None else name
                content = None
                for inner in syntax.children(dyn, "block") if dyn is not None else []:
                    if syntax.ident(inner) == "content":
                        content = syntax.child(inner, "body")
                for_each = attrs.get("for_each")
                if for_each is None:
                    return content, src.span(block), {}, named
                items = self._eval(src, for_each, scope)
                if items.known and not items.choices and isinstance(items.v, (list, dict)):
                    elements = (
                        list(items.v.items())
                        if isinstance(items.v, dict)
                        else list(enumerate(items.v))
                    )
                    if not elements:
                        continue  # for_each over an empty collection: no block
                    key, value = elements[0]
                    bound = Val({"key": Val(key, items.links), "value": value}, items.links)
                    return content, src.span(block), {iterator: bound}, named
                placeholder = Val(None, (), False, _compact_text(src, for_each))
                return (
                    content,
                    src.span(block),
                    {iterator: Val({"key": placeholder, "value": placeholder}, items.links)},
                    named,
                )
        return None, None, {}, None


_META_ARGUMENTS = frozenset(
    {"source", "version", "count", "for_each", "providers", "depends_on", "lifecycle"}
)
_LITERAL = re.compile(rb'"(?:[^"\\$%]|\\.|\$(?!\{)|%(?!\{))*"|-?\d+(?:\.\d+)?|null|true|false')
_READS_COUNT = re.compile(r"\bcount\s*\.\s*index\b")
_READS_EACH = re.compile(r"\beach\s*(?:\.|\[)")


class Expansion:
    """The instances of a resource or module call: ``(address suffix, names)`` each; ``every``
    when the one item stands for every one of that many instances; ``cut`` (where, why) when
    only the first instances are listed."""

    __slots__ = ("cut", "every", "items", "off")

    def __init__(
        self,
        items: list[tuple[str, dict[str, Val]]],
        every: int | None = None,
        cut: tuple[Span, str] | None = None,
    ) -> None:
        self.items = items
        self.every = every
        self.cut = cut
        # No instances: the ``count``/``for_each`` value that says so, and where it is written.
        self.off: tuple[Val, Span] | None = None


# Module calls have no kind of their own: an IMDS004 target for one (a module graph too large to
# evaluate) uses this.
MODULE_CALL = KindSpec(
    kind="module", block=None, fields={}, suggest={}, needs_block=False, block_label="module call"
)


def problem_target(
    spec: KindSpec,
    address: str,
    src: Source,
    block: Node,
    where: Span,
    why: str,
    kind: str = LinkKind.EXPRESSION,
) -> Target:
    """A target that only says why it could not be evaluated (IMDS004 at ``where``)."""
    named = block.named_children
    header = src.span(named[0], named[min(2, len(named) - 1)]) if named else src.span(block)
    return Target(
        spec=spec,
        address=address,
        path=src.path,
        span=src.span(block),
        header=header,
        block_span=src.span(block),
        settings={},
        format=FORMAT,
        unknown_block=Value(False, None, None, why, (Link(where, kind),)),
    )


def _template_ref(src: Source, body: Node) -> Value | None:
    """The launch template an instance launches from: ``launch_template { id | name }``."""
    for block in syntax.children(body, "block"):
        if syntax.ident(block) != "launch_template" or syntax.labels(src, block):
            continue
        attrs = syntax.attributes(syntax.child(block, "body"))
        expr = attrs.get("id") or attrs.get("name")
        if expr is None:
            return None
        return template_reference(
            src.span(expr),
            compact(src.text(expr)),
            syntax.literal(src, expr),
            "name" in attrs,
        )
    return None


def _bodies(
    src: Source, body: Node | None, path: tuple[str, ...], dynamic: bool = False
) -> list[Node]:
    """The bodies of the nested blocks ``path`` names (every match at each step); with
    ``dynamic``, also the ``content`` of a ``dynamic "<step>"`` block (whatever its
    ``for_each``: what it names is then judged, an unknown name being IMDS004)."""
    found = [body] if body is not None else []
    for step in path:
        out: list[Node] = []
        for outer in found:
            for block in syntax.children(outer, "block"):
                labels = syntax.labels(src, block)
                inner = syntax.child(block, "body")
                if inner is None:
                    continue
                if syntax.ident(block) == step and not labels:
                    out.append(inner)
                elif dynamic and syntax.ident(block) == "dynamic" and labels == [step]:
                    out += [
                        content_body
                        for content in syntax.children(inner, "block")
                        if syntax.ident(content) == "content"
                        for content_body in [syntax.child(content, "body")]
                        if content_body is not None
                    ]
        found = out
    return found


def _launcher_refs(
    src: Source,
    body: Node,
    launcher: Launcher,
    evaluate: Callable[[Node, Scope | None], Val] | None = None,
    blocks: Callable[[tuple[str, ...]], list[tuple[Node, Scope, Node | None]]] | None = None,
) -> list[Value]:
    """The launch templates (security configuration, configuration template) a resource that
    has no metadata options of its own names, in the order of ``launcher.refs``. ``evaluate``
    follows a reference that is not written as one (``local.launch_template_id``, a conditional
    between the module's own template and an input): the value it comes to, or the resource
    attribute it reads (``aws_launch_template.this[0].id``). ``blocks`` lists the blocks a
    ref's path names with the scope each content sees (see Module._blocks): a ``dynamic`` block
    whose ``for_each`` is known to be empty names nothing, one whose ``for_each`` is known is
    read with its iterator bound; without it, every ``dynamic`` block's content is read once."""
    out: list[Value] = []
    maybe: list[Value] = []  # unresolved, in a dynamic block (an override that may not exist)
    static = {
        (inner.start_byte, inner.end_byte)
        for ref in launcher.refs
        for inner in _bodies(src, body, ref.path)
    }
    for ref in launcher.refs:
        entries: list[tuple[Node, Scope | None]] = (
            [(inner, where) for inner, where, _ in blocks(ref.path)]
            if blocks is not None
            else [(inner, None) for inner in _bodies(src, body, ref.path, dynamic=True)]
        )
        for inner, where in entries:
            attrs = syntax.attributes(inner)
            expr = attrs.get(ref.id) or attrs.get(ref.name)
            if expr is None:
                continue
            by_name = ref.id not in attrs
            named = attrs.get(ref.name)
            if not by_name and named is not None and evaluate is not None and ref.id != ref.name:
                # ``id = lookup(launch_template.value, "id", null)`` beside a name: the id
                # known to be null leaves the name to say it
                said = evaluate(expr, where)
                if said.known and not said.choices and said.v is None:
                    expr, by_name = named, True
            span = src.span(expr)
            found = template_reference(
                span, compact(src.text(expr)), syntax.literal(src, expr), by_name, ref
            )
            if not found.known and evaluate is not None:
                value = evaluate(expr, where)
                literal = value.v if value.known and isinstance(value.v, str) else None
                text = value.expr if not value.known and isinstance(value.expr, str) else ""
                followed = template_reference(span, text, literal, by_name, ref)
                if followed.known:
                    found = followed._replace(provenance=(*followed.provenance, *value.links))
            if found in out or found in maybe:
                continue  # the same template, named by another element of a for_each
            if found.known or (inner.start_byte, inner.end_byte) in static:
                out.append(found)
            else:
                maybe.append(found)
    # A reference in a dynamic block that cannot be resolved counts only when the resource names
    # no template otherwise (an Auto Scaling group's optional overrides are written that way).
    return out if any(v.known for v in out) else out + maybe


# Where a value someone gave comes from: a block left out by such a value does not exist.
_GIVEN_KINDS = frozenset(
    {
        LinkKind.VARIABLE_FILE,
        LinkKind.VARIABLE_CLI,
        LinkKind.VARIABLE_ENV,
        LinkKind.MODULE_INPUT,
        LinkKind.SHARED_MODULE_INPUT,
    }
)


def _launches(
    src: Source,
    body: Node | None,
    launcher: Launcher,
    value_of: Callable[[Node], object] | None = None,
) -> bool:
    """Whether a resource of a launcher kind launches EC2 instances (an expression that could
    decide otherwise counts as launching: never a silent pass). ``value_of`` evaluates an
    expression that is not a literal (a variable's default: ``ami_type = var.ami_type``)."""
    if launcher.needs and not _bodies(src, body, launcher.needs, dynamic=True):
        return False
    if launcher.exempt is not None:
        path, name, values = launcher.exempt
        for inner in _bodies(src, body, path):
            expr = syntax.attributes(inner).get(name)
            if expr is None:
                continue
            value = syntax.literal(src, expr)
            if not (isinstance(value, str) and value in values) and value_of is not None:
                value = value_of(expr)
            if isinstance(value, str) and value in values:
                return False
    return True


def _to_key(value: object) -> str:
    charge()
    return str(value)


def _text_number(raw: str) -> Any:
    """Text given for a ``number`` variable, converted as Terraform converts a string to a
    number: the number, or the text itself when it is not one (the rules then say so)."""
    try:
        number = float(raw.strip())
    except ValueError:
        return raw
    if not math.isfinite(number):
        return raw
    return int(number) if number.is_integer() else number


def _whole(value: Any) -> int | None:
    """A ``count`` as Terraform takes it: a whole number (an exponent literal such as ``1e400``
    is an exact int), at least 0. Anything else (a fraction, a negative number, infinity, not a
    number) is None: Terraform rejects it, and the resource is evaluated once with an unknown
    index rather than dropped."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)
    return value if value >= 0 else None


def _compact_text(src: Source, node: Node) -> str:
    return compact(src.text(node))


def to_values(
    spec: KindSpec,
    key: str,
    value: Val,
    condition: str | None = None,
    where: tuple[Link, ...] = (),
) -> list[Value]:
    """The possible Values of a setting (several for an undecided conditional); [] = not set.
    ``where`` is the provenance of a value that has none of its own (an unknown ``each.value``
    in one branch of a conditional): the expression that uses it."""
    where = value.links or where
    if value.choices:
        out: list[Value] = []
        for label, branch in value.choices:
            full = label if condition is None else f"{condition} and {label}"
            out.extend(
                to_values(spec, key, branch, full, where)
                or [Value(True, None, None, "null", branch.links or where, full)]
            )
        return out
    if not value.known:
        return [Value(False, None, None, value.expr, where, condition)]
    raw: Any = value.v
    if raw is None:
        return []
    if isinstance(raw, (list, dict)):
        return [Value(True, None, None, "", where, condition, "not a single value")]
    canonical, problem = normalize(spec, key, raw)
    if canonical is None and problem is None:
        return []
    return [Value(True, canonical, raw, value.expr or show(raw), where, condition, problem)]


def _flag(value: Val | None) -> bool | None:
    """A boolean input as Terraform converts it (``"false"`` too); None when unknown."""
    if value is None or not value.known:
        return None
    raw: object = value.v
    if raw is True or raw == "true":
        return True
    if raw is False or raw == "false":
        return False
    return None


def _add(settings: dict[str, tuple[Value, ...]], key: str, value: Value) -> None:
    settings[key] = (*settings.get(key, ()), value)


def _shared(value: Value) -> Value:
    """``value`` as written in a module input that several resources share."""
    if not value.provenance or value.provenance[0].kind != LinkKind.MODULE_INPUT:
        return value
    first = value.provenance[0]._replace(kind=LinkKind.SHARED_MODULE_INPUT)
    return value._replace(provenance=(first, *value.provenance[1:]))
