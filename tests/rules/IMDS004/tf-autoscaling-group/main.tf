# Auto Scaling groups take their settings from the launch templates they name: a template that
# is not in the scanned module is reported, as for an instance.
variable "spot_template_id" {
  type = string
}

resource "aws_launch_template" "web" {
  name_prefix = "web-"
  image_id    = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }
}

resource "aws_autoscaling_group" "web" {
  name     = "web"
  min_size = 1
  max_size = 4

  mixed_instances_policy {
    launch_template {
      launch_template_specification {
        launch_template_id = aws_launch_template.web.id
        version            = "$Latest"
      }

      override {
        instance_type = "m5.large"
      }

      override {
        instance_type = "m6g.large"
        launch_template_specification {
          launch_template_id = var.spot_template_id # imds-expect: IMDS004@32
        }
      }
    }
  }
}

resource "aws_ec2_fleet" "batch" {
  launch_template_config {
    launch_template_specification {
      launch_template_id = aws_launch_template.web.id
      version            = aws_launch_template.web.latest_version
    }
  }

  target_capacity_specification {
    default_target_capacity_type = "spot"
    total_target_capacity        = 5
  }
}
