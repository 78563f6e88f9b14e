locals {
  x = "%{ if var.a }yes%{ else }no%{ endif }"
  y = "%{~ for a in var.b ~}${a}%{~ endfor ~}"
}
