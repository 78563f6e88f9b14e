# hash
// slashes
/* block
   comment */
locals {
  x = 1 # trailing
  y = 2 // trailing
  z = 3 /* trailing */
}
