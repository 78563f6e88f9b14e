variable "name" {
  type = string
}

variable "instance_type" {
  type    = string
  default = "t3.micro"
}

resource "aws_instance" "this" { # imds-expect: IMDS001@1, IMDS001@1
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = var.instance_type

  tags = {
    Name = var.name
  }
}
