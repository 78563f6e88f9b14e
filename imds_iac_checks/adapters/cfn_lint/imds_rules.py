"""cfn-lint rules that report what ``imds-iac check`` reports on a CloudFormation template.

- E9001 = IMDS001: a resource that launches instances sets no metadata options;
- E9002 = IMDS002: tokens are not required (``HttpTokens`` not ``required``, or not set);
- E9003 = IMDS003: ``HttpPutResponseHopLimit`` is above the threshold (``hop_limit``, default 1);
- W9004 = IMDS004: a setting that cannot be evaluated statically (a warning, never a silent pass).

Each rule delegates to imds-iac (:mod:`imds_iac_checks.adapters.cfn_lint_engine`): same
resources, same intrinsic-function evaluation, same launch-template linking, same messages and
lines. E9003's threshold is a rule option: ``cfn-lint --configure-rule E9003:hop_limit=2``.

cfn-lint loads this file as a loose top-level module and instantiates every class in it that
derives from ``CloudFormationLintRule``: the module therefore imports the shared code as a
module, never a rule base class by name.
"""

from __future__ import annotations

from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch  # type: ignore[import-untyped]

from imds_iac_checks.adapters import cfn_lint_engine
from imds_iac_checks.engine import DEFAULT_HOP_LIMIT

_DOCS = "https://github.com/imds-iac/imds-iac/blob/main/docs/rules.md"
_TAGS = ["resources", "ec2", "imds", "imds-iac"]


def _matches(rule_id: str, cfn: Any, hop_limit: int = DEFAULT_HOP_LIMIT) -> list[Any]:
    out: list[Any] = []
    for hit in cfn_lint_engine.hits(cfn, rule_id, hop_limit):
        if hit.location is None:
            out.append(RuleMatch(hit.path, hit.message))
        else:
            out.append(RuleMatch(hit.path, hit.message, location=hit.location))
    return out


class MetadataOptionsMissing(CloudFormationLintRule):  # type: ignore[misc]
    """IMDS001: no metadata options, so IMDSv1 stays allowed."""

    id = "E9001"
    shortdesc = "Instance metadata options are missing"
    description = (
        "imds-iac IMDS001 (metadata-options-missing): a resource that launches EC2 instances "
        "(AWS::EC2::Instance, AWS::EC2::LaunchTemplate, AWS::AutoScaling::LaunchConfiguration, "
        "Image Builder, SageMaker notebooks, WorkSpaces instances, EMR security configurations) "
        "sets no metadata options, so IMDSv1 stays allowed. Add MetadataOptions with "
        "HttpTokens: required."
    )
    source_url = f"{_DOCS}#imds001-metadata-options-missing"
    tags = _TAGS

    def match(self, cfn: Any) -> list[Any]:
        return _matches(self.id, cfn)


class TokensNotRequired(CloudFormationLintRule):  # type: ignore[misc]
    """IMDS002: IMDSv2 session tokens are not required."""

    id = "E9002"
    shortdesc = "IMDSv2 session tokens are not required"
    description = (
        "imds-iac IMDS002 (tokens-not-required): HttpTokens is not 'required' (or metadata "
        "options leave it unset) while the metadata endpoint may be enabled, so IMDSv1 stays "
        "allowed; also SageMaker MinimumInstanceMetadataServiceVersion '1' and AppStream "
        "DisableIMDSV1 false. Values from parameter defaults, mappings and both branches of "
        "Fn::If are checked."
    )
    source_url = f"{_DOCS}#imds002-tokens-not-required"
    tags = _TAGS

    def match(self, cfn: Any) -> list[Any]:
        return _matches(self.id, cfn)


class HopLimitAboveThreshold(CloudFormationLintRule):  # type: ignore[misc]
    """IMDS003: the PUT response hop limit lets the session token leave the host."""

    id = "E9003"
    shortdesc = "Metadata response hop limit is above the threshold"
    description = (
        "imds-iac IMDS003 (hop-limit-above-threshold): HttpPutResponseHopLimit is above the "
        "threshold (option hop_limit, default 1; containers need 2), so the IMDSv2 session "
        "token can travel beyond the instance."
    )
    source_url = f"{_DOCS}#imds003-hop-limit-above-threshold"
    tags = _TAGS

    def __init__(self) -> None:
        super().__init__()
        self.config_definition = {"hop_limit": {"default": DEFAULT_HOP_LIMIT, "type": "integer"}}
        self.configure()

    def match(self, cfn: Any) -> list[Any]:
        return _matches(self.id, cfn, int(self.config["hop_limit"]))


class NotStaticallyEvaluable(CloudFormationLintRule):  # type: ignore[misc]
    """IMDS004: a metadata setting whose value cannot be resolved statically."""

    id = "W9004"
    shortdesc = "A metadata setting could not be evaluated statically"
    description = (
        "imds-iac IMDS004 (not-statically-evaluable): a metadata setting (or the options block, "
        "or the launch template an instance names) comes from an expression imds-iac cannot "
        "resolve — a parameter without a default, Fn::Sub, Fn::GetAtt, Fn::ImportValue — so it "
        "is reported instead of passing silently."
    )
    source_url = f"{_DOCS}#imds004-not-statically-evaluable"
    tags = _TAGS

    def match(self, cfn: Any) -> list[Any]:
        return _matches(self.id, cfn)
