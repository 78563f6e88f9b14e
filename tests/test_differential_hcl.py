"""Differential test: our HCL front end against HashiCorp's parser (pygohcl wraps hashicorp/hcl).

Every ``.tf`` under ``fixtures/`` must give an error-free tree-sitter tree exactly when HashiCorp's
parser accepts it (they are all valid, so both must accept). The edge-case corpus under
``tests/data/hcl/`` (and the peer corpus in ``../shared`` when present) must get the same verdict
from ``imds-iac``'s adapter — tree-sitter plus the HCL structure rules tree-sitter-hcl leaves out —
as from HashiCorp's parser, except for the documented grammar gaps in ``KNOWN_DIFFERENCES``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from imds_iac_checks.formats import hcl
from tests.conftest import FIXTURES, ROOT, SHARED, require_tool

CORPUS = ROOT / "tests" / "data" / "hcl"

# name -> (pygohcl accepts, imds-iac accepts, why)
KNOWN_DIFFERENCES: dict[str, tuple[bool, bool, str]] = {}


def _go_accepts(path: Path) -> bool:
    import pygohcl

    try:
        pygohcl.loads(path.read_text(encoding="utf-8-sig"))
    except Exception:
        return False
    return True


@pytest.fixture(scope="module", autouse=True)
def _pygohcl() -> None:
    available = importlib.util.find_spec("pygohcl") is not None
    require_tool(available, "pygohcl (HashiCorp's HCL parser)")


def _tree_ok(path: Path) -> bool:
    return not hcl._get_parser().parse(path.read_bytes()).root_node.has_error


def _ours_ok(path: Path) -> bool:
    return not hcl.parse(str(path), path.read_bytes())[1]


FIXTURE_FILES = sorted(FIXTURES.rglob("*.tf"))


def test_there_are_fixtures() -> None:
    assert len(FIXTURE_FILES) >= 8


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_tree_is_error_free_exactly_when_hashicorp_accepts(path: Path) -> None:
    assert _tree_ok(path) == _go_accepts(path)
    assert _ours_ok(path) == _go_accepts(path)


CORPUS_FILES = sorted(CORPUS.rglob("*.tf"))


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_edge_cases_agree_with_hashicorp(path: Path) -> None:
    go, ours = _go_accepts(path), _ours_ok(path)
    expected_dir = "valid" if go else "invalid"
    assert path.parent.name == expected_dir, "the corpus file sits in the wrong folder"
    if path.name in KNOWN_DIFFERENCES:
        known_go, known_ours, _why = KNOWN_DIFFERENCES[path.name]
        assert (go, ours) == (known_go, known_ours), "a known difference changed: update the docs"
    else:
        assert ours == go


def test_corpus_covers_both_verdicts() -> None:
    names = {p.parent.name for p in CORPUS_FILES}
    assert names == {"valid", "invalid"}
    assert len(CORPUS_FILES) >= 40


PEER_FILES = sorted((SHARED / "peer-corpus").rglob("*.tf")) if SHARED.is_dir() else []


@pytest.mark.parametrize("path", PEER_FILES, ids=lambda p: p.name)
def test_peer_corpus_agrees_with_hashicorp(path: Path) -> None:
    assert _ours_ok(path) == _go_accepts(path)
