locals {
  x = <<EOT
hi
EOT
}