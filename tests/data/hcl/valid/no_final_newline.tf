locals {
  x = 1
}