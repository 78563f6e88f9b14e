locals {
  x = 1 }
