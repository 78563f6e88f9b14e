# for_each over a map of pools typed with optional() defaults: the one pool that asks for
# "optional" is a finding at its map entry; the others get the type's default, "required".

variable "pools" {
  type = map(object({
    instance_type = string
    http_tokens   = optional(string, "required")
  }))
  default = {
    web    = { instance_type = "m6i.large" }
    batch  = { instance_type = "c6i.xlarge" }
    legacy = { instance_type = "t3.large", http_tokens = "optional" } # imds-expect: IMDS002@58
  }
}

resource "aws_launch_template" "pool" {
  for_each      = var.pools
  name_prefix   = "${each.key}-"
  instance_type = each.value.instance_type

  metadata_options {
    http_tokens = each.value.http_tokens
  }
}
