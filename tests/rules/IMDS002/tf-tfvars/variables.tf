variable "legacy_tokens" {
  type    = string
  default = "required"
}

variable "web_tokens" {
  type    = string
  default = "optional"
}
