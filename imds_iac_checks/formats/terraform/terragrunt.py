"""Terragrunt units: a ``terragrunt.hcl`` names the module it deploys (``terraform { source =
... }``) and the values of its variables (``inputs = { ... }``); the module is evaluated as a
root module with those values, or the unit is an IMDS004 warning — never a silent pass.

How Terragrunt runs a unit (terragrunt.gruntwork.io, docs/features/inputs and
docs/reference/config-blocks-and-attributes; cli/tfsource in gruntwork-io/terragrunt):

- ``source`` takes the syntax of a module source; Terragrunt downloads the part before ``//``
  into ``<unit>/.terragrunt-cache/<sha1 of the unit directory>/<sha1 of the source URL
  without its query>/`` and runs Terraform in the part after ``//`` below it. A local source
  (``./``, ``../``, an absolute path) is copied there too: it is read where it is instead.
  Without a ``terraform`` block, Terraform runs in the unit directory itself.
- ``inputs`` are passed as ``TF_VAR_name`` environment variables: the lowest precedence, under
  a ``TF_VAR_`` already set, ``terraform.tfvars``, ``*.auto.tfvars`` and ``-var``.
- An ``include``d configuration's ``inputs`` are merged under the unit's (the unit's win);
  its ``terraform`` block is used when the unit has none.

What is read here: literal values (the HCL evaluator: operators, conditionals, the functions it
knows). ``local.*``, ``dependency.*.outputs``, ``include.*``, ``get_env()`` and Terragrunt's other
functions are unknown values: IMDS004 where they reach a setting. An ``include`` whose path is a
literal or ``find_in_parent_folders()`` (with a literal name, or none) is read for its ``inputs``
and ``source``; one that cannot be read makes every variable the unit does not set unknown (the
included inputs may set it). Findings on a value written in ``inputs`` point there; a fix of a
literal there is safe (the unit's own value, as a module call's argument), of one in an included
file unsafe (every unit that includes it shares it).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, NamedTuple

from imds_iac_checks import source
from imds_iac_checks.formats.terraform import module as tfm
from imds_iac_checks.formats.terraform import syntax
from imds_iac_checks.formats.terraform.eval import Scope, Val, unknown
from imds_iac_checks.formats.terraform.syntax import Source
from imds_iac_checks.model import LinkKind, ScanError, Span, Target
from imds_iac_checks.source import display_path, too_big

if TYPE_CHECKING:
    from tree_sitter import Node

CACHE = ".terragrunt-cache"
# Bounds: directory entries listed on each level of a unit's cache, parent directories searched
# by find_in_parent_folders(), included files read per unit.
MAX_CACHE_ENTRIES = 256
MAX_PARENTS = 32
MAX_INCLUDES = 8


class Unit(NamedTuple):
    """A unit read from its ``terragrunt.hcl``: the module directory evaluated as its root (None
    when it cannot be), the values its ``inputs`` give, an unknown value for every variable it
    does not set when an included file could not be read (``rest``), and the IMDS004 target
    that says why the module was not evaluated."""

    directory: str | None
    inputs: dict[str, tfm.VarInput]
    rest: Val | None
    problem: Target | None


class _Config:
    """What one Terragrunt file says: its ``terraform`` block and ``source``, ``inputs``
    (evaluated: a known object, or an unknown value), and its ``include`` blocks."""

    def __init__(self, parsed: tfm.ParsedFile) -> None:
        self.src: Source = parsed.src
        self.root = parsed.root
        self.terraform: Node | None = None
        self.source_expr: Node | None = None
        self.inputs_expr: Node | None = None
        self.includes: list[tuple[str, Node]] = []  # (label, the include block)
        evaluator = tfm.Module([parsed], {})
        self.module = evaluator
        for body in syntax.children(parsed.root, "body"):
            for name, expr in syntax.attributes(body).items():
                if name == "inputs":
                    self.inputs_expr = expr
            for block in syntax.children(body, "block"):
                kind = syntax.ident(block)
                if kind == "terraform" and self.terraform is None:
                    self.terraform = block
                    attrs = syntax.attributes(syntax.child(block, "body"))
                    self.source_expr = attrs.get("source")
                elif kind == "include":
                    labels = syntax.labels(parsed.src, block)
                    self.includes.append((labels[0] if labels else "", block))

    def source(self) -> object:
        """The literal source, ``syntax.NOT_LITERAL``, or None when there is none."""
        if self.source_expr is None:
            return None
        return syntax.literal(self.src, self.source_expr)

    def inputs(self, kind: str, place: str) -> tuple[dict[str, Val] | None, Val | None]:
        """The ``inputs`` by name, each labelled as written at ``place``; or None with the
        unknown value of an ``inputs`` that is not an object of known keys."""
        if self.inputs_expr is None:
            return {}, None
        scope = Scope(self._no_variable, self._no_local)
        value = self.module.evaluate(self.src, self.inputs_expr, scope)
        if not value.known or value.choices or not isinstance(value.v, dict):
            why = f"inputs in {self.src.path} could not be evaluated"
            return None, unknown(self.src, self.inputs_expr, why)
        return {k: v.relabelled(kind, k, place) for k, v in value.v.items()}, None

    def _no_variable(self, name: str, src: Source, node: Node) -> Val:
        return unknown(src, node, f"var.{name} (a Terragrunt file has no variables)")

    def _no_local(self, name: str, src: Source, node: Node) -> Val:
        return unknown(src, node, f"local.{name} (Terragrunt locals are not evaluated)")


def _read(
    path: str, shown: str, files: source.Files, max_size: int
) -> tuple[_Config | None, list[ScanError]]:
    try:
        over = too_big(path, shown, max_size, files)
        if over is not None:
            return None, [over]
        data = files.read(path)
    except OSError as exc:
        return None, [ScanError(shown, 0, 0, f"cannot read: {exc.strerror or exc}")]
    if b"\x00" in data:
        return None, [ScanError(shown, 0, 0, "not a text file (it holds NUL bytes): not scanned")]
    parsed, errors = tfm.parse_bytes(shown, data)
    if parsed is None:
        return None, errors
    return _Config(parsed), []


def split_source(text: str) -> tuple[str, str]:
    """A source as Terragrunt splits it: what is downloaded (the part before ``//``, after any
    ``scheme://``) and the subdirectory Terraform runs in, both without the query."""
    text = text.split("?", 1)[0]
    scheme = text.find("://")
    start = scheme + 3 if scheme >= 0 else 0
    cut = text.find("//", start)
    if cut < 0:
        return text, ""
    return text[:cut], text[cut + 2 :].strip("/")


def is_local(text: str) -> bool:
    return text.startswith(("./", "../", "/"))


def _subdirectories(directory: str) -> list[str]:
    """The directories in ``directory`` (at most MAX_CACHE_ENTRIES + 1 of them), sorted."""
    out = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    out.append(entry.path)
                    if len(out) > MAX_CACHE_ENTRIES:
                        break
    except OSError:
        return []
    return sorted(out)


def cached_copies(unit_dir: str) -> list[str]:
    """The downloaded copies in a unit's ``.terragrunt-cache``: ``<hash>/<hash>/`` directories
    (bounded: more than MAX_CACHE_ENTRIES on a level count as several)."""
    copies: list[str] = []
    for first in _subdirectories(os.path.join(unit_dir, CACHE)):
        copies += _subdirectories(first)
        if len(copies) > MAX_CACHE_ENTRIES:
            break
    return copies


def _has_tf(directory: str) -> bool:
    try:
        return any(name.endswith((".tf", ".tf.json")) for name in os.listdir(directory))
    except OSError:
        return False


def _find_in_parents(unit_dir: str, name: str) -> str | None:
    directory = unit_dir
    for _ in range(MAX_PARENTS):
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def _include_path(config: _Config, block: Node, unit_dir: str) -> str | None:
    """The file an ``include`` block names: a literal path, or ``find_in_parent_folders()``
    with a literal name or none; None otherwise."""
    attrs = syntax.attributes(syntax.child(block, "body"))
    expr = attrs.get("path")
    if expr is None:
        return None
    literal = syntax.literal(config.src, expr)
    if isinstance(literal, str) and literal:
        return os.path.normpath(os.path.join(unit_dir, literal))
    node = syntax.unwrap(expr)
    if node.type != "function_call":
        return None
    if config.src.text(node.named_children[0]) != "find_in_parent_folders":
        return None
    args_node = syntax.child(node, "function_arguments")
    args = [c for c in args_node.named_children if c.type == "expression"] if args_node else []
    if not args:
        return _find_in_parents(unit_dir, "terragrunt.hcl")
    name = syntax.literal(config.src, args[0])
    if len(args) > 2 or not isinstance(name, str) or not name or "/" in name:
        return None
    return _find_in_parents(unit_dir, name)


def read_unit(
    path: str, shown: str, cwd: str, files: source.Files, max_size: int
) -> tuple[Unit | None, list[ScanError]]:
    """Read the unit of ``path`` (a ``terragrunt.hcl``); None with the errors of a file that
    cannot be read or parsed."""
    config, errors = _read(path, shown, files, max_size)
    if config is None:
        return None, errors
    unit_dir = os.path.dirname(os.path.abspath(path))
    inputs: dict[str, Val] = {}
    rest: Val | None = None
    source_config: _Config | None = config if config.source_expr is not None else None
    for label, block in config.includes[:MAX_INCLUDES]:
        included_path = _include_path(config, block, unit_dir)
        included = None
        if included_path is not None and os.path.abspath(included_path) != os.path.abspath(path):
            included_shown = display_path(included_path, cwd)
            included, include_errors = _read(included_path, included_shown, files, max_size)
            errors += include_errors
        what = f'include "{label}"' if label else "include"
        if included is None:
            why = (
                f"not set in the unit's inputs, and the inputs of {what} may set it ({what} "
                "was not read: its path is neither a literal nor find_in_parent_folders() "
                "finding a file)"
            )
            rest = unknown(config.src, block, why)
            continue
        values, failed = included.inputs(LinkKind.SHARED_MODULE_INPUT, included.src.path)
        if values is None:
            rest = failed
        else:
            inputs.update(values)
        if source_config is None and included.source_expr is not None:
            source_config = included
    own, failed = config.inputs(LinkKind.MODULE_INPUT, shown)
    if own is None:
        rest = failed
    else:
        inputs.update(own)
    var_inputs = {
        name: tfm.VarInput(None, None, shown, value, LinkKind.MODULE_INPUT)
        for name, value in inputs.items()
    }
    directory, problem = _directory(config, source_config, unit_dir, cwd)
    return Unit(directory, var_inputs, rest, problem), errors


def _directory(
    config: _Config, source_config: _Config | None, unit_dir: str, cwd: str
) -> tuple[str | None, Target | None]:
    """The module directory a unit runs Terraform in, or the IMDS004 target saying why none."""
    if source_config is None:
        if _has_tf(unit_dir):  # no source: Terraform runs in the unit directory itself
            return unit_dir, None
        if config.includes:
            reason = (
                "it has no terraform { source } and its include was not read; write the source "
                "in the unit, or include a file by a literal path or find_in_parent_folders()"
            )
        else:
            reason = "it has no terraform { source } and its directory no .tf file"
        return None, _problem(config, None, reason)
    written = source_config.source()
    if not isinstance(written, str):
        return None, _problem(source_config, written, None)
    root, subdir = split_source(written)
    if is_local(root):
        base = root if os.path.isabs(root) else os.path.join(unit_dir, root)
        directory = os.path.normpath(os.path.join(base, subdir))
        if not os.path.isdir(directory):
            missing = f"directory {display_path(directory, cwd)} does not exist"
            return None, _problem(source_config, written, missing)
        return directory, None
    copies = cached_copies(unit_dir)
    if not copies:
        return None, _problem(source_config, written, None)
    if len(copies) > 1:
        count = f"more than {MAX_CACHE_ENTRIES}" if len(copies) > MAX_CACHE_ENTRIES else len(copies)
        reason = (
            f"{CACHE} holds {count} downloaded copies and which one is this source's is not "
            f"known; delete {CACHE} and run terragrunt init (or plan) again"
        )
        return None, _problem(source_config, written, reason)
    directory = os.path.normpath(os.path.join(copies[0], subdir))
    if not _has_tf(directory):
        shown = display_path(directory, cwd)
        reason = (
            f"{shown} holds no .tf file; delete {CACHE} and run terragrunt init (or plan) again"
        )
        return None, _problem(source_config, written, reason)
    return directory, None


def _problem(config: _Config, written: object, reason: str | None) -> Target:
    from imds_iac_checks.formats.terraform import unevaluated

    why = unevaluated.explain_unit(written, reason)
    block = config.terraform
    if block is None:
        block = config.includes[0][1] if config.includes else config.root
    where: Span
    if config.source_expr is not None:
        where = config.src.span(config.source_expr)
    else:
        where = config.src.span(block)
    return tfm.problem_target(
        tfm.MODULE_CALL,
        "terragrunt",
        config.src,
        block,
        where,
        why,
        LinkKind.NOT_EVALUATED,
    )
