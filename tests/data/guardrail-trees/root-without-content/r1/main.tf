module "scp" {
  source = "../modules/scp"
  name   = "r1"
}
