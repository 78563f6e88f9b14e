hop_limit = 4 # imds-expect: IMDS003@13
