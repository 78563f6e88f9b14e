locals {
  résumé = 1
}
