legacy_tokens = "optional" # imds-expect: IMDS002@17
