# Spot fleet requests as public modules write them: the legacy launch_specification form (no
# metadata options anywhere: IMDSv1 stays allowed), and the launch_template_config form, which
# inherits the template's options (the template is judged where it is declared).

data "aws_iam_policy_document" "spot_fleet_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["spotfleet.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "spot_fleet" {
  name               = "spot-fleet"
  assume_role_policy = data.aws_iam_policy_document.spot_fleet_assume.json
}

resource "aws_spot_fleet_request" "ci_runners" { # imds-expect: IMDS006@1
  iam_fleet_role                      = aws_iam_role.spot_fleet.arn
  spot_price                          = "0.05"
  allocation_strategy                 = "diversified"
  target_capacity                     = 4
  valid_until                         = "2030-11-04T20:44:20Z"
  terminate_instances_with_expiration = true

  launch_specification {
    instance_type            = "m5.large"
    ami                      = "ami-0c55b159cbfafe1f0"
    spot_price               = "0.05"
    iam_instance_profile_arn = "arn:aws:iam::123456789012:instance-profile/ci"
    subnet_id                = "subnet-0a1b2c3d"
  }

  launch_specification {
    instance_type            = "m5a.large"
    ami                      = "ami-0c55b159cbfafe1f0"
    spot_price               = "0.05"
    iam_instance_profile_arn = "arn:aws:iam::123456789012:instance-profile/ci"
    subnet_id                = "subnet-0a1b2c3d"
  }
}

resource "aws_launch_template" "workers" {
  name_prefix   = "workers-"
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "c6i.large"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}

resource "aws_spot_fleet_request" "workers" {
  iam_fleet_role  = aws_iam_role.spot_fleet.arn
  target_capacity = 6

  launch_template_config {
    launch_template_specification {
      id      = aws_launch_template.workers.id
      version = aws_launch_template.workers.latest_version
    }
    overrides {
      instance_type = "c6i.large"
    }
    overrides {
      instance_type = "c6a.large"
    }
  }
}
