# A typo in a code is not a rule: the finding stays, and the code is reported.
resource "aws_instance" "typo" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 2 # imds-iac: ignore[IMDS03] container host  # imds-expect: IMDS005@56
  }
}

# Names, prefixes and any case are codes too: these suppress their findings.
resource "aws_instance" "named" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens                 = "optional" # imds-iac: ignore[tokens-not-required] vendor agent
    http_put_response_hop_limit = 3          // imds-iac: ignore[imds00] lower-case prefix
  }
}

resource "aws_instance" "other_tools" {
  # A checkov id is not an imds-iac code (checkov:skip is checkov's own, and not judged here).
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = "optional" # imds-iac: ignore[CKV_AWS_79, ] wrong tool  # imds-expect: IMDS005@49
  }
}
