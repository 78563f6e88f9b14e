"""Launch-template inheritance: link instances to the launch templates they launch from.

An instance (``aws_instance``, ``aws_spot_instance_request``, ``AWS::EC2::Instance``) that names
a launch template and sets no metadata options of its own runs with the template's options. Such
an instance gets no finding of its own: a weak template is reported once, on the template, and
the message names the instances that use it. An instance that sets options of its own is checked
on what it sets (its settings override the template's); what it leaves out comes from the
template, which is checked there. When the template cannot be found (a reference to a variable,
a data source, or a template outside the scanned module or stack), the instance gets IMDS004
instead of a guess.

Linking is format-neutral: adapters fill ``Target.template_ref`` and ``Target.template_keys``;
this module only matches keys within one group (a Terraform module directory, a CloudFormation
stack).
"""

from __future__ import annotations

from imds_iac_checks.model import Target


def link(targets: list[Target]) -> list[Target]:
    """Targets of one module or stack, with inheritance resolved (same order)."""
    if not any(t.template_ref is not None for t in targets):
        return targets
    templates: dict[str, int] = {}
    for index, target in enumerate(targets):
        for key in target.template_keys:
            templates.setdefault(key, index)
    users: dict[int, list[str]] = {}
    out = list(targets)
    for index, target in enumerate(targets):
        ref = target.template_ref
        if ref is None or not ref.known:
            continue
        found = templates.get(str(ref.value))
        if found is None or found == index:
            continue
        template = targets[found]
        users.setdefault(found, []).append(target.address)
        out[index] = target._replace(inherits_from=template.address)
    for found, names in users.items():
        out[found] = out[found]._replace(used_by=tuple(names))
    return out
