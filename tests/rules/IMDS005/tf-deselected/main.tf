# imds-args: --ignore IMDS003
# A code for a rule that is turned off is not reported: the rule may be turned on again.
resource "aws_instance" "web" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 1 # imds-iac: ignore[IMDS003] kept for when IMDS003 is back
  }
}
