"""Terraform JSON: configuration in JSON syntax (``*.tf.json``) and plan JSON
(``terraform show -json plan.out``).

Configuration JSON has the same resources and blocks as HCL: a block is an object or a list of
objects, ``dynamic`` blocks appear under ``"dynamic"``, and every string is a template, so a string
with ``${...}`` is an expression (unknown here) while a plain string is a literal.

A plan records what Terraform will create: values come from ``resource_changes[].change.after``,
with ``after_unknown`` marking values known only after apply (IMDS004), or from
``planned_values`` (root and child modules) when there are no resource changes. Plan findings are
not fixable: fix the configuration and plan again.
"""

from __future__ import annotations

import re

from imds_iac_checks.formats.doc import MAP, SCALAR, SEQ, DNode, Locator, watch_duplicates
from imds_iac_checks.formats.structured import (
    json_string_settings,
    launches,
    literal_value,
    option_settings,
    read_settings,
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
from imds_iac_checks.model import TOKENS, KindSpec, ScanError, Span, Target, Value

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


def interpret_config(loc: Locator, root: DNode) -> tuple[list[Target], list[ScanError]]:
    """Targets of a ``.tf.json`` file. An argument a rule reads written twice in one object
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
                    target = _config_target(loc, spec, name_key, body, header)
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
    loc: Locator, spec: KindSpec, name_key: DNode, body: DNode, header: Span
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
