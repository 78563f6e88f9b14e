# Elastic Beanstalk environments as the provider docs and public modules write them: the option
# DisableIMDSv1 of aws:autoscaling:launchconfiguration decides IMDSv1 (default false).
variable "disable_imdsv1" {
  type    = bool
  default = true
}

locals {
  settings = [
    { namespace = "aws:autoscaling:launchconfiguration", name = "InstanceType", value = "t3.small" },
    { namespace = "aws:autoscaling:launchconfiguration", name = "DisableIMDSv1", value = "false" }, # imds-expect: IMDS002@90
  ]
}

resource "aws_elastic_beanstalk_environment" "web" { # imds-expect: IMDS002@1
  name                = "web-prod"
  application         = "web"
  solution_stack_name = "64bit Amazon Linux 2023 v6.1.0 running Node.js 20"

  setting {
    namespace = "aws:autoscaling:launchconfiguration"
    name      = "IamInstanceProfile"
    value     = "aws-elasticbeanstalk-ec2-role"
  }
}

resource "aws_elastic_beanstalk_environment" "api" {
  name                = "api-prod"
  application         = "api"
  solution_stack_name = "64bit Amazon Linux 2023 v6.1.0 running Python 3.11"

  setting {
    namespace = "aws:autoscaling:launchconfiguration"
    name      = "DisableIMDSv1"
    value     = "false" # imds-expect: IMDS002@17
  }
}

resource "aws_elastic_beanstalk_environment" "secure" {
  name                = "secure-prod"
  application         = "api"
  solution_stack_name = "64bit Amazon Linux 2023 v6.1.0 running Python 3.11"

  setting {
    namespace = "aws:autoscaling:launchconfiguration"
    name      = "DisableIMDSv1"
    value     = var.disable_imdsv1
  }
}

# Settings from a list, as cloudposse/elastic-beanstalk-environment writes them.
resource "aws_elastic_beanstalk_environment" "dynamic" {
  name                = "dynamic-prod"
  application         = "api"
  solution_stack_name = "64bit Amazon Linux 2023 v6.1.0 running Python 3.11"

  dynamic "setting" {
    for_each = local.settings
    content {
      namespace = setting.value["namespace"]
      name      = setting.value["name"]
      value     = setting.value["value"]
    }
  }
}

# An environment that does not set the option takes it from its configuration template, which
# is judged where it is declared (its finding names the environment).
resource "aws_elastic_beanstalk_configuration_template" "base" { # imds-expect: IMDS002@1
  name                = "base"
  application         = "api"
  solution_stack_name = "64bit Amazon Linux 2023 v6.1.0 running Python 3.11"
}

resource "aws_elastic_beanstalk_environment" "from_template" {
  name          = "from-template"
  application   = "api"
  template_name = aws_elastic_beanstalk_configuration_template.base.name
}
