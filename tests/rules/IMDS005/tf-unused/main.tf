resource "aws_instance" "web" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens                 = "required" # imds-iac: ignore[IMDS003] no hop limit here  # imds-expect: IMDS005@65
    http_put_response_hop_limit = 3          # imds-iac: ignore[IMDS002, IMDS003] both?  # imds-expect: IMDS005@65
  }
}

# imds-iac: ignore legacy, retired in Q3  # imds-expect: IMDS005@1
resource "aws_instance" "fixed_since" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = "required"
  }
}

resource "aws_instance" "suppressed_twice" { # imds-iac: ignore[IMDS003]  # imds-expect: IMDS005@65
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens                 = "required"
    # the line comment suppresses the finding first: the resource's one is dead
    http_put_response_hop_limit = 4 # imds-iac: ignore[IMDS003] batch host
  }
}
