variable "hop_limit" {
  type    = number
  default = 1
}
data "aws_iam_policy_document" "this" {
  statement {
    effect    = "Deny"
    actions   = ["ec2:RunInstances"]
    resources = ["arn:aws:ec2:*:*:instance/*"]
    condition {
      test     = "NumericGreaterThan"
      variable = "ec2:MetadataHttpPutResponseHopLimit"
      values   = [var.hop_limit]
    }
  }
}
resource "aws_organizations_policy" "this" {
  name    = "hop"
  content = data.aws_iam_policy_document.this.json
}
