module "scp" {
  source    = "../modules/scp"
  hop_limit = 5
}
