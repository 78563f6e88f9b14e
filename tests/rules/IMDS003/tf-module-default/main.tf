# terraform-aws-modules/eks node-group submodules v18-v20 default the hop limit to 2: a call that
# keeps the default gets the finding at the module's default; a call that sets 1 is fine.

module "default_nodes" {
  source       = "./modules/node-group"
  cluster_name = "platform"
  name         = "default"
}

module "system_nodes" {
  source       = "./modules/node-group"
  cluster_name = "platform"
  name         = "system"

  metadata_options = {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}
