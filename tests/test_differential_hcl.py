"""Differential test: our HCL front end against HashiCorp's parser (pygohcl wraps hashicorp/hcl).

Every ``.tf`` under ``fixtures/`` must give an error-free tree-sitter tree exactly when HashiCorp's
parser accepts it (they are all valid, so both must accept). The edge-case corpus under
``tests/data/hcl/`` (and the peer corpus in ``../shared`` when present) must get the same verdict
from ``imds-iac``'s adapter — tree-sitter plus the HCL structure rules tree-sitter-hcl leaves out —
as from HashiCorp's parser, except for the documented grammar gaps in ``KNOWN_DIFFERENCES``.
"""

from __future__ import annotations

import importlib.util
import random
import re
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


# --- what HashiCorp's parser says, and where (issue 14, point 7) -------------------------------

INVALID_FILES = sorted((CORPUS / "invalid").glob("*.tf"))
_GO_DIAGNOSTIC = re.compile(
    r"invalid HCL: tmp\.hcl:(\d+),(\d+)-[\d,]+: ([^;]*); (.*?)(?=, tmp\.hcl:\d+,\d+-[\d,]+: |$)",
    re.S,
)


def _go_first_diagnostic(text: str) -> tuple[int, int, str, str] | None:
    """pygohcl's first diagnostic: line, column, summary, detail (or None: it parses)."""
    import pygohcl

    try:
        pygohcl.loads(text)
    except Exception as exc:
        match = _GO_DIAGNOSTIC.match(str(exc))
        assert match is not None, str(exc)
        line, column, summary, detail = match.groups()
        return int(line), int(column), summary, " ".join(detail.split())
    return None


def _our_error(data: bytes) -> tuple[int, int, str] | None:
    _targets, errors = hcl.parse("tmp.hcl", data)
    return (errors[0].line, errors[0].column, errors[0].message) if errors else None


def test_the_syntax_corpus_covers_the_usual_mistakes() -> None:
    found = [_go_first_diagnostic(p.read_text(encoding="utf-8")) for p in INVALID_FILES]
    summaries = {diagnostic[2] for diagnostic in found if diagnostic is not None}
    assert {
        "Invalid expression",
        "Unclosed configuration block",
        "Invalid multi-line string",
        "Unterminated template string",
        "Argument or block definition required",
        "Invalid block definition",
        "Invalid character",
        "Missing newline after argument",
        "Unexpected comma after argument",
        "Extra characters after interpolation expression",
        "Missing item separator",
        "Attribute redefined",
    } <= summaries


@pytest.mark.parametrize("path", INVALID_FILES, ids=lambda p: p.name)
def test_a_syntax_error_is_reported_where_and_as_hashicorp_reports_it(path: Path) -> None:
    """Line, column, summary and detail of HashiCorp's first diagnostic: `main.tf:7:21: Invalid
    expression: Expected the start of an expression, ...` for `http_tokens = = "optional"`, where
    tree-sitter's recovery said "unexpected end of file" or pointed at the enclosing block."""
    data = path.read_bytes()
    go = _go_first_diagnostic(data.decode("utf-8"))
    assert go is not None
    line, column, summary, detail = go
    ours = _our_error(data)
    assert ours is not None
    assert ours[:2] == (line, column)
    # "Invalid character" names the character (a one-line report shows no source line).
    assert ours[2] == f"{summary}: {detail}" or ours[2].startswith(f"{summary}: {detail} (U+")


def _mutations(seed: int, count: int) -> list[str]:
    """``count`` single and double edits of the fixtures' and rule cases' valid .tf files: the
    typing mistakes a person makes (a stray or missing bracket, quote, "=", comma, ...)."""
    rng = random.Random(seed)
    files = sorted(ROOT.glob("fixtures/**/*.tf")) + sorted(ROOT.glob("tests/rules/**/*.tf"))
    texts = [p.read_text(encoding="utf-8") for p in files]
    inserts = [
        *"={}\"',\n[]().:?*&;#\\x1\u201c",
        "${",
        "%{",
        "<<EOT\n",
        "/*",
        " = ",
        "${var.",
    ]
    out = []
    for _ in range(count):
        text = rng.choice(texts)
        for _edit in range(rng.choice((1, 1, 2))):
            at = rng.randrange(len(text) + 1)
            if text and rng.random() < 0.3:
                text = text[:at] + text[at + 1 :]
            else:
                text = text[:at] + rng.choice(inserts) + text[at:]
        out.append(text)
    return out


# Where tree-sitter-hcl accepts what HashiCorp's parser rejects (the verdict, not the message):
# a quoted string whose closing quote is on a later line, a newline inside an expression
# (`a = b\n * c`) or between an object key and its "=", a template in a block label. Found by the
# edits below; documented in docs/reliability.md.
KNOWN_ACCEPTED = {
    "Invalid multi-line string",
    "Missing attribute value",
    "Argument or block definition required",
    "Invalid string literal",
}


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_edited_files_get_hashicorps_position_and_summary(seed: int) -> None:
    """Random edits of realistic files: wherever imds-iac rejects one, HashiCorp's parser rejects
    it too, at the same line and column, with the same summary."""
    for text in _mutations(seed, 150):
        go = _go_first_diagnostic(text)
        ours = _our_error(text.encode())
        if ours is None:
            assert go is None or go[2] in KNOWN_ACCEPTED, text
            continue
        assert go is not None, text
        assert (ours[0], ours[1], ours[2].split(":")[0]) == go[:3], text
