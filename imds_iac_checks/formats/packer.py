"""Packer templates: what their provisioners run on the build instance, as payloads.

Read: ``provisioner "shell"`` (and ``"powershell"``) blocks of ``*.pkr.hcl`` templates
(HCL2, parsed with tree-sitter-hcl like Terraform), the same in ``*.pkr.json`` (HCL2's JSON
syntax) and in legacy JSON templates (top-level ``builders`` and ``provisioners``, each
provisioner an object with a ``type``). A provisioner's ``inline`` list is ONE payload: Packer
writes its strings to one script file, a line each; ``script``/``scripts`` name script files,
read (relative to the template's directory) as whole-file payloads. Interpolations
(``${var.x}``, ``{{user `x`}}``) are holes. ``windows-shell`` (batch) and the other
provisioners are not read.

An insertion at the start of an inline line goes into that line's string, escaped for it
(``hcl-string``, ``json``): Packer writes a line break inside a string to the script as a line
break, so the inserted line becomes a line of the script.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from imds_iac_checks.formats.doc import MAP, SCALAR, SEQ, DNode, DocError, Locator, decode
from imds_iac_checks.formats.pieces import (
    Builder,
    ByteChars,
    file_text,
    hcl_literal,
    json_string,
    not_text,
    whole_file,
)
from imds_iac_checks.model import Payload, ScanError, compact

if TYPE_CHECKING:
    from tree_sitter import Node

    from imds_iac_checks.source import Files

_LANGUAGES = {"shell": "shell", "powershell": "powershell"}
_WHAT = "Packer provisioner"
_WHAT_SCRIPT = "Packer provisioner script"
# Packer's template engine ({{user `x`}}, {{ .Vars }}) and HCL's interpolation in JSON syntax.
_HOLES = r"\{\{.*?\}\}|\$\{[^}]*\}|%\{[^}]*\}"
# At most this many script files are read from one template.
MAX_SCRIPTS = 200


def payloads(
    shown: str, data: bytes, *, origin: str | None = None, files: Files | None = None
) -> tuple[list[Payload], list[ScanError]]:
    """The payloads of a Packer template (HCL2 by the name ``.pkr.hcl``, else JSON)."""
    if b"provisioner" not in data:
        return [], []
    reader = Reader(shown, origin, files)
    if shown.lower().endswith(".pkr.hcl"):
        reader.hcl(data)
    else:
        reader.json(data)
    return reader.out, reader.errors


class Reader:
    def __init__(self, shown: str, origin: str | None, files: Files | None) -> None:
        self.shown = shown
        self.origin = origin
        self.files = files
        self.out: list[Payload] = []
        self.errors: list[ScanError] = []
        self.scripts = 0
        # The payloads of each build block, by where the block starts (a byte offset in HCL, a
        # character offset in JSON): the build instances of the sources it names run them.
        self.by_build: dict[int, list[Payload]] = {}
        # Why scripts of a build's provisioners were not read (a ``scripts`` value that could
        # not be evaluated), by build as ``by_build``: requiring tokens is then not proven safe.
        self.unread: list[str] = []
        self.unread_by_build: dict[int, list[str]] = {}

    # --- HCL2 --------------------------------------------------------------------------------
    def hcl(self, data: bytes) -> None:
        from imds_iac_checks.formats.terraform import syntax

        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.errors.append(ScanError(self.shown, 0, 0, "not valid UTF-8: not read"))
            return
        tree = syntax.parse_tree(data)
        if tree.root_node.has_error:
            self.errors.append(syntax.syntax_error(syntax.Source(self.shown, data), tree.root_node))
            return
        src = syntax.Source(self.shown, data)
        loc = Locator(self.shown, text)
        chars = ByteChars(data)
        body = syntax.child(tree.root_node, "body")
        for block in syntax.children(body, "block") if body is not None else []:
            if syntax.ident(block) != "build":
                continue
            inner = syntax.child(block, "body")
            attrs = syntax.attributes(inner)
            owner = ""
            sources = attrs.get("sources")
            if sources is not None:
                names = hcl_strings(src, sources)
                owner = names[0] if len(names) == 1 else ""
            first, unread = len(self.out), len(self.unread)
            for item in syntax.children(inner, "block") if inner is not None else []:
                if syntax.ident(item) != "provisioner":
                    continue
                kind = (syntax.labels(src, item) or [""])[0]
                if kind in _LANGUAGES:
                    self._hcl_provisioner(src, loc, chars, item, _LANGUAGES[kind], owner)
            self.by_build[block.start_byte] = self.out[first:]
            self.unread_by_build[block.start_byte] = self.unread[unread:]

    def _hcl_provisioner(
        self, src: Any, loc: Locator, chars: ByteChars, block: Node, language: str, owner: str
    ) -> None:
        from imds_iac_checks.formats.terraform import syntax

        attrs = syntax.attributes(syntax.child(block, "body"))
        inline = attrs.get("inline")
        if inline is not None:
            node = _tuple(syntax.unwrap(inline))
            if node is not None:
                b = Builder(loc)
                for index, element in enumerate(
                    c for c in node.named_children if c.type == "expression"
                ):
                    if index:
                        b.hole("\n")
                    _hcl_string(b, chars, syntax.unwrap(element))
                span = loc.span(chars.char(inline.start_byte), chars.char(inline.end_byte))
                self.out.append(b.payload(span, _WHAT, language, owner=owner))
        paths: list[str] = []
        for name in ("script", "scripts"):
            expr = attrs.get(name)
            if expr is None:
                continue
            found = self._fileset(src, expr)
            if found is None:
                found = hcl_strings(src, expr, path_root=True)
                node = _tuple(syntax.unwrap(expr))
                count = (
                    sum(1 for c in node.named_children if c.type == "expression")
                    if node is not None
                    else 1
                )
                if len(found) < count:  # an element (or the whole value) not evaluated
                    at = src.span(expr)
                    self.unread.append(
                        f"the {name} of the provisioner at {at.path}:{at.line} "
                        f"({compact(src.text(expr), 60)}) could not be evaluated: code that "
                        "runs on the build instance may call IMDSv1"
                    )
            paths += found
        self._scripts(paths, language, owner)

    def _fileset(self, src: Any, expr: Node) -> list[str] | None:
        """``fileset(dir, pattern)`` with literal arguments (``dir`` may be ``path.root``):
        the regular files under the template's directory that match, as Packer returns them
        (relative to ``dir``, ``/``-separated, sorted). None: not such a call; [] when the
        directory is not known (nothing read; the reason is kept)."""
        from imds_iac_checks.formats.terraform import syntax

        node = syntax.unwrap(expr)
        if node.type != "function_call" or syntax.ident(node) != "fileset":
            return None
        args = syntax.child(node, "function_arguments")
        exprs = [c for c in args.named_children if c.type == "expression"] if args else []
        values = [_path_literal(src, e) for e in exprs]
        at = src.span(expr)
        if self.origin is None or self.files is None:
            return []
        if len(values) != 2 or values[0] is None or values[1] is None:
            self.unread.append(
                f"the scripts of the provisioner at {at.path}:{at.line} "
                f"({compact(src.text(expr), 60)}) could not be evaluated: code that runs on "
                "the build instance may call IMDSv1"
            )
            return []
        base = os.path.normpath(os.path.join(os.path.dirname(self.origin), values[0]))
        matches, complete = fileset(base, values[1], MAX_SCRIPTS)
        if not complete:
            self.unread.append(
                f"the scripts of the provisioner at {at.path}:{at.line} match more files than "
                f"are read ({MAX_SCRIPTS}): code that runs on the build instance may call IMDSv1"
            )
        return matches

    # --- JSON --------------------------------------------------------------------------------
    def json(self, data: bytes) -> None:
        from imds_iac_checks.formats.doc import parse_json

        try:
            text = decode(data)
            root = parse_json(text)
        except DocError as exc:
            self.errors.append(ScanError(self.shown, 0, 0, f"invalid JSON: {exc.message}"))
            return
        loc = Locator(self.shown, text)
        if root.kind != MAP:
            return
        legacy = root.get("provisioners")
        if legacy is not None:
            for item in items(legacy):
                kind = _scalar(item.get("type"))
                if kind in _LANGUAGES:
                    self._json_provisioner(loc, item, _LANGUAGES[kind], "")
        for build in items(root.get("build")):
            sources = strings(build.get("sources"))
            owner = sources[0] if len(sources) == 1 else ""
            first = len(self.out)
            for entry in items(build.get("provisioner")):
                for key, value in entry.pairs():
                    if key.value in _LANGUAGES:
                        for body in items(value):
                            self._json_provisioner(loc, body, _LANGUAGES[key.value], owner)
            self.by_build[build.start] = self.out[first:]

    def _json_provisioner(self, loc: Locator, item: DNode, language: str, owner: str) -> None:
        inline = item.get("inline")
        if inline is not None and inline.kind == SEQ:
            b = Builder(loc)
            for index, element in enumerate(inline.items):
                if index:
                    b.hole("\n")
                if element.kind == SCALAR and isinstance(element.value, str):
                    json_string(b, element.start + 1, element.end - 1, "json")
                else:
                    b.hole(loc.source(element))
            span = loc.node_span(inline)
            self.out.append(b.payload(span, _WHAT, language, owner=owner, holes=_HOLES))
        paths = strings(item.get("script")) + strings(item.get("scripts"))
        self._scripts([p for p in paths if p and "{{" not in p and "${" not in p], language, owner)

    # --- script files ------------------------------------------------------------------------
    def _scripts(self, paths: list[str], language: str, owner: str) -> None:
        if self.files is None or self.origin is None:
            return
        for path in paths:
            if self.scripts >= MAX_SCRIPTS:
                return
            self.scripts += 1
            on_disk = os.path.normpath(os.path.join(os.path.dirname(self.origin), path))
            shown = os.path.normpath(os.path.join(os.path.dirname(self.shown), path))
            try:
                data = self.files.read(on_disk)
            except OSError as exc:
                message = f"cannot read the provisioner script {path}: {exc.strerror or exc}"
                self.errors.append(ScanError(self.shown, 0, 0, message))
                continue
            text = file_text(data)
            if text is None:
                self.errors.extend(not_text(shown, data))
                continue
            script_language = "" if text.lstrip("\ufeff").startswith("#!") else language
            payload = whole_file(shown, data, text, _WHAT_SCRIPT, script_language)
            self.out.append(payload._replace(owner=owner))


def _tuple(node: Node) -> Node | None:
    if node.type == "collection_value" and node.named_children:
        inner = node.named_children[0]
        return inner if inner.type == "tuple" else None
    return None


def _hcl_string(b: Builder, chars: ByteChars, node: Node) -> None:
    """One HCL string expression: literal runs as pieces (``hcl-string``), interpolations and
    anything that is not a string as holes (their text as written)."""
    text = b.loc.text
    template = None
    first = node.named_children[0].type if node.named_children else ""
    if (node.type, first) in (
        ("literal_value", "string_lit"),
        ("template_expr", "quoted_template"),
    ):
        template = node.named_children[0]
    if template is None:
        b.hole(text[chars.char(node.start_byte) : chars.char(node.end_byte)])
        return
    for part in template.named_children:
        start, end = chars.char(part.start_byte), chars.char(part.end_byte)
        if part.type == "template_literal":
            hcl_literal(b, start, end, "hcl-string")
        elif part.type not in ("quoted_template_start", "quoted_template_end"):
            b.hole(text[start:end])


def hcl_strings(src: Any, expr: Node, *, path_root: bool = False) -> list[str]:
    """The strings of a string or a list of strings written as literals (with ``path_root``:
    ``${path.root}/x`` is ``x``, the template's directory being where paths start)."""
    from imds_iac_checks.formats.terraform import syntax

    node = syntax.unwrap(expr)
    elements = _tuple(node)
    nodes = (
        [c for c in elements.named_children if c.type == "expression"]
        if elements is not None
        else [expr]
    )
    out = []
    for element in nodes:
        value = syntax.literal(src, element)
        if isinstance(value, str):
            out.append(value)
            continue
        written = src.text(element).strip()
        for root in ('"${path.root}/', '"${path.cwd}/'):
            if path_root and written.startswith(root) and written.endswith('"'):
                rest = written[len(root) : -1]
                if "${" not in rest and "\\" not in rest:
                    out.append(rest)
    return out


def _path_literal(src: Any, expr: Node) -> str | None:
    """A literal string argument; ``path.root`` (or ``"${path.root}"``, ``"${path.root}/x"``)
    is the template's directory."""
    from imds_iac_checks.formats.terraform import syntax

    value = syntax.literal(src, expr)
    if isinstance(value, str):
        return value
    written = str(src.text(expr)).strip()
    if written == "path.root":
        return "."
    for root in ('"${path.root}', '"${path.cwd}'):
        if written.startswith(root) and written.endswith('"'):
            rest = written[len(root) : -1]
            if "${" not in rest and "\\" not in rest and (not rest or rest.startswith("/")):
                return "." + rest
    return None


# At most this many directory entries are looked at by one fileset().
MAX_WALK = 10_000


def fileset(base: str, pattern: str, limit: int) -> tuple[list[str], bool]:
    """Packer's ``fileset(base, pattern)`` (go-cty-funcs, doublestar globbing): the regular
    files under ``base`` whose path relative to it matches (``*``, ``?``, ``[...]``,
    ``{a,b}``, ``**`` across directories), relative to ``base``, sorted; at most ``limit``
    of them and :data:`MAX_WALK` entries looked at (False: the walk stopped early)."""
    while pattern.startswith("./"):
        pattern = pattern[2:]
    regex = _glob(pattern)
    out: list[str] = []
    seen = 0
    complete = True
    for directory, dirs, names in os.walk(base):
        dirs.sort()
        seen += len(dirs) + len(names)
        if seen > MAX_WALK:
            complete = False
            break
        rel = os.path.relpath(directory, base).replace(os.sep, "/")
        for name in sorted(names):
            path = name if rel == "." else f"{rel}/{name}"
            if regex.fullmatch(path) and os.path.isfile(os.path.join(directory, name)):
                out.append(path)
    out.sort()
    if len(out) > limit:
        return out[:limit], False
    return out, complete


def _glob(pattern: str) -> re.Pattern[str]:
    """A doublestar pattern as a regular expression over ``/``-separated relative paths."""
    out, i, depth = [], 0, 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif c == "{":
            out.append("(?:")
            depth += 1
        elif c == "," and depth:
            out.append("|")
        elif c == "}" and depth:
            out.append(")")
            depth -= 1
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    out.append(")" * depth)
    try:
        return re.compile("".join(out))
    except re.error:
        return re.compile(re.escape(pattern))


def items(node: DNode | None) -> list[DNode]:
    if node is None:
        return []
    if node.kind == SEQ:
        return [item for item in node.items if item.kind == MAP]
    return [node] if node.kind == MAP else []


def _scalar(node: DNode | None) -> str:
    if node is None or node.kind != SCALAR or not isinstance(node.value, str):
        return ""
    return node.value


def strings(node: DNode | None) -> list[str]:
    """A string, or the strings of a list."""
    if node is None:
        return []
    nodes = node.items if node.kind == SEQ else [node]
    return [value for value in map(_scalar, nodes) if value]
