variable "hop_limit" {
  type    = number
  default = 1
}
