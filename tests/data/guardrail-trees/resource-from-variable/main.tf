variable "arn" { type = string }
resource "aws_organizations_policy" "p" {
  name    = "p"
  content = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Deny", Action = "ec2:RunInstances", Resource = var.arn,
      Condition = { StringNotEquals = { "ec2:MetadataHttpTokens" = "required" } } }]
  })
}
