locals {
	x = 1
}
