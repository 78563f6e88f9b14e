resource "aws_instance" "web" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = "required"
    # A finding that comes and goes (the hop limit is set per environment): IMDS005 accepts
    # the suppression while there is nothing to suppress.
    # (reported, and suppressed: tests/test_suppress.py)
    http_put_response_hop_limit = 1 # imds-iac: ignore[IMDS003, IMDS005] set per environment  # imds-expect: IMDS005@56
  }
}

resource "aws_instance" "dead_self" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens = "required" # imds-iac: ignore[unused-suppression] nothing to keep  # imds-expect: IMDS005@49
  }
}
