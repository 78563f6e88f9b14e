locals {
  x = var.l.0
}
