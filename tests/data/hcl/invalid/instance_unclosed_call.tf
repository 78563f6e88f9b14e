resource "aws_instance" "web" {
  ami = "ami-1"
  tags = {
    Name = "web"
  }
  http_tokens = lookup(var.settings, "tokens"
}
