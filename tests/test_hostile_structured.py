"""Hostile JSON and YAML (issue 12, area "structured"): deep nesting in every form, alias sharing
chains, large-but-legal files, duplicate keys, huge integers. Inputs come from the generators in
tests/hostile/structured.py."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from imds_iac_checks.formats import cloudformation, data
from imds_iac_checks.formats.doc import (
    SKIPPABLE_SECTIONS,
    DNode,
    DocError,
    Locator,
    parse_json,
    parse_yaml,
)
from imds_iac_checks.model import Target
from tests.hostile.structured import (
    CFN_HEAD,
    DEEP_FORMS,
    GENERATORS,
    INSTANCE,
    and_chain,
    big_json,
    big_metadata_yaml,
    deep_json,
    deep_yaml,
    duplicate_key_files,
    huge_integer_json,
    if_chain,
    json_if_chain,
)

from .conftest import ROOT, run_process


def _tokens(targets: list[Target]) -> list[tuple[str | None, str | None]]:
    return [(v.expression, v.condition) for t in targets for v in t.settings.get("tokens", ())]


# --- item 2: nesting in every form is a clean error, never a crash ---------------------------


@pytest.mark.slow
def test_deep_nesting_in_every_form_is_a_scan_error(tmp_path: Path) -> None:
    """libyaml's composer recursed in C and crashed (SIGSEGV) on 30,000 levels of ``- - -``: the
    real command, in a subprocess, reports each file instead."""
    rng = random.Random(12)
    for form in DEEP_FORMS:
        quadratic = form in ("map-indent", "seq-lines")
        levels = rng.randint(1_000, 2_000) if quadratic else rng.randint(20_000, 60_000)
        (tmp_path / f"{form}.yaml").write_text(deep_yaml(form, levels))
    (tmp_path / "deep.json").write_text(deep_json(rng.randint(1_000, 100_000), rng))
    start = time.perf_counter()
    run = run_process("check", ".", cwd=tmp_path)
    assert time.perf_counter() - start < 30
    assert run.code == 2, run.err  # not -11 (SIGSEGV)
    assert "Traceback" not in run.out + run.err
    for form in DEEP_FORMS:
        assert re.search(rf"^{form}\.yaml:\d+:\d+: invalid YAML: nesting too deep", run.err, re.M)
    assert re.search(r"^deep\.json:1:\d+: invalid JSON: nesting deeper than 400", run.err, re.M)


@pytest.mark.slow
def test_deep_nesting_without_the_c_parser(tmp_path: Path) -> None:
    """The pure-Python parser (no ruamel.yaml.clib, or text libyaml rejects) is bounded too."""
    rng = random.Random(7)
    for form in DEEP_FORMS:
        levels = rng.randint(1_000, 1_500) if form in ("map-indent", "seq-lines") else 20_000
        (tmp_path / f"{form}.yaml").write_text(deep_yaml(form, levels))
    script = textwrap.dedent(
        """
        import sys, pathlib
        sys.modules["ruamel.yaml.cyaml"] = None  # as without ruamel.yaml.clib
        from imds_iac_checks.formats.doc import DocError, parse_yaml
        for path in sorted(pathlib.Path(sys.argv[1]).iterdir()):
            try:
                parse_yaml(path.read_text())
                print(path.name, "parsed")
            except DocError as exc:
                print(path.name, exc.message)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(DEEP_FORMS)
    assert all("nesting too deep" in line for line in lines), lines


@pytest.mark.parametrize("levels", [399, 401])
def test_depth_limit_is_exact(levels: int) -> None:
    text = "a: " + "[" * levels + "]" * levels + "\n"
    if levels < 400:
        assert parse_yaml(text)[0].get("a") is not None
    else:
        with pytest.raises(DocError, match="nesting too deep"):
            parse_yaml(text)


def test_recursive_alias_is_an_error() -> None:
    with pytest.raises(DocError, match="refers to a node that contains it") as exc:
        parse_yaml("a: &x !If [C, *x, b]\n")
    assert exc.value.offset == 14


# --- item 6: alias sharing chains are evaluated once per node ---------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_if_alias_chain_finishes(seed: int) -> None:
    rng = random.Random(seed)
    levels = rng.randint(18, 60)
    conditions = rng.choice((1, 2, levels))
    text = if_chain(levels, conditions)
    start = time.perf_counter()
    targets, errors = data.parse("chain.yaml", text.encode())
    assert time.perf_counter() - start < 2
    assert errors == []
    tokens = _tokens(targets)
    if conditions == 1:  # one condition: two worlds, whatever the depth
        assert sorted(c for _, c in tokens) == ["condition C0 is false", "condition C0 is true"]
    elif conditions == 2:  # C0 and C1 each one way or the other: at most 4
        assert 2 <= len(tokens) <= 4
    else:
        ((expression, _),) = tokens
        assert expression.startswith("too complex to evaluate statically: more than 64")


def test_alternatives_below_the_cap_are_all_kept() -> None:
    for conditions in range(1, 7):  # 2**6 = 64 alternatives: the cap
        text = json_if_chain(conditions, conditions, both=True)
        targets, _ = data.parse("chain.json", text.encode())
        tokens = _tokens(targets)
        assert not any(e and e.startswith("too complex") for e, _ in tokens)
        assert len({c for _, c in tokens}) == len(tokens) == 2**conditions
    targets, _ = data.parse("chain.json", json_if_chain(7, 7, both=True).encode())
    assert _tokens(targets)[0][0].startswith("too complex")  # type: ignore[union-attr]


def test_contradictory_branches_are_dropped() -> None:
    text = CFN_HEAD + textwrap.dedent(
        """\
        Parameters: {P: {Type: String}}
        Conditions: {C: !Equals [!Ref P, x]}
        Resources:
          W:
            Type: AWS::EC2::Instance
            Properties:
              MetadataOptions:
                HttpTokens: !If [C, !If [C, required, optional], !If [C, optional, required]]
        """
    )
    targets, _ = data.parse("t.yaml", text.encode())
    values = targets[0].settings["tokens"]
    assert [(v.value, v.condition) for v in values] == [
        ("required", "condition C is true"),
        ("required", "condition C is false"),
    ]


@pytest.mark.parametrize("seed", range(3))
def test_condition_alias_chain_finishes(seed: int) -> None:
    text = and_chain(random.Random(seed).randint(18, 60))
    start = time.perf_counter()
    targets, errors = data.parse("c.yaml", text.encode())
    assert time.perf_counter() - start < 2
    assert errors == [] and len(_tokens(targets)) == 2


# --- item 10: large but legal files ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("flow", [True, False])
def test_big_metadata_yaml_is_not_built(flow: bool) -> None:
    rng = random.Random(int(flow))
    items = 1_000_000 if flow else 400_000
    text = big_metadata_yaml(items, rng, flow)
    start = time.perf_counter()
    targets, errors = data.parse("big.yaml", text.encode())
    elapsed = time.perf_counter() - start
    assert errors == [] and [t.address for t in targets] == ["Web"]
    assert _tokens(targets) == [("optional", None)]
    assert elapsed < 3, elapsed  # about 0.3 s; was 2.5 s per 100,000 items


def _tree(node: DNode, memo: dict[int, int]) -> object:
    if id(node) in memo:
        return ("alias", memo[id(node)])
    memo[id(node)] = len(memo)
    head = (node.kind, node.start, node.end, node.value, node.tag, node.quoted)
    if node.kind == "map":
        return (head, [(_tree(k, memo), _tree(v, memo)) for k, v in node.items])
    if node.kind == "seq":
        return (head, [_tree(v, memo) for v in node.items])
    return head


# Metadata bodies: safe to skip, and ones where skipping would change the meaning if done blindly.
_METADATA_BODIES = [
    " [1, 2, 3]\n",
    "\n  a: [1, {b: c}]\n  d:\n  - e\n",
    "\n- 1\n- 2\n",
    " |\n  text [\n",
    " [a,\nResources: x]\n",  # a flow collection open across a column-0 line
    ' "a\nResources: x"\n',  # a quoted scalar open across a column-0 line
    " &m {HttpTokens: required}\n",  # an anchor used elsewhere
    " x]\n  y: [a,\nResources: {}]\n",
    " # [\n",
    " {a: [}\n",
    "\n---\n",
    " [1,\n  2]\n# comment\n",
]


@pytest.mark.parametrize("seed", range(100))
def test_skipping_sections_never_changes_the_tree(seed: int) -> None:
    """Whatever the text around a top-level Metadata/Outputs, the tree read with skipping has
    the same nodes everywhere else as the full parse (or both fail)."""
    rng = random.Random(seed)
    parts = [CFN_HEAD]
    for _ in range(rng.randint(1, 3)):
        section = rng.choice(SKIPPABLE_SECTIONS)
        parts.append(section + ":" + rng.choice(_METADATA_BODIES))
        if rng.random() < 0.5:
            instance = INSTANCE.replace("optional", rng.choice(["optional", "*m", '"required"']))
            if rng.random() < 0.3:  # libyaml rejects this: the pure parser reads the file
                instance += "      SecurityGroups: [a, !Ref AWS::NoValue]\n"
            parts.append(instance)
    text = "".join(parts)
    try:
        full = parse_yaml(text)
    except DocError:
        full = None
    try:
        skipped = parse_yaml(text, SKIPPABLE_SECTIONS)
    except DocError:
        skipped = None
    if full is None:
        return  # an invalid file may or may not be reported when the error is in a skipped part
    assert skipped is not None
    for a, b in zip(full, skipped, strict=True):
        keep = [(k, v) for k, v in a.items if k.value not in SKIPPABLE_SECTIONS]
        kept = [(k, v) for k, v in b.items if k.value not in SKIPPABLE_SECTIONS]
        assert [(_tree(k, {}), _tree(v, {})) for k, v in keep] == [
            (_tree(k, {}), _tree(v, {})) for k, v in kept
        ], text


@pytest.mark.slow
def test_big_metadata_yaml_with_the_pure_parser() -> None:
    """A flow plain scalar libyaml rejects sends the file to the pure parser: the skipped text
    is cut out, not handed to it as spaces."""
    text = big_metadata_yaml(1_000_000, random.Random(2)).replace(
        "HttpTokens: optional", "HttpTokens: optional\n      SecurityGroups: [a, !Ref AWS::NoValue]"
    )
    start = time.perf_counter()
    targets, errors = data.parse("big.yaml", text.encode())
    assert time.perf_counter() - start < 3
    assert errors == [] and _tokens(targets) == [("optional", None)]
    (value,) = targets[0].settings["tokens"]
    assert value.span.start_byte == text.index("HttpTokens: optional") + len("HttpTokens: ")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["numbers", "strings"])
def test_big_json_is_not_built(kind: str) -> None:
    text = big_json(1_000_000 if kind == "numbers" else 300_000, random.Random(3), kind)
    start = time.perf_counter()
    targets, errors = data.parse("big.json", text.encode())
    elapsed = time.perf_counter() - start
    assert errors == [] and _tokens(targets) == [('"optional"', None)]
    assert elapsed < 3, elapsed  # about 0.3 s; was 14 s for 7.8 MB


@pytest.mark.slow
def test_skipped_json_is_still_checked() -> None:
    base = big_json(1000, random.Random(1))
    for bad, message in (("1,,2", "unexpected character ','"), ("NaN", "unexpected character")):
        text = base.replace("1,", bad + ",", 1)
        _, errors = data.parse("bad.json", text.encode())
        (error,) = errors
        assert error.message.startswith("invalid JSON: " + message)
        assert error.column == text.index(bad) + 1 + (2 if bad == "1,,2" else 0)
    top = "[" + ",".join(["1"] * 100_000) + ', "AWS::EC2::Instance"]'
    assert data.parse("top.json", top.encode()) == ([], [])
    assert parse_json(top).items  # built when asked for the whole tree (the fixer)


# --- item 15: duplicate keys ------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_duplicate_keys_in_read_objects_are_errors(seed: int) -> None:
    for name, text, line in duplicate_key_files(random.Random(seed)):
        targets, errors = data.parse(name, text.encode())
        assert targets == [], name
        (error,) = errors
        assert "duplicate" in error.message, (name, error)
        assert error.line == line, (name, error)


def test_duplicate_keys_elsewhere_are_not_errors() -> None:
    text = (
        CFN_HEAD + INSTANCE + "  Bucket:\n    Type: AWS::S3::Bucket\n    Properties: {a: 1, a: 2}\n"
    )
    targets, errors = data.parse("t.yaml", text.encode())
    assert errors == [] and len(targets) == 1
    tf = '{"resource": {"aws_instance": {"w": {"ebs_block_device": {}, "ebs_block_device": {},'
    tf += ' "metadata_options": {"http_tokens": "required"}}}}}'
    targets, errors = data.parse("main.tf.json", tf.encode())
    assert errors == [] and len(targets) == 1  # block types may repeat in Terraform JSON


def test_duplicate_key_in_a_shared_parameter() -> None:
    text = CFN_HEAD + textwrap.dedent(
        """\
        Parameters:
          Tokens: {Type: String, Default: required, Default: optional}
        Resources:
          A:
            Type: AWS::EC2::Instance
            Properties: {MetadataOptions: {HttpTokens: !Ref Tokens}}
          B:
            Type: AWS::EC2::Instance
            Properties: {MetadataOptions: {HttpTokens: !Ref Tokens}}
        """
    )
    targets, errors = data.parse("t.yaml", text.encode())
    assert targets == []
    assert [(e.line, e.message) for e in errors] == [(3, "duplicate key 'Default' in A")]


# --- item 4 (part): huge integers -------------------------------------------------------------


@pytest.mark.parametrize("digits", [4_301, 5_000, 50_000])
def test_huge_integers_do_not_raise(digits: int) -> None:
    targets, errors = data.parse("run.json", huge_integer_json(digits).encode())
    assert errors == []
    (value,) = targets[0].settings["hop_limit"]
    assert value.problem is not None and "is not a number" in value.problem
    yaml = CFN_HEAD + INSTANCE.replace("HttpTokens: optional", "HttpPutResponseHopLimit: 9" * 1)
    targets, errors = data.parse("t.yaml", yaml.replace(": 9", ": " + "9" * digits).encode())
    assert errors == [] and targets[0].settings["hop_limit"][0].problem is not None


# --- positions --------------------------------------------------------------------------------


def test_locator_chunks_agree_with_a_line_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Locator, "CHUNK", 5)
    rng = random.Random(5)
    for _ in range(300):
        text = "".join(rng.choice(["a", "\n", "\r\n", "é", "日", "😀", " "]) for _ in range(40))
        text = ("\ufeff" if rng.random() < 0.3 else "") + text
        loc = Locator("x", text)
        starts = [0] + [m.end() for m in re.finditer("\r\n|\n", text)]
        for offset in range(len(text) + 1):
            index = max(i for i, s in enumerate(starts) if s <= offset)
            column = offset - starts[index] + 1 - (1 if index == 0 and text[:1] == "\ufeff" else 0)
            expected = (index + 1, max(column, 1), len(text[:offset].encode()))
            assert loc.position(offset) == expected


# --- the generators themselves ----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generated_case_scans_quickly(name: str, tmp_path: Path) -> None:
    GENERATORS[name](random.Random(0), tmp_path)
    start = time.perf_counter()
    run = run_process("check", ".", cwd=tmp_path)
    assert time.perf_counter() - start < 10
    assert run.code in (0, 1, 2) and "Traceback" not in run.out + run.err
    assert "internal error" not in run.err


def test_cloudformation_bounds_are_what_the_notes_say() -> None:
    assert cloudformation.MAX_ALTERNATIVES == 64 and cloudformation.MAX_NESTING == 64


def _random_json(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth > 6 or roll < 0.4:
        return rng.choice(['"s"', '"é\\n"', "1", "-2.5e3", "true", "null", '"AWS::X"', "9" * 5000])
    if roll < 0.7:
        return "[" + ", ".join(_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))) + "]"
    keys = [rng.choice(["a", "b", "HttpTokens", "Resources"]) for _ in range(rng.randint(0, 4))]
    inner = ",\n ".join(f'"{k}": {_random_json(rng, depth + 1)}' for k in keys)
    return "{" + inner + "}"


@pytest.mark.parametrize("seed", range(200))
def test_lazy_json_reads_like_the_full_parse(seed: int) -> None:
    """The scan's lazy reading gives the same tree, duplicate keys and first error as the
    full parse the fixer uses."""
    rng = random.Random(seed)
    text = "{" + ", ".join(f'"k{i}": {_random_json(rng)}' for i in range(rng.randint(1, 4))) + "}"
    if rng.random() < 0.4:  # break it somewhere
        at = rng.randrange(len(text))
        text = text[:at] + rng.choice(["", ",", "]", "NaN", '"', "{"]) + text[at + 1 :]
    try:
        full: object = _tree(parse_json(text), {})
    except DocError as exc:
        full = ("error", exc.offset, exc.message)
    try:
        lazy_root = parse_json(text, lambda key: False)
        lazy: object = _tree(lazy_root, {})
    except DocError as exc:
        lazy = ("error", exc.offset, exc.message)
    assert lazy == full, text
    if not isinstance(full, tuple) or full[0] != "error":
        stack = [(parse_json(text), lazy_root)]
        while stack:
            a, b = stack.pop()
            assert (a.dup is None) == (b.dup is None)
            if a.dup is not None:
                assert (a.dup.start, a.dup.value) == (b.dup.start, b.dup.value)  # type: ignore[union-attr]
            if a.kind == "map":
                stack += [(x, y) for (_, x), (_, y) in zip(a.items, b.items, strict=True)]
            elif a.kind == "seq":
                stack += list(zip(a.items, b.items, strict=True))


@pytest.mark.parametrize("levels", [10, 100_000])
def test_emr_configuration_string_nested_deeply(levels: int) -> None:
    """The EMR security configuration is JSON inside a string: read by json.loads, whose
    RecursionError on deep nesting is the same "no settings" as invalid JSON."""
    text = CFN_HEAD + textwrap.dedent(
        """\
        Resources:
          E:
            Type: AWS::EMR::SecurityConfiguration
            Properties:
              SecurityConfiguration: "CONFIG"
        """
    ).replace("CONFIG", "[" * levels + "]" * levels)
    targets, errors = data.parse("e.yaml", text.encode())
    assert errors == [] and len(targets) == 1 and targets[0].settings == {}


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2))
def test_fix_through_alias_chains_finishes(seed: int, tmp_path: Path) -> None:
    """The fixer finds the node to edit in a tree whose nodes YAML aliases share: each node is
    looked at once (2^40 paths through an ``!And [*c, *c]`` chain before)."""
    levels = random.Random(seed).randint(30, 60)
    (tmp_path / "c.yaml").write_text(and_chain(levels))
    start = time.perf_counter()
    run = run_process("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert time.perf_counter() - start < 20
    assert run.code == 0 and "Fixed 1 finding" in run.out, run.out + run.err
