# Batch compute environments whose compute_resources is a dynamic block, as
# terraform-aws-modules/batch writes them (one environment per entry of a map input; the
# launch template in a nested dynamic block). EC2 and SPOT environments without a launch template
# run on AWS's defaults (IMDSv1 allowed); Fargate ones launch no EC2 instance.

variable "compute_environments" {
  type = any
  default = {
    ec2 = {
      name_prefix = "ec2"
      compute_resources = {
        type               = "EC2"
        min_vcpus          = 0
        max_vcpus          = 16
        instance_types     = ["m6i.large", "r6i.large"]
        security_group_ids = ["sg-0a1b2c3d"]
        subnets            = ["subnet-0a1b2c3d", "subnet-0e1f2a3b"]
      }
    }
    spot_templated = {
      name_prefix = "spot"
      compute_resources = {
        type               = "SPOT"
        max_vcpus          = 32
        instance_types     = ["optimal"]
        security_group_ids = ["sg-0a1b2c3d"]
        subnets            = ["subnet-0a1b2c3d"]
        launch_template = {
          name = "batch-imdsv2"
        }
      }
    }
    fargate = {
      name_prefix = "fargate"
      compute_resources = {
        type               = "FARGATE"
        max_vcpus          = 4
        security_group_ids = ["sg-0a1b2c3d"]
        subnets            = ["subnet-0a1b2c3d"]
      }
    }
    unmanaged = {
      name_prefix = "byo"
      type        = "UNMANAGED"
    }
  }
}

resource "aws_launch_template" "batch" {
  name = "batch-imdsv2"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}

resource "aws_batch_compute_environment" "this" { # imds-expect: IMDS006@1
  for_each = var.compute_environments

  compute_environment_name_prefix = "${each.value.name_prefix}-"
  type                            = lookup(each.value, "type", "MANAGED")

  dynamic "compute_resources" {
    for_each = can(each.value.compute_resources.subnets) ? [each.value.compute_resources] : []
    content {
      type               = compute_resources.value.type
      min_vcpus          = contains(["FARGATE", "FARGATE_SPOT"], compute_resources.value.type) ? null : try(compute_resources.value.min_vcpus, null)
      max_vcpus          = compute_resources.value.max_vcpus
      instance_type      = contains(["FARGATE", "FARGATE_SPOT"], compute_resources.value.type) ? [] : try(compute_resources.value.instance_types, [])
      security_group_ids = compute_resources.value.security_group_ids
      subnets            = compute_resources.value.subnets

      dynamic "launch_template" {
        for_each = try(compute_resources.value.launch_template, null) != null ? [compute_resources.value.launch_template] : []
        content {
          launch_template_id   = lookup(launch_template.value, "id", null)
          launch_template_name = lookup(launch_template.value, "name", null)
        }
      }
    }
  }
}

# The report's case: one literal element.
resource "aws_batch_compute_environment" "dynamic" { # imds-expect: IMDS006@1
  type = "MANAGED"

  dynamic "compute_resources" {
    for_each = [{ type = "EC2" }]
    content {
      type          = compute_resources.value.type
      max_vcpus     = 4
      instance_type = ["m5.large"]
      subnets       = ["subnet-0a1b2c3d"]
    }
  }
}

# for_each known to be empty: no compute resources, no EC2 instance.
resource "aws_batch_compute_environment" "none" {
  type = "UNMANAGED"

  dynamic "compute_resources" {
    for_each = []
    content {
      type      = "EC2"
      max_vcpus = 4
      subnets   = ["subnet-0a1b2c3d"]
    }
  }
}
