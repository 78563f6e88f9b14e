# The resource without options sits in a local module called twice: the finding is in the
# module, at the resource header, once for each call (module.api and module.jobs).

module "api" {
  source        = "./modules/worker"
  name          = "api"
  instance_type = "m6i.large"
}

module "jobs" {
  source        = "./modules/worker"
  name          = "jobs"
  instance_type = "c6i.large"
}
