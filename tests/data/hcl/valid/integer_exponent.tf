locals {
  x = 1e3
}
