locals {
  x = 'a'
}
