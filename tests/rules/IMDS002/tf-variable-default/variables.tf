variable "http_tokens" {
  description = "IMDS token mode for the worker instances."
  type        = string
  default     = "optional" # imds-expect: IMDS002@17
}

variable "secure_tokens" {
  type    = string
  default = "required"
}
