locals {
  a = "$${literal}"
  b = "%%{literal}"
  c = "tab\there \"q\" \u00e9"
}
