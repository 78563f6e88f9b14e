variable "content" {
  type    = string
}
variable "name" { type = string }
resource "aws_organizations_policy" "this" {
  name    = var.name
  content = var.content
}
