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

from imds_iac_checks.formats.terraform import module as hcl
from imds_iac_checks.formats.terraform import syntax
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
    return not syntax._get_parser().parse(path.read_bytes()).root_node.has_error


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


# --- generated comment, spacing and number forms (issue 12, item 16) ----------------------------

GENERATED_SEEDS = range(60)


def _go_settings(text: str) -> dict[str, dict[str, object]]:
    """Per instance address, the metadata settings HashiCorp's parser reads from ``text``."""
    import pygohcl

    out: dict[str, dict[str, object]] = {}
    for name, body in pygohcl.loads(text).get("resource", {}).get("aws_instance", {}).items():
        options = body.get("metadata_options") or {}
        settings = {k: v for k, v in options.items() if k.startswith("http_")}
        count = body.get("count")
        suffixes = [""] if count is None else [f"[{n}]" for n in range(int(count))]
        for suffix in suffixes:
            out[f"aws_instance.{name}{suffix}"] = settings
    return out


def _our_settings(text: str) -> dict[str, dict[str, object]]:
    from imds_iac_checks.model import HOP_LIMIT, TOKENS

    targets, errors = hcl.parse("main.tf", text.encode())
    assert errors == []
    fields = {TOKENS: "http_tokens", HOP_LIMIT: "http_put_response_hop_limit"}
    out: dict[str, dict[str, object]] = {}
    for target in targets:
        settings: dict[str, object] = {}
        for key, values in target.settings.items():
            if key in fields:
                (value,) = values
                assert value.known, f"{target.address}: {value.expression} not evaluated"
                settings[fields[key]] = value.raw
        out[target.address] = settings
    return out


@pytest.mark.parametrize("seed", GENERATED_SEEDS)
def test_generated_comments_spacing_and_numbers_agree_with_hashicorp(seed: int) -> None:
    """Comments anywhere between tokens, no spaces at all, identifier labels, numbers with
    exponents: the same instances and the same values as HashiCorp's parser."""
    import random

    from tests.hostile.hcl import document

    text, expected = document(random.Random(seed), 5)
    go = _go_settings(text)
    assert go == expected, "the generator's expectation is not what HCL reads"
    ours = _our_settings(text)
    assert ours.keys() == go.keys()
    for address, settings in go.items():
        assert ours[address].keys() == settings.keys(), address
        for key, value in settings.items():
            got = ours[address][key]
            if isinstance(value, str):
                assert got == value, (address, key)
            else:
                assert float(got) == float(value), (address, key)  # type: ignore[arg-type]


def _break_line(text: str, rng: object) -> str:
    """Put a line break where HCL forbids one: inside a block header or right after "="."""
    import random

    assert isinstance(rng, random.Random)

    def in_comment(i: int) -> bool:
        return text.rfind("/*", 0, i) > text.rfind("*/", 0, i)

    spots = [i for i, ch in enumerate(text) if ch in "={" and not in_comment(i)]
    at = rng.choice(spots[:2] + [i for i in spots if text[i] == "="])
    where = at + 1 if text[at] == "=" else at
    return text[:where] + rng.choice(["\n", " # c\n", " // c\n"]) + text[where:]


@pytest.mark.parametrize("seed", range(30))
def test_generated_misplaced_newlines_are_rejected_like_hashicorp(seed: int) -> None:
    import random

    from tests.hostile.hcl import document

    rng = random.Random(seed)
    text, _ = document(rng, 2)
    broken = _break_line(text, rng)
    assert not _go_ok(broken), broken
    assert hcl.parse("main.tf", broken.encode())[1], broken


def _go_ok(text: str) -> bool:
    import pygohcl

    try:
        pygohcl.loads(text)
    except Exception:
        return False
    return True


@pytest.mark.parametrize("depth", [1, 30, 63, 64, 65, 100, 500])
def test_nested_templates_parse_at_any_depth(depth: int) -> None:
    """tree-sitter-hcl loses its state past ~64 nested templates; HashiCorp's parser does not.
    Past 48 levels imds-iac reads the value as unknown (IMDS004), never as a syntax error."""
    from tests.hostile.hcl import nested_template

    text = (
        'resource "aws_instance" "deep" {\n  metadata_options {\n'
        f"    http_tokens = {nested_template(depth)}\n  }}\n}}\nb = 1\n"
    )
    assert _go_ok(text)
    targets, errors = hcl.parse("main.tf", text.encode())
    assert errors == []
    (target,) = targets
    (value,) = target.settings["tokens"]
    assert value.value == "optional" or not value.known


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e3", None),
        ("1e+3", None),
        ("1E-2", None),
        ("1e400", None),
        ("10E+1", None),
        ("-1e3", None),
        ("1.5e3", None),
        ("[1e3, 2e0][0]", 1000),
        ("(1e3)", 1000),
        ("1e3 + 1", 1001),
    ],
)
def test_exponent_numbers_evaluate_like_hashicorp(text: str, expected: object) -> None:
    import pygohcl

    from imds_iac_checks.formats.terraform import module as terraform_module
    from imds_iac_checks.formats.terraform.eval import Scope, evaluate

    data = f"v = {text}\n".encode()
    go = pygohcl.loads(data.decode())["v"]  # an expression's source text unless a literal
    parsed, errors = terraform_module.parse_bytes("main.tf", data)
    assert parsed is not None and errors == []
    (body,) = syntax.children(parsed.root, "body")
    expr = syntax.attributes(body)["v"]
    scope = Scope(lambda *a: None, lambda *a: None)  # type: ignore[arg-type,return-value]
    value = evaluate(parsed.src, expr, scope)
    assert value.known
    assert value.v == (go if expected is None else expected)


def test_a_syntax_error_after_an_exponent_is_reported_where_it_is() -> None:
    """Repairing 1e3 must not move a real error: it is reported at its own line."""
    data = b"a = 1e3\nb = 2\nc = [\n"
    _targets, errors = hcl.parse("main.tf", data)
    assert errors and errors[0].line >= 3
