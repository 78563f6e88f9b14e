"""User data of Terraform targets, read as :class:`~imds_iac_checks.model.Payload` objects.

:func:`read` takes the ``user_data`` / ``user_data_base64`` arguments of a resource (and of a
spot fleet's ``launch_specification`` blocks) and follows what they are written from, within
the module the resource is in and the modules that call it:

- quoted strings and heredocs: their literal runs are pieces (escape ``hcl-string`` for a
  quoted string, ``hcl-template`` for a heredoc; a ``<<-`` heredoc is a piece per line without
  the indentation it strips, escape ``indent:<that indentation>+hcl-template``); each escape
  (``$${``, ``%%{``, ``\\n``, ``\\"``...) is a piece of its own, so that the others map byte for
  byte. An interpolation is a hole: its value when it is known (``http://${local.imds}/``
  reads ``http://169.254.169.254/``), else its source text. A directive (``%{ if }``,
  ``%{ for }``) is an empty hole: the text it wraps is read once, as written;
- ``local.x``, ``var.x`` (its value from a module call's argument, a ``.tfvars`` file or its
  default), ``c ? a : b`` (both branches when ``c`` is not known: a payload each);
- ``file()``, ``filebase64()`` (the file as is, escape ``raw``) and ``templatefile()`` (a
  template: ``${name}`` takes the value of ``vars`` when known, escape ``hcl-template``), read
  through the scan's :class:`~imds_iac_checks.source.Files` relative to the root module's
  directory (``path.module``, ``path.root`` and ``path.cwd`` are known here); a file that
  cannot be read gives no payload;
- ``base64encode()`` and ``base64gzip()`` (the text before encoding), a base64 literal (decoded:
  a payload without pieces, ``no_fix`` says why), ``data.template_file.x.rendered`` (its
  ``template`` rendered with its ``vars``) and ``data.cloudinit_config.x.rendered`` (each ``part``
  a payload of its own, its language from ``content_type``).

Anything else is evaluated (:meth:`Module.evaluate`): a known string is a payload without pieces;
an unknown one is no payload. Reading is bounded (references followed, alternatives, text size)
and never fails a target: a defect gives no payload.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, Protocol

from imds_iac_checks.formats.terraform import syntax
from imds_iac_checks.formats.terraform.eval import MAX_STRING, Scope, Val, unknown
from imds_iac_checks.formats.terraform.syntax import Source
from imds_iac_checks.model import Payload, Piece, Span

if TYPE_CHECKING:
    from tree_sitter import Node

    from imds_iac_checks.source import Files


class Module(Protocol):
    """What is read of a :class:`~imds_iac_checks.formats.terraform.module.Module` (which
    imports this module: no import back)."""

    where: tuple[str, str, str, Files] | None
    scope: Scope
    inputs: dict[str, Any]  # VarInput by name
    local_exprs: dict[str, tuple[Source, Node]]
    variables: dict[str, tuple[Source, Node]]
    data_blocks: dict[tuple[str, str], tuple[Source, Node]]

    def evaluate(self, src: Source, node: Node, scope: Scope | None = None) -> Val: ...


WHAT = "user data"
BASE64_NO_FIX = "the user data is base64-encoded in the file; edit the script it was encoded from"
COMPUTED_NO_FIX = "the user data is computed by an expression; edit what it is computed from"
# Data sources whose ``rendered`` output is user data (module.py keeps their blocks).
DATA_KINDS = ("cloudinit_config", "template_cloudinit_config", "template_file")
# A cloud-init part's content type -> the payload's language ("": from its first line).
LANGUAGES = {
    "text/x-shellscript": "shell",
    "text/cloud-boothook": "shell",
    "text/cloud-config": "cloud-config",
    "text/x-include-url": "",
}

MAX_HOPS = 16  # references and function calls followed from one argument
MAX_READS = 500  # expressions read for one argument (conditionals fan out)
MAX_PAYLOADS = 16  # payloads of one target

_PATH_NAMES = ("path.module", "path.root", "path.cwd")
_BOM = b"\xef\xbb\xbf"
_QUOTED_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_marks: dict[bool, Any] = {}


class _Frag:
    """Text read from an expression: its pieces (offsets in ``text``), whether every hole's
    value is known (``complete``), whether any of it is (``known``: else it is not worth
    reading), whether it is the text of a value base64-encoded by Terraform (``decoded``)."""

    __slots__ = ("complete", "decoded", "known", "language", "no_fix", "pieces", "text")

    def __init__(
        self,
        text: str,
        pieces: list[Piece] | None = None,
        complete: bool = True,
        known: bool = True,
        no_fix: str = "",
    ) -> None:
        self.text = text
        self.pieces = pieces or []
        self.complete = complete
        self.known = known
        self.decoded = False
        self.language = ""
        self.no_fix = no_fix


def _unknown(text: str) -> _Frag:
    return _Frag(text, complete=False, known=False)


class _Join:
    """Builds a fragment from literal runs, holes and other fragments, in order."""

    __slots__ = ("at", "complete", "known", "no_fix", "parts", "pieces")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pieces: list[Piece] = []
        self.at = 0
        self.complete = True
        self.known = False
        self.no_fix = ""

    def piece(self, text: str, span: Span, escape: str) -> None:
        if text:
            self.pieces.append(Piece(self.at, self.at + len(text), span, escape))
            self._add(text)
            self.known = True

    def hole(self, text: str, known: bool) -> None:
        self._add(text)
        if known:
            self.known = self.known or bool(text)
        else:
            self.complete = False

    def frag(self, frag: _Frag) -> None:
        at = self.at
        self.pieces.extend(p._replace(start=p.start + at, end=p.end + at) for p in frag.pieces)
        self._add(frag.text)
        self.complete = self.complete and frag.complete
        self.known = self.known or frag.known
        self.no_fix = self.no_fix or frag.no_fix

    def _add(self, text: str) -> None:
        self.parts.append(text)
        self.at += len(text)
        if self.at > MAX_STRING:
            raise _Stop

    def done(self) -> _Frag:
        frag = _Frag("".join(self.parts), self.pieces, self.complete, self.known, self.no_fix)
        return frag


class _Stop(Exception):
    """A bound was reached: the argument gives no payload."""


class _Reading:
    """One argument being read: the bound on its work."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_READS

    def charge(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise _Stop


# --- entry point --------------------------------------------------------------------------------


def read(
    module: Module, src: Source, body: Node | None, scope: Scope, address: str, kind: str
) -> tuple[Payload, ...]:
    """The user data of the resource of type ``kind`` whose body is ``body`` (an instance of
    it: ``scope`` holds its ``count``/``each``), as payloads owned by ``address``."""
    if body is None:
        return ()
    out: list[Payload] = []
    bodies = [body]
    if kind == "aws_spot_fleet_request":
        for block in syntax.children(body, "block"):
            if syntax.ident(block) == "launch_specification":
                inner = syntax.child(block, "body")
                if inner is not None:
                    bodies.append(inner)
    for where in bodies:
        attrs = syntax.attributes(where)
        for name in ("user_data", "user_data_base64"):
            expr = attrs.get(name)
            if expr is None:
                continue
            try:
                out.extend(_argument(module, src, expr, scope, address))
            except (_Stop, RecursionError):
                continue
            except Exception:  # a defect here must not cost the target its settings
                continue
    return tuple(out[:MAX_PAYLOADS])


def _argument(module: Module, src: Source, expr: Node, scope: Scope, address: str) -> list[Payload]:
    span = src.span(expr)
    out = []
    for frag in _expr(_Reading(), module, src, expr, scope, 0):
        if not frag.known:
            continue
        text, pieces, no_fix = frag.text, tuple(frag.pieces), frag.no_fix
        if not frag.decoded and frag.complete:
            decoded = decode_base64(text)
            if decoded is not None:
                text, pieces, no_fix = decoded, (), BASE64_NO_FIX
        out.append(Payload(text, pieces, span, WHAT, frag.language, no_fix, address))
    return out


def decode_base64(text: str) -> str | None:
    """The text a base64 literal encodes (gunzipped when it is gzip data), or None when it is
    not base64 of UTF-8 text."""
    value = text.strip()
    if len(value) < 8 or len(value) % 4 or not _is_base64(value):
        return None
    import base64
    import binascii

    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    if data[:2] == b"\x1f\x8b":
        import zlib

        try:
            inflater = zlib.decompressobj(wbits=31)
            data = inflater.decompress(data, MAX_STRING + 1)
        except zlib.error:
            return None
        if len(data) > MAX_STRING:
            return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


_base64: Any = None


def _is_base64(value: str) -> bool:
    global _base64
    if _base64 is None:
        _base64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
    return _base64.fullmatch(value) is not None


# --- expressions --------------------------------------------------------------------------------


def _expr(
    reading: _Reading, module: Module, src: Source, node: Node, scope: Scope, hops: int
) -> list[_Frag]:
    """The fragments ``node`` may be (several: an undecided conditional)."""
    reading.charge()
    node = syntax.unwrap(node)
    kind = node.type
    if hops <= MAX_HOPS:
        if kind == "template_expr" or (
            kind == "literal_value" and node.named_children[0].type == "string_lit"
        ):
            return _template(reading, module, src, node, scope, hops)
        if kind == "function_call":
            found = _call(reading, module, src, node, scope, hops)
            if found is not None:
                return found
        elif kind == "conditional":
            return _conditional(reading, module, src, node, scope, hops)
        elif kind in ("expression", "variable_expr"):
            found = _reference(reading, module, src, node, scope, hops)
            if found is not None:
                return found
    return [_evaluated(module, src, node, scope)]


def _evaluated(module: Module, src: Source, node: Node, scope: Scope) -> _Frag:
    value = module.evaluate(src, node, scope)
    if value.known and not value.choices and isinstance(value.v, str):
        return _Frag(value.v, no_fix=COMPUTED_NO_FIX)
    return _unknown(src.text(node))


def _conditional(
    reading: _Reading, module: Module, src: Source, node: Node, scope: Scope, hops: int
) -> list[_Frag]:
    parts = [c for c in node.named_children if c.type == "expression"]
    if len(parts) != 3:
        return [_evaluated(module, src, node, scope)]
    condition = module.evaluate(src, parts[0], scope)
    if condition.known and not condition.choices and isinstance(condition.v, bool):
        branch = parts[1] if condition.v else parts[2]
        return _expr(reading, module, src, branch, scope, hops + 1)
    out = _expr(reading, module, src, parts[1], scope, hops + 1)
    out += _expr(reading, module, src, parts[2], scope, hops + 1)
    return out[:MAX_PAYLOADS]


def _names(src: Source, node: Node) -> list[str] | None:
    """``var.x`` -> ["var", "x"]; ``data.t.n[0].rendered`` -> ["data", "t", "n", "rendered"]
    (indexes skipped); None for anything else."""
    parts = node.named_children if node.type == "expression" else [node]
    if not parts or parts[0].type != "variable_expr":
        return None
    names = [src.text(parts[0])]
    for part in parts[1:]:
        if part.type == "get_attr":
            names.append(src.text(part.named_children[-1]))
        elif part.type != "index":
            return None
    return names


def _reference(
    reading: _Reading, module: Module, src: Source, node: Node, scope: Scope, hops: int
) -> list[_Frag] | None:
    names = _names(src, node)
    if names is None:
        return None
    if len(names) == 2 and names[0] == "local":
        found = module.local_exprs.get(names[1])
        if found is None:
            return None
        return _expr(reading, module, found[0], found[1], module.scope, hops + 1)
    if len(names) == 2 and names[0] == "var":
        return _variable(reading, module, names[1], hops)
    if len(names) == 4 and names[0] == "data" and names[3] == "rendered":
        block = module.data_blocks.get((names[1], names[2]))
        if block is None:
            return None
        if names[1] == "template_file":
            return _template_file(reading, module, block[0], block[1], hops)
        return _cloudinit(reading, module, block[0], block[1], hops)
    return None


def _variable(reading: _Reading, module: Module, name: str, hops: int) -> list[_Frag] | None:
    given = module.inputs.get(name)
    if given is not None:
        if given.caller is not None:  # a module call's argument, in the caller
            csrc, cnode, caller, cscope = given.caller
            return _expr(reading, caller, csrc, cnode, cscope, hops + 1)
        if given.src is not None and given.node is not None and given.raw is None:
            return _expr(reading, module, given.src, given.node, module.scope, hops + 1)
        return None  # given as text or JSON: evaluated
    declared = module.variables.get(name)
    if declared is None:
        return None
    default = syntax.attributes(syntax.child(declared[1], "body")).get("default")
    if default is None:
        return None
    return _expr(reading, module, declared[0], default, module.scope, hops + 1)


def _call(
    reading: _Reading, module: Module, src: Source, node: Node, scope: Scope, hops: int
) -> list[_Frag] | None:
    name = src.text(node.named_children[0])
    arguments = syntax.child(node, "function_arguments")
    args = [c for c in arguments.named_children if c.type == "expression"] if arguments else []
    if name in ("base64encode", "base64gzip") and len(args) == 1:
        out = _expr(reading, module, src, args[0], scope, hops + 1)
        for frag in out:
            frag.decoded = True
        return out
    if name in ("file", "filebase64", "templatefile") and args:
        path = _path(reading, module, src, args[0], scope, hops)
        if path is None:
            return [_unknown(src.text(node))]
        got: _Frag | None
        if name == "templatefile":
            names = _template_vars(module, src, args[1], scope) if len(args) > 1 else {}
            got = _template_from_file(module, path, names)
        else:
            got = _file(module, path)
            if got is not None:
                got.decoded = name == "filebase64"
        return [got if got is not None else _unknown(src.text(node))]
    return None


# --- files --------------------------------------------------------------------------------------


def _path(
    reading: _Reading, module: Module, src: Source, node: Node, scope: Scope, hops: int
) -> str | None:
    """The absolute path an argument of ``file()`` names (relative to the root module's
    directory, where Terraform runs), or None when it is not known."""
    if module.where is None:
        return None
    frags = _expr(reading, module, src, node, scope, hops + 1)
    if len(frags) != 1 or not frags[0].complete:
        return None
    path = frags[0].text
    if not path:
        return None
    root = os.path.abspath(module.where[1])
    return os.path.normpath(os.path.join(root, path))


def _path_value(module: Module, name: str) -> str | None:
    if module.where is None:
        return None
    directory, root = os.path.abspath(module.where[0]), os.path.abspath(module.where[1])
    if name == "path.module":
        return os.path.relpath(directory, root).replace(os.sep, "/")
    if name == "path.root":
        return "."
    return root


def _load(module: Module, path: str) -> tuple[str, bytes] | None:
    """(the path findings show, the bytes) of a file user data reads, or None when it cannot
    be read (missing, not a regular file, over the size limit, binary)."""
    assert module.where is not None
    _directory, _root, cwd, files = module.where
    try:
        data = files.read(path)
    except OSError:
        return None
    if b"\x00" in data:
        return None
    from imds_iac_checks.source import display_path

    return display_path(path, cwd), data


def _file(module: Module, path: str) -> _Frag | None:
    loaded = _load(module, path)
    if loaded is None:
        return None
    shown, data = loaded
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    join = _Join()
    join.piece(text, span_of(shown, data, 0, len(data)), "raw")
    join.known = True
    return join.done()


def _template_vars(module: Module, src: Source, node: Node, scope: Scope) -> dict[str, Any]:
    value = module.evaluate(src, node, scope)
    if value.known and not value.choices and isinstance(value.v, dict):
        return dict(value.v)
    return {}


def _template_from_file(module: Module, path: str, names: dict[str, Any]) -> _Frag | None:
    """A template file (``templatefile``, a ``template_file`` data source) read with ``names``
    (Vals by name) as its variables."""
    loaded = _load(module, path)
    if loaded is None:
        return None
    shown, data = loaded
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    marker = b"IMDS_IAC_TEMPLATE_END"
    while marker in data:
        marker += b"_"
    head = b"t = <<" + marker + b"\n"
    wrapped = head + data + (b"" if data.endswith(b"\n") or not data else b"\n") + marker + b"\n"
    tree = syntax.parse_tree(wrapped, repair=False, blank=False)
    template = _first_template(tree.root_node)
    wsrc = Source(shown, wrapped)
    if tree.root_node.has_error or template is None:
        code: list[tuple[int, int, Node | None]] = []  # read as text: no holes known
    else:
        shift = len(head)
        code = [(a - shift, b - shift, n) for a, b, n in _code(template.named_children)]

    def none(_name: str, at: Source, node: Node) -> Any:
        return unknown(at, node)

    tscope = Scope(none, none, names)

    def hole(node: Node) -> tuple[str, bool]:
        expr = syntax.child(node, "expression")
        if expr is None:
            return "", False
        value = module.evaluate(wsrc, expr, tscope)
        text = _scalar(value)
        if text is not None:
            return text, True
        return wsrc.text(node), False

    join = _Join()
    _body(join, shown, data, 0, len(data), code, False, False, hole)
    return join.done()


def _first_template(root: Node) -> Node | None:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "heredoc_template":
            return node
        stack.extend(reversed(node.named_children))
    return None


def _scalar(value: Any) -> str | None:
    if not value.known or value.choices:
        return None
    v = value.v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (str, int, float)):
        return str(v)
    return None


# --- data sources -------------------------------------------------------------------------------


def _template_file(
    reading: _Reading, module: Module, src: Source, block: Node, hops: int
) -> list[_Frag] | None:
    attrs = syntax.attributes(syntax.child(block, "body"))
    template = attrs.get("template")
    if template is None:
        return None
    names = _template_vars(module, src, attrs["vars"], module.scope) if "vars" in attrs else {}
    inner = syntax.unwrap(template)
    if inner.type == "function_call" and src.text(inner.named_children[0]) == "file":
        arguments = syntax.child(inner, "function_arguments")
        args = [c for c in arguments.named_children if c.type == "expression"] if arguments else []
        if len(args) == 1:
            path = _path(reading, module, src, args[0], module.scope, hops)
            frag = _template_from_file(module, path, names) if path is not None else None
            return [frag if frag is not None else _unknown(src.text(template))]
    return _expr(reading, module, src, template, module.scope, hops + 1)


def _cloudinit(
    reading: _Reading, module: Module, src: Source, block: Node, hops: int
) -> list[_Frag] | None:
    out: list[_Frag] = []
    body = syntax.child(block, "body")
    for part in syntax.children(body, "block") if body is not None else []:
        if syntax.ident(part) != "part":
            continue
        attrs = syntax.attributes(syntax.child(part, "body"))
        content = attrs.get("content")
        if content is None:
            continue
        language = ""
        if "content_type" in attrs:
            kind = module.evaluate(src, attrs["content_type"], module.scope)
            if kind.known and isinstance(kind.v, str):
                language = LANGUAGES.get(kind.v.strip().lower(), "")
        for frag in _expr(reading, module, src, content, module.scope, hops + 1):
            frag.language = language
            frag.decoded = True  # the rendered document holds the part as written
            out.append(frag)
    return out[:MAX_PAYLOADS] or None


# --- templates ----------------------------------------------------------------------------------


def _template(
    reading: _Reading, module: Module, src: Source, node: Node, scope: Scope, hops: int
) -> list[_Frag]:
    inner = node.named_children[0] if node.named_children else node
    data = src.data
    named = inner.named_children
    code = _code(named)
    if inner.type in ("quoted_template", "string_lit"):
        start = inner.start_byte + 1
        last = named[-1] if named else None
        end = (
            inner.end_byte - 1
            if last is not None and last.type == "quoted_template_end"
            else inner.end_byte
        )
        quoted, strip = True, False
        # "${x}" is x itself (Terraform does not convert it to a string)
        if len(code) == 1 and code[0][0] == start and code[0][1] == end and code[0][2] is not None:
            expr = syntax.child(code[0][2], "expression")
            if expr is not None:
                return _expr(reading, module, src, expr, scope, hops + 1)
    elif inner.type == "heredoc_template":
        idents = [c for c in named if c.type == "heredoc_identifier"]
        if len(idents) < 2:
            return [_evaluated(module, src, node, scope)]
        start = data.find(b"\n", idents[0].end_byte, idents[-1].start_byte) + 1
        end = data.rfind(b"\n", 0, idents[-1].start_byte) + 1
        if start <= 0 or end < start:
            return [_evaluated(module, src, node, scope)]
        quoted = False
        strip = data.startswith(b"<<-", inner.start_byte)
    else:
        return [_evaluated(module, src, node, scope)]

    def hole(code_node: Node) -> tuple[str, bool] | _Frag:
        expr = syntax.child(code_node, "expression")
        text = src.text(code_node)
        if expr is None:
            return text, False
        written = src.text(expr).strip()
        if written in _PATH_NAMES:
            value = _path_value(module, written)
            return (value, True) if value is not None else (text, False)
        target = syntax.unwrap(expr)
        if target.type == "function_call" and src.text(target.named_children[0]) in (
            "file",
            "templatefile",
        ):
            frags = _expr(reading, module, src, expr, scope, hops + 1)
            if len(frags) == 1 and frags[0].known:
                return frags[0]
        found = _scalar(module.evaluate(src, expr, scope))
        return (found, True) if found is not None else (text, False)

    join = _Join()
    _body(join, src.path, data, start, end, code, quoted, strip, hole)
    return [join.done()]


def _code(named: list[Node]) -> list[tuple[int, int, Node | None]]:
    """The interpolations (with their node) and directive markers (node None) of a template
    (``named``: its named children), in order."""
    out: list[tuple[int, int, Node | None]] = []
    stack = list(reversed(named))
    while stack:
        node = stack.pop()
        kind = node.type
        if kind == "template_interpolation":
            out.append((node.start_byte, node.end_byte, node))
        elif kind in ("template_directive", "template_if", "template_for"):
            stack.extend(reversed(node.named_children))
        elif node.named_children and node.named_children[0].type == "template_directive_start":
            out.append((node.start_byte, node.end_byte, None))
    out.sort(key=lambda item: item[0])
    return out


def _body(
    join: _Join,
    path: str,
    data: bytes,
    start: int,
    end: int,
    code: list[tuple[int, int, Node | None]],
    quoted: bool,
    strip: bool,
    hole: Any,
) -> None:
    """Read the template text ``data[start:end]``: literal runs between the ``code`` ranges
    become pieces (split at escapes), interpolations holes (``hole(node)``: (text, known) or a
    fragment to splice), directives empty holes."""
    cut = _indent(data, start, end, code) if strip else 0
    at = start
    for a, b, node in code:
        if a < at or b > end:
            continue
        _literal(join, path, data, at, a, quoted, strip, cut)
        if node is not None:
            got = hole(node)
            if isinstance(got, _Frag):
                join.frag(got)
            else:
                join.hole(*got)
        at = b
    _literal(join, path, data, at, end, quoted, strip, cut)


def _indent(data: bytes, start: int, end: int, code: list[tuple[int, int, Node | None]]) -> int:
    """The indentation a ``<<-`` heredoc strips: the least leading whitespace of its lines
    that hold more than whitespace (a line that starts with an interpolation: none)."""
    least: int | None = None
    lines = [start]
    at = data.find(b"\n", start, end)
    while at >= 0:
        if at + 1 < end:
            lines.append(at + 1)
        at = data.find(b"\n", at + 1, end)
    inside = [(a, b) for a, b, _n in code]
    for line in lines:
        if any(a < line < b for a, b in inside):
            continue  # a newline inside an interpolation
        width = 0
        while line + width < end and data[line + width] in b" \t":
            width += 1
        after = line + width
        if after >= end or data[after : after + 1] in (b"\n", b"\r"):
            continue  # a blank line
        least = width if least is None else min(least, width)
    return least or 0


def _literal(
    join: _Join,
    path: str,
    data: bytes,
    start: int,
    end: int,
    quoted: bool,
    strip: bool,
    cut: int,
) -> None:
    """Literal template text ``data[start:end]``: pieces split at escapes (and, in a ``<<-``
    heredoc, a piece per line, without the indentation stripped at its start)."""
    if start >= end:
        return
    if not strip:
        _runs(join, path, data, start, end, quoted, "hcl-string" if quoted else "hcl-template")
        return
    at = start
    while at < end:
        newline = data.find(b"\n", at, end)
        stop = end if newline < 0 else newline + 1
        line = data.rfind(b"\n", 0, at) + 1
        width = 0
        while width < cut and data[line + width : line + width + 1] in (b" ", b"\t"):
            width += 1
        indent = data[line : line + width].decode("ascii")
        if at == line:  # a line starts here: without its indentation
            at = min(at + width, stop)
        _runs(join, path, data, at, stop, False, f"indent:{indent}+hcl-template")
        at = stop


def _runs(
    join: _Join, path: str, data: bytes, start: int, end: int, quoted: bool, escape: str
) -> None:
    """Pieces for ``data[start:end]``: verbatim runs, and each escape a piece of its own."""
    marks = _marks.get(quoted)
    if marks is None:
        marks = _marks[quoted] = re.compile(
            rb"\$\$\{|%%\{|\\(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)" if quoted else rb"\$\$\{|%%\{"
        )
    at = start
    for match in marks.finditer(data, start, end):
        a, b = match.span()
        if a > at:
            join.piece(_decode(data[at:a]), span_of(path, data, at, a), escape)
        token = match.group()
        if token in (b"$${", b"%%{"):
            meaning = token[1:].decode()
        else:
            letter = token[1:2].decode("utf-8", "replace")
            if letter in "uU" and len(token) > 2:
                meaning = chr(int(token[2:], 16))
            else:
                meaning = _QUOTED_ESCAPES.get(letter, token.decode("utf-8", "replace"))
        join.piece(meaning, span_of(path, data, a, b), escape)
        at = b
    if end > at:
        join.piece(_decode(data[at:end]), span_of(path, data, at, end), escape)


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def span_of(path: str, data: bytes, start: int, end: int) -> Span:
    """The span of ``data[start:end]`` (lines and character columns 1-based, the end
    exclusive), as :meth:`Source.span` gives for a node."""
    line = data.count(b"\n", 0, start) + 1
    end_line = line + data.count(b"\n", start, end)
    return Span(
        path,
        start,
        end,
        line,
        _column(data, start),
        end_line,
        _column(data, end),
    )


def _column(data: bytes, at: int) -> int:
    line_start = data.rfind(b"\n", 0, at) + 1
    prefix = data[line_start:at]
    if prefix.isascii():
        return at - line_start + 1
    if prefix.startswith(_BOM):
        prefix = prefix[3:]
    return len(prefix.decode("utf-8", "replace")) + 1
