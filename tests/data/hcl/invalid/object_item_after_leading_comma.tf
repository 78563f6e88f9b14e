module "eks" {
  source = "../../modules/cluster"

  node_groups = {
    general = {}
    gpu = {
      hop_limit = 3
    }
  ,  }
}

locals {
  ok = [
    "a"
    , "b"
  ]
  also = max(1
  , 2)
}
