variable "content" { type = string }
module "inner" {
  source  = "../scp"
  name    = "wrapped"
  content = var.content
}
