# Launch templates of the module; instances.tf launches from them.

resource "aws_launch_template" "secure" {
  name          = "secure-lt"
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "m6i.large"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}

# Used by an instance, a spot request, an Auto Scaling group and an EKS node group: reported
# once, here, naming the instances that launch from it.
resource "aws_launch_template" "weak" { # imds-expect: IMDS001@1
  name_prefix   = "weak-"
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "m6i.large"
}
