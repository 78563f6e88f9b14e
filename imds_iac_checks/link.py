"""Launch-template inheritance: link instances to the launch templates they launch from.

An instance (``aws_instance``, ``aws_spot_instance_request``, ``AWS::EC2::Instance``) that names
a launch template and sets no metadata options of its own runs with the template's options. Such
an instance gets no finding of its own: a weak template is reported once, on the template, and
the message names the instances that use it. An instance that sets options of its own is checked
on what it sets (its settings override the template's); what it leaves out comes from the
template, which is checked there. When the template cannot be found (a reference to a variable,
a data source, or a template outside the scanned module or stack), the instance gets IMDS004
instead of a guess.

The same holds for the other resources that take their settings from another resource: fleets,
Auto Scaling groups, node groups and compute environments (launch templates, every one they
name: ``Target.more_refs``), EMR clusters (their security configuration) and Elastic Beanstalk
environments (their configuration template).

Linking is format-neutral: adapters fill ``Target.template_ref`` (and ``more_refs``) and
``Target.template_keys``; this module only matches keys within one group (a Terraform module
directory, a CloudFormation stack).
"""

from __future__ import annotations

from imds_iac_checks.model import Target, Value


def link(targets: list[Target]) -> list[Target]:
    """Targets of one module or stack, with inheritance resolved (same order)."""
    if not any(t.template_ref is not None or t.more_refs for t in targets):
        return targets
    templates: dict[str, int] = {}
    for index, target in enumerate(targets):
        for key in target.template_keys:
            templates.setdefault(key, index)
    users: dict[int, list[str]] = {}

    def find(ref: Value, index: int) -> int | None:
        if not ref.known:
            return None
        found = templates.get(str(ref.value))
        return None if found is None or found == index else found

    def use(found: int, address: str) -> None:
        names = users.setdefault(found, [])
        if address not in names:
            names.append(address)

    out = list(targets)
    for index, target in enumerate(targets):
        ref = target.template_ref
        if ref is not None:
            found = find(ref, index)
            if found is not None:
                use(found, target.address)
                out[index] = out[index]._replace(inherits_from=targets[found].address)
        unlinked: list[Value] = []
        for more in target.more_refs:
            found = find(more, index)
            if found is None:
                unlinked.append(more)
            else:
                use(found, target.address)
        if unlinked:
            out[index] = out[index]._replace(unlinked=tuple(unlinked))
    for found, names in users.items():
        out[found] = out[found]._replace(used_by=tuple(names))
    return out
