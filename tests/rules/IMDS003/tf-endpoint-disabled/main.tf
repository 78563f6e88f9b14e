# With the metadata endpoint disabled there is no token to carry: a high hop limit is not
# reported.

resource "aws_instance" "air_gapped" {
  ami = "ami-0c55b159cbfafe1f0"

  metadata_options {
    http_endpoint               = "disabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 5
  }
}

resource "aws_launch_template" "kiosk" {
  name_prefix = "kiosk-"

  metadata_options {
    http_endpoint               = "disabled"
    http_put_response_hop_limit = 2
  }
}
