"""Ansible tasks that launch EC2 instances: playbooks and roles' task files (YAML with Jinja).

Read (by their fully qualified names, the ``community.aws`` names that redirect to them, and
their short names):

- ``amazon.aws.ec2_instance`` (``ec2_instance``): its ``metadata_options`` (``http_endpoint``,
  ``http_tokens``, ``http_put_response_hop_limit``). The module sends ``MetadataOptions`` only
  when ``metadata_options`` is given: a task without it launches with AWS's defaults (IMDSv1
  allowed, IMDS001); given without ``http_tokens``, the module's own default ``optional`` is
  sent (IMDS002, which says so). A task that names a ``launch_template`` and gives no
  ``metadata_options`` takes the template's (linked to an ``ec2_launch_template`` task of the
  same file, else IMDS004).
- ``amazon.aws.ec2_launch_template`` (``community.aws.ec2_launch_template`` before 9.0.0): the
  same ``metadata_options``, with the same defaults.
- ``amazon.aws.ec2_spot_instance``: ``RequestSpotInstances`` takes no metadata options at all
  (IMDS006), and the legacy ``ec2`` module (removed in amazon.aws 4.0.0) had none (IMDS006).

A task that terminates instances (``state: absent``) is no target; an ``ec2_instance`` task that
names no image, launch template or metadata options only manages instances that exist (stop,
start, tag) and is no target either. Arguments are read as Ansible merges them: a mapping (or
free-form ``key=value`` text, which cannot write ``metadata_options`` as a mapping: a
``metadata_options=...`` word is IMDS004) under the module's key or ``local_action``/``action``
with ``module:``, over ``args:``, over the ``module_defaults`` of the task, its blocks and its play
(the module's entry over its group's). YAML merge keys are applied as Ansible's loader applies
them (formats/playbooks.py); a value from an anchor other places use is a shared, unsafe fix.
A later ``ec2_launch_template`` task for a template an earlier one makes adds a version that
inherits that one's options (``source_version`` defaults to ``latest``).

Jinja: a literal is read as written; ``"{{ name }}"`` (one plain variable) is looked up in the
task's ``vars``, its blocks' ``vars``, the role's ``vars/main.yml``, the play's ``vars`` and the
role's ``defaults/main.yml`` (Ansible's precedence among those), and the value found there is
the setting, pointing at where it is written (a fix edits it there: unsafe, other tasks may read
it). Anything else (filters, lookups, a variable set elsewhere: inventory, ``vars_files``,
``set_fact``, extra vars) is IMDS004, naming the expression. ``when:`` is not evaluated: the
task is judged as if it runs, and its findings say when it does. A loop is one target.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, NamedTuple

from imds_iac_checks.formats.doc import (
    MAP,
    SCALAR,
    SEQ,
    DNode,
    DocError,
    Locator,
    decode,
    parse_yaml,
    watch_duplicates,
)
from imds_iac_checks.formats.playbooks import (
    MAX_DEPTH,
    PLAY_KEYS,
    PLAY_TASKS,
    Parsed,
    free_form,
    parse_result,
    too_deep,
)
from imds_iac_checks.formats.structured import literal_value, unknown_value, without_duplicates
from imds_iac_checks.model import (
    ENDPOINT,
    HOP_LIMIT,
    TOKENS,
    KindSpec,
    Link,
    LinkKind,
    Payload,
    Scalar,
    ScanError,
    Target,
    Value,
    compact,
)

if TYPE_CHECKING:
    from imds_iac_checks.source import Files

FORMAT = "ansible"
# The formats/data.py hook passes (origin, files) to a reader that reads other files.
READS_FILES = True

_FIELDS = {
    ENDPOINT: "http_endpoint",
    TOKENS: "http_tokens",
    HOP_LIMIT: "http_put_response_hop_limit",
}
_SUGGEST = {ENDPOINT: '"enabled"', TOKENS: '"required"', HOP_LIMIT: "{hop_limit}"}
# The suboption defaults of both modules' metadata_options (argument_spec since amazon.aws
# 2.0.0 / community.aws 1.5.0): sent whenever metadata_options is given.
_BLOCK_DEFAULTS: dict[str, Scalar] = {TOKENS: "optional", ENDPOINT: "enabled", HOP_LIMIT: 1}


def _kind(name: str) -> KindSpec:
    return KindSpec(
        name,
        "metadata_options",
        _FIELDS,
        _SUGGEST,
        block_defaults=_BLOCK_DEFAULTS,
        # said when metadata_options is written without http_tokens (IMDS002)
        default_note=f'{name}\'s metadata_options.http_tokens defaults to "optional"',
        plugins=False,
    )


def _no_options(name: str) -> str:
    """Said when a task writes no metadata_options (IMDS001): the module sends none."""
    return f"{name} sends no MetadataOptions without it: the AMI's or the account's default applies"


INSTANCE = _kind("amazon.aws.ec2_instance")
LAUNCH_TEMPLATE = _kind("amazon.aws.ec2_launch_template")
SPOT_INSTANCE = KindSpec(
    "amazon.aws.ec2_spot_instance",
    None,
    {},
    {},
    needs_block=False,
    remedy=(
        "spot requests take no metadata options: launch with amazon.aws.ec2_instance from an "
        "amazon.aws.ec2_launch_template whose instance_market_options request spot and whose "
        "metadata_options set http_tokens: required"
    ),
    plugins=False,
)
LEGACY_EC2 = KindSpec(
    "amazon.aws.ec2",
    None,
    {},
    {},
    needs_block=False,
    remedy=(
        "the ec2 module (removed in amazon.aws 4.0.0) has no metadata options: launch with "
        "amazon.aws.ec2_instance and metadata_options with http_tokens: required"
    ),
    plugins=False,
)
KINDS = (INSTANCE, LAUNCH_TEMPLATE, SPOT_INSTANCE, LEGACY_EC2)

_MODULES: dict[str, KindSpec] = {}
for _spec, _names in (
    (INSTANCE, ("ec2_instance", "community.aws.ec2_instance")),
    (LAUNCH_TEMPLATE, ("ec2_launch_template", "community.aws.ec2_launch_template")),
    (SPOT_INSTANCE, ("ec2_spot_instance",)),
    (LEGACY_EC2, ("ec2",)),
):
    _MODULES[_spec.kind] = _spec
    for _name in _names:
        _MODULES[_name] = _spec

# module_defaults groups that hold the modules read here (amazon.aws meta/runtime.yml
# action_groups; community.aws extends amazon.aws.aws).
_GROUPS = frozenset(("group/aws", "group/amazon.aws.aws", "group/community.aws.aws"))
# A line that calls one of the modules (its key, ``module:`` or ``action:``): a file that is not
# valid YAML is reported only when it has one.
_CALLS = re.compile(
    rb"(?m)^[ \t]*(?:-[ \t]+)?(?:(?:local_)?action[ \t]*:[ \t]*|module[ \t]*:[ \t]*)?[\"']?"
    rb"(?:(?:amazon|community)\.aws\.)?(?:ec2_instance|ec2_launch_template|ec2_spot_instance|ec2)"
    rb"[\"']?(?:[ \t]*:|[ \t]+\S|[ \t]*$)"
)
_MARKERS = (b"ec2_instance", b"ec2_launch_template", b"ec2_spot_instance", b"ec2:", b"ec2 ")
_JINJA = r"(?s)\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}"
_ONE_EXPRESSION = re.compile(r"\s*(?:\{\{(?:(?!\}\}).)*\}\}|\{%(?:(?!%\}).)*%\})\s*", re.DOTALL)
_VARIABLE = re.compile(r"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}")
_TEMPLATED = ("{{", "{%")
# How deep a variable whose value is another variable is followed.
_MAX_INDIRECTION = 8
_WHAT = {  # what launches an instance, and an image to launch from
    INSTANCE.kind: ("image_id", "image", "launch_template", "metadata_options"),
}
_GONE = frozenset(("absent", "terminated"))


def worth(data: bytes) -> bool:
    """Bytes that name a module read here (most YAML files cost a few byte searches)."""
    return any(m in data for m in _MARKERS)


class _Scope(NamedTuple):
    """Variables visible to a task: each source as (variables mapping, its locator, the link kind
    and place a value found there gets), innermost first."""

    sources: tuple[tuple[DNode, Locator, str, str], ...] = ()

    def inner(self, node: DNode | None, loc: Locator, kind: str, place: str) -> _Scope:
        if node is None or node.kind != MAP:
            return self
        return _Scope(((node, loc, kind, place), *self.sources))

    def outer(self, node: DNode | None, loc: Locator, kind: str, place: str) -> _Scope:
        if node is None or node.kind != MAP:
            return self
        return _Scope((*self.sources, (node, loc, kind, place)))

    def find(self, name: str) -> tuple[DNode, DNode, Locator, str, str] | None:
        for mapping, loc, kind, place in self.sources:
            for key, value in reversed(mapping.items):  # written twice: Ansible takes the last
                if key.value == name:
                    return key, value, loc, kind, place
        return None


def targets(
    path: str, data: bytes, origin: str | None = None, files: Files | None = None
) -> tuple[list[Target], list[ScanError]]:
    """The targets of a YAML file that may hold Ansible plays or task lists (none when it holds
    neither). A file that cannot be read (not UTF-8, not YAML) is an error when a line of it
    calls one of the modules read here, else not ours to report."""
    read = parse_result(data)
    if isinstance(read, DocError):
        return [], _unreadable(path, data, read)
    loc = Locator(path, read.text)
    reader = _Reader(loc, read)
    role = _role(path, origin, files)
    with watch_duplicates() as read_twice:
        for root in read.roots:
            if root.kind != SEQ:
                continue
            for item in root.items:
                if item.kind != MAP:
                    continue
                if any(k.value in PLAY_KEYS for k, _ in item.pairs()) and _module(item) is None:
                    reader.play(item)
                else:
                    reader.task(item, role, (), 0, ())
    found = reader.done()
    if not found:
        return [], reader.errors
    kept, errors = without_duplicates(
        loc, found, read_twice, "Ansible takes the last one, with a warning"
    )
    return kept, reader.errors + errors


def _unreadable(path: str, data: bytes, exc: DocError) -> list[ScanError]:
    """The error of a file that cannot be read, when a line of it calls a module read here
    (a role's ``templates/`` hold Jinja templates, not YAML Ansible loads: not reported)."""
    if _CALLS.search(data) is None or "/templates/" in "/" + path.replace("\\", "/"):
        return []
    try:
        text = decode(data)
    except DocError:
        text = data.decode("utf-8", "replace")
        loc = Locator(path, text[: exc.offset])
        line, column, _ = loc.position(exc.offset)
        return [ScanError(path, line, column, f"cannot read: {exc.message}")]
    line, column, _ = Locator(path, text).position(min(exc.offset, len(text)))
    return [ScanError(path, line, column, f"invalid YAML: {exc.message}")]


def _role(path: str, origin: str | None, files: Files | None) -> _Scope:
    """The variables of the role a task file belongs to (``roles/web/tasks/main.yml``: the
    role's ``vars/main.yml`` above any play's vars, its ``defaults/main.yml`` below), read
    through ``files`` (so that a fix's verification sees its edits)."""
    if origin is None or files is None:
        return _Scope()
    parts = os.path.normpath(origin).split(os.sep)
    shown = path.replace("\\", "/").split("/")
    for up in range(2, min(5, len(parts))):
        if parts[-up] not in ("tasks", "handlers"):
            continue
        root = os.sep.join(parts[:-up])
        shown_root = "/".join(shown[:-up]) if len(shown) > up else ""
        scope = _Scope()
        for sub, kind in (
            ("vars", LinkKind.VARIABLE_FILE),
            ("defaults", LinkKind.VARIABLE_DEFAULT),
        ):
            for name in ("main.yml", "main.yaml"):
                where = os.path.join(root, sub, name)
                if not os.path.isfile(where):
                    continue
                shown_where = "/".join(p for p in (shown_root, sub, name) if p)
                role_name = parts[-up - 1] if len(parts) > up else ""
                place = f"the {sub} of role {role_name}" if kind == LinkKind.VARIABLE_FILE else ""
                try:
                    text = decode(files.read(where))
                    docs = parse_yaml(text)
                except (OSError, DocError):
                    break
                if docs and docs[0].kind == MAP:
                    var_loc = Locator(shown_where, text)
                    scope = scope.outer(docs[0], var_loc, kind, place)
                break
        return scope
    return _Scope()


def _module(task: DNode) -> tuple[str, KindSpec, DNode, DNode] | None:
    """The module a task calls when it is one read here: (its name as written, its kind, the
    key that names it, the arguments as written)."""
    for key, value in task.pairs():
        name = key.value if isinstance(key.value, str) else ""
        spec = _MODULES.get(name)
        if spec is not None:
            return name, spec, key, value
        if name in ("local_action", "action"):
            if value.kind == MAP:
                module = value.get("module")
                spec = _MODULES.get(str(module.value)) if module is not None else None
                if spec is not None and module is not None:
                    return str(module.value), spec, key, value
            elif value.kind == SCALAR and isinstance(value.value, str):
                first = value.value.split(None, 1)[0] if value.value.strip() else ""
                spec = _MODULES.get(first)
                if spec is not None:
                    return first, spec, key, value
    return None


def module_arguments(task: DNode) -> DNode | str:
    """The mapping that holds a launching task's arguments (where a fix adds
    ``metadata_options``), or why there is none."""
    found = _module(task)
    if found is None:
        return "the task calls no module that launches instances"
    args = found[3]
    if args.kind == MAP:
        return args
    extra = task.get("args")
    if extra is not None and extra.kind == MAP:
        return extra
    return (
        "the module's arguments are written as key=value text, which cannot hold "
        "metadata_options; write them as a mapping to add it"
    )


# module_defaults in force, outermost first: (the mapping or list written, where it is written).
_Defaults = tuple[tuple[DNode, str], ...]
# One argument of a task: (its key, its value, where it is written when that is a module_defaults
# entry, else "").
_Entry = tuple[DNode, DNode, str]


class _Reader:
    def __init__(self, loc: Locator, read: Parsed) -> None:
        self.loc = loc
        self.read = read
        self.out: list[Target] = []
        self.errors: list[ScanError] = []
        # Launch templates made by the tasks read so far: key -> how many tasks made a version.
        self.versions: dict[str, int] = {}

    def done(self) -> list[Target]:
        """The targets, each address written once (a repeated one gets ``#2``, ``#3``...)."""
        seen: dict[str, int] = {}
        out = []
        for target in self.out:
            count = seen[target.address] = seen.get(target.address, 0) + 1
            out.append(
                target if count == 1 else target._replace(address=f"{target.address} #{count}")
            )
        return out

    def play(self, play: DNode) -> None:
        name = _text(play.get("name"))
        if name is None:
            hosts = play.get("hosts")
            label = f"play {compact(self.loc.source(hosts), 40)}" if hosts is not None else "play"
        else:
            label = f"play {_quoted(name)}"
        scope = _Scope().inner(
            play.get("vars"), self.loc, LinkKind.VARIABLE_FILE, f"the vars of {label}"
        )
        defaults = _with(play.get("module_defaults"), f"the module_defaults of {label}", ())
        for key in PLAY_TASKS:
            tasks = play.get(key)
            if tasks is not None and tasks.kind == SEQ:
                for item in tasks.items:
                    if item.kind == MAP:
                        self.task(item, scope, (label,), 1, defaults)

    def task(
        self,
        task: DNode,
        scope: _Scope,
        where: tuple[str, ...],
        depth: int,
        defaults: _Defaults,
    ) -> None:
        if depth > MAX_DEPTH:
            if not self.errors:  # once per file
                self.errors.append(too_deep(self.loc, task))
            return
        if task.get("block") is not None:
            name = _text(task.get("name"))
            place = f"the vars of block {_quoted(name)}" if name else "the block's vars"
            inner = scope.inner(task.get("vars"), self.loc, LinkKind.VARIABLE_FILE, place)
            block = f"block {_quoted(name)}" if name else "the block"
            inner_defaults = _with(
                task.get("module_defaults"), f"the module_defaults of {block}", defaults
            )
            for key in ("block", "rescue", "always"):
                tasks = task.get(key)
                if tasks is not None and tasks.kind == SEQ:
                    for item in tasks.items:
                        if item.kind == MAP:
                            self.task(item, inner, where, depth + 1, inner_defaults)
            return
        found = _module(task)
        if found is None:
            return
        written, spec, module_key, args = found
        scope = scope.inner(task.get("vars"), self.loc, LinkKind.VARIABLE_FILE, "the task's vars")
        defaults = _with(task.get("module_defaults"), "the task's module_defaults", defaults)
        _Task(self, task, scope, where, written, spec, module_key, args, defaults).read()


def _with(node: DNode | None, place: str, outer: _Defaults) -> _Defaults:
    if node is None or node.kind not in (MAP, SEQ):
        return outer
    return (*outer, (node, place))


def _defaults_for(spec: KindSpec, chain: _Defaults) -> dict[str, _Entry]:
    """The arguments module_defaults give a task of ``spec``, as Ansible merges them: the
    mappings outermost first, a module's (or group's) entry replacing an outer one whole; the
    groups' arguments, then the module's own (``ec2_instance``, ``amazon.aws.ec2_instance``,
    ``community.aws.ec2_instance`` name one module)."""
    entries: dict[str, tuple[DNode, str]] = {}
    for node, place in chain:
        mappings = [node] if node.kind == MAP else [i for i in node.items if i.kind == MAP]
        for mapping in mappings:
            for key, value in mapping.pairs():
                if isinstance(key.value, str):
                    named = _MODULES.get(key.value)  # Ansible resolves names to the module's
                    entries[named.kind if named is not None else key.value] = (value, place)
    out: dict[str, _Entry] = {}
    groups = [e for name, e in entries.items() if name in _GROUPS]
    own = [e for name, e in entries.items() if name == spec.kind]
    for value, place in groups + own:
        if value.kind != MAP:
            continue
        for key, argument in value.pairs():
            if isinstance(key.value, str):
                out[key.value] = (key, argument, place)
    return out


class _Task:
    """One task that calls a module read here. Its arguments, as Ansible merges them: those
    under the module's key (a mapping, or ``key=value`` text) over those of ``args:``, over the
    module_defaults in force."""

    def __init__(
        self,
        reader: _Reader,
        task: DNode,
        scope: _Scope,
        where: tuple[str, ...],
        written: str,
        spec: KindSpec,
        key: DNode,
        args: DNode,
        defaults: _Defaults,
    ) -> None:
        self.reader, self.loc, self.task, self.scope = reader, reader.loc, task, scope
        self.where, self.written, self.spec, self.key, self.args = where, written, spec, key, args
        self.inline = args if args.kind == MAP else None
        extra = task.get("args")
        self.extra = extra if extra is not None and extra.kind == MAP else None
        self.words: dict[str, str] = {}
        if args.kind == SCALAR and isinstance(args.value, str):
            self.words = free_form(args.value)
        self.defaults = _defaults_for(spec, defaults)

    def entry(self, name: str) -> _Entry | None:
        for mapping in (self.inline, None, self.extra):
            if mapping is None:
                if name in self.words:
                    return None  # key=value text
                continue
            key = mapping.key_node(name)
            value = mapping.get(name)
            if key is not None and value is not None:
                return key, value, ""
        return self.defaults.get(name)

    def option(self, name: str) -> DNode | None:
        found = self.entry(name)
        return found[1] if found is not None else None

    def has(self, name: str) -> bool:
        return self.option(name) is not None or name in self.words

    def literal(self, name: str) -> str | None:
        node = self.option(name)
        if node is not None:
            return _text(node)
        return self.words.get(name)

    def free_form_only(self) -> bool:
        """The arguments are ``key=value`` text with no ``args:`` mapping beside them: a fix
        has no mapping to add metadata_options to."""
        return self.inline is None and self.extra is None and bool(str(self.args.value or ""))

    def read(self) -> None:
        spec = self.spec
        state = self.literal("state")
        if state in _GONE:
            if spec is LAUNCH_TEMPLATE and not self.has("versions_to_delete"):
                for key in self.template_keys(written=True):  # deleted: a later one is new
                    self.reader.versions.pop(key, None)
            return
        if spec is LEGACY_EC2 and (
            state not in (None, "present") or self.has("instance_ids") or not self.has("image")
        ):
            return  # the legacy module starts, stops or terminates the instances it is given
        if spec is INSTANCE and not any(self.has(n) for n in _WHAT[INSTANCE.kind]):
            return  # no image to launch from: it manages instances that exist
        name = _text(self.task.get("name"))
        label = f"task {_quoted(name)}" if name else f"task {self.written}"
        address = " / ".join((*self.where, label))
        settings: dict[str, tuple[Value, ...]] = {}
        block_span = block_key = None
        unknown_block: Value | None = None
        template_ref: Value | None = None
        template_keys: tuple[str, ...] = ()
        shared_note = ""
        if spec.block is not None:
            found = self.entry(spec.block)
            if found is not None and not _null(found[1]):
                written_key, block, place = found
                block_key = self.loc.node_span(written_key)
                block_span = self.loc.node_span(block)
                anchor = self.reader.read.shared((self.task, self.inline, self.extra, block))
                if place:
                    shared_note = (
                        f"; this metadata_options is written in {place}, which other tasks "
                        "share: add http_tokens there by hand"
                    )
                elif anchor is not None:
                    shared_note = (
                        f"; this metadata_options is anchor &{self.reader.read.anchor(anchor)}, "
                        "which other places use: add http_tokens by hand"
                    )
                if block.kind == MAP:
                    for setting, field in spec.fields.items():
                        node = block.get(field)
                        if node is not None:
                            value = self.value(node, setting, place, block, written_key)
                            if value is not None:
                                settings[setting] = (value,)
                else:
                    unknown_block = unknown_value(self.loc, block)
            elif spec.block in self.words:
                block_key = block_span = self.loc.node_span(self.args)
                text = f"{spec.block} in key=value arguments: {compact(str(self.args.value))}"
                unknown_block = unknown_value(self.loc, self.args, text)
        note = spec.default_note + shared_note if block_span is not None else ""
        if block_span is None and spec.block is not None:
            note = _no_options(spec.kind)
        if spec is INSTANCE and block_span is None:
            template_ref = self.template_ref()
        if spec is LAUNCH_TEMPLATE:
            template_keys, template_ref, unknown_block, note = self.versions(
                block_span is not None, unknown_block, note
            )
        kind = spec
        if spec.block is not None:
            fixable = not shared_note and not (block_span is None and self.free_form_only())
            if block_span is None and self.free_form_only():
                note += (
                    f"; the arguments are key=value text, which cannot hold metadata_options: "
                    f"write them as a mapping under {self.written}"
                )
            # block_in_json: a fix never adds the block or a key to it (see KindSpec)
            kind = spec._replace(default_note=note, block_in_json=not fixable)
        self.reader.out.append(
            Target(
                spec=kind,
                address=address,
                path=self.loc.path,
                span=self.loc.node_span(self.task),
                header=self.loc.node_span(self.key),
                block_span=block_span,
                settings=settings,
                format=FORMAT,
                unknown_block=unknown_block,
                template_ref=template_ref,
                template_keys=template_keys,
                block_key=block_key,
                only_when=self.when(),
                user_data=self.user_data(address) if spec is INSTANCE else (),
            )
        )

    def versions(
        self, has_block: bool, unknown_block: Value | None, note: str
    ) -> tuple[tuple[str, ...], Value | None, Value | None, str]:
        """An ec2_launch_template task: its keys, and, when it writes no metadata_options, what
        its version inherits. The module (amazon.aws 4.1.0 onwards) makes a new version of a
        template that exists, from ``source_version`` (default ``latest``): the new version
        inherits every launch parameter the task does not write. A template an earlier task of
        the file makes: linked to that task's version; one made elsewhere: IMDS001 says it may
        inherit; an explicit source version: IMDS004."""
        keys = self.template_keys()
        chained = self.template_keys(written=True)  # a Jinja name: the same text, one template
        names = " / ".join(k.split(":", 1)[1] for k in chained)
        versions = self.reader.versions
        previous = [(key, versions[key]) for key in chained if key in versions]
        for key in chained:
            versions[key] = versions.get(key, 0) + 1
        own = tuple(f"{key}#{versions[key]}" for key in chained)
        if has_block or unknown_block is not None:
            return (*keys, *own), None, unknown_block, note
        source = self.entry("source_version")
        inherit = True
        if source is not None:
            node = source[1]
            text = _text(node)
            if _null(node) or text == "":
                inherit = False  # no SourceVersion: only the parameters written
            elif text != "latest":
                written = compact(self.loc.source(node))
                expression = (
                    f"{names or '(its name)'} version {written} (source_version: the files "
                    "scanned do not show which version that is)"
                )
                ref = unknown_value(self.loc, node, expression, kind=LinkKind.TEMPLATE_REFERENCE)
                return (*keys, *own), ref, None, note
        if inherit and previous:
            key, number = previous[0]
            ref = Value(
                True,
                f"{key}#{number}",
                key,
                key,
                (Link(self.loc.node_span(self.key), LinkKind.TEMPLATE_REFERENCE),),
            )
            return (*keys, *own), ref, None, note
        if inherit:
            which = f"launch template {names}" if names else "the launch template"
            note += (
                f"; if {which} already exists, this task adds a version that inherits the latest "
                "version's metadata_options instead"
            )
        return (*keys, *own), None, None, note

    # --- values ---------------------------------------------------------------------------------

    def value(
        self, node: DNode, setting: str, place: str, block: DNode, block_key: DNode
    ) -> Value | None:
        """The Value of a setting written at ``node`` (None: written as null, not sent): in the
        task, in a module_defaults entry (``place``), or under a YAML anchor that other places
        use (merged with ``<<: *name``, or an alias). A value written outside the task has a
        link at the line of the task that uses it (the module's key, the merge key, the key of
        the aliased block), where a suppression comment also applies."""
        field = self.spec.fields[setting]
        link: tuple[str, ...] = (LinkKind.LITERAL, "")
        read = self.reader.read
        anchor = read.shared((self.task, self.inline, self.extra, block, node))
        via: tuple[Link, ...] = ()
        if place:
            link = (LinkKind.VARIABLE_FILE, f"metadata_options.{field}", place)
            via = (Link(self.loc.node_span(self.key), LinkKind.REFERENCE, self.written),)
        elif anchor is not None:
            link = (LinkKind.YAML_ANCHOR, read.anchor(anchor))
            merge = read.merge_keys.get(id(block))
            used = merge if merge is not None and id(node) in read.merged_from else block_key
            via = (Link(self.loc.node_span(used), LinkKind.REFERENCE, self._line(used)),)
        return _resolve(self.scope, self.loc, self.spec, setting, node, via, 0, link)

    def _line(self, node: DNode) -> str:
        """The text of ``node``'s line from it on, without a comment (``<<: *imds``)."""
        text = self.loc.text
        end = len(text)
        for stop in ("\n", "\r"):
            found = text.find(stop, node.start)
            if found >= 0:
                end = min(end, found)
        return compact(text[node.start : end].split(" #")[0].strip(), 40)

    def template_ref(self) -> Value | None:
        """The launch template an instance task names (``launch_template: {name|id}``)."""
        ref = self.option("launch_template")
        if ref is None or ref.kind != MAP:
            return unknown_value(self.loc, ref) if ref is not None and not _null(ref) else None
        for field, prefix in (("id", "id:"), ("name", "name:")):
            node = ref.get(field)
            if node is None:
                continue
            value = _resolve(self.scope, self.loc, self.spec, "launch_template", node, (), 0)
            if value is None or not value.known:
                return value
            key = f"{prefix}{value.value}"
            made = self.reader.versions.get(key)  # the latest version an earlier task made
            return value._replace(value=f"{key}#{made}" if made else key)
        return None

    def template_keys(self, written: bool = False) -> tuple[str, ...]:
        """The keys of the template a launch template task makes (``name:web``, ``id:lt-...``).
        With ``written``, a name that is a Jinja expression is a key as written
        (``name:{{ prefix }}-lt``): the tasks of one file that write the same expression make
        versions of one template."""
        keys = []
        for fields, prefix in (
            (("template_name", "name"), "name:"),
            (("template_id", "id"), "id:"),
        ):
            for field in fields:
                node = self.option(field)
                if node is None:
                    continue
                value = _resolve(self.scope, self.loc, self.spec, field, node, (), 0)
                if value is not None and value.known and value.value is not None:
                    keys.append(f"{prefix}{value.value}")
                elif written and node.kind == SCALAR and isinstance(node.value, str):
                    keys.append(f"{prefix}{node.value}")
                break
        return tuple(keys)

    def when(self) -> str | None:
        node = self.task.get("when")
        if node is None or _null(node):
            return None
        if node.kind == SEQ:
            parts = [compact(self.loc.source(item)) for item in node.items]
            return compact(" and ".join(parts)) if parts else None
        return compact(self.loc.source(node))

    def user_data(self, owner: str) -> tuple[Payload, ...]:
        """The user data an instance task writes literally: code that runs on its instances."""
        node = self.option("user_data")
        if node is None or node.kind != SCALAR or not isinstance(node.value, str):
            return ()
        text = node.value
        if not text.strip() or _ONE_EXPRESSION.fullmatch(text):
            return ()  # one Jinja expression (a lookup of a file): nothing literal to read
        from imds_iac_checks.formats.pieces import Builder, yaml_scalar

        b = Builder(self.loc)
        if not yaml_scalar(b, node.start, node.end, text):
            b.hole(text)
        span = self.loc.node_span(node)
        return (b.payload(span, "user data", owner=owner, holes=_JINJA),)


def _resolve(
    scope: _Scope,
    loc: Locator,
    spec: KindSpec,
    setting: str,
    node: DNode,
    via: tuple[Link, ...],
    depth: int,
    link: tuple[str, ...] = (LinkKind.LITERAL, ""),
) -> Value | None:
    """A setting's Value from the node that writes it: a literal (``link``: the kind of place it
    is written in), or a plain variable followed to the literal it is set to (each step a link
    of the provenance), else unknown."""
    if node.kind != SCALAR or node.tag is not None:
        return _unknown(loc, node, via)
    raw = node.value
    if not isinstance(raw, str) or not any(mark in raw for mark in _TEMPLATED):
        return literal_value(loc, spec, setting, node, link=link, via=via)
    match = _VARIABLE.fullmatch(raw.strip())
    if match is None:
        return _unknown(loc, node, via)
    name = match.group(1)
    if depth >= _MAX_INDIRECTION:
        expression = f"{compact(raw)} (more than {_MAX_INDIRECTION} variables deep, or a cycle)"
        return _unknown(loc, node, via, expression)
    found = scope.find(name)
    if found is None:
        expression = (
            f"{compact(raw)} ({name} is not set in the task's, block's or play's vars nor in the "
            "role's vars or defaults)"
        )
        return _unknown(loc, node, via, expression)
    _, value_node, where, kind, place = found
    link = (kind, name, place)
    step = Link(loc.node_span(node), LinkKind.REFERENCE, compact(raw))
    chain = (step, *via)
    templated = isinstance(value_node.value, str) and any(
        mark in value_node.value for mark in _TEMPLATED
    )
    if value_node.kind == SCALAR and templated:
        return _resolve(scope, where, spec, setting, value_node, chain, depth + 1)
    if value_node.kind != SCALAR or value_node.tag is not None:
        return _unknown(where, value_node, chain)
    value = literal_value(where, spec, setting, value_node, link=link, via=chain)
    if value is None:  # set to null: Ansible sends the module's default
        return None
    return value


def _unknown(
    loc: Locator, node: DNode, via: tuple[Link, ...], expression: str | None = None
) -> Value:
    value = unknown_value(loc, node, expression)
    return value._replace(provenance=(*value.provenance, *via))


def _text(node: DNode | None) -> str | None:
    if node is None or node.kind != SCALAR or node.value is None or isinstance(node.value, bool):
        return None
    return str(node.value)


def _null(node: DNode) -> bool:
    return node.kind == SCALAR and node.value is None and node.tag is None


def _quoted(text: str) -> str:
    return '"' + compact(text, 80).replace('"', '\\"') + '"'
