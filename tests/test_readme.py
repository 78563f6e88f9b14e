"""The README is checked, not trusted: its examples are what the commands print, its links lead
somewhere, and what it says about installing can be done.

Every ```` ```console ```` block starts with one ``$ imds-iac ...`` line; the rest of the block is
what that command prints (standard output, then standard error), run from a directory holding a
fresh copy of ``fixtures/`` (so ``fix`` may write). After a change of output that is intended,
regenerate the blocks with::

    python tests/test_readme.py --update
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(r"```console\n\$ (?P<command>[^\n]*)\n(?P<output>.*?)```", re.S)


def run_example(command: str) -> str:
    """What ``command`` (an ``imds-iac ...`` line) prints, run on a fresh copy of fixtures/."""
    argv = shlex.split(command)
    assert argv[0] == "imds-iac", command
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TF_VAR_", "IMDS_IAC_")) and k not in ("FORCE_COLOR", "NO_COLOR")
    }
    env.update(NO_COLOR="1", COLUMNS="100", IMDS_IAC_CACHE_DIR="", PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ROOT / "fixtures", Path(tmp) / "fixtures")
        proc = subprocess.run(
            [sys.executable, "-m", "imds_iac_checks", *argv[1:]],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    return proc.stdout + proc.stderr


def examples(text: str) -> list[re.Match[str]]:
    return list(BLOCK.finditer(text))


def update() -> None:
    text = README.read_text(encoding="utf-8")
    out, last = [], 0
    for m in examples(text):
        printed = run_example(m.group("command"))
        if printed and not printed.endswith("\n"):
            printed += "\n"
        out += [text[last : m.start("output")], printed]
        last = m.end("output")
    out.append(text[last:])
    README.write_text("".join(out), encoding="utf-8")


def _example_ids() -> list[str]:
    return [m.group("command") for m in examples(README.read_text(encoding="utf-8"))]


def test_readme_has_examples() -> None:
    commands = _example_ids()
    assert any(c.startswith("imds-iac check ") for c in commands)
    assert any(c.startswith("imds-iac fix ") for c in commands)
    assert "imds-iac rules" in commands


@pytest.mark.parametrize("command", _example_ids())
def test_readme_example_is_what_the_command_prints(command: str) -> None:
    text = README.read_text(encoding="utf-8")
    (block,) = [m for m in examples(text) if m.group("command") == command]
    assert block.group("output") == run_example(command), (
        f"the README's output of `{command}` is stale: run python tests/test_readme.py --update"
    )


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_readme_links_resolve() -> None:
    text = README.read_text(encoding="utf-8")
    anchors = {_slug(h) for h in re.findall(r"^#+ (.*)$", text, re.M)}
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://")):
            continue
        path, _, anchor = target.partition("#")
        if path:
            assert (ROOT / path).exists(), f"README links to {path}, which does not exist"
        elif anchor:
            assert anchor in anchors, f"README links to #{anchor}, which no heading makes"


def test_readme_table_of_contents_lists_every_section() -> None:
    text = README.read_text(encoding="utf-8")
    contents = text[text.index("## Contents") :].split("\n## ", 1)[0]
    sections = [h for h in re.findall(r"^## (.*)$", text, re.M) if h != "Contents"]
    for heading in sections:
        assert f"](#{_slug(heading)})" in contents, f"section {heading!r} is not in the contents"


def test_readme_install_instructions_can_be_followed() -> None:
    """Nothing is published on PyPI and no release is tagged: the README must not say
    ``pip install imds-iac`` or pin a tag that does not exist."""
    from imds_iac_checks import __version__

    text = README.read_text(encoding="utf-8")
    assert "Not yet" not in text
    for m in re.finditer(r"pip install ['\"]?imds-iac(\[[^\]]*\])?(?P<rest>[^\n]*)", text):
        assert m.group("rest").lstrip("'\" ").startswith("@ git+"), m.group(0)
    tags = subprocess.run(
        ["git", "tag"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    revs = re.findall(r"^\s*rev: (\S+)", text, re.M)
    revs += re.findall(r"uses: imds-iac/imds-iac@(\S+)", text)
    for rev in revs:
        assert rev == "main" or rev in tags or re.fullmatch(r"[0-9a-f]{40}", rev), rev
    # --version and the changelog agree: a development version of the release after the last
    # one the changelog records, whose changes are its Unreleased section.
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.M)
    assert "## [Unreleased]" in changelog
    if __version__ in released:
        assert changelog.index(f"## [{__version__}]") < changelog.index("## [Unreleased]")
    else:
        assert re.fullmatch(r"\d+\.\d+\.\d+\.dev\d+", __version__), __version__
        assert tuple(map(int, __version__.split(".")[:3])) > tuple(map(int, released[0].split(".")))
    assert f"`{__version__}`" in text, "the README's Install section names the version"


if __name__ == "__main__":
    if sys.argv[1:] == ["--update"]:
        update()
    else:
        sys.exit("usage: python tests/test_readme.py --update")
