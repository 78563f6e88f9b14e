"""Hostile and unusual HCL (issue 12, items 10, 16 and 19): generated inputs, no traceback, time
bounds; the chunked parse of large files gives what the whole-file parse gives."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from imds_iac_checks.config import Overrides, Resolver
from imds_iac_checks.formats.terraform import module as terraform_module
from imds_iac_checks.formats.terraform import syntax as hcl
from imds_iac_checks.scan import scan
from tests.hostile.hcl import GENERATORS, large_file


def _summary(targets: list) -> list[tuple[str, int, list[tuple[str, object, bool]]]]:
    return sorted(
        (
            t.address,
            t.span.line,
            sorted((k, v.value, v.known) for k, vs in t.settings.items() for v in vs),
        )
        for t in targets
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(GENERATORS))
@pytest.mark.parametrize("seed", range(3))
def test_generated_cases_scan_without_traceback(
    name: str, seed: int, tmp_path: Path, cli: object
) -> None:
    GENERATORS[name](random.Random(seed), tmp_path)
    start = time.perf_counter()
    run = cli("check", str(tmp_path))  # type: ignore[operator]
    elapsed = time.perf_counter() - start
    assert "Traceback" not in run.err
    assert run.code in (0, 1), run.err
    assert "syntax error" not in run.out + run.err
    assert elapsed < 20  # generous: a loaded CI machine; about a second when idle


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_large_file_chunked_parse_matches_whole_file_parse(seed: int) -> None:
    """The chunked parse (large files) keeps every target and every value, at the same lines,
    and keeps no block that no rule reads."""
    rng = random.Random(seed)
    data = large_file(rng, 400_000, target_share=rng.choice([0.01, 0.1, 0.5])).encode()
    assert len(data) >= terraform_module._CHUNKED_FROM
    chunked, errors = terraform_module.parse_bytes("main.tf", data, only_relevant=True)
    assert chunked is not None and errors == []
    (body,) = hcl.children(chunked.root, "body")
    kept = hcl.children(body, "block")
    assert kept and all(b'"aws_instance"' in (b.text or b"")[:40] for b in kept)
    whole, errors = terraform_module.parse_bytes("main.tf", data)
    assert whole is not None and errors == []
    ours = terraform_module.Module([chunked], {}).targets()
    theirs = terraform_module.Module([whole], {}).targets()
    assert _summary(ours) == _summary(theirs)
    assert [t.span for t in ours] == [t.span for t in theirs]
    assert all(v.known for t in ours for vs in t.settings.values() for v in vs)


@pytest.mark.slow
def test_large_file_with_a_heredoc_across_a_chunk_boundary() -> None:
    """A heredoc holding `}` lines: chunks that do not parse alone fall back to one parse."""
    rng = random.Random(5)
    script = "".join(f"}}\nfn_{i} () {{\n  echo {i}\n" for i in range(3000))
    data = (
        large_file(rng, 150_000)
        + f'resource "aws_instance" "h" {{\n  user_data = <<EOT\n{script}EOT\n'
        + '  metadata_options {\n    http_tokens = "optional"\n  }\n}\n\n'
        + large_file(rng, 150_000)
    ).encode()
    parsed, errors = terraform_module.parse_bytes("main.tf", data, only_relevant=True)
    assert parsed is not None and errors == []
    targets = terraform_module.Module([parsed], {}).targets()
    (h,) = [t for t in targets if t.address == "aws_instance.h"]
    assert [v.value for v in h.settings["tokens"]] == ["optional"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_large_file_structure_error_in_a_late_chunk_is_reported(seed: int) -> None:
    rng = random.Random(seed)
    head = large_file(rng, 300_000)
    bad = rng.choice(
        [
            (
                'resource "aws_s3_bucket" "b" {\n  a = 1 b = 2\n}\n',
                "Missing newline after argument",
            ),
            ('resource "aws_s3_bucket" "b" {\n  a = 1\n  a = 2\n}\n', "Attribute redefined"),
            ('resource "aws_s3_bucket" "b" {\n  a =\n 1\n}\n', "Invalid expression"),
        ]
    )
    target = 'resource "aws_instance" "t" {\n  ami = "ami-1"\n}\n'  # the chunk is parsed
    data = (head + bad[0] + target + large_file(rng, 100_000)).encode()
    parsed, errors = terraform_module.parse_bytes("main.tf", data, only_relevant=True)
    assert parsed is None
    (error,) = errors
    assert bad[1] in error.message
    assert error.line == head.count("\n") + 2


@pytest.mark.slow
def test_large_file_time_is_bounded() -> None:
    """A 2 MB .tf file of resource blocks: parse, validation and targets in a bounded time (CPU
    seconds, so that a loaded machine does not fail it; about 1 s on an idle laptop)."""
    data = large_file(random.Random(1), 2_000_000).encode()
    start = time.process_time()
    parsed, errors = terraform_module.load_file("main.tf", "main.tf", data)
    assert parsed is not None and errors == []
    targets = terraform_module.Module([parsed], {}).targets()
    elapsed = time.process_time() - start
    assert len(targets) > 100
    assert elapsed < 6, f"{elapsed:.1f} s of CPU for 2 MB"


def test_structure_validation_decodes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 19: validation reads kind ids, offsets and bytes; it decodes text only to report an
    error. (It used to decode every attribute name: 206,000 decodes on 2,000 modules.)"""
    rng = random.Random(3)
    data = large_file(rng, 60_000).encode()
    tree = hcl.parse_tree(data)

    def no_text(self: hcl.Source, node: object) -> str:
        raise AssertionError("structure validation decoded text")

    monkeypatch.setattr(hcl.Source, "text", no_text)
    assert hcl.structure_error(hcl.Source("main.tf", data), tree.root_node) is None


@pytest.mark.parametrize("seed", range(20))
def test_prefilter_finds_blocks_written_any_valid_way(seed: int) -> None:
    """`relevant()` must not skip a file whose target is written with comments, without spaces,
    with identifier labels or after a comment on its line."""
    from tests.hostile.hcl import resource

    rng = random.Random(seed)
    block = resource(rng, "aws_instance", "w", None, "optional", None)
    prefix = rng.choice(["", "/* x */ ", "\ufeff", "/* a\nb */ "])
    data = (prefix + block).encode()
    assert terraform_module.relevant(data)
    parsed, errors = terraform_module.load_file("main.tf", "main.tf", data)
    assert parsed is not None and errors == []
    (target,) = terraform_module.Module([parsed], {}).targets()
    assert [v.value for v in target.settings["tokens"]] == ["optional"]


@pytest.mark.slow
@pytest.mark.parametrize("opener", ["/*\n", "x = <<EOT\n", 'x = "${\n'])
def test_a_multi_line_construct_across_chunks_never_makes_a_phantom_target(opener: str) -> None:
    """A block comment, heredoc or template that starts in a chunk with nothing relevant and
    covers what looks like a resource in the next chunk: that chunk is parsed (it may span lines),
    does not parse alone, and the whole file is parsed: no phantom target from inside it."""
    closer = {"/*\n": "*/\n", "x = <<EOT\n": "EOT\n", 'x = "${\n': '}"\n'}[opener]
    rng = random.Random(2)
    ghost = 'resource "aws_instance" "ghost" {\n  ami = "ami-1"\n}\n\n'
    data = (
        large_file(rng, 200_000, target_share=0.0)
        + opener
        + "}\n"
        + ghost * 400
        + closer
        + large_file(rng, 100_000, target_share=0.0)
        + 'resource "aws_instance" "real" {\n  ami = "ami-2"\n}\n'
    ).encode()
    parsed, errors = terraform_module.parse_bytes("main.tf", data, only_relevant=True)
    if parsed is None:  # the text is not valid HCL for this opener: an error, never a target
        assert errors
        return
    targets = terraform_module.Module([parsed], {}).targets()
    assert [t.address for t in targets] == ["aws_instance.real"]


@pytest.mark.slow
def test_a_sparse_large_file_costs_little() -> None:
    """Chunks with nothing a target can depend on are not parsed: a 2 MB file with a handful of
    targets takes a fraction of the parse of the whole file."""
    data = large_file(random.Random(4), 2_000_000, target_share=0.002).encode()
    start = time.process_time()
    parsed, errors = terraform_module.load_file("main.tf", "main.tf", data)
    assert parsed is not None and errors == []
    targets = terraform_module.Module([parsed], {}).targets()
    elapsed = time.process_time() - start
    whole, _ = terraform_module.parse_bytes("main.tf", data)
    assert whole is not None
    assert _summary(targets) == _summary(terraform_module.Module([whole], {}).targets())
    assert elapsed < 1.0, f"{elapsed:.2f} s of CPU"


KINDS_OF_REPAIR = ("exponent", "deep", "early-error", "late-error")


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "seed"), [(k, s) for k in KINDS_OF_REPAIR for s in (0, 1)])
def test_large_file_repairs_and_errors_cost_one_parse(kind: str, seed: int) -> None:
    """A large file whose chunk needs a repair (`1e3`, a template nested 100 levels) or holds a
    syntax error: repaired or reported in about one parse of the file, and read as the whole-file
    parse reads it."""
    rng = random.Random(seed)
    body = large_file(rng, 300_000)
    at = rng.randrange(len(body) // 2, len(body))
    at = body.index("\nresource", at) + 1 if "\nresource" in body[at:] else len(body)
    insert = {
        "exponent": 'resource "aws_instance" "n" {\n  count = 1e1\n}\n',
        "deep": 'resource "aws_instance" "d" {\n  metadata_options {\n'
        + "    http_tokens = "
        + '"${' * 100
        + '"optional"'
        + '}"' * 100
        + "\n  }\n}\n",
        "early-error": "",
        "late-error": 'resource "aws_instance" "e" {\n  ami = [\n}\n',
    }[kind]
    text = body[:at] + insert + body[at:]
    if kind == "early-error":
        text = "x = [\n" + text
    data = text.encode()
    start = time.process_time()
    parsed, errors = terraform_module.load_file("main.tf", "main.tf", data)
    elapsed = time.process_time() - start
    whole, whole_errors = terraform_module.parse_bytes("main.tf", data)
    if kind.endswith("error"):
        assert parsed is None and whole is None
        assert [(e.line, e.message) for e in errors] == [(e.line, e.message) for e in whole_errors]
    else:
        assert parsed is not None and errors == [] and whole is not None
        ours = terraform_module.Module([parsed], {}).targets()
        assert _summary(ours) == _summary(terraform_module.Module([whole], {}).targets())
        name = {"exponent": "aws_instance.n[9]", "deep": "aws_instance.d"}[kind]
        assert name in {t.address for t in ours}
    parse_only = time.process_time()
    hcl._get_parser().parse(data)
    one_parse = time.process_time() - parse_only
    assert elapsed < 2.5 * one_parse + 0.5, (elapsed, one_parse)


@pytest.mark.parametrize("boms", range(1, 5))
def test_leading_byte_order_marks_are_never_a_silent_pass(boms: int, tmp_path: Path) -> None:
    """One BOM is read as Terraform reads it; a second is a character HCL rejects, and the file
    is a syntax error naming it (it was skipped as holding nothing: "No findings", exit 0)."""
    (tmp_path / "main.tf").write_bytes(
        b"\xef\xbb\xbf" * boms + b'resource "aws_instance" "w" {\n  ami = "x"\n}\n'
    )
    result = scan([str(tmp_path)], Resolver(Overrides()), cwd=str(tmp_path))
    if boms == 1:
        assert [f.rule_id for f in result.findings] == ["IMDS001"]
        assert not result.errors
    else:
        # HashiCorp's scanner drops one BOM: the next is a character HCL does not use, at 1:1.
        assert [(e.line, e.column, e.message) for e in result.errors] == [
            (
                1,
                1,
                "Invalid character: This character is not used within the language. "
                "(U+FEFF ZERO WIDTH NO-BREAK SPACE)",
            )
        ]
