module "scp_a" {
  source  = "../modules/scp"
  name    = "a"
  content = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Deny"
      Action    = "ec2:RunInstances"
      Resource  = "arn:aws:ec2:*:*:instance/*"
      Condition = { StringNotEquals = { "ec2:MetadataHttpTokens" = "required" } }
    }]
  })
}
