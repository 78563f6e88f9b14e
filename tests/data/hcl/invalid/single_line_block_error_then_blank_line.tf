resource "aws_instance" "web" { ami = = "x" }

resource "aws_instance" "db" {
  ami = "ami-1"
}
