variable "content" {
  type    = string
  default = <<EOF2
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Deny",
      "Action": "ec2:RunInstances",
      "Resource": "arn:aws:ec2:*:*:instance/*",
      "Condition": {"StringEquals": {"ec2:MetadataHttpTokens": "optional"}}
    }
  ]
}
EOF2
}
variable "name" { type = string }
resource "aws_organizations_policy" "this" {
  name    = var.name
  content = var.content
}
