variable "account_id" { type = string }
variable "region" { type = string }
variable "rtype" { type = string }
data "aws_partition" "p" {}
resource "aws_organizations_policy" "acct" {
  name    = "acct"
  content = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Deny"
      Action    = "ec2:RunInstances"
      Resource  = "arn:${data.aws_partition.p.partition}:ec2:${var.region}:${var.account_id}:instance/*"
      Condition = { StringNotEquals = { "ec2:MetadataHttpTokens" = "required" } }
    }]
  })
}
resource "aws_organizations_policy" "literal" {
  name    = "literal"
  content = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Deny"
      Action    = "ec2:ModifyInstanceMetadataOptions"
      Resource  = "arn:aws:ec2:eu-west-1:123456789012:instance/*"
    }]
  })
}
resource "aws_organizations_policy" "partial" {
  name    = "partial"
  content = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Deny"
      Action    = "ec2:RunInstances"
      Resource  = "arn:aws:ec2:eu-${var.region}:*:instance/*"
      Condition = { NumericGreaterThan = { "ec2:MetadataHttpPutResponseHopLimit" = 1 } }
    }]
  })
}
resource "aws_organizations_policy" "rtype" {
  name    = "rtype"
  content = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Deny"
      Action    = "*"
      Resource  = "arn:aws:iam::*:${var.rtype}"
      Condition = { NumericLessThan = { "ec2:RoleDelivery" = "2.0" } }
    }]
  })
}
