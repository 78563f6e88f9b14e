# A guardrail written the way many org repos do: one statement for launches and changes, on "*",
# with the wrong operator. The statement must be split (no fix is claimed), and the tokens key on
# ModifyInstanceMetadataOptions denies the migration of every instance that still allows IMDSv1.
data "aws_iam_policy_document" "imdsv2" {
  statement {
    sid    = "RequireImdsV2"
    effect = "Deny"
    actions = [
      "ec2:RunInstances", # imds-expect: IMDS010@7
      "ec2:ModifyInstanceMetadataOptions",
    ]
    resources = ["*"]

    condition {
      test     = "StringEquals" # imds-expect: IMDS010@18
      variable = "ec2:MetadataHttpTokens"
      values   = ["optional"]
    }
  }
}

resource "aws_organizations_policy" "imdsv2" {
  name    = "imdsv2"
  type    = "SERVICE_CONTROL_POLICY"
  content = data.aws_iam_policy_document.imdsv2.json
}

# Applied per OU from a map: the content is known at plan time only (could not be judged).
variable "ou_policies" {
  type = map(string)
}

resource "aws_organizations_policy" "per_ou" {
  for_each = var.ou_policies

  name    = "imdsv2-${each.key}"
  # each OU's document requires ec2:MetadataHttpTokens
  content = each.value # imds-expect: IMDS010@13
}
