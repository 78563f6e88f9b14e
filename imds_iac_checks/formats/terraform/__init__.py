"""Terraform: HCL and JSON syntax, expression evaluation, modules and the module graph."""
