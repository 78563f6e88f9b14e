variable "http_tokens" {
  type        = string
  description = "No default: terraform.tfvars sets it."
}

variable "pools" {
  type = map(object({
    hop_limit = optional(number, 1)
  }))
  default = {
    web = {}
    api = { hop_limit = 1 }
  }
}
