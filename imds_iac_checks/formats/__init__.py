"""Input adapters: one module per input kind, each turning a file into Targets.

Adapters are imported lazily by :mod:`imds_iac_checks.scan` so that checking a Terraform file never
pays for the YAML machinery, and the reverse.
"""
