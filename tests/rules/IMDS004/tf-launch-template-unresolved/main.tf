# Instances that launch from a launch template imds-iac cannot find: it cannot tell which options
# they run with, so each gets IMDS004 at the reference.

variable "launch_template_id" {
  type = string
}

data "aws_launch_template" "shared" {
  name = "platform-shared"
}

resource "aws_instance" "from_variable" {
  launch_template {
    id = var.launch_template_id # imds-expect: IMDS004@10
  }
}

resource "aws_instance" "from_data_source" {
  launch_template {
    id      = data.aws_launch_template.shared.id # imds-expect: IMDS004@15
    version = "$Default"
  }
}

# A literal name that no template in this module has.
resource "aws_spot_instance_request" "elsewhere" {
  spot_price = "0.05"

  launch_template {
    name = "platform-shared" # imds-expect: IMDS004@12
  }
}

# Found in this module: linked, no IMDS004.
resource "aws_launch_template" "local" {
  name = "local-lt"

  metadata_options {
    http_tokens = "required"
  }
}

resource "aws_instance" "by_local_name" {
  launch_template {
    name = "local-lt"
  }
}

# Sets its own options and names an unknown template: the instance's own settings are
# checked; what it leaves out comes from a template imds-iac cannot see.
resource "aws_instance" "own_options" {
  launch_template {
    id = var.launch_template_id # imds-expect: IMDS004@10
  }

  metadata_options {
    http_tokens = "required"
  }
}
