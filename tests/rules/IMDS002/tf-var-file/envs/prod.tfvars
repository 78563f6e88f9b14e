# Not named on the command line: not read.
http_tokens = "optional"
