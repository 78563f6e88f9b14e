module "scp_good" {
  source = "../modules/scp"
  name   = "good"
}
module "scp_bad" {
  source  = "../modules/scp"
  name    = "bad"
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
module "scp_hop" {
  source  = "../modules/scp"
  name    = "hop"
  content = <<-EOT
    {"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ec2:RunInstances","Resource":"arn:aws:ec2:*:*:instance/*","Condition":{"NumericGreaterThan":{"ec2:MetadataHttpPutResponseHopLimit":"3"}}}]}
  EOT
}
