locals {
  x = 1.5e3
  y = 1.5E-2
}
