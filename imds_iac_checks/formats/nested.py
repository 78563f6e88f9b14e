"""CloudFormation nested stacks: ``AWS::CloudFormation::Stack`` (``TemplateURL``) and SAM's
``AWS::Serverless::Application`` (``Location``).

A nested stack whose template is a local file — the form ``aws cloudformation package`` and
``sam package`` take before they upload it — is followed: its template is evaluated with the
``Parameters`` the parent passes (a value passed points at the parent's ``Parameters`` entry),
and its targets are named ``Stack/Resource``. Any other nested stack (an ``https://`` or ``s3://``
URL, a Serverless Application Repository application, an expression) is reported once, as an
IMDS004 warning at its ``TemplateURL``: its resources were not looked at. Nesting is followed at
most :data:`MAX_DEPTH` deep, and a template that nests itself is reported, not followed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from imds_iac_checks.formats import syntax_of
from imds_iac_checks.formats.cloudformation import (
    FORMAT,
    Passed,
    Template,
    is_template,
    resource_suppressions,
)
from imds_iac_checks.formats.doc import (
    MAP,
    SCALAR,
    SKIPPABLE_SECTIONS,
    DNode,
    DocError,
    Locator,
    decode,
    parse_json,
    parse_yaml,
)
from imds_iac_checks.model import KindSpec, Link, LinkKind, ScanError, Target, Value, compact, show

if TYPE_CHECKING:
    from imds_iac_checks.source import Files

# The resource types that nest a stack, and the property that names the nested template.
NESTING = {
    "AWS::CloudFormation::Stack": "TemplateURL",
    "AWS::Serverless::Application": "Location",
}
MAX_DEPTH = 8
# Nested stacks followed from one template, at every depth (hostile input: a template nesting
# another many times, which nests another many times...). Past it each is reported, not followed.
MAX_STACKS = 256

# A nested stack not followed has no settings of its own: an IMDS004 target of this kind says so.
STACK = KindSpec(
    kind="AWS::CloudFormation::Stack",
    block=None,
    fields={},
    suggest={},
    needs_block=False,
    block_label="nested stack",
)


def nested_targets(
    parent: Template,
    origin: str | None,
    files: Files | None,
    chain: tuple[str, ...] = (),
    budget: list[int] | None = None,
) -> tuple[list[Target], list[ScanError]]:
    """The targets of the nested stacks of ``parent`` (read from the file ``origin``: its real
    path, None when it is not on disk) and an IMDS004 target for each nested stack not
    followed. ``chain``: the real paths of the templates nesting this one; ``budget``: the nested
    stacks that may still be followed (shared by the whole tree)."""
    if budget is None:
        budget = [MAX_STACKS]
    resources = parent.root.get("Resources")
    if resources is None or resources.kind != MAP:
        return [], []
    out: list[Target] = []
    errors: list[ScanError] = []
    here = os.path.realpath(origin) if origin else None
    chain = (*chain, here) if here else chain
    for key_node, resource in resources.pairs():
        if resource.kind != MAP:
            continue
        kind = resource.get("Type")
        field = NESTING.get(str(kind.value)) if kind is not None else None
        if field is None or kind is None:
            continue
        logical = str(key_node.value)
        only_if = resource.get("Condition")
        here_parent, when = parent, None
        if only_if is not None and parent.condition(str(only_if.value)) is False:
            # Created only under other parameter values (or never): evaluated under them.
            found = parent.exists_when(str(only_if.value))
            if found is None:
                continue  # no allowed values create it
            if isinstance(found, str):
                out.append(
                    _warning(
                        parent,
                        logical,
                        resource,
                        only_if,
                        f"nested stack {logical} was not evaluated: {found}",
                    )
                )
                continue
            here_parent, when = found
        made, errs = _stack(here_parent, logical, resource, field, origin, files, chain, budget)
        errors += errs
        if when is not None:
            made = [t._replace(only_when=when) for t in made]
        out += made
    return out, errors


def _stack(
    parent: Template,
    logical: str,
    resource: DNode,
    field: str,
    origin: str | None,
    files: Files | None,
    chain: tuple[str, ...],
    budget: list[int],
) -> tuple[list[Target], list[ScanError]]:
    """The targets of one nested stack, or the warning that it was not evaluated."""
    props = resource.get("Properties")
    where = props.get(field) if props is not None and props.kind == MAP else None
    if props is None or where is None:
        return [], []  # CloudFormation rejects it: nothing would be created
    local = _local(where)
    if local is None:
        shown = compact(parent.loc.source(where), 200)
        why = (
            f"nested stack {logical} ({field} {shown}) was not evaluated: its template is "
            "not a local file; scan that template (its parameters as this stack passes "
            "them), or write the local path that `aws cloudformation package` uploads; "
            "if it creates no instances, suppress this warning in the resource's Metadata"
        )
        return [_warning(parent, logical, resource, where, why)], []
    child_shown = os.path.normpath(os.path.join(os.path.dirname(parent.loc.path), local))
    child_real = os.path.realpath(os.path.join(os.path.dirname(origin), local)) if origin else None
    problem = None
    child = None
    if child_real is None or files is None:
        problem = "the template it names is not read (the parent is not a file)"
    elif child_real in chain or len(chain) > MAX_DEPTH:
        problem = f"it nests itself or nests more than {MAX_DEPTH} deep"
    elif not os.path.isfile(child_real):
        problem = f"{child_shown} does not exist"
    elif budget[0] <= 0:
        problem = f"the template nests more than {MAX_STACKS} stacks in all"
    else:
        budget[0] -= 1
        child, problem = _read(child_real, child_shown, files)
    if child is None:
        why = (
            f"nested stack {logical} ({field} {show(local)}) was not evaluated: "
            f"{problem or 'its template is not a CloudFormation template'}"
        )
        return [_warning(parent, logical, resource, where, why)], []
    params = props.get("Parameters")
    passed = {
        str(k.value): Passed(parent, v, logical)
        for k, v in (params.pairs() if params is not None and params.kind == MAP else ())
    }
    template = Template(child[0], child[1], passed=passed)
    found, errors = template.targets()
    deeper, deeper_errors = nested_targets(template, child_real, files, chain, budget)
    return [_within(logical, t) for t in (*found, *deeper)], errors + deeper_errors


def _local(node: DNode) -> str | None:
    """The relative path a TemplateURL or Location names, or None (a URL, an expression, an
    application of the Serverless Application Repository)."""
    if node.kind != SCALAR or node.tag is not None or not isinstance(node.value, str):
        return None
    text = node.value.strip()
    if not text or "://" in text or text.startswith(("s3:", "/")):
        return None
    return text


def _read(path: str, shown: str, files: Files) -> tuple[tuple[Locator, DNode] | None, str | None]:
    try:
        data = files.read(path)
    except OSError as exc:
        return None, f"cannot read {shown}: {exc.strerror or exc}"
    try:
        loc = Locator(shown, decode(data))
        if syntax_of(shown, data) == "json":
            roots = [parse_json(loc.text)]
        else:
            roots = parse_yaml(loc.text, SKIPPABLE_SECTIONS)
    except DocError as exc:
        return None, f"{shown} cannot be read: {exc.message}"
    templates = [r for r in roots if is_template(r)]
    if len(roots) != 1 or not templates:
        return None, None
    return (loc, templates[0]), None


def _within(stack: str, target: Target) -> Target:
    """A target of a nested stack, named ``Stack/Resource`` (its launch-template keys too, so
    that templates link within their own stack)."""
    ref = target.template_ref
    if ref is not None and ref.known and isinstance(ref.value, str) and ref.value[:4] == "cfn:":
        ref = ref._replace(value=f"cfn:{stack}/{ref.value[4:]}")
    keys = tuple(
        f"cfn:{stack}/{k[4:]}" if k.startswith("cfn:") else k for k in target.template_keys
    )
    address = f"{stack}/{target.address}"
    user_data = tuple(p._replace(owner=address) for p in target.user_data)
    return target._replace(
        address=address, template_ref=ref, template_keys=keys, user_data=user_data
    )


def _warning(parent: Template, logical: str, resource: DNode, where: DNode, why: str) -> Target:
    loc = parent.loc
    type_key = resource.key_node("Type")
    type_node = resource.get("Type")
    header = loc.span(type_key.start, type_node.end) if type_key and type_node else None
    span = loc.node_span(resource)
    return Target(
        spec=STACK,
        address=logical,
        path=loc.path,
        span=span,
        header=header or span,
        block_span=span,
        settings={},
        format=FORMAT,
        suppress=resource_suppressions(loc, resource),
        unknown_block=Value(
            False, None, None, why, (Link(loc.node_span(where), LinkKind.NOT_EVALUATED),)
        ),
    )
