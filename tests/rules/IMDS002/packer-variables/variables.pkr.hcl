variable "imds" {
  type = object({
    tokens = string
    hops   = number
  })
  default = {
    tokens = "optional" # imds-expect: IMDS002@14
    hops   = 1
  }
}

variable "tokens" {
  type    = string
  default = "required"
}
