"""Golden output: the reports on the bundled ``fixtures/`` tree, byte for byte.

These files were written before the rule registry refactor (issue 13) and pin what every report
writer, the fixer's diff and ``imds-iac rules`` print, so that a change of structure cannot change
output by accident. When output changes on purpose, regenerate them with
``python tests/test_golden.py --update`` and review the diff like any other change.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "data" / "golden"

CASES = {
    "fixtures.json": ("check", "--format", "json", "fixtures/"),
    "fixtures.sarif": ("check", "--format", "sarif", "fixtures/"),
    "fixtures.text": ("check", "--format", "text", "fixtures/"),  # = full, the default
    "fixtures.concise": ("check", "--format", "concise", "fixtures/"),
    "fixtures.github": ("check", "--format", "github", "fixtures/"),
    "fixtures.junit": ("check", "--format", "junit", "fixtures/"),
    "fixtures.gitlab": ("check", "--format", "gitlab", "fixtures/"),
    "fix-diff.txt": ("fix", "--diff", "fixtures/"),
    "fix-diff-unsafe.txt": ("fix", "--diff", "--unsafe-fixes", "fixtures/"),
    "rules.txt": ("rules",),
    "rules-IMDS002.txt": ("rules", "IMDS002"),
}

# What differs between checkouts and releases, not between structures.
_ROOT_URI = "file://" + ROOT.as_posix() + "/"


def _normalise(text: str) -> str:
    from imds_iac_checks import __version__

    return (
        text.replace(_ROOT_URI, "file://ROOT/")
        .replace(f'"version": "{__version__}"', '"version": "VERSION"')
        .replace(f'"semanticVersion": "{__version__}"', '"semanticVersion": "VERSION"')
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_is_unchanged(cli, name: str) -> None:
    run = cli(*CASES[name], cwd=ROOT)
    expected = (GOLDEN / name).read_text(encoding="utf-8")
    assert _normalise(run.out) == expected


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    import contextlib
    import io
    import os

    from imds_iac_checks.cli import main

    os.chdir(ROOT)
    for name, args in CASES.items():
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            main(list(args))
        (GOLDEN / name).write_text(_normalise(out.getvalue()), encoding="utf-8")
