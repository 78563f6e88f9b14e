locals {
  tokens = "required";
}
