# Literal settings on every Terraform kind that has them. The finding is at the value, or at the
# resource header when the block leaves http_tokens out (AWS's default is "optional").

resource "aws_instance" "vendor_agent" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.medium"

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "optional" # imds-expect: IMDS002@21
  }
}

resource "aws_launch_template" "half_migrated" {
  name_prefix = "half-migrated-"

  metadata_options { # imds-expect: IMDS002@3
    http_endpoint               = "enabled"
    http_put_response_hop_limit = 1
  }
}

resource "aws_instance" "empty_block" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {} # imds-expect: IMDS002@3
}

# null is "not set".
resource "aws_instance" "null_tokens" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options { # imds-expect: IMDS002@3
    http_tokens = null
  }
}

resource "aws_spot_instance_request" "batch" {
  ami        = "ami-0c55b159cbfafe1f0"
  spot_price = "0.04"

  metadata_options {
    http_tokens = "optional" # imds-expect: IMDS002@19
  }
}

resource "aws_launch_configuration" "legacy" {
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.small"

  metadata_options {
    http_tokens = "optional" # imds-expect: IMDS002@19
  }
}

resource "aws_imagebuilder_infrastructure_configuration" "builds" {
  name                  = "golden-ami-builds"
  instance_profile_name = "imagebuilder"

  instance_metadata_options {
    http_tokens = "optional" # imds-expect: IMDS002@19
  }
}

resource "aws_sagemaker_notebook_instance" "research" {
  name          = "research"
  role_arn      = "arn:aws:iam::123456789012:role/sagemaker"
  instance_type = "ml.t3.medium"

  instance_metadata_service_configuration {
    minimum_instance_metadata_service_version = "1" # imds-expect: IMDS002@49
  }
}

resource "aws_ec2_instance_metadata_defaults" "account" {
  http_tokens                 = "no-preference" # imds-expect: IMDS002@33
  http_put_response_hop_limit = 1
}

# Left out, the account default is "no-preference" too.
resource "aws_ec2_instance_metadata_defaults" "hop_only" { # imds-expect: IMDS002@1
  provider                    = aws.eu_west_1
  http_put_response_hop_limit = 1
}

# Compliant neighbours.
resource "aws_instance" "web" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = "required"
  }
}

resource "aws_sagemaker_notebook_instance" "secure" {
  name          = "secure"
  role_arn      = "arn:aws:iam::123456789012:role/sagemaker"
  instance_type = "ml.t3.medium"

  instance_metadata_service_configuration {
    minimum_instance_metadata_service_version = "2"
  }
}
