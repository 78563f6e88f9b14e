output "ids" {
  value = aws_instance.web[*].id
}
output "names" {
  value = var.l.*.name
}
