resource "aws_launch_template" "lt" {
  dynamic "metadata_options" {
    for_each = var.m != null ? [var.m] : []
    content {
      http_tokens = metadata_options.value.http_tokens
    }
  }
}
