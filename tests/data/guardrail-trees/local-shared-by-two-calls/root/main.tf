locals {
  scp = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Deny"
      Action    = "ec2:RunInstances"
      Resource  = "arn:aws:ec2:*:*:instance/*"
      Condition = { StringEquals = { "ec2:MetadataHttpTokens" = "optional" } }
    }]
  })
}
module "prod" {
  source  = "../modules/scp"
  name    = "prod"
  content = local.scp
}
module "dev" {
  source  = "../modules/scp"
  name    = "dev"
  content = local.scp
}
