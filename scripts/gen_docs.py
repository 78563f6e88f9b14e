#!/usr/bin/env python3
"""Render the rule catalog (rules/*.toml) to docs/rules.md.

python scripts/gen_docs.py          # write docs/rules.md
python scripts/gen_docs.py --check  # exit 1 when docs/rules.md is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from imds_iac_checks import catalog

OUT = Path(__file__).resolve().parent.parent / "docs" / "rules.md"


def render() -> str:
    rules = catalog.load()
    parts = [
        "# Rules",
        "",
        "Generated from `rules/*.toml` and the rule modules (`imds_iac_checks/rules/`: peer ids) "
        "by `python scripts/gen_docs.py`; "
        "`imds-iac rules RULE` prints the same text.",
        "",
        "| Rule | Name | Severity | Title |",
        "|---|---|---|---|",
    ]
    for rule in rules.values():
        anchor = f"{rule['id']}-{rule['name']}".lower()
        parts.append(
            f"| [{rule['id']}](#{anchor}) | {rule['name']} | {rule['severity']} | {rule['title']} |"
        )
    for rule in rules.values():
        body = catalog.render_markdown(rule)
        # Demote every heading one level: each rule is a section of this page.
        lines = ["#" + line if line.startswith("#") else line for line in body.split("\n")]
        parts += ["", *lines]
    return "\n".join(parts).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="render docs/rules.md from the rule catalog")
    parser.add_argument("--check", action="store_true", help="only check that it is up to date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is out of date: run python scripts/gen_docs.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
