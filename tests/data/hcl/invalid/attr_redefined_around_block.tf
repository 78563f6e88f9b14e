resource "aws_instance" "web" {
  ami = "a"
  metadata_options {}
  ami = "b"
}
