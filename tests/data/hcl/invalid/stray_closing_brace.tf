locals {
  x = 1
}
}
