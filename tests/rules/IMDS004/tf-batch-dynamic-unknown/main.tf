# A compute environment whose dynamic compute_resources cannot be evaluated (inputs without a
# default and no value given) may launch EC2 instances on AWS's defaults, or none (Fargate):
# imds-iac says that it could not tell, where it could not, rather than passing it silently or
# guessing an IMDS006 error.

variable "compute_resources" {
  description = "Compute resources of the environment; none for an unmanaged one."
  type        = list(any)
}

variable "compute_type" {
  description = "EC2, SPOT, FARGATE or FARGATE_SPOT."
  type        = string
}

resource "aws_batch_compute_environment" "unknown_for_each" {
  compute_environment_name = "jobs"
  type                     = "MANAGED"

  dynamic "compute_resources" {
    for_each = var.compute_resources # imds-expect: IMDS004@16
    content {
      type               = compute_resources.value.type
      max_vcpus          = compute_resources.value.max_vcpus
      instance_type      = ["optimal"]
      security_group_ids = ["sg-0a1b2c3d"]
      subnets            = ["subnet-0a1b2c3d"]
    }
  }
}

resource "aws_batch_compute_environment" "unknown_type" {
  compute_environment_name = "nightly"
  type                     = "MANAGED"

  dynamic "compute_resources" {
    for_each = [{ max_vcpus = 16 }]
    content {
      type               = var.compute_type # imds-expect: IMDS004@28
      max_vcpus          = compute_resources.value.max_vcpus
      instance_type      = ["optimal"]
      security_group_ids = ["sg-0a1b2c3d"]
      subnets            = ["subnet-0a1b2c3d"]
    }
  }
}
