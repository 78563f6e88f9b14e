resource "aws_instance" "web" {
  user_data = <<-EOT
    #!/bin/bash
    echo ${var.a}
  EOT
  ami = "x"
}
