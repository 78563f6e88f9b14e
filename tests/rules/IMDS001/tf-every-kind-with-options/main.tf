# Every Terraform resource that launches instances, each with its options block: IMDS001 never
# fires on a resource that has one, even an empty one (IMDS002 judges what it holds).

resource "aws_instance" "web" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}

resource "aws_spot_instance_request" "batch_worker" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "c6i.large"

  metadata_options {
    http_tokens = "required"
  }
}

resource "aws_launch_template" "app" {
  name_prefix = "app-"
  image_id    = "ami-0c55b159cbfafe1f0"

  metadata_options {}
}

resource "aws_launch_configuration" "legacy" {
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.small"

  metadata_options {
    http_endpoint = "disabled"
  }
}

resource "aws_imagebuilder_infrastructure_configuration" "builds" {
  name                  = "golden-ami-builds"
  instance_profile_name = "imagebuilder"

  instance_metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}

resource "aws_sagemaker_notebook_instance" "research" {
  name          = "research"
  role_arn      = "arn:aws:iam::123456789012:role/sagemaker"
  instance_type = "ml.t3.medium"

  instance_metadata_service_configuration {
    minimum_instance_metadata_service_version = "2"
  }
}

# Account defaults have no options block: the settings are the resource's own arguments.
resource "aws_ec2_instance_metadata_defaults" "enforced" {
  http_tokens                 = "required"
  http_put_response_hop_limit = 1
}

# count = 0 and an empty for_each create nothing.
resource "aws_instance" "disabled" {
  count         = 0
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"
}

resource "aws_instance" "per_tenant" {
  for_each      = {}
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"
}
