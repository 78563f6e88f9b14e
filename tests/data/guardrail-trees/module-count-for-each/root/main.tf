locals {
  weak = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Deny"
      Action    = "ec2:RunInstances"
      Resource  = "arn:aws:ec2:*:*:instance/*"
      Condition = { StringEquals = { "ec2:MetadataHttpTokens" = "optional" } }
    }]
  })
  policies = {
    a = local.weak
  }
}
module "counted" {
  count   = 2
  source  = "../modules/scp"
  name    = "c${count.index}"
  content = local.weak
}
module "each" {
  for_each = local.policies
  source   = "../modules/scp"
  name     = each.key
  content  = each.value
}
output "weak" { value = local.weak }
