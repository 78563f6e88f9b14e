# Every suppression here suppresses a finding: nothing to report.
resource "aws_instance" "vendor" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens                 = "optional" # imds-iac: ignore[IMDS002] vendor agent, OPS-1412
    http_put_response_hop_limit = 3 # imds-iac: ignore[IMDS003] sidecar
  }
}

# imds-iac: ignore[IMDS001] retired with the old VPC in Q3
resource "aws_instance" "legacy" {
  ami = "ami-0c55b159cbfafe1f0"
}

resource "aws_instance" "bastion" { # imds-iac: ignore every rule, for now
  ami = "ami-0c55b159cbfafe1f0"
}

variable "tokens" {
  type    = string
  default = "optional" # imds-iac: ignore[IMDS002] a variable default: the finding is here
}

resource "aws_launch_template" "from_variable" {
  metadata_options {
    http_tokens = var.tokens
  }
}
