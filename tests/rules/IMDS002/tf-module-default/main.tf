# An older module whose default allows IMDSv1 (terraform-aws-modules/ec2-instance 5.0-5.7): a
# call that does not override it gets the finding at the module's default; a call that does is
# fine.

module "reporting" {
  source = "./modules/legacy-ec2"
  name   = "reporting"
}

module "billing" {
  source = "./modules/legacy-ec2"
  name   = "billing"

  metadata_options = {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}
