"""The package's structure (issue 13): no import cycle, no module reaching into another's
underscore names, and the rule ids and names only in the rule modules. Imports inside functions
count: a lazy import that dodges a cycle is still a cycle."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from imds_iac_checks import rules
from tests.conftest import ROOT

PACKAGE = ROOT / "imds_iac_checks"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str, level: int, here: str, is_package: bool) -> str:
    if not level:
        return name
    base = here.split(".") if is_package else here.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def _imports(module: str) -> list[tuple[str, str, int]]:
    """(imported module, imported name or "", line) for every import in ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, "", node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node.module or "", node.level, module, is_package)
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    out.append((f"{target}.{alias.name}", "", node.lineno))
                else:
                    out.append((target, alias.name, node.lineno))
    return [i for i in out if i[0] in MODULES]


GRAPH = {m: sorted({i[0] for i in _imports(m)} - {m}) for m in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_what_it_seems() -> None:
    assert "imds_iac_checks.rules" in GRAPH["imds_iac_checks.engine"]
    assert (
        "imds_iac_checks.formats.terraform.syntax"
        in GRAPH["imds_iac_checks.formats.terraform.module"]
    )


def test_no_import_cycle() -> None:
    # A package's __init__ importing its own submodules is not a cycle; anything else is.
    cycles = [c for c in _cycles() if not all(m == c[0] or m.startswith(c[0] + ".") for m in c)]
    assert not cycles, cycles


def test_no_module_imports_another_modules_underscore_names() -> None:
    offenders = []
    for module, path in MODULES.items():
        for imported, name, line in _imports(module):
            if imported != module and name.startswith("_") and not name.startswith("__"):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {imported}.{name}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = _resolve(node.module or "", node.level, module, path.name == "__init__.py")
                for alias in node.names:
                    if f"{target}.{alias.name}" in MODULES:
                        aliases[alias.asname or alias.name] = f"{target}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname and alias.name in MODULES:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and aliases[node.value.id] != module
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                offenders.append(f"{where}: {aliases[node.value.id]}.{node.attr}")
    assert not offenders, "\n".join(offenders)


def test_rule_ids_and_names_appear_only_in_their_rule_modules() -> None:
    """The issue's grep, on the whole source text (docstrings and comments included): a quoted
    rule id, or a rule name, only in the rule's own module."""
    own = {Path(sys.modules[r.check.__module__].__file__ or "") for r in rules.BUILTIN}
    ids = "|".join(r.id for r in rules.BUILTIN)
    quoted = re.compile(rf"[\"'](?:{ids})[\"']")
    names = re.compile("|".join(re.escape(r.name) for r in rules.BUILTIN))
    offenders = []
    for path in MODULES.values():
        if path in own:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if quoted.search(line) or names.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
