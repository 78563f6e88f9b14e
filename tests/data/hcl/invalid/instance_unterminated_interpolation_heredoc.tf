resource "aws_instance" "web" {
  ami       = "ami-1"
  user_data = <<-EOT
    hostname ${var.name
  EOT
}
