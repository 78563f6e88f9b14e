"""cfn-lint rules (E9001 = IMDS001, ...: one per registered rule that declares a cfn-lint id), for
``cfn-lint --append-rules``.

``imds-iac plugin-path cfn-lint`` prints this directory. cfn-lint imports each ``*.py`` file in it
whose name does not start with ``_`` as a top-level module (this file is skipped), so the rule
module uses absolute imports only. ``cfn-lint --append-rules
imds_iac_checks.adapters.cfn_lint.imds_rules`` (a module path) loads the same rules. See
docs/cfn-lint.md.
"""
