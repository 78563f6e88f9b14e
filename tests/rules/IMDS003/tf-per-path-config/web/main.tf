# Outside eks/ the threshold is 1.

resource "aws_instance" "web" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 2 # imds-expect: IMDS003@35
  }
}
