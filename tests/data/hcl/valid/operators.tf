locals {
  x = !var.a && (1 + 2 * 3 % 4 - -1 >= 2 || false)
}
