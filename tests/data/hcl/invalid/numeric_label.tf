resource 1 "b" {}
