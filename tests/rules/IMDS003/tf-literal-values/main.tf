# Literal hop limits above the default threshold of 1, on every Terraform kind with the field.

resource "aws_instance" "proxy" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 3 # imds-expect: IMDS003@35
  }
}

# A number written as a string is still a number.
resource "aws_instance" "quoted" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = "2" # imds-expect: IMDS003@35
  }
}

resource "aws_spot_instance_request" "batch" {
  ami        = "ami-0c55b159cbfafe1f0"
  spot_price = "0.04"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 5 # imds-expect: IMDS003@35
  }
}

resource "aws_launch_configuration" "legacy" {
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.small"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 2 # imds-expect: IMDS003@35
  }
}

resource "aws_imagebuilder_infrastructure_configuration" "container_builds" {
  name                  = "container-builds"
  instance_profile_name = "imagebuilder"

  instance_metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 2 # imds-expect: IMDS003@35
  }
}

resource "aws_ec2_instance_metadata_defaults" "account" {
  http_tokens                 = "required"
  http_put_response_hop_limit = 2 # imds-expect: IMDS003@33
}

# Fine: 1, not set (AWS's default is 1), -1 (no preference) on account defaults.
resource "aws_launch_template" "web" {
  name_prefix = "web-"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}

resource "aws_instance" "unset" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = "required"
  }
}

resource "aws_ec2_instance_metadata_defaults" "no_preference" {
  provider                    = aws.eu_west_1
  http_tokens                 = "required"
  http_put_response_hop_limit = -1
}
