locals {
  ok = [
    "a"
    , "b"
  ]
  also = max(1
  , 2)
}
