x = <<EOT
hi
