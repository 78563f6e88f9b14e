"""The CKV_IMDS_N checks for CloudFormation templates (``--framework cloudformation``)."""

from __future__ import annotations

from typing import Any

from checkov.cloudformation.checks.resource.base_resource_check import (  # type: ignore[import-not-found, unused-ignore]
    BaseResourceCheck,
)
from checkov.common.models.enums import (  # type: ignore[import-not-found, unused-ignore]
    CheckCategories,
    CheckResult,
)

from imds_iac_checks.adapters import checkov_targets


class ImdsCloudFormationCheck(BaseResourceCheck):  # type: ignore[misc, unused-ignore]
    """One imds-iac rule as a checkov CloudFormation resource check."""

    def __init__(self, rule_id: str) -> None:
        info = checkov_targets.check_info(rule_id)
        self.rule_id = rule_id
        super().__init__(
            name=info.name,
            id=info.check_id,
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=checkov_targets.cloudformation_types(rule_id),
            guideline=info.guideline,
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = checkov_targets.evaluated_keys(
            "cloudformation", self.entity_type, self.rule_id
        )
        if (
            self.entity_type == checkov_targets.CLOUDFORMATION_POLICY
        ):  # an SCP, or a declarative policy
            verdict = checkov_targets.organizations_verdict(conf, "cloudformation", self.rule_id)
            return CheckResult[verdict]
        targets = checkov_targets.cloudformation_targets(conf, self.entity_type)
        if not targets:
            return CheckResult.PASSED
        return CheckResult[checkov_targets.verdict(targets, self.rule_id)]


checks = [
    ImdsCloudFormationCheck(rule_id) for rule_id in checkov_targets.rule_ids("cloudformation")
]
