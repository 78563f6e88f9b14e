"""Terraform: HCL and JSON syntax, expression evaluation, modules and the module graph.

The modules, lowest layer first; each imports only modules of the layers below it (no cycle):

- ``kinds``: the resource kinds that carry metadata settings (``KINDS``), the format name, and
  how an instance names its launch template. Imports only :mod:`imds_iac_checks.model`.
- ``registry``: well-known registry modules that are not on disk, and the modules Terraform
  downloaded (``.terraform/modules/modules.json``). Imports only the model.
- ``syntax``: HCL syntax. ``.tf`` files parsed with tree-sitter-hcl (with the repairs it needs),
  :class:`~.syntax.Source` (byte offsets to spans), the helpers that read the tree (``children``,
  ``attributes``, ``labels``, ``literal``...) and the syntax and structure errors Terraform
  reports. Imports only the model.
- ``eval``: expression evaluation with provenance (``Val``, ``Scope``, ``evaluate``). Imports
  ``syntax``.
- ``module``: one module (a directory's ``.tf`` files) evaluated: loading and parsing files
  (large ones in chunks), variables from defaults, tfvars and the command line, ``count`` and
  ``for_each``, targets; ``parse`` scans a single file as a module of its own. Imports
  ``syntax``, ``eval``, ``kinds``; ``registry`` only when a module call is not on disk.
- ``graph``: the module graph. Directories of ``.tf`` files evaluated as root modules with
  the modules they call, within bounds on each root; ``terraform_targets`` for tools. Imports
  ``module``; ``registry`` only when a root has downloaded modules.
- ``tfjson``: JSON syntax (``*.tf.json``) and plan JSON. Imports ``kinds`` (and the shared
  structured-document helpers of :mod:`imds_iac_checks.formats`).

:mod:`imds_iac_checks.scan` finds the files and calls ``graph`` for ``.tf`` files; JSON reaches
``tfjson`` through :mod:`imds_iac_checks.formats.data`.
"""
