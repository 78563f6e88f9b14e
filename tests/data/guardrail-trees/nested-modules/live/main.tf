module "outer" {
  source  = "../modules/wrap"
  content = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Deny"
      Action    = "ec2:RunInstances"
      Resource  = "arn:aws:ec2:*:*:instance/*"
      Condition = { StringEquals = { "ec2:MetadataHttpTokens" = "optional" } }
    }]
  })
}
