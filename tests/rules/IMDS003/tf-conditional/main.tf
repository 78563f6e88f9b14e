# count.index is known for each instance: only the instance that gets 2 fires, at that branch.
# A condition imds-iac cannot decide has both branches checked.

variable "containers" {
  type        = bool
  description = "No default: set per environment."
}

resource "aws_instance" "replica" {
  count = 3
  ami   = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = count.index == 2 ? 2 : 1 # imds-expect: IMDS003@54
  }
}

resource "aws_launch_template" "hosts" {
  name_prefix = "hosts-"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = var.containers ? 2 : 1 # imds-expect: IMDS003@52
  }
}
