locals {
  x = = 1
}
