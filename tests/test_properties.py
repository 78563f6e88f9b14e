"""Properties that must hold for any input, checked with hypothesis."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imds_iac_checks.engine import Context, evaluate
from imds_iac_checks.formats import data
from imds_iac_checks.formats.doc import DocError, Locator, parse_json
from imds_iac_checks.formats.terraform import module as hcl

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**18), max_value=10**18)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from([None, 1, 2]), st.booleans())
def test_json_parser_agrees_with_the_standard_library(value, indent, ascii_only) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    assert parse_json(text).plain() == json.loads(text)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_json_spans_cover_exactly_the_value_text(value) -> None:
    text = json.dumps({"k": value}, indent=1, ensure_ascii=False)
    node = parse_json(text).get("k")
    assert node is not None
    assert json.loads(text[node.start : node.end]) == value
    span = Locator("x.json", text).node_span(node)
    assert text.encode()[span.start_byte : span.end_byte] == text[node.start : node.end].encode()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_invalid_json_raises_doc_error_only(text) -> None:
    def reject(constant: str) -> None:  # NaN and Infinity are Python's, not RFC 8259's
        raise ValueError(constant)

    try:
        expected = json.loads(text, parse_constant=reject)
    except ValueError:
        expected = DocError
    try:
        actual = parse_json(text).plain()
    except DocError:
        actual = DocError
    assert actual == expected


NAMES = ["main.tf", "x.tf.json", "t.yaml", "t.json", "t.template"]
MARKERS = [
    b"",
    b"AWS::EC2::Instance",
    b"AWSTemplateFormatVersion",
    b"MetadataOptions",
    b'"resource"',
    b"planned_values",
    b'resource "aws_instance" "x" {',
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(NAMES), st.sampled_from(MARKERS), st.binary(max_size=300))
def test_no_adapter_raises_on_arbitrary_bytes(name, marker, payload) -> None:
    raw = marker + payload
    parse = hcl.parse if name.endswith(".tf") else data.parse
    targets, errors = parse(name, raw)
    for target in targets:
        evaluate(target, Context())
    for error in errors:
        assert error.message


fragments = st.sampled_from(
    [
        "Resources:\n",
        "  Web:\n",
        "    Type: AWS::EC2::Instance\n",
        "    Properties:\n",
        "      MetadataOptions:\n",
        "        HttpTokens: !Ref P\n",
        "        HttpTokens: !If [C, required, !Ref AWS::NoValue]\n",
        "        HttpPutResponseHopLimit: 3\n",
        "        HttpEndpoint: {Fn::If: [C, [1], x]}\n",
        "      MetadataOptions: !If [C, {}, []]\n",
        "Parameters: {P: {Default: optional}}\n",
        "Mappings: {M: {a: {b: 2}}}\n",
        "- item\n",
        "  &a x: *a\n",
        "---\n",
        "\t\n",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(fragments, max_size=12))
def test_cloudformation_like_yaml_never_raises(parts) -> None:
    targets, errors = data.parse("t.yaml", "".join(parts).encode())
    for target in targets:
        evaluate(target, Context())
    assert all(e.message for e in errors)
