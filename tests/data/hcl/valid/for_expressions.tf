locals {
  x = [for s in var.l : upper(s) if s != ""]
  y = { for k, v in var.m : k => v... }
}
