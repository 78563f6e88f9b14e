# Settings imds-iac cannot resolve from the code: a warning at the expression, quoting it —
# never a silent pass.

variable "http_tokens" {
  type        = string
  description = "Set by the pipeline; no default."
}

variable "metadata_options" {
  type = list(object({ http_tokens = string }))
}

data "aws_ssm_parameter" "hop_limit" {
  name = "/platform/imds/hop_limit"
}

resource "aws_instance" "from_variable" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = var.http_tokens # imds-expect: IMDS004@19
  }
}

resource "aws_launch_template" "from_data_source" {
  name_prefix = "ssm-"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = data.aws_ssm_parameter.hop_limit.value # imds-expect: IMDS004@35
  }
}

resource "aws_instance" "from_a_file" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = jsondecode(file("${path.module}/imds.json")).http_tokens # imds-expect: IMDS004@19
  }
}

resource "aws_instance" "endpoint_from_variable" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_endpoint = "${var.http_tokens == "required" ? "en" : "dis"}abled" # imds-expect: IMDS004@21
    http_tokens   = "required"
  }
}

# A dynamic block over a collection imds-iac cannot see: the iterator's values are unknown.
resource "aws_launch_template" "dynamic_over_variable" {
  name_prefix = "dyn-"

  dynamic "metadata_options" {
    for_each = var.metadata_options
    content {
      http_tokens = metadata_options.value.http_tokens # imds-expect: IMDS004@21
    }
  }
}

# A literal that is not a valid value.
resource "aws_instance" "not_a_number" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = "two" # imds-expect: IMDS004@35
  }
}

# A condition imds-iac cannot decide between two literals is not unknown: both branches are
# checked (IMDS002 reports the "1").
resource "aws_sagemaker_notebook_instance" "research" {
  name          = "research"
  role_arn      = "arn:aws:iam::123456789012:role/sagemaker"
  instance_type = "ml.t3.medium"

  instance_metadata_service_configuration {
    minimum_instance_metadata_service_version = var.http_tokens == "required" ? "2" : "1"
  }
}
