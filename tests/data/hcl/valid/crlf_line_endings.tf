locals {
  x = 1
  y = {
    a = 1
  }
}
