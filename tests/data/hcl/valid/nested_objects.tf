locals {
  x = { a = { b = [1, 2, { c = "d" }] }, "e" = 1, (var.k) = 2 }
}
