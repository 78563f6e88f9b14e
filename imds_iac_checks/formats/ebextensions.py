"""Elastic Beanstalk configuration files: ``.ebextensions/*.config`` (YAML or JSON).

Their ``option_settings`` configure the environment the source bundle is deployed to, in the two
forms the Elastic Beanstalk developer guide documents ("Option settings"): a list of
``{namespace, option_name, value}`` objects (an entry without ``namespace`` is in
``aws:elasticbeanstalk:application:environment``, never the metadata option), and the shorthand
map ``{namespace: {option name: value}}``. The option read is ``DisableIMDSv1`` of
``aws:autoscaling:launchconfiguration``: ``true`` requires IMDSv2 on the environment's
instances, ``false`` allows IMDSv1.

A configuration file that does not set the option is not a finding: the environment may set it
where it is created (Terraform, CloudFormation, the console, ``eb create``), and a setting made
there overrides the configuration files (docs/instance-sources.md). ``Resources`` that a
configuration file adds or overrides are not read.
"""

from __future__ import annotations

from imds_iac_checks.formats.doc import MAP, SCALAR, SEQ, DNode, Locator, watch_duplicates
from imds_iac_checks.formats.structured import (
    Resolve,
    option_settings,
    plain_resolver,
    unknown_value,
    without_duplicates,
)
from imds_iac_checks.model import TOKENS, KindSpec, ScanError, Target, Value

FORMAT = "ebextensions"
NAMESPACE, OPTION = "aws:autoscaling:launchconfiguration", "DisableIMDSv1"

OPTION_SETTINGS = KindSpec(
    "elasticbeanstalk:option_settings",
    None,
    {TOKENS: OPTION},
    {TOKENS: "true"},
    needs_block=False,
    token_map={"true": "required", "false": "optional"},
    # Not set here: the environment's own settings decide (they override this file anyway).
    absent_ok=True,
    block_label="option_settings",
    option=(NAMESPACE, OPTION),
    plugins=False,
)


def interpret(loc: Locator, root: DNode) -> tuple[list[Target], list[ScanError]]:
    """The target of one configuration file (none when it has no ``option_settings``). A key
    written twice in an object read is an error at the second key, and the file's setting is
    not evaluated."""
    with watch_duplicates() as read_twice:
        targets = _interpret(loc, root)
    return without_duplicates(
        loc, targets, read_twice, "which one Elastic Beanstalk takes is not documented"
    )


def _interpret(loc: Locator, root: DNode) -> list[Target]:
    if root.kind != MAP:
        return []
    options, key = root.get("option_settings"), root.key_node("option_settings")
    if options is None or key is None:
        return []
    header = loc.span(key.start, key.end)
    resolve = _resolver(loc)
    settings: dict[str, tuple[Value, ...]] = {}
    if options.kind == SEQ:  # [{namespace, option_name, value}, ...]
        settings = option_settings(
            loc, OPTION_SETTINGS, options.items, ("namespace", "option_name", "value"), resolve
        )
    elif options.kind == MAP:  # {namespace: {option name: value}}
        namespace = options.get(NAMESPACE)
        value = namespace.get(OPTION) if namespace is not None and namespace.kind == MAP else None
        found = resolve(value, TOKENS) if value is not None else []
        if found:
            settings = {TOKENS: tuple(found)}
    return [
        Target(
            spec=OPTION_SETTINGS,
            address="option_settings",
            path=loc.path,
            span=loc.node_span(root),
            header=header,
            block_span=loc.node_span(options),
            settings=settings,
            format=FORMAT,
            block_key=header,
        )
    ]


def _resolver(loc: Locator) -> Resolve:
    """Values as plain JSON/YAML has them, but a string in backticks is a function
    (`` `{"Fn::GetAtt": [...]}` ``, `` `{"Ref": "..."}` ``), evaluated at deployment: unknown."""
    plain = plain_resolver(loc, OPTION_SETTINGS)

    def resolve(node: DNode, key: str) -> list[Value]:
        text = node.value if node.kind == SCALAR else None
        if isinstance(text, str) and len(text) > 1 and text.startswith("`") and text.endswith("`"):
            return [unknown_value(loc, node)]
        return plain(node, key)

    return resolve
