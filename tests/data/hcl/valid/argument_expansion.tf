locals {
  x = max(var.l...)
}
