"""Packer templates: the build instance each Amazon source launches and the AMI it registers, as
Targets (the code the build runs on the instance is read by :mod:`.packer`).

Sources read (packer-plugin-amazon): ``amazon-ebs``, ``amazon-ebssurrogate`` and
``amazon-ebsvolume`` launch a build instance with the source's ``metadata_options``
(``http_endpoint``, ``http_tokens``, ``http_put_response_hop_limit``). The plugin fills what is
not written before it calls RunInstances (common/run_config.go ``Prepare``): endpoint
``enabled``, tokens ``optional``, hop limit 1 — so a build instance without
``http_tokens = "required"`` allows IMDSv1 (IMDS001/IMDS002, with that default named). With
``http_endpoint = "disabled"`` the plugin sends no metadata options at all
(step_run_source_instance.go sends them only when the endpoint is ``enabled``): the instance gets
AWS's defaults, IMDS on and IMDSv1 allowed unless the account or the source AMI requires tokens;
the tokens are then AWS's default, optional, whatever ``http_tokens`` says: the endpoint value
is the tokens setting the instance gets (IMDS002 there, with that reason), never "IMDS off".
``instance_metadata_tags`` is not read: it exposes tags through IMDS and says nothing about
IMDSv1. ``amazon-instance`` accepts ``metadata_options`` but never sends them (its builder does
not pass them to the run step): its build instance is a launcher without settings of its own
(IMDS006). ``amazon-chroot`` launches no instance.

The AMI: ``imds_support = "v2.0"`` (plugin 1.2.2 and later; the only value besides unset) is
applied with ModifyImageAttribute after the AMI is made, on ``amazon-ebs``,
``amazon-ebssurrogate``, ``amazon-instance`` and ``amazon-chroot`` (``amazon-ebsvolume`` makes
volumes, no AMI; ``skip_create_ami = true`` makes none). Judged by IMDS009.

HCL2 (``*.pkr.hcl``): a template is every ``.pkr.hcl`` file of a directory, so the sources of a
file are evaluated with the ``variable``, ``locals`` and ``local`` blocks and the ``build`` blocks
of every ``.pkr.hcl`` file beside it, and the variable files Packer loads by itself
(``*.auto.pkrvars.hcl``, ``*.auto.pkrvars.json``, in lexical order), with Terraform's evaluator
(:mod:`.terraform.eval`): provenance, unknowns (``env()``, data sources, ``-var``) as IMDS004. A
build's ``source "source.amazon-ebs.x" { ... }`` block adds arguments to the source for that build
(Packer merges the bodies; an argument written in both is Packer's error, reported as a scan
error): when a build adds the settings read here, each build that uses the source is a target of
its own, and a field another build's block sets is never one a fix adds to the shared source
(:meth:`_Template._place`). The provisioners of the builds that use a source are its build
instance's user data: an IMDSv1 call there (IMDS007) makes requiring tokens unsafe, and says so;
so does a ``scripts`` value that cannot be evaluated (``Target.fix_unsafe``).

HCL2 in JSON syntax (``*.pkr.json``) and legacy JSON templates (``builders``): each file on its
own. Values are literals; ``"${var.x}"`` (HCL JSON) and ``"{{user `x`}}"`` (legacy) written alone
are the variable's default in the same file when that is a literal; anything else is unknown
(IMDS004). A legacy template's provisioners run on every builder (``only``/``except`` are not
read). A key written twice in a mapping read for a target is a scan error, and the target is not
evaluated.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from imds_iac_checks.formats.doc import (
    MAP,
    SCALAR,
    SEQ,
    DNode,
    DocError,
    Locator,
    decode,
    watch_duplicates,
)
from imds_iac_checks.model import (
    DISABLED,
    ENDPOINT,
    HOP_LIMIT,
    IMDS_SUPPORT,
    TOKENS,
    KindSpec,
    Link,
    LinkKind,
    Payload,
    ScanError,
    Span,
    Target,
    Value,
    compact,
    show,
)

if TYPE_CHECKING:
    from tree_sitter import Node

    from imds_iac_checks.formats.terraform.module import Module, ParsedFile
    from imds_iac_checks.formats.terraform.syntax import Source
    from imds_iac_checks.source import Files

FORMAT = "packer"
BLOCK = "metadata_options"
_FIELDS = {
    ENDPOINT: "http_endpoint",
    TOKENS: "http_tokens",
    HOP_LIMIT: "http_put_response_hop_limit",
}
_SUGGEST = {ENDPOINT: '"enabled"', TOKENS: '"required"', HOP_LIMIT: "{hop_limit}"}
DEFAULT_NOTE = (
    'packer-plugin-amazon sends http_tokens = "optional" when metadata_options does not set it'
)
# What a literal "disabled" endpoint does (IMDS002 says it at the value; the fix writes
# http_endpoint = "enabled" with http_tokens = "required": see fix.__init__._enable_endpoint).
ENDPOINT_IGNORED = (
    "{raw} is not supported by packer-plugin-amazon: with it the plugin sends no metadata "
    "options at all, so the build instance gets AWS's defaults and IMDSv1 stays allowed (unless "
    "the account or the source AMI requires tokens)"
)
INSTANCE_REMEDY = (
    "the amazon-instance builder does not send metadata_options when it launches the build "
    "instance (packer-plugin-amazon passes none to RunInstances): require tokens in the "
    "account's defaults (aws ec2 modify-instance-metadata-defaults --http-tokens required), "
    'build from a source AMI registered with imds_support = "v2.0", or build with amazon-ebs'
)


def _builder(kind: str) -> KindSpec:
    return KindSpec(
        kind,
        BLOCK,
        _FIELDS,
        _SUGGEST,
        block_label="metadata_options block",
        plugins=False,
        defaults={ENDPOINT: "enabled", TOKENS: "optional", HOP_LIMIT: 1},
        default_note=DEFAULT_NOTE,
    )


def _ami(kind: str) -> KindSpec:
    return KindSpec(
        f"{kind}:ami",
        None,
        {IMDS_SUPPORT: "imds_support"},
        {IMDS_SUPPORT: '"v2.0"'},
        needs_block=False,
        block_label="the AMI",
        plugins=False,
    )


# Source type -> (its build instance's kind, or None: no instance; its AMI's kind, or None).
SOURCES: dict[str, tuple[KindSpec | None, KindSpec | None]] = {
    "amazon-ebs": (_builder("amazon-ebs"), _ami("amazon-ebs")),
    "amazon-ebssurrogate": (_builder("amazon-ebssurrogate"), _ami("amazon-ebssurrogate")),
    "amazon-ebsvolume": (_builder("amazon-ebsvolume"), None),
    "amazon-instance": (
        KindSpec("amazon-instance", None, {}, {}, needs_block=False, remedy=INSTANCE_REMEDY),
        _ami("amazon-instance"),
    ),
    "amazon-chroot": (None, _ami("amazon-chroot")),
}
# Every kind this module makes (the rule catalog's applies_to names them).
KINDS = {spec.kind: spec for pair in SOURCES.values() for spec in pair if spec is not None}
# At most this many sibling files of a template directory are read.
MAX_SIBLINGS = 200


def ami_address(address: str) -> str:
    """The address of the AMI a source (or legacy builder) registers: its own, so that reports
    count it apart from the build instance. Packer names have no dots, so it is unambiguous."""
    return f"{address}.ami"


def worth(data: bytes) -> bool:
    """Only a file that names an Amazon source type can declare one."""
    return b"amazon-" in data


def targets(
    shown: str,
    data: bytes,
    *,
    origin: str | None = None,
    files: Files | None = None,
    var_files: tuple[tuple[str, str], ...] = (),
) -> tuple[list[Target], list[ScanError]]:
    """The targets of the Amazon sources a ``.pkr.hcl`` or ``.pkr.json`` file declares;
    ``var_files`` (path, shown) are read after the automatic ones, as ``-var-file`` does."""
    if shown.lower().endswith(".pkr.json"):
        return _hcl_json(shown, data)
    template = _Template(shown, data, origin, files)
    template.var_files = var_files
    return template.targets()


# --- HCL2 -------------------------------------------------------------------------------------


def _ref(label: str) -> str:
    """A source reference as Packer reads it (``source.type.name`` or ``type.name``) ->
    ``type.name`` ("" when it is neither)."""
    parts = label.split(".")
    if len(parts) > 2:
        parts = parts[1:]
    return ".".join(parts[:2]) if len(parts) >= 2 else ""


class _Use:
    """A build's use of a source: the build block, its file and name, the ``source`` block
    inside the build that adds arguments (None: named in ``sources``), and its payloads."""

    __slots__ = ("build", "name", "override", "payloads", "src", "unread")

    def __init__(
        self, src: Source, build: Node, name: str, override: Node | None, payloads: list[Payload]
    ) -> None:
        self.src = src
        self.build = build
        self.name = name
        self.override = override
        self.payloads = payloads
        self.unread: list[str] = []  # why scripts of its provisioners were not read


class _Template:
    def __init__(self, shown: str, data: bytes, origin: str | None, files: Files | None) -> None:
        self.shown = shown
        self.data = data
        self.origin = origin
        self.files = files
        self.errors: list[ScanError] = []
        self.var_files: tuple[tuple[str, str], ...] = ()

    def targets(self) -> tuple[list[Target], list[ScanError]]:
        from imds_iac_checks.formats.terraform import module as tf
        from imds_iac_checks.formats.terraform import syntax

        parsed, errors = self._parse(self.shown, self.data)
        if parsed is None:
            return [], errors
        sources = [
            (block, labels)
            for block in _top_blocks(parsed)
            if syntax.ident(block) == "source"
            and len(labels := syntax.labels(parsed.src, block)) == 2
            and labels[0] in SOURCES
        ]
        if not sources:
            return [], []
        files = [parsed, *self._siblings()]
        inputs = self._auto_variables()
        module = tf.Module(files, inputs)
        for sibling in files:
            for block in _top_blocks(sibling):
                labels = syntax.labels(sibling.src, block)
                if syntax.ident(block) == "local" and len(labels) == 1:
                    expr = syntax.attributes(syntax.child(block, "body")).get("expression")
                    if expr is not None:
                        module.local_exprs.setdefault(labels[0], (sibling.src, expr))
        uses = self._uses(files)
        out: list[Target] = []
        for block, (kind, name) in sources:
            out += self._source(module, parsed.src, block, kind, name, uses.get(f"{kind}.{name}"))
        return out, self.errors

    # --- the directory ------------------------------------------------------------------------
    def _siblings(self) -> list[ParsedFile]:
        """The other ``.pkr.hcl`` files of the template's directory, parsed; one that does not
        parse is reported (its names are then not declared here)."""

        if self.origin is None or self.files is None:
            return []
        directory = os.path.dirname(os.path.abspath(self.origin))
        here = os.path.basename(self.origin)
        out = []
        for name in _listing(directory, (".pkr.hcl",))[:MAX_SIBLINGS]:
            if name == here:
                continue
            try:
                data = self.files.read(os.path.join(directory, name))
            except OSError as exc:
                message = f"cannot read: {exc.strerror or exc}"
                self.errors.append(ScanError(self._shown(name), 0, 0, message))
                continue
            parsed, errors = self._parse(self._shown(name), data)
            self.errors += errors
            if parsed is not None:
                out.append(parsed)
        return out

    def _shown(self, name: str) -> str:
        """A file beside the template, as findings show it."""
        return os.path.join(os.path.dirname(self.shown), name)

    def _auto_variables(self) -> dict[str, Any]:
        """Values from the variable files Packer loads by itself, later files winning."""
        from imds_iac_checks.formats.terraform import module as tf

        if self.origin is None or self.files is None:
            return {}
        directory = os.path.dirname(os.path.abspath(self.origin))
        inputs: dict[str, Any] = {}
        for name in _listing(directory, (".auto.pkrvars.hcl", ".auto.pkrvars.json")):
            on_disk = os.path.join(directory, name)
            found, errors = tf.var_inputs(on_disk, self._shown(name), self.files)
            inputs.update(found)
            self.errors += errors
        for on_disk, shown in self.var_files:
            found, errors = tf.var_inputs(on_disk, shown, self.files)
            inputs.update(found)
            self.errors += errors
        return inputs

    def _uses(self, files: list[ParsedFile]) -> dict[str, list[_Use]]:
        """Each source reference -> the builds that use it, in the order of the files."""
        from imds_iac_checks.formats import packer
        from imds_iac_checks.formats.terraform import syntax

        out: dict[str, list[_Use]] = {}
        index = 0
        for parsed in files:
            builds = [b for b in _top_blocks(parsed) if syntax.ident(b) == "build"]
            if not builds:
                continue
            by_build, unread_by_build = self._builds(parsed)
            for build in builds:
                body = syntax.child(build, "body")
                attrs = syntax.attributes(body)
                named = syntax.literal(parsed.src, attrs["name"]) if "name" in attrs else None
                label = named if isinstance(named, str) and named else str(index)
                index += 1
                payloads = by_build.get(build.start_byte, [])
                refs: list[tuple[str, Node | None]] = []
                if "sources" in attrs:
                    refs += [(r, None) for r in packer.hcl_strings(parsed.src, attrs["sources"])]
                for item in syntax.children(body, "block") if body is not None else []:
                    labels = syntax.labels(parsed.src, item)
                    if syntax.ident(item) == "source" and len(labels) == 1:
                        refs.append((labels[0], item))
                for ref, override in refs:
                    key = _ref(ref)
                    if key:
                        use = _Use(parsed.src, build, label, override, payloads)
                        use.unread = unread_by_build.get(build.start_byte, [])
                        out.setdefault(key, []).append(use)
        return out

    def _parse(self, shown: str, data: bytes) -> tuple[ParsedFile | None, list[ScanError]]:
        """A file of the directory, parsed once per scan (each file of a directory of N
        templates is read with the other N - 1)."""
        from imds_iac_checks.formats.terraform import module as tf

        cache = _cache(self.files)
        if cache is None:
            return tf.parse_bytes(shown, data)
        key = (shown, data)
        if key not in cache.parsed:
            cache.parsed[key] = tf.parse_bytes(shown, data)
        return cache.parsed[key]

    def _builds(self, parsed: ParsedFile) -> tuple[dict[int, list[Payload]], dict[int, list[str]]]:
        """The payloads of a file's build blocks, by where each starts, and why scripts of
        each were not read (read once per scan: the script files they name are read through
        the scan's Files)."""
        from imds_iac_checks.formats import packer

        cache = _cache(self.files)
        key = (parsed.src.path, parsed.src.data)
        if cache is not None and key in cache.builds:
            return cache.builds[key]
        reader = packer.Reader(parsed.src.path, self._origin_of(parsed), self.files)
        if b"provisioner" in parsed.src.data:
            reader.hcl(parsed.src.data)
        found = (reader.by_build, reader.unread_by_build)
        if cache is not None:
            cache.builds[key] = found
        return found

    def _origin_of(self, parsed: ParsedFile) -> str | None:
        if self.origin is None:
            return None
        return os.path.join(
            os.path.dirname(os.path.abspath(self.origin)), os.path.basename(parsed.src.path)
        )

    # --- one source ---------------------------------------------------------------------------
    def _source(
        self,
        module: Module,
        src: Source,
        block: Node,
        kind: str,
        name: str,
        uses: list[_Use] | None,
    ) -> list[Target]:
        from imds_iac_checks.formats.terraform import syntax

        uses = uses or []
        address = f"source.{kind}.{name}"
        body = syntax.child(block, "body")
        header = src.span(block.named_children[0], block.named_children[2])
        adding = [u for u in uses if u.override is not None and _adds(u)]
        written = _fields(src, body)
        self._duplicates(address, src, written, uses)
        if not adding:
            builds = _distinct_builds(uses)
            payloads = tuple(p for u in builds for p in u.payloads)
            unread = [why for u in builds for why in u.unread]
            where = _Where(src, block, header, [(src, body)])
            wheres = {BLOCK: where, IMDS_SUPPORT_FIELD: where}
            return self._pair(module, kind, address, wheres, payloads, unread)
        out: list[Target] = []
        for use in uses:
            bodies = [(src, body)]
            top = _Where(src, block, header, bodies)
            if use.override is not None:
                bodies.append((use.src, _body_of(use.override)))
            wheres = {
                field: self._place(field, address, use, top, adding, written)
                for field in (BLOCK, IMDS_SUPPORT_FIELD)
            }
            named = address if len(uses) == 1 else f"build.{use.name}.{kind}.{name}"
            out += self._pair(module, kind, named, wheres, tuple(use.payloads), use.unread)
        return out

    def _place(
        self,
        field: str,
        address: str,
        use: _Use,
        top: _Where,
        adding: list[_Use],
        written: dict[str, Node],
    ) -> _Where:
        """Where ``field`` is written for ``use``'s build (its findings point there, its fix
        edits there): the build's own ``source`` block when it sets it, else the source when
        that does; a field set in neither goes into the source every build shares, unless
        another build's ``source`` block sets it (Packer fails on a field set in both): then
        into this build's own ``source`` block, or, without one, nowhere (the reason is kept)."""
        over = use.override
        mine = over is not None and field in _fields(use.src, _body_of(over))
        if not mine and field in written:
            return top
        taken = "" if mine else self._taken(field, address, use, adding)
        if not mine and not taken:
            return top
        if over is None:
            where = _Where(top.src, top.block, top.header, top.bodies)
            where.taken = taken
            return where
        header = use.src.span(over.named_children[0], over.named_children[1])
        return _Where(use.src, over, header, top.bodies)

    def _taken(self, field: str, address: str, use: _Use, adding: list[_Use]) -> str:
        """Why ``field`` may not be added to the shared source for ``use``'s build: another
        build's ``source`` block sets it ("" when none does)."""
        for other in adding:
            assert other.override is not None
            if other is use:
                continue
            node = _fields(other.src, _body_of(other.override)).get(field)
            if node is not None:
                at = other.src.span(node)
                return (
                    f'{field} is set by build "{other.name}"\'s source block '
                    f"({at.path}:{at.line}), and Packer fails on a field set both there "
                    f'and in {address}: write it in a source block of build "{use.name}" '
                    f'(source "{address}" {{ ... }}) instead of its sources list'
                )
        return ""

    def _duplicates(
        self, address: str, src: Source, written: dict[str, Node], uses: list[_Use]
    ) -> None:
        """A build's ``source`` block that sets a field the source sets: ``packer build``
        fails on it (fields cannot be overwritten), so the template is reported as broken."""
        for use in uses:
            if use.override is None:
                continue
            for field, node in _fields(use.src, _body_of(use.override)).items():
                if field in written:
                    at, there = use.src.span(node), src.span(written[field])
                    self.errors.append(
                        ScanError(
                            at.path,
                            at.line,
                            at.column,
                            f"{field} is set both in {address} ({there.path}:{there.line}) and "
                            f'in build "{use.name}"\'s source block: packer build fails on it '
                            "(a build's source block cannot overwrite a field of the source)",
                        )
                    )

    def _pair(
        self,
        module: Module,
        kind: str,
        address: str,
        wheres: dict[str, _Where],
        payloads: tuple[Payload, ...],
        unread: list[str],
    ) -> list[Target]:
        from imds_iac_checks.formats.terraform import syntax

        where = wheres[BLOCK]

        instance, ami = SOURCES[kind]
        span = where.src.span(where.block)
        out: list[Target] = []
        if instance is not None:
            block_span: Span | None = None
            block_key: Span | None = None
            settings: dict[str, tuple[Value, ...]] = {}
            if instance.block is not None:
                block_span, block_key, settings = _options(module, where.bodies)
            out.append(
                Target(
                    spec=instance,
                    address=address,
                    path=where.src.path,
                    span=span,
                    header=where.header,
                    block_span=block_span,
                    settings=settings,
                    format=FORMAT,
                    block_key=block_key,
                    user_data=payloads,
                    no_fix=where.taken or None if block_span is None else None,
                    fix_unsafe=unread[0] if unread else None,
                )
            )
        where = wheres[IMDS_SUPPORT_FIELD]
        span = where.src.span(where.block)
        if ami is not None and not _skips_ami(module, where.bodies):
            settings = {}
            for src, body in where.bodies:
                expr = syntax.attributes(body).get("imds_support")
                if expr is not None:
                    settings = _values(module, ami, IMDS_SUPPORT, src, expr)
            out.append(
                Target(
                    spec=ami,
                    address=ami_address(address),
                    path=where.src.path,
                    span=span,
                    header=where.header,
                    block_span=span,
                    settings=settings,
                    format=FORMAT,
                    no_fix=None if settings else where.taken or None,
                )
            )
        return out


class _Cache:
    """What one scan (one :class:`Files`) has parsed of template files: a directory's files
    are read with each of its templates."""

    def __init__(self, files: Files) -> None:
        self.files = files
        self.parsed: dict[tuple[str, bytes], tuple[ParsedFile | None, list[ScanError]]] = {}
        self.builds: dict[
            tuple[str, bytes], tuple[dict[int, list[Payload]], dict[int, list[str]]]
        ] = {}


_CACHES: list[_Cache] = []  # the last scan's (a new Files is a new scan)
MAX_CACHED = 1024  # files per scan; beyond, parsed again


def _cache(files: Files | None) -> _Cache | None:
    if files is None:
        return None
    if not _CACHES or _CACHES[0].files is not files:
        _CACHES[:] = [_Cache(files)]
    cache = _CACHES[0]
    if len(cache.parsed) > MAX_CACHED or len(cache.builds) > MAX_CACHED:
        cache.parsed.clear()
        cache.builds.clear()
    return cache


class _Where:
    """Where a target is written: the block a fix edits (the source, or a build's ``source``
    block that adds the settings), its header, and the bodies merged into the build's source."""

    __slots__ = ("block", "bodies", "header", "src", "taken")

    def __init__(
        self, src: Source, block: Node, header: Span, bodies: list[tuple[Source, Node | None]]
    ) -> None:
        self.src = src
        self.block = block
        self.header = header
        self.bodies = bodies
        # Why a fix may not add the field here ("": it may): another build's block sets it.
        self.taken = ""


def _top_blocks(parsed: ParsedFile) -> list[Node]:
    from imds_iac_checks.formats.terraform import syntax

    bodies = syntax.children(parsed.root, "body")
    return [block for body in bodies for block in syntax.children(body, "block")]


def _listing(directory: str, suffixes: tuple[str, ...]) -> list[str]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [n for n in names if n.endswith(suffixes) and os.path.isfile(os.path.join(directory, n))]


IMDS_SUPPORT_FIELD = "imds_support"


def _body_of(block: Node) -> Node | None:
    from imds_iac_checks.formats.terraform import syntax

    return syntax.child(block, "body")


def _fields(src: Source, body: Node | None) -> dict[str, Node]:
    """The fields a block body sets: its arguments and its blocks (``dynamic "x"`` sets x),
    each with the node that sets it first."""
    from imds_iac_checks.formats.terraform import syntax

    if body is None:
        return {}
    out: dict[str, Node] = {}
    for item in body.named_children:
        if item.type == "attribute":
            out.setdefault(syntax.ident(item), item)
        elif item.type == "block":
            ident = syntax.ident(item)
            labels = syntax.labels(src, item)
            if ident == "dynamic" and len(labels) == 1:
                ident = labels[0]
            out.setdefault(ident, item)
    return out


def _adds(use: _Use) -> bool:
    """The build's ``source`` block writes a setting read here."""
    from imds_iac_checks.formats.terraform import syntax

    assert use.override is not None
    body = syntax.child(use.override, "body")
    if body is None:
        return False
    if "imds_support" in syntax.attributes(body):
        return True
    return any(
        syntax.ident(b) == BLOCK
        or (syntax.ident(b) == "dynamic" and syntax.labels(use.src, b) == [BLOCK])
        for b in syntax.children(body, "block")
    )


def _distinct_builds(uses: list[_Use]) -> list[_Use]:
    """One use per build block (a build may name a source twice)."""
    seen: set[tuple[str, int]] = set()
    out = []
    for use in uses:
        key = (use.src.path, use.build.start_byte)
        if key not in seen:
            seen.add(key)
            out.append(use)
    return out


def _options(
    module: Module, bodies: list[tuple[Source, Node | None]]
) -> tuple[Span | None, Span | None, dict[str, tuple[Value, ...]]]:
    """The build instance's metadata options: the block (static or ``dynamic``) of the first
    body that writes one (Packer rejects a second)."""
    from imds_iac_checks.formats.terraform import syntax

    for src, body in bodies:
        options_body, block_span, iterator, block_key = module._options(
            src, body, BLOCK, module.scope
        )
        if block_span is None:
            continue
        attrs = syntax.attributes(options_body)
        scope = module.scope.with_names(**iterator) if iterator else module.scope
        settings: dict[str, tuple[Value, ...]] = {}
        spec = SOURCES["amazon-ebs"][0]
        assert spec is not None
        for key, field in _FIELDS.items():
            expr = attrs.get(field)
            if expr is not None:
                settings.update(_values(module, spec, key, src, expr, scope))
        _ignored_endpoint(settings)
        return block_span, block_key, settings
    return None, None, {}


def _ignored_endpoint(settings: dict[str, tuple[Value, ...]]) -> None:
    """A literal ``http_endpoint = "disabled"``: the plugin then sends no metadata options, so
    the instance's tokens are AWS's default (optional) whatever ``http_tokens`` says. The value
    becomes the tokens setting the instance gets (IMDS002 at the endpoint, with the reason)."""
    values = settings.get(ENDPOINT, ())
    ignored = [v for v in values if v.known and v.value == DISABLED]
    if not ignored:
        return
    kept = tuple(v for v in values if v not in ignored)
    if kept:
        settings[ENDPOINT] = kept
    else:
        del settings[ENDPOINT]
    tokens = tuple(
        v._replace(
            value="optional",  # AWS's default when no metadata options are sent
            problem=ENDPOINT_IGNORED.format(raw=f"{_FIELDS[ENDPOINT]} = {show(v.raw)}"),
        )
        for v in ignored
    )
    settings[TOKENS] = tokens + (settings.get(TOKENS, ()) if kept else ())


def _values(
    module: Module, spec: KindSpec, key: str, src: Source, expr: Node, scope: Any = None
) -> dict[str, tuple[Value, ...]]:
    from imds_iac_checks.formats.terraform.eval import unknown
    from imds_iac_checks.formats.terraform.module import to_values

    value = module.evaluate(src, expr, scope)
    if not value.known and not value.choices and not value.links:
        value = unknown(src, expr)  # no origin of its own: report it where it is used
    where = (Link(src.span(expr), LinkKind.EXPRESSION),)
    values = to_values(spec, key, value, where=where)
    return {key: tuple(values)} if values else {}


def _skips_ami(module: Module, bodies: list[tuple[Source, Node | None]]) -> bool:
    """``skip_create_ami`` is known to be true: the build makes no AMI."""
    from imds_iac_checks.formats.terraform import syntax

    for src, body in bodies:
        expr = syntax.attributes(body).get("skip_create_ami")
        if expr is not None:
            value = module.evaluate(src, expr)
            return value.known and not value.choices and value.v in (True, "true")
    return False


# --- JSON: HCL2's JSON syntax and legacy templates --------------------------------------------

_HCL_VAR = re.compile(r"\$\{\s*var\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}")
_USER_VAR = re.compile(r"\{\{\s*user\s+`([^`]+)`\s*\}\}")
_TEMPLATED = ("${", "%{", "{{")


class _JsonValues:
    """Values of a JSON template: literals, and a variable written alone (``"${var.x}"``,
    ``"{{user `x`}}"``) whose default in the same file is a literal; anything else unknown."""

    def __init__(
        self, loc: Locator, defaults: dict[str, DNode], pattern: re.Pattern[str], prefix: str
    ) -> None:
        self.loc = loc
        self.defaults = defaults
        self.pattern = pattern
        self.prefix = prefix

    def read(self, spec: KindSpec, key: str, node: DNode) -> list[Value]:
        from imds_iac_checks.formats.structured import literal_value, unknown_value

        if node.kind != SCALAR:
            return [unknown_value(self.loc, node)]
        text = node.value
        if isinstance(text, str) and any(t in text for t in _TEMPLATED):
            match = self.pattern.fullmatch(text.strip())
            default = self.defaults.get(match.group(1)) if match is not None else None
            if match is None or default is None:
                why = compact(text)
                if match is not None:
                    why += f" ({self.prefix}{match.group(1)} has no default in this file)"
                return [unknown_value(self.loc, node, why)]
            subject = f"{self.prefix}{match.group(1)}"
            if default.kind != SCALAR or (
                isinstance(default.value, str) and any(t in default.value for t in _TEMPLATED)
            ):
                why = f"{compact(text)} ({subject} defaults to {compact(self.loc.source(default))})"
                return [unknown_value(self.loc, node, why)]
            via = (Link(self.loc.node_span(node), LinkKind.REFERENCE, subject),)
            found = literal_value(
                self.loc,
                spec,
                key,
                default,
                link=(LinkKind.VARIABLE_DEFAULT, subject),
                via=via,
            )
            return [found] if found is not None else []
        found = literal_value(self.loc, spec, key, node)
        return [found] if found is not None else []


def _json_target(
    loc: Locator,
    values: _JsonValues,
    kind: str,
    address: str,
    node: DNode,
    header: Span,
    payloads: tuple[Payload, ...],
) -> list[Target]:
    from imds_iac_checks.formats.structured import unknown_value

    instance, ami = SOURCES[kind]
    span = loc.node_span(node)
    out: list[Target] = []
    if instance is not None:
        settings: dict[str, tuple[Value, ...]] = {}
        block_span = block_key = None
        unknown_block: Value | None = None
        options, key_node = node.get(BLOCK), node.key_node(BLOCK)
        if instance.block is not None and options is not None and key_node is not None:
            block_span, block_key = loc.node_span(options), loc.node_span(key_node)
            if options.kind == MAP:
                for key, field in _FIELDS.items():
                    written = options.get(field)
                    if written is not None:
                        found = values.read(instance, key, written)
                        if found:
                            settings[key] = tuple(found)
                _ignored_endpoint(settings)
            else:  # "${var.options}": an object from elsewhere
                unknown_block = unknown_value(loc, options)
        out.append(
            Target(
                spec=instance,
                address=address,
                path=loc.path,
                span=span,
                header=header,
                block_span=block_span,
                settings=settings,
                format=FORMAT,
                block_key=block_key,
                user_data=payloads,
                unknown_block=unknown_block,
            )
        )
    skip = node.get("skip_create_ami")
    skipped = skip is not None and skip.kind == SCALAR and skip.value in (True, "true")
    if ami is not None and not skipped:
        written = node.get("imds_support")
        found = values.read(ami, IMDS_SUPPORT, written) if written is not None else []
        out.append(
            Target(
                spec=ami,
                address=ami_address(address),
                path=loc.path,
                span=span,
                header=header,
                block_span=span,
                settings={IMDS_SUPPORT: tuple(found)} if found else {},
                format=FORMAT,
            )
        )
    return out


def _read_json(shown: str, data: bytes) -> tuple[Locator, DNode] | ScanError:
    from imds_iac_checks.formats.doc import parse_json

    try:
        text = decode(data)
        return Locator(shown, text), parse_json(text)
    except DocError as exc:
        return ScanError(shown, 0, 0, f"invalid JSON: {exc.message}")


def _hcl_json(shown: str, data: bytes) -> tuple[list[Target], list[ScanError]]:
    """A ``.pkr.json`` file: ``{"source": {"amazon-ebs": {"name": {...}}}}``."""
    from imds_iac_checks.formats import packer

    read = _read_json(shown, data)
    if isinstance(read, ScanError):
        return [], [read]
    loc, root = read
    if root.kind != MAP:
        return [], []
    defaults: dict[str, DNode] = {}
    for block in packer.items(root.get("variable")):
        for variable, decl in block.pairs():
            default = decl.get("default") if decl.kind == MAP else None
            if default is not None:
                defaults.setdefault(str(variable.value), default)
    values = _JsonValues(loc, defaults, _HCL_VAR, "var.")
    reader = packer.Reader(shown, None, None)
    if b"provisioner" in data:
        reader.json(data)
    by_source: dict[str, list[Payload]] = {}
    for build in packer.items(root.get("build")):
        for ref in packer.strings(build.get("sources")):
            by_source.setdefault(_ref(ref), []).extend(reader.by_build.get(build.start, []))
    out: list[Target] = []
    errors: list[ScanError] = []
    for block in packer.items(root.get("source")):
        for type_key, named in block.pairs():
            kind = str(type_key.value)
            if kind not in SOURCES or named.kind != MAP:
                continue
            for name_key, body in named.pairs():
                if body.kind != MAP:
                    continue
                name = str(name_key.value)
                header = loc.node_span(name_key)
                runs = tuple(by_source.get(f"{kind}.{name}", []))
                address = f"source.{kind}.{name}"
                with watch_duplicates() as read_twice:
                    found = _json_target(loc, values, kind, address, body, header, runs)
                if _ambiguous(loc, address, read_twice, errors, _HCL_JSON_DUPLICATE):
                    continue
                out += found
    return out, errors


_HCL_JSON_DUPLICATE = "packer rejects a property written twice in an HCL JSON object"
_LEGACY_DUPLICATE = (
    "packer's JSON reader (Go encoding/json) takes the last value, which is hard to see: keep one"
)


def _ambiguous(
    loc: Locator, address: str, read_twice: list[DNode], errors: list[ScanError], why: str
) -> bool:
    """A key written twice in a mapping read for a target: an error at the second key (one
    per mapping), and the target is not evaluated, as a CloudFormation template's resource."""
    for mapping in read_twice:
        dup = mapping.dup
        if dup is None:
            continue
        at = loc.node_span(dup)
        error = ScanError(
            loc.path, at.line, at.column, f"duplicate key {dup.value!r} in {address}: {why}"
        )
        if error not in errors:
            errors.append(error)
    return bool(read_twice)


def legacy_targets(
    shown: str, data: bytes, payloads: list[Payload]
) -> tuple[list[Target], list[ScanError]]:
    """A legacy JSON template's Amazon builders; ``payloads`` (its provisioners) run on each."""
    read = _read_json(shown, data)
    if isinstance(read, ScanError):
        return [], [read]
    loc, root = read
    builders = root.get("builders") if root.kind == MAP else None
    if builders is None or builders.kind != SEQ:
        return [], []
    defaults: dict[str, DNode] = {}
    variables = root.get("variables")
    if variables is not None and variables.kind == MAP:
        defaults = {str(k.value): v for k, v in variables.pairs()}
    values = _JsonValues(loc, defaults, _USER_VAR, "variables.")
    out: list[Target] = []
    errors: list[ScanError] = []
    for builder in builders.items:
        if builder.kind != MAP:
            continue
        kind_node, key = builder.get("type"), builder.key_node("type")
        if kind_node is None or key is None or kind_node.value not in SOURCES:
            continue
        kind = str(kind_node.value)
        name_node = builder.get("name")
        name = str(name_node.value) if name_node is not None and name_node.kind == SCALAR else kind
        header = loc.span(key.start, kind_node.end)
        with watch_duplicates() as read_twice:
            found = _json_target(loc, values, kind, name, builder, header, tuple(payloads))
        if _ambiguous(loc, name, read_twice, errors, _LEGACY_DUPLICATE):
            continue
        out += found
    return out, errors
