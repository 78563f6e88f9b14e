"""Plugins for tools teams already run: checkov checks and cfn-lint rules that call the same
engine. ``imds-iac plugin-path checkov|cfn-lint`` prints their directories. Nothing here is
imported by the core."""
