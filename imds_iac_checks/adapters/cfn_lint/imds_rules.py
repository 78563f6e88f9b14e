"""cfn-lint rules that report what ``imds-iac check`` reports on a CloudFormation template.

One cfn-lint rule per registered imds-iac rule that declares one (``Rule.cfn_lint``): E9001 =
IMDS001, E9002 = IMDS002, E9003 = IMDS003, W9004 = IMDS004 (``imds-iac rules`` lists them). Each
rule delegates to imds-iac (:mod:`imds_iac_checks.adapters.cfn_lint_engine`): same resources, same
intrinsic-function evaluation, same launch-template linking, same messages and lines. A rule's
options are cfn-lint rule options: ``cfn-lint --configure-rule E9003:hop_limit=2``.

cfn-lint loads this file as a loose top-level module and instantiates every class in it that
derives from ``CloudFormationLintRule``: the classes are generated here from the registry and
bound as module attributes, and the module imports the shared code as a module, never a rule base
class by name.
"""

from __future__ import annotations

from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch  # type: ignore[import-untyped]

from imds_iac_checks.adapters import cfn_lint_engine
from imds_iac_checks.rules import DEFAULT_HOP_LIMIT, REGISTRY, Rule

_TAGS = ["resources", "ec2", "imds", "imds-iac"]


def _matches(rule_id: str, cfn: Any, hop_limit: int = DEFAULT_HOP_LIMIT) -> list[Any]:
    out: list[Any] = []
    for hit in cfn_lint_engine.hits(cfn, rule_id, hop_limit):
        if hit.location is None:
            out.append(RuleMatch(hit.path, hit.message))
        else:
            out.append(RuleMatch(hit.path, hit.message, location=hit.location))
    return out


def _rule_class(rule: Rule) -> type:
    assert rule.cfn_lint is not None

    def __init__(self: Any) -> None:
        CloudFormationLintRule.__init__(self)
        if rule.options:
            self.config_definition = {
                option.name: {"default": option.default, "type": option.type}
                for option in rule.options
            }
            self.configure()

    def match(self: Any, cfn: Any) -> list[Any]:
        options = {option.name: self.config[option.name] for option in rule.options}
        return _matches(self.id, cfn, int(options.get("hop_limit", DEFAULT_HOP_LIMIT)))

    return type(
        rule.class_name,
        (CloudFormationLintRule,),
        {
            "__doc__": f"{rule.id}: {rule.title}.",
            "__module__": __name__,
            "id": rule.cfn_lint.id,
            "shortdesc": rule.title,
            "description": rule.cfn_lint.description,
            "source_url": rule.url,
            "tags": _TAGS,
            "__init__": __init__,
            "match": match,
        },
    )


for _rule in REGISTRY.values():
    if _rule.cfn_lint is not None:
        globals()[_rule.class_name] = _rule_class(_rule)
del _rule
