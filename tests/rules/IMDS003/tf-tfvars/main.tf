# *.auto.tfvars overrides the variable's default: the finding is at the tfvars entry.

resource "aws_launch_template" "app" {
  name_prefix = "app-"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = var.hop_limit
  }
}
