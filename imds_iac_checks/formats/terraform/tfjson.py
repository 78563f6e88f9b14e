"""Terraform JSON: configuration in JSON syntax (``*.tf.json``) and plan JSON
(``terraform show -json plan.out``).

Configuration JSON has the same resources and blocks as HCL: a block is an object or a list of
objects, ``dynamic`` blocks appear under ``"dynamic"``, and every string is a template, so a string
with ``${...}`` is an expression (unknown here) while a plain string is a literal.

A plan records what Terraform will create: values come from ``resource_changes[].change.after``,
with ``after_unknown`` marking values known only after apply (IMDS004), or from
``planned_values`` (root and child modules) when there are no resource changes. Plan findings are
not fixable: fix the configuration and plan again.

User data (``Target.user_data``, see :mod:`.userdata` for HCL): in configuration JSON a
``user_data`` string is a template inside a JSON string: its literal runs are pieces written
with escape ``hcl-template+json`` (each JSON escape a piece of its own, ``$${`` too),
interpolations holes (``file()``/``templatefile()`` read the file next to the ``.tf.json``,
``base64encode()`` of one is its text, as in HCL; variables and locals are not known here), a
base64 literal is decoded (no pieces). A plan records what the AWS provider stores:
``aws_launch_template.user_data`` and every ``user_data_base64`` as base64 (decoded: a payload
without pieces that no fix edits), but ``user_data`` of ``aws_instance``,
``aws_spot_instance_request``, ``aws_launch_configuration`` and a spot fleet's
``launch_specification`` only as the SHA-1 hash of the text: a plan cannot show that user data.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from typing import TYPE_CHECKING, Any

from imds_iac_checks.formats.doc import MAP, SCALAR, SEQ, DNode, Locator, watch_duplicates
from imds_iac_checks.formats.structured import (
    json_string_settings,
    launches,
    literal_value,
    option_settings,
    read_settings,
    scalar_runs,
    unknown_value,
    without_duplicates,
)
from imds_iac_checks.formats.terraform.kinds import (
    BEANSTALK_TEMPLATE,
    FORMAT,
    KINDS,
    LAUNCHERS,
    NAMED_KINDS,
    TEMPLATE_USERS,
    Launcher,
    Ref,
    template_reference,
)
from imds_iac_checks.model import TOKENS, KindSpec, Payload, Piece, ScanError, Span, Target, Value

if TYPE_CHECKING:
    from tree_sitter import Node

    from imds_iac_checks.formats.terraform.eval import Scope, Val
    from imds_iac_checks.formats.terraform.syntax import Source
    from imds_iac_checks.source import Files

# Where a file is on disk and what reads it (formats/data.py): None, None for bytes alone.
Where = tuple["str | None", "Files | None"]

_TEMPLATE = re.compile(r"(?<!\$)\$\{|(?<!%)%\{")
_INTERPOLATION = re.compile(r"\$\{([^{}]*)\}")


def is_plan(root: DNode) -> bool:
    return (
        root.kind == MAP
        and root.get("format_version") is not None
        and (root.get("planned_values") is not None or root.get("resource_changes") is not None)
    )


# --- configuration (*.tf.json) -----------------------------------------------------------------


def _blocks(node: DNode | None) -> list[DNode]:
    """A JSON block value: an object, or a list of objects."""
    if node is None:
        return []
    if node.kind == MAP:
        return [node]
    if node.kind == SEQ:
        return [item for item in node.items if item.kind == MAP]
    return []


def _nested(node: DNode | None, path: tuple[str, ...]) -> list[DNode]:
    """The nested blocks ``path`` names (every match at each step)."""
    found = [node] if node is not None else []
    for step in path:
        found = [inner for outer in found for inner in _blocks(outer.get(step))]
    return found


def _launches(body: DNode, launcher: Launcher) -> bool:
    """Whether a resource of a launcher kind launches EC2 instances (see module._launches)."""
    return launches(body, launcher.needs, launcher.exempt, _nested)


def _reference(
    loc: Locator, block: DNode, id_attr: str, name_attr: str, ref: Ref | None = None
) -> Value | None:
    """The launch template ``block`` names by ``id_attr`` or ``name_attr`` (a literal, or an
    interpolation of ``aws_launch_template.X.id``)."""
    node = block.get(id_attr) or block.get(name_attr)
    if node is None:
        return None
    raw = node.value if node.kind == SCALAR else None
    text = raw if isinstance(raw, str) else loc.source(node)
    inner = _INTERPOLATION.fullmatch(text)
    literal = None if inner or not isinstance(raw, str) else raw
    return template_reference(
        loc.node_span(node),
        inner.group(1).strip() if inner else text,
        literal,
        block.get(id_attr) is None,
        ref,
    )


def _config_value(loc: Locator, spec: KindSpec, node: DNode, key: str) -> list[Value]:
    if node.kind == SCALAR:
        if isinstance(node.value, str) and _TEMPLATE.search(node.value):
            return [unknown_value(loc, node)]
        if isinstance(node.value, str):
            node = DNode(SCALAR, node.start, node.end, node.value.replace("$${", "${"))
        value = literal_value(loc, spec, key, node)
        return [value] if value is not None else []
    return [unknown_value(loc, node)]


def interpret_config(
    loc: Locator, root: DNode, where: Where = (None, None)
) -> tuple[list[Target], list[ScanError]]:
    """Targets of a ``.tf.json`` file (``where``: its path on disk and what reads it, for the
    files its user data reads). An argument a rule reads written twice in one object
    (``"http_tokens"`` twice in ``metadata_options``) is an error at the second one, as
    Terraform's "Duplicate argument", and that resource is not evaluated. (Block types may
    repeat in Terraform JSON: only the arguments are checked.)"""
    targets: list[Target] = []
    errors: list[ScanError] = []
    if root.kind != MAP:
        return targets, errors
    for resources in _blocks(root.get("resource")):
        for type_key, by_name in resources.pairs():
            spec = KINDS.get(str(type_key.value))
            if spec is None or by_name.kind != MAP:
                continue
            launcher = LAUNCHERS.get(spec.kind)
            for name_key, body_value in by_name.pairs():
                for body in _blocks(body_value)[:1]:
                    if launcher is not None and not _launches(body, launcher):
                        continue  # no EC2 instances (Fargate, unmanaged)
                    header = loc.node_span(name_key)
                    target = _config_target(loc, spec, name_key, body, header, where)
                    twice = _arguments_twice(spec, body)
                    for key in twice:
                        line, column, _ = loc.position(key.start)
                        message = (
                            f"duplicate argument {key.value!r} in {target.address} "
                            "(Terraform rejects it)"
                        )
                        errors.append(ScanError(loc.path, line, column, message))
                    if not twice:
                        targets.append(target)
    return targets, errors


def _arguments_twice(spec: KindSpec, body: DNode) -> list[DNode]:
    """Keys written twice in one object, among the arguments a rule reads (and the options
    block itself, of which a resource has one)."""
    fields = set(spec.fields.values())
    checks: list[tuple[DNode, set[str]]] = []
    if spec.block is None:
        checks.append((body, fields))
    else:
        checks.append((body, {spec.block}))
        checks += [(block, fields) for block in _blocks(body.get(spec.block))]
        for dynamic in _blocks(body.get("dynamic")):
            for holder in _blocks(dynamic.get(spec.block)):
                checks += [(content, fields) for content in _blocks(holder.get("content"))]
    checks += [(block, {"id", "name"}) for block in _blocks(body.get("launch_template"))]
    return [
        key
        for node, names in checks
        if node.dup is not None
        for key in node.duplicates()
        if key.value in names
    ]


def _config_target(
    loc: Locator, spec: KindSpec, name_key: DNode, body: DNode, header: Span, where: Where
) -> Target:
    options: DNode | None
    block_key: DNode | None = None
    if spec.block is None:
        options = body
    else:
        found = _blocks(body.get(spec.block))
        options = found[0] if found else None
        block_key = body.key_node(spec.block) if found else None
        if options is None:
            for dynamic in _blocks(body.get("dynamic")):
                block_key = dynamic.key_node(spec.block)
                for content_holder in _blocks(dynamic.get(spec.block)):
                    for_each = content_holder.get("for_each")
                    if for_each is not None and for_each.kind in (SEQ, MAP) and not for_each.items:
                        continue
                    content = _blocks(content_holder.get("content"))
                    options = (
                        content[0]
                        if content
                        else DNode(MAP, content_holder.start, content_holder.end)
                    )
                    break
    settings: dict[str, tuple[Value, ...]] = {}
    if spec.option is not None:
        entries = _blocks(body.get("setting"))
        resolve = lambda n, k: _config_value(loc, spec, n, k)  # noqa: E731
        settings = option_settings(loc, spec, entries, ("namespace", "name", "value"), resolve)
        for dynamic in _blocks(body.get("dynamic")):
            if dynamic.get("setting") is not None and TOKENS not in settings:
                settings = {TOKENS: (unknown_value(loc, dynamic.get("setting")),)}  # type: ignore[arg-type]
    elif spec.block_in_json:
        options, block_key = None, None
        config = body.get("configuration")
        if config is not None and config.kind == SCALAR and isinstance(config.value, str):
            if _TEMPLATE.search(config.value):
                settings = {TOKENS: (unknown_value(loc, config),)}
                options = config
            else:
                found_settings = json_string_settings(loc, spec, config)
                if found_settings is not None:
                    settings, options, block_key = found_settings, config, config
    elif options is not None:
        settings = read_settings(spec, options, lambda n, k: _config_value(loc, spec, n, k))
    address = f"{spec.kind}.{name_key.value}"
    template_ref = None
    template_keys: tuple[str, ...] = ()
    launcher = LAUNCHERS.get(spec.kind)
    if spec.kind in TEMPLATE_USERS:
        for ref_block in _blocks(body.get("launch_template"))[:1]:
            template_ref = _reference(loc, ref_block, "id", "name")
    more: list[Value] = []
    refs = launcher.refs if launcher is not None else ()
    if spec.option is not None and TOKENS not in settings:
        refs = (BEANSTALK_TEMPLATE,)  # not set here: the configuration template may set it
    for ref in refs:
        for ref_block in _nested(body, ref.path):
            named = _reference(loc, ref_block, ref.id, ref.name, ref)
            if named is not None:
                more.append(named)
    if more:
        template_ref = more.pop(0)
    if spec.kind in NAMED_KINDS:
        name = body.get("name")
        template_keys = (address,)
        if name is not None and isinstance(name.value, str) and not _TEMPLATE.search(name.value):
            template_keys += (f"{NAMED_KINDS[spec.kind]}name:{name.value}",)
    return Target(
        spec=spec,
        address=address,
        path=loc.path,
        span=loc.node_span(body),
        header=header,
        block_span=loc.node_span(options) if options is not None else None,
        settings=settings,
        format=FORMAT,
        template_ref=template_ref,
        template_keys=template_keys,
        block_key=loc.node_span(block_key) if options is not None and block_key else None,
        more_refs=tuple(more),
        user_data=_config_user_data(loc, spec.kind, body, address, where),
    )


# --- plans ------------------------------------------------------------------------------------


def interpret_plan(loc: Locator, root: DNode) -> tuple[list[Target], list[ScanError]]:
    with watch_duplicates() as read_twice:
        targets = _plan_targets(loc, root)
    return without_duplicates(loc, targets, read_twice, "Terraform never writes one: edited?")


def _plan_targets(loc: Locator, root: DNode) -> list[Target]:
    targets: list[Target] = []
    seen: set[str] = set()
    changes = root.get("resource_changes")
    for change in changes.items if changes is not None and changes.kind == SEQ else []:
        if change.kind != MAP or _text(change.get("mode")) not in (None, "managed"):
            continue
        spec = KINDS.get(_text(change.get("type")) or "")
        detail = change.get("change")
        if spec is None or detail is None or detail.kind != MAP:
            continue
        actions = detail.get("actions")
        if actions is not None and [a.value for a in actions.items] == ["delete"]:
            continue
        after = detail.get("after")
        if after is None or after.kind != MAP:
            continue
        address = _text(change.get("address")) or spec.kind
        seen.add(address)
        if not _planned(spec, after, detail.get("after_unknown")):
            continue
        targets.append(_plan_target(loc, spec, address, change, after, detail.get("after_unknown")))
    planned = root.get("planned_values")
    module = planned.get("root_module") if planned is not None else None
    stack = [module] if module is not None else []
    while stack:
        current = stack.pop()
        if current.kind != MAP:
            continue
        for resource in _seq(current.get("resources")):
            if resource.kind != MAP or _text(resource.get("mode")) not in (None, "managed"):
                continue
            spec = KINDS.get(_text(resource.get("type")) or "")
            values = resource.get("values")
            address = _text(resource.get("address")) or ""
            if spec is None or values is None or values.kind != MAP or address in seen:
                continue
            seen.add(address)
            if _planned(spec, values, None):
                targets.append(_plan_target(loc, spec, address, resource, values, None))
        stack.extend(reversed(_seq(current.get("child_modules"))))
    return targets


def _seq(node: DNode | None) -> list[DNode]:
    return node.items if node is not None and node.kind == SEQ else []


def _text(node: DNode | None) -> str | None:
    return (
        str(node.value)
        if node is not None and node.kind == SCALAR and node.value is not None
        else None
    )


def _planned(spec: KindSpec, values: DNode, unknown: DNode | None) -> bool:
    """Whether a planned resource is a target: a launcher kind is not when it launches no EC2
    instances or names a launch template (a plan records ids, not references: the template,
    when in the plan, is judged there)."""
    launcher = LAUNCHERS.get(spec.kind)
    if launcher is None:
        return True
    if not _launches(values, launcher):
        return False
    if not launcher.remedy:
        return False  # always names a template (an Auto Scaling group, an EC2 fleet)
    for ref in launcher.refs:
        for block in _nested(values, ref.path):
            for attr in (ref.id, ref.name):
                node = block.get(attr)
                if node is not None and node.value not in (None, ""):
                    return False
        if unknown is not None:
            if ref.path and _nested(unknown, ref.path[:1]):
                return False  # the reference is known only after apply
            if not ref.path and unknown.kind == MAP:
                flag = unknown.get(ref.id)
                if flag is not None and flag.value is True:
                    return False
    return True


def _plan_target(
    loc: Locator,
    spec: KindSpec,
    address: str,
    entry: DNode,
    values: DNode,
    unknown: DNode | None,
) -> Target:
    address_key = entry.key_node("address")
    header = loc.node_span(address_key) if address_key is not None else loc.node_span(entry)
    if address_key is not None and entry.get("address") is not None:
        header = loc.span(address_key.start, entry.get("address").end)  # type: ignore[union-attr]
    unknown_block = None
    options: DNode | None
    block_key: DNode | None = None
    unknown_fields: DNode | None = None
    if spec.option is not None or spec.block_in_json:
        return _plan_special(loc, spec, address, entry, values, unknown, header)
    if spec.block is None:
        options, unknown_fields = values, unknown
    else:
        blocks = _seq(values.get(spec.block))
        options = blocks[0] if blocks and blocks[0].kind == MAP else None
        block_key = values.key_node(spec.block) if options is not None else None
        flag = unknown.get(spec.block) if unknown is not None and unknown.kind == MAP else None
        if flag is not None and flag.kind == SCALAR and flag.value is True:
            unknown_block = Value(
                False,
                None,
                None,
                "(known after apply)",
                (unknown_value(loc, flag).provenance[0],),
            )
            options = options or DNode(MAP, flag.start, flag.end)
        elif flag is not None and flag.kind == SEQ and flag.items:
            unknown_fields = flag.items[0]
    settings: dict[str, tuple[Value, ...]] = {}
    if options is not None and unknown_block is None:

        def resolve(node: DNode, key: str) -> list[Value]:
            value = literal_value(loc, spec, key, node) if node.kind == SCALAR else None
            return [value] if value is not None else []

        settings = read_settings(spec, options, resolve)
        if unknown_fields is not None and unknown_fields.kind == MAP:
            for key, field in spec.fields.items():
                flag = unknown_fields.get(field)
                if flag is not None and flag.value is True:
                    settings[key] = (unknown_value(loc, flag, "(known after apply)"),)
    return Target(
        spec=spec,
        address=address,
        path=loc.path,
        span=loc.node_span(entry),
        header=header,
        block_span=loc.node_span(options) if options is not None else None,
        settings=settings,
        format="terraform-plan",
        recorded_state=True,
        unknown_block=unknown_block,
        block_key=loc.node_span(block_key) if block_key is not None else None,
        user_data=_plan_user_data(loc, spec.kind, address, values),
    )


def _plan_special(
    loc: Locator,
    spec: KindSpec,
    address: str,
    entry: DNode,
    values: DNode,
    unknown: DNode | None,
    header: Span,
) -> Target:
    """A planned resource whose settings are option entries (Elastic Beanstalk's ``setting``)
    or sit in a JSON string (EMR's ``configuration``)."""
    settings: dict[str, tuple[Value, ...]] = {}
    options: DNode | None = values
    field = "setting" if spec.option is not None else "configuration"
    flag = unknown.get(field) if unknown is not None and unknown.kind == MAP else None
    if flag is not None and flag.value is True:
        settings = {TOKENS: (unknown_value(loc, flag, "(known after apply)"),)}
    elif spec.option is not None:

        def resolve(node: DNode, key: str) -> list[Value]:
            value = literal_value(loc, spec, key, node) if node.kind == SCALAR else None
            return [value] if value is not None else []

        entries = _seq(values.get("setting"))
        settings = option_settings(loc, spec, entries, ("namespace", "name", "value"), resolve)
    else:
        config = values.get("configuration")
        found = None
        if config is not None and config.kind == SCALAR and isinstance(config.value, str):
            found = json_string_settings(loc, spec, config)
        options = config if found is not None else None
        settings = found or {}
    return Target(
        spec=spec,
        address=address,
        path=loc.path,
        span=loc.node_span(entry),
        header=header,
        block_span=loc.node_span(options) if options is not None else None,
        settings=settings,
        format="terraform-plan",
        recorded_state=True,
    )


# --- user data --------------------------------------------------------------------------------

# Kinds whose user data is read, and the arguments that hold it.
USER_DATA_KINDS = (
    "aws_instance",
    "aws_spot_instance_request",
    "aws_launch_template",
    "aws_launch_configuration",
    "aws_spot_fleet_request",
)
_USER_DATA = ("user_data", "user_data_base64")
# Kinds whose ``user_data`` the AWS provider stores as the SHA-1 hash of the text (its
# ``StateFunc``), in state and plans alike; ``user_data_base64`` it stores as given.
_HASHED = frozenset(
    (
        "aws_instance",
        "aws_spot_instance_request",
        "aws_launch_configuration",
        "aws_spot_fleet_request",
    )
)
_SHA1 = re.compile(r"[0-9a-f]{40}")
RECORDED_NO_FIX = "this file records state: fix the configuration and regenerate it"
# Where the pieces of a JSON string's value are while it is read as a template.
_VALUE = "\0json-string"
_ESCAPE = "hcl-template+json"


def _holders(kind: str, body: DNode) -> list[DNode]:
    """The objects of a resource that hold user data: the resource, and a spot fleet's
    ``launch_specification`` blocks."""
    if kind not in USER_DATA_KINDS:
        return []
    holders = [body]
    if kind == "aws_spot_fleet_request":
        holders += _blocks(body.get("launch_specification"))
    return holders


def _strings(holder: DNode) -> list[tuple[str, DNode]]:
    out = []
    for name in _USER_DATA:
        node = holder.get(name)
        if node is not None and node.kind == SCALAR and isinstance(node.value, str) and node.value:
            out.append((name, node))
    return out


def _plan_user_data(loc: Locator, kind: str, address: str, values: DNode) -> tuple[Payload, ...]:
    """The user data a plan records for a resource: base64 text decoded (a payload no fix
    edits); a hash (``user_data`` of the kinds the provider hashes) gives none."""
    from imds_iac_checks.formats.terraform.userdata import MAX_PAYLOADS, WHAT, decode_base64

    out: list[Payload] = []
    for holder in _holders(kind, values):
        for name, node in _strings(holder):
            text = str(node.value)
            if name == "user_data" and kind in _HASHED:
                continue  # the SHA-1 hash of the text: nothing to read
            decoded = decode_base64(text)
            if decoded is None:
                continue
            span = loc.node_span(node)
            out.append(Payload(decoded, (), span, WHAT, no_fix=RECORDED_NO_FIX, owner=address))
    return tuple(out[:MAX_PAYLOADS])


def _config_user_data(
    loc: Locator, kind: str, body: DNode, address: str, where: Where
) -> tuple[Payload, ...]:
    """The user data of a ``.tf.json`` resource, as payloads owned by ``address``."""
    from imds_iac_checks.formats.terraform.userdata import MAX_PAYLOADS

    out: list[Payload] = []
    for holder in _holders(kind, body):
        for _name, node in _strings(holder):
            try:
                out.extend(_json_template(loc, node, address, where))
            except RecursionError:
                continue
            except Exception:  # a defect here must not cost the target its settings
                continue
    return tuple(out[:MAX_PAYLOADS])


class _JsonModule:
    """What :mod:`.userdata` reads of a module, for a ``.tf.json`` file read on its own: no
    variables, locals or data sources are known (only resources are parsed); ``path.module``
    and ``path.root`` are the file's directory."""

    def __init__(self, where: tuple[str, str, str, Files] | None) -> None:
        from imds_iac_checks.formats.terraform.eval import Scope, unknown

        def none(_name: str, at: Source, node: Node) -> Val:
            return unknown(at, node)

        self.where = where
        self.scope = Scope(none, none)
        self.inputs: dict[str, Any] = {}
        self.local_exprs: dict[str, tuple[Source, Node]] = {}
        self.variables: dict[str, tuple[Source, Node]] = {}
        self.data_blocks: dict[tuple[str, str], tuple[Source, Node]] = {}

    def evaluate(self, src: Source, node: Node, scope: Scope | None = None) -> Val:
        from imds_iac_checks.formats.terraform import eval as tfeval

        budget = tfeval.Budget
        outer = budget.active
        if not outer:
            budget.limit = budget.left = tfeval.MAX_STEPS
            budget.active = True
        try:
            return tfeval.evaluate(src, node, scope or self.scope)
        except (tfeval.EvalError, tfeval.TooComplex, RecursionError):
            return tfeval.unknown(src, node)
        except Exception:  # a defect here: the value is not known
            return tfeval.unknown(src, node)
        finally:
            if not outer:
                budget.active = False
                budget.left = 1 << 62


def _module_where(loc: Locator, where: Where) -> tuple[str, str, str, Files] | None:
    """(module directory, root directory, cwd, files) for ``file()`` in a ``.tf.json``: its
    directory (Terraform runs there), the directory findings are shown relative to."""
    origin, files = where
    if origin is None or files is None:
        return None
    absolute = os.path.abspath(origin)
    directory = os.path.dirname(absolute)
    shown = loc.path.replace("/", os.sep)
    cwd = os.getcwd()
    if not os.path.isabs(shown) and absolute.endswith(os.sep + os.path.normpath(shown)):
        cwd = absolute[: -len(os.path.normpath(shown)) - 1] or os.sep
    return directory, directory, cwd, files


def _json_template(loc: Locator, node: DNode, address: str, where: Where) -> list[Payload]:
    """The payloads of one JSON string of user data (several: an undecided conditional)."""
    from imds_iac_checks.formats.terraform import userdata

    value = str(node.value)
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escape: not text an instance runs
        return []
    found = scalar_runs(loc.text, node, json_file=True)
    runs = found[0] if found is not None else []
    module = _JsonModule(_module_where(loc, where))
    span = loc.node_span(node)
    out = []
    for frag in userdata.template_text(module, _VALUE, data, module.scope):
        if not frag.known:
            continue
        if not frag.decoded and frag.complete:
            decoded = userdata.decode_base64(frag.text)
            if decoded is not None:
                no_fix = userdata.BASE64_NO_FIX
                out.append(Payload(decoded, (), span, userdata.WHAT, no_fix=no_fix, owner=address))
                continue
        pieces = _in_file(loc, frag.text, frag.pieces, value, data, runs)
        payload = Payload(
            frag.text, tuple(pieces), span, userdata.WHAT, frag.language, frag.no_fix, address
        )
        out.append(payload)
    return out


def _in_file(
    loc: Locator,
    text: str,
    pieces: list[Piece],
    value: str,
    data: bytes,
    runs: list[tuple[str, int, int, str]],
) -> list[Piece]:
    """The pieces of a fragment read from a JSON string's ``value`` (spans in :data:`_VALUE`,
    at byte offsets of ``data``) as pieces of the file: split at the string's JSON escapes (each
    a piece of its own). Pieces in other files (a ``file()``) are kept; text whose source cannot
    be followed (``runs`` empty) becomes a hole."""
    if len(data) == len(value):
        char_at: Any = None
    else:
        char_at = [0] * (len(data) + 1)
        at = 0
        for index, char in enumerate(value):
            size = len(char.encode("utf-8"))
            for k in range(size):
                char_at[at + k] = index
            at += size
        char_at[at] = len(value)
    starts = []  # each run's offset in the value
    at = 0
    for run in runs:
        starts.append(at)
        at += len(run[0])
    out: list[Piece] = []
    for piece in pieces:
        if piece.span.path != _VALUE:
            out.append(piece)
            continue
        first, last = piece.span.start_byte, piece.span.end_byte
        lo = first if char_at is None else char_at[first]
        hi = last if char_at is None else char_at[last]
        part = text[piece.start : piece.end]
        if not runs:
            continue
        index = max(bisect_right(starts, lo) - 1, 0)
        if len(part.encode("utf-8")) != last - first:
            # ``$${`` or ``%%{``: one escape, when its characters are written as is in one run
            run_text, source_start, source_end, kind = runs[index]
            offset = lo - starts[index]
            if kind == "lit" and hi - starts[index] <= len(run_text):
                begin = source_start + offset
                span = loc.span(begin, begin + hi - lo)
                out.append(Piece(piece.start, piece.end, span, _ESCAPE))
            continue
        while index < len(runs) and starts[index] < hi:
            run_text, source_start, source_end, kind = runs[index]
            run_lo, run_hi = max(lo, starts[index]), min(hi, starts[index] + len(run_text))
            if run_lo < run_hi:
                begin = piece.start + run_lo - lo
                if kind == "lit":
                    offset = source_start - starts[index]
                    span = loc.span(run_lo + offset, run_hi + offset)
                    out.append(Piece(begin, begin + run_hi - run_lo, span, _ESCAPE))
                elif kind == "esc" and (run_lo, run_hi) == (
                    starts[index],
                    starts[index] + len(run_text),
                ):
                    span = loc.span(source_start, source_end)
                    out.append(Piece(begin, begin + run_hi - run_lo, span, _ESCAPE))
            index += 1
    return out
