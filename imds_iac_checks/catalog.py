"""The rule catalog: ``rules/*.toml``, one file per rule, shipped inside the wheel.

The catalog is the documentation of each rule (why, how to fix, examples, references, peer ids).
It drives ``imds-iac rules`` and the generated docs; loading it needs a TOML parser, so a plain
``check`` never loads it.
"""

from __future__ import annotations

import os
import sys
from typing import Any

REQUIRED_KEYS = (
    "id",
    "name",
    "title",
    "severity",
    "summary",
    "applies_to",
    "why",
    "fix_safety",
    "options",
    "known_problems",
    "how_to_fix",
    "examples",
    "references",
)


def catalog_dir() -> str:
    """``imds_iac_checks/rules`` in an installed wheel (the TOML files ship beside the rule
    modules); ``rules/`` beside the package in a checkout."""
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.path.join(here, "rules"), os.path.join(os.path.dirname(here), "rules")):
        if os.path.isdir(candidate) and any(n.endswith(".toml") for n in os.listdir(candidate)):
            return candidate
    raise FileNotFoundError("the rule catalog (rules/*.toml) is missing from this installation")


def entries() -> dict[str, dict[str, Any]]:
    """The catalog files as written: rule id -> its TOML table."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    directory = catalog_dir()
    rules: dict[str, dict[str, Any]] = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".toml"):
            with open(os.path.join(directory, name), "rb") as fh:
                rule = tomllib.load(fh)
            rules[rule["id"]] = rule
    return rules


def load() -> dict[str, dict[str, Any]]:
    """The documentation of every registered rule, in registry order: its catalog entry joined by
    id, with the peer ids the rule declares. A rule registered without a catalog entry (at run
    time) is documented by what its ``Rule`` says."""
    from imds_iac_checks.rules import REGISTRY

    files = entries()
    out: dict[str, dict[str, Any]] = {}
    for rule in REGISTRY.values():
        doc = dict(files[rule.id]) if rule.id in files else _undocumented(rule)
        doc["peers"] = {tool: list(ids) for tool, ids in rule.peers.items()}
        out[rule.id] = doc
    return out


def _undocumented(rule: Any) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "title": rule.title,
        "severity": rule.severity,
        "summary": rule.title,
        "applies_to": [],
        "why": "",
        "fix_safety": "",
        "options": "",
        "known_problems": "",
        "how_to_fix": [],
        "examples": [],
        "references": [],
    }


def render_markdown(rule: dict[str, Any]) -> str:
    """One rule as Markdown, in ruff's fixed sections."""
    lang = {
        "terraform": "hcl",
        "cloudformation": "yaml",
        "ansible": "yaml",
        "kubernetes": "yaml",
        "ec2-api-json": "json",
        "policy-json": "json",
        "packer": "hcl",
        "shell": "sh",
        "powershell": "powershell",
        "python": "python",
        "requirements": "text",
        "package.json": "json",
    }
    out = [f"# {rule['id']} {rule['name']}", ""]
    out += [f"**{rule['title']}** · severity: `{rule['severity']}`"]
    out += ["", "## What it does", "", rule["summary"].strip()]
    if rule["applies_to"]:  # a rule that judges suppressions applies to no resource kind
        out += ["", "Applies to: " + ", ".join(f"`{k}`" for k in rule["applies_to"])]
    out += ["", "## Why is this bad?", "", rule["why"].strip()]
    for ex in rule["examples"]:
        fence = lang.get(ex["format"], "")
        out += ["", f"## Example ({ex['format']}): {ex['title']}", "", f"```{fence}"]
        out += [ex["bad"].rstrip("\n"), "```", "", "Use instead:", "", f"```{fence}"]
        out += [ex["good"].rstrip("\n"), "```"]
    out += ["", "## How to fix"]
    for fix in rule["how_to_fix"]:
        fence = lang.get(fix["format"], "")
        out += ["", f"### {fix['format']}", "", fix["text"].strip(), "", f"```{fence}"]
        out += [fix["snippet"].rstrip("\n"), "```"]
    out += ["", "## Fix safety", "", rule["fix_safety"].strip() or "No notes."]
    if rule["options"].strip():
        out += ["", "## Options", "", rule["options"].strip()]
    if rule["known_problems"].strip():
        out += ["", "## Known problems", "", rule["known_problems"].strip()]
    peers = rule.get("peers") or {}
    if peers:
        out += ["", "## Equivalent checks in other tools", ""]
        out += [f"- {tool}: " + ", ".join(f"`{i}`" for i in ids) for tool, ids in peers.items()]
    out += ["", "## References", ""]
    out += [f"- [{ref['title']}]({ref['url']})" for ref in rule["references"]]
    return "\n".join(out) + "\n"


def render_text(rule: dict[str, Any]) -> str:
    """One rule for a terminal: the Markdown minus the fences, code indented."""
    lines: list[str] = []
    in_code = False
    for line in render_markdown(rule).split("\n"):
        if line.startswith("```"):
            in_code = not in_code
            continue
        lines.append("    " + line if in_code and line else line)
    return "\n".join(lines)
