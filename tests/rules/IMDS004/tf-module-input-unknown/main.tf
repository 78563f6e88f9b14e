# A module input imds-iac cannot resolve: the warning is at the argument in the call, where the
# unknown value enters.

data "aws_ssm_parameter" "tokens" {
  name = "/platform/imds/http_tokens"
}

module "search" {
  source      = "./modules/ec2"
  http_tokens = data.aws_ssm_parameter.tokens.value # imds-expect: IMDS004@17
}

module "web" {
  source      = "./modules/ec2"
  http_tokens = "required"
}
