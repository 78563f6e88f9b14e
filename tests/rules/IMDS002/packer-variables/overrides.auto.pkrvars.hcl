tokens = "optional" # imds-expect: IMDS002@10
