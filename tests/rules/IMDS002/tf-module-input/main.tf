# A module with secure defaults, called with one insecure input: the finding is at the argument in
# the call (the fix there is safe: it changes only this call).

module "search" {
  source = "./modules/ec2"
  name   = "search"

  metadata_options = {
    http_tokens = "optional" # imds-expect: IMDS002@19
  }
}

module "web" {
  source = "./modules/ec2"
  name   = "web"
}

module "batch" {
  source = "./modules/ec2"
  name   = "batch"

  metadata_options = {
    http_put_response_hop_limit = 1
  }
}
