locals {
  b = "$${}x"
}
