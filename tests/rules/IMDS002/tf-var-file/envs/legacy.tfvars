http_tokens = "optional" # imds-expect: IMDS002@15
