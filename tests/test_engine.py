"""Rules as pure functions over Targets, and the model's value normalisation. No syntax here:
the Targets are built by hand, as any adapter would build them."""

from __future__ import annotations

import pytest

from imds_iac_checks.engine import RULES, Context, evaluate
from imds_iac_checks.formats.terraform.kinds import KINDS
from imds_iac_checks.model import (
    ENDPOINT,
    HOP_LIMIT,
    TOKENS,
    Link,
    Span,
    Target,
    Value,
    normalize,
    show,
)

INSTANCE = KINDS["aws_instance"]
NOTEBOOK = KINDS["aws_sagemaker_notebook_instance"]
DEFAULTS = KINDS["aws_ec2_instance_metadata_defaults"]
HEADER = Span("main.tf", 0, 29, 1, 1, 1, 30)
BLOCK = Span("main.tf", 40, 120, 3, 3, 6, 4)


def span(line: int) -> Span:
    return Span("main.tf", line * 10, line * 10 + 5, line, 5, line, 10)


def literal(spec, key: str, raw, line: int, condition: str | None = None) -> Value:
    value, problem = normalize(spec, key, raw)
    return Value(True, value, raw, show(raw), (Link(span(line), "literal"),), condition, problem)


def unknown(expression: str, line: int) -> Value:
    return Value(False, None, None, expression, (Link(span(line), "expression"),))


def target(spec=INSTANCE, block: Span | None = BLOCK, recorded: bool = False, **settings):
    return Target(
        spec=spec,
        address=f"{spec.kind}.x",
        path="main.tf",
        span=Span("main.tf", 0, 200, 1, 1, 9, 2),
        header=HEADER,
        block_span=block,
        settings={k: tuple(v) for k, v in settings.items()},
        format="terraform",
        recorded_state=recorded,
    )


def rules(t: Target, hop_limit: int = 1) -> list[tuple[str, int]]:
    return [(f.rule_id, f.span.line) for f in evaluate(t, Context(hop_limit))]


def test_rule_table_is_complete() -> None:
    assert list(RULES) == [
        "IMDS001",
        "IMDS002",
        "IMDS003",
        "IMDS004",
        "IMDS005",
        "IMDS006",
        "IMDS007",
        "IMDS008",
        "IMDS009",
        "IMDS010",
    ]
    assert all(callable(rule.check) and rule.id == rule_id for rule_id, rule in RULES.items())
    assert RULES["IMDS004"].severity == "warning"


def test_missing_block_gives_imds001_only() -> None:
    assert rules(target(block=None)) == [("IMDS001", 1)]


def test_account_defaults_never_need_a_block() -> None:
    t = target(DEFAULTS, block=HEADER, tokens=[literal(DEFAULTS, TOKENS, "required", 2)])
    assert rules(t) == []


def test_conditional_branches_each_count() -> None:
    t = target(
        tokens=[
            literal(INSTANCE, TOKENS, "required", 4, condition="IsProd is true"),
            literal(INSTANCE, TOKENS, "optional", 5, condition="IsProd is false"),
        ]
    )
    (finding,) = evaluate(t, Context())
    assert finding.rule_id == "IMDS002"
    assert finding.span.line == 5
    assert finding.message == (
        '[aws_instance.x] http_tokens is "optional" (when IsProd is false); set it to "required"'
    )


def test_endpoint_disabled_in_every_branch_turns_rules_off() -> None:
    off = [literal(INSTANCE, ENDPOINT, "disabled", 3)]
    t = target(endpoint=off, tokens=[literal(INSTANCE, TOKENS, "optional", 4)])
    assert rules(t) == []
    mixed = [*off, literal(INSTANCE, ENDPOINT, "enabled", 5, condition="c")]
    t = target(endpoint=mixed, hop_limit=[literal(INSTANCE, HOP_LIMIT, 9, 6)])
    assert rules(t) == [("IMDS002", 1), ("IMDS003", 6)]


def test_unknown_setting_is_imds004_and_nothing_else() -> None:
    t = target(tokens=[unknown("var.tokens", 4)], hop_limit=[unknown("local.hops", 5)])
    found = evaluate(t, Context())
    assert [(f.rule_id, f.setting, f.fixable) for f in found] == [
        ("IMDS004", TOKENS, False),
        ("IMDS004", HOP_LIMIT, False),
    ]


@pytest.mark.parametrize(
    ("hop", "threshold", "fires"),
    [(1, 1, False), (2, 1, True), ("2", 1, True), (2, 2, False), (3, 2, True), (64, 63, True)],
)
def test_hop_limit_threshold(hop, threshold: int, fires: bool) -> None:
    t = target(
        tokens=[literal(INSTANCE, TOKENS, "required", 4)],
        hop_limit=[literal(INSTANCE, HOP_LIMIT, hop, 5)],
    )
    assert (rules(t, threshold) == [("IMDS003", 5)]) is fires


def test_recorded_state_is_never_fixable() -> None:
    found = evaluate(target(block=None, recorded=True), Context())
    assert [f.fixable for f in found] == [False]
    found = evaluate(target(block=None), Context())
    assert [f.fixable for f in found] == [True]


def test_selected_rules_only() -> None:
    t = target(
        tokens=[literal(INSTANCE, TOKENS, "optional", 4)],
        hop_limit=[literal(INSTANCE, HOP_LIMIT, 2, 5)],
    )
    assert [f.rule_id for f in evaluate(t, Context(), ["IMDS003"])] == ["IMDS003"]


def test_sagemaker_version_mapping() -> None:
    assert normalize(NOTEBOOK, TOKENS, "2") == ("required", None)
    assert normalize(NOTEBOOK, TOKENS, "1") == ("optional", None)
    assert normalize(NOTEBOOK, TOKENS, 2) == ("required", None)
    t = target(NOTEBOOK, tokens=[literal(NOTEBOOK, TOKENS, "1", 4)])
    (finding,) = evaluate(t, Context())
    assert finding.message.endswith(
        'minimum_instance_metadata_service_version is "1"; set it to "2"'
    )


@pytest.mark.parametrize(
    ("spec", "key", "raw", "expected"),
    [
        (INSTANCE, HOP_LIMIT, "2", (2, None)),
        (INSTANCE, HOP_LIMIT, " 3 ", (3, None)),
        (INSTANCE, HOP_LIMIT, 2.0, (2, None)),
        (INSTANCE, HOP_LIMIT, 1.5, (1.5, None)),
        (INSTANCE, HOP_LIMIT, "two", (None, '"two" is not a number')),
        (INSTANCE, HOP_LIMIT, True, (None, "true is not a number")),
        (INSTANCE, HOP_LIMIT, "nan", (None, '"nan" is not a number')),
        (INSTANCE, HOP_LIMIT, -1, (-1, None)),
        (DEFAULTS, HOP_LIMIT, -1, (None, None)),
        (DEFAULTS, HOP_LIMIT, "-1", (None, None)),
        (DEFAULTS, HOP_LIMIT, "no-preference", (None, None)),
        (INSTANCE, TOKENS, "optional", ("optional", None)),
        (INSTANCE, TOKENS, True, ("true", None)),
        (INSTANCE, ENDPOINT, "disabled", ("disabled", None)),
        (INSTANCE, TOKENS, None, (None, None)),
    ],
)
def test_normalize(spec, key: str, raw, expected) -> None:
    assert normalize(spec, key, raw) == expected


def test_show_quotes_like_the_source() -> None:
    assert show("optional") == '"optional"'
    assert show('a"b') == '"a\\"b"'
    assert show(2) == "2"
    assert show(2.0) == "2"
    assert show(True) == "true"
    assert show(None) == "null"
