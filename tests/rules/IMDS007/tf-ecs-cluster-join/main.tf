# ECS container instances: the user data only joins the cluster (no metadata request; the ECS
# agent itself uses IMDSv2).
resource "aws_launch_template" "ecs" {
  name_prefix   = "ecs-"
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "c6i.large"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }

  user_data = base64encode(templatefile("${path.module}/ecs-user-data.sh.tpl", {
    cluster_name = "orders"
  }))
}
