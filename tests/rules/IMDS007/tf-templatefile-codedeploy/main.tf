# An app server whose user data is a template file: the CodeDeploy agent install.
resource "aws_instance" "app" {
  ami                  = "ami-0c55b159cbfafe1f0"
  instance_type        = "t3.small"
  iam_instance_profile = "app-codedeploy"

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }

  user_data = templatefile("${path.module}/user-data.sh.tpl", {
    app_name = "orders"
  })
}
