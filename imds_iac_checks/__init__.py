"""imds-iac: find and fix infrastructure code that lets EC2 instances use IMDSv1."""

__version__ = "0.2.0.dev0"
