"""The CKV_IMDS_N checks for Terraform: HCL (``--framework terraform``) and plan JSON
(``--framework terraform_plan``, which runs checkov's Terraform resource checks on the plan).
A rule that judges policies also gets a data check on ``data "aws_iam_policy_document"`` (HCL):
checkov leaves ``content = data.aws_iam_policy_document.x.json`` as text, so that is where such
a document is judged."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import (  # type: ignore[import-not-found, unused-ignore]
    CheckCategories,
    CheckResult,
)
from checkov.terraform.checks.data.base_check import (  # type: ignore[import-not-found, unused-ignore]
    BaseDataCheck,
)
from checkov.terraform.checks.resource.base_resource_check import (  # type: ignore[import-not-found, unused-ignore]
    BaseResourceCheck,
)

from imds_iac_checks.adapters import checkov_targets


class ImdsTerraformCheck(BaseResourceCheck):  # type: ignore[misc, unused-ignore]
    """One imds-iac rule as a checkov Terraform resource check."""

    def __init__(self, rule_id: str) -> None:
        info = checkov_targets.check_info(rule_id)
        self.rule_id = rule_id
        super().__init__(
            name=info.name,
            id=info.check_id,
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=checkov_targets.terraform_types(rule_id),
            guideline=info.guideline,
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = checkov_targets.evaluated_keys(
            "terraform", self.entity_type, self.rule_id
        )
        if self.entity_type == checkov_targets.TERRAFORM_POLICY:  # an SCP, or a declarative policy
            verdict = checkov_targets.organizations_verdict(conf, "terraform", self.rule_id)
            return CheckResult[verdict]
        target = checkov_targets.terraform_target(conf, self.entity_type)
        if target is None:
            return CheckResult.UNKNOWN
        return CheckResult[checkov_targets.verdict([target], self.rule_id)]


class ImdsPolicyDocumentCheck(BaseDataCheck):  # type: ignore[misc, unused-ignore]
    """A rule that judges policies, as a checkov data check on IAM policy documents."""

    def __init__(self, rule_id: str) -> None:
        info = checkov_targets.check_info(rule_id)
        self.rule_id = rule_id
        super().__init__(
            name=info.name,
            id=info.check_id,
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_data=(checkov_targets.TERRAFORM_DOCUMENT,),
            guideline=info.guideline,
        )

    def scan_data_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["statement"]
        return CheckResult[checkov_targets.document_verdict(conf, self.rule_id)]


checks = [ImdsTerraformCheck(rule_id) for rule_id in checkov_targets.rule_ids("terraform")]
data_checks = [ImdsPolicyDocumentCheck(rule_id) for rule_id in checkov_targets.document_rule_ids()]
