# Every Terraform resource that launches instances, none of them setting metadata options: AWS
# then allows IMDSv1. The finding is at the resource header.

resource "aws_instance" "bastion" { # imds-expect: IMDS001@1
  ami                    = "ami-0c55b159cbfafe1f0"
  instance_type          = "t3.nano"
  vpc_security_group_ids = ["sg-0a1b2c3d4e5f60718"]
}

resource "aws_spot_instance_request" "batch_worker" { # imds-expect: IMDS001@1
  ami                  = "ami-0c55b159cbfafe1f0"
  instance_type        = "c6i.large"
  spot_price           = "0.04"
  wait_for_fulfillment = true
}

resource "aws_launch_template" "app" { # imds-expect: IMDS001@1
  name_prefix   = "app-"
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "m6i.large"
}

resource "aws_launch_configuration" "legacy" { # imds-expect: IMDS001@1
  name_prefix   = "legacy-"
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.small"

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_imagebuilder_infrastructure_configuration" "builds" { # imds-expect: IMDS001@1
  name                  = "golden-ami-builds"
  instance_profile_name = "imagebuilder"
  instance_types        = ["m6i.large"]
}

resource "aws_sagemaker_notebook_instance" "research" { # imds-expect: IMDS001@1
  name          = "research"
  role_arn      = "arn:aws:iam::123456789012:role/sagemaker"
  instance_type = "ml.t3.medium"
}

# count = 2: one finding stands for both instances.
resource "aws_instance" "replica" { # imds-expect: IMDS001@1
  count         = 2
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"
}
