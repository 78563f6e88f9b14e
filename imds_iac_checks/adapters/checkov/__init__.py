"""checkov checks CKV_IMDS_N: one per registered imds-iac rule that declares a checkov id.

Give this directory to checkov: ``checkov -d . --external-checks-dir "$(imds-iac plugin-path
checkov)"``. checkov imports each ``*.py`` file here as a standalone module (this file only marks
the directory as loadable), so the files use absolute imports; the conversion of checkov's parsed
configuration into Targets lives in :mod:`imds_iac_checks.adapters.checkov_targets`. See
docs/checkov.md.
"""
