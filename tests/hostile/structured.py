"""Hostile JSON and YAML inputs (issue 12, area "structured"): deep nesting in every form,
alias sharing chains, large-but-legal files, duplicate keys, huge integers.

``GENERATORS`` maps a case name to a function that writes one input into an empty directory; each
case is scannable by ``imds-iac check <dir>`` and finishes in about a second once fixed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

CFN_HEAD = 'AWSTemplateFormatVersion: "2010-09-09"\n'

INSTANCE = (
    "Resources:\n"
    "  Web:\n"
    "    Type: AWS::EC2::Instance\n"
    "    Properties:\n"
    "      ImageId: ami-12345678\n"
    "      MetadataOptions:\n"
    "        HttpTokens: optional\n"
)


# --- deep nesting -----------------------------------------------------------------------------


def deep_yaml(form: str, levels: int, section: str = "Mappings") -> str:
    """A CloudFormation template whose top-level ``section`` nests ``levels`` deep in ``form``
    (under ``Metadata``, which no rule reads, the text is skipped and the file scans normally)."""
    if form == "block-seq":  # - - - - a
        body = "- " * levels + "a\n"
    elif form == "block-keys":  # ? ? ? a
        body = "? " * levels + "a\n"
    elif form == "seq-lines":  # one "-" per line, each indented one more
        body = "".join(" " * i + "-\n" for i in range(levels)) + " " * levels + "a\n"
    elif form == "map-indent":  # a:\n a:\n  a: ... (indentation-nested mappings)
        body = "".join(" " * i + "a:\n" for i in range(levels)) + " " * levels + "b\n"
    elif form == "flow":
        body = "[" * levels + "]" * levels + "\n"
    elif form == "flow-map":
        body = "{a: " * levels + "b" + "}" * levels + "\n"
    elif form == "mixed":  # block sequence entries holding mapping keys and flow collections
        body = "- ? - " * (levels // 3) + "[{a: [" * 10 + "b" + "]}]" * 10 + "\n"
    elif form == "tags":  # flow collections with tags and anchors
        body = "".join(f"&a{i} !T [" for i in range(levels)) + "]" * levels + "\n"
    else:
        raise ValueError(form)
    # flow forms start on the key's line (a flow collection at column 0 would be a key)
    separator = " " if body.startswith(("[", "{", "&")) else "\n"
    return CFN_HEAD + INSTANCE + section + ":" + separator + body


DEEP_FORMS = (
    "block-seq",
    "block-keys",
    "seq-lines",
    "map-indent",
    "flow",
    "flow-map",
    "mixed",
    "tags",
)


def deep_json(levels: int, rng: random.Random) -> str:
    opens, closes = [], []
    for _ in range(levels):
        if rng.random() < 0.5:
            opens.append("[")
            closes.append("]")
        else:
            opens.append('{"a": ')
            closes.append("}")
    return (
        '{"AWSTemplateFormatVersion": "2010-09-09", "Mappings": '
        + "".join(opens)
        + "1"
        + "".join(reversed(closes))
        + "}"
    )


def _deep_case(form: str) -> Callable[[random.Random, Path], None]:
    def write(rng: random.Random, directory: Path) -> None:
        # map-indent and seq-lines grow quadratically: their depth is bounded by the 8 MB limit
        quadratic = form in ("map-indent", "seq-lines")
        levels = rng.randint(1_500, 3_500) if quadratic else rng.randint(20_000, 60_000)
        section = rng.choice(("Mappings", "Conditions", "Metadata"))
        (directory / "deep.yaml").write_text(deep_yaml(form, levels, section))

    return write


def write_deep_json(rng: random.Random, directory: Path) -> None:
    (directory / "deep.json").write_text(deep_json(rng.randint(1_000, 200_000), rng))


# --- sharing chains ---------------------------------------------------------------------------


def if_chain(levels: int, conditions: int = 1) -> str:
    """``!If [C, *b, *b]`` nested ``levels`` times through anchors (2^levels paths if expanded);
    ``conditions`` distinct condition names are used in turn."""
    names = [f"C{i}" for i in range(conditions)]
    lines = [
        CFN_HEAD.rstrip("\n"),
        "Parameters:",
        "  P: {Type: String}",
        "Conditions:",
        *(f"  {name}: !Equals [!Ref P, {name}]" for name in names),
        "Resources:",
        "  Web:",
        "    Type: AWS::EC2::Instance",
        "    Properties:",
        "      Chain:",
        "        - &b0 optional",
    ]
    for i in range(1, levels + 1):
        lines.append(f"        - &b{i} !If [{names[i % conditions]}, *b{i - 1}, *b{i - 1}]")
    lines.append(f"      MetadataOptions: {{HttpTokens: *b{levels}}}")
    return "\n".join(lines) + "\n"


def json_if_chain(levels: int, conditions: int, both: bool = False) -> str:
    """The same in JSON (no sharing): nested Fn::If whose second branch is a literal at every
    other level, or (``both``) the previous level written out again (2^levels in size: keep
    ``levels`` small); tests the evaluator's alternative cap on distinct conditions."""
    value: object = "optional"
    for i in range(levels):
        other = value if both or i % 2 == 0 else "required"
        value = {"Fn::If": [f"C{i % conditions}", value, other]}
    return json.dumps(
        {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Parameters": {"P": {"Type": "String"}},
            "Conditions": {
                f"C{i}": {"Fn::Equals": [{"Ref": "P"}, f"C{i}"]} for i in range(conditions)
            },
            "Resources": {
                "Web": {
                    "Type": "AWS::EC2::Instance",
                    "Properties": {"MetadataOptions": {"HttpTokens": value}},
                }
            },
        }
    )


def write_if_chain(rng: random.Random, directory: Path) -> None:
    levels = rng.randint(18, 60)
    conditions = rng.choice((1, 2, 3, levels))
    (directory / "chain.yaml").write_text(if_chain(levels, conditions))


def and_chain(levels: int) -> str:
    """``!And [*c, *c]`` conditions nested through anchors."""
    lines = [
        CFN_HEAD.rstrip("\n"),
        "Parameters:",
        "  P: {Type: String}",
        "Conditions:",
        "  C0: &c0 !Equals [!Ref P, x]",
    ]
    for i in range(1, levels + 1):
        lines.append(f"  C{i}: &c{i} !And [*c{i - 1}, *c{i - 1}]")
    lines += [
        "Resources:",
        "  Web:",
        "    Type: AWS::EC2::Instance",
        "    Properties:",
        f"      MetadataOptions: {{HttpTokens: !If [C{levels}, required, optional]}}",
    ]
    return "\n".join(lines) + "\n"


def write_and_chain(rng: random.Random, directory: Path) -> None:
    (directory / "conditions.yaml").write_text(and_chain(rng.randint(18, 60)))


# --- large but legal --------------------------------------------------------------------------


def big_metadata_yaml(items: int, rng: random.Random, flow: bool = True) -> str:
    """A template whose top-level Metadata holds a list of ``items`` items (about 2 bytes each
    in flow style)."""
    if flow:
        body = "  Big: [" + ",".join(str(rng.randint(0, 9)) for _ in range(items)) + "]\n"
    else:
        body = "  Big:\n" + "".join(f"  - {rng.randint(0, 9)}\n" for _ in range(items))
    return CFN_HEAD + "Metadata:\n" + body + INSTANCE + "Outputs:\n  O: {Value: x}\n"


def big_json(items: int, rng: random.Random, kind: str = "numbers") -> str:
    """A JSON template with a flat array of ``items`` items in its Metadata."""
    if kind == "numbers":
        array = "[" + ",".join(str(rng.randint(0, 9)) for _ in range(items)) + "]"
    else:
        array = json.dumps([f"s{rng.randint(0, 99)}" for _ in range(items)])
    return (
        '{"AWSTemplateFormatVersion": "2010-09-09", "Metadata": {"Big": '
        + array
        + '}, "Resources": {"Web": {"Type": "AWS::EC2::Instance", "Properties": '
        '{"MetadataOptions": {"HttpTokens": "optional"}}}}}'
    )


def write_big_yaml(rng: random.Random, directory: Path) -> None:
    items = rng.randint(200_000, 600_000)
    (directory / "big.yaml").write_text(big_metadata_yaml(items, rng, flow=rng.random() < 0.7))


def write_big_json(rng: random.Random, directory: Path) -> None:
    items = rng.randint(200_000, 600_000)
    kind = rng.choice(("numbers", "strings"))
    (directory / "big.json").write_text(big_json(items, rng, kind))


# --- duplicate keys ---------------------------------------------------------------------------


# (file name, text with one duplicated key) for every format whose objects a rule reads; the
# line of the duplicate (second) key.
def duplicate_key_files(rng: random.Random) -> list[tuple[str, str, int]]:
    first, last = rng.sample(["required", "optional"], 2)
    key = rng.choice(["HttpTokens", "HttpEndpoint", "HttpPutResponseHopLimit"])
    hop = (rng.randint(1, 3), rng.randint(4, 64))
    a, b = (
        (json.dumps(hop[0]), json.dumps(hop[1]))
        if key == "HttpPutResponseHopLimit"
        else (
            json.dumps(first if key == "HttpTokens" else "enabled"),
            json.dumps(last if key == "HttpTokens" else "disabled"),
        )
    )
    tf_key = {
        "HttpTokens": "http_tokens",
        "HttpEndpoint": "http_endpoint",
        "HttpPutResponseHopLimit": "http_put_response_hop_limit",
    }[key]
    tf_a, tf_b = a, b
    return [
        (
            "cfn.yaml",
            CFN_HEAD + "Resources:\n  Web:\n    Type: AWS::EC2::Instance\n    Properties:\n"
            f"      MetadataOptions:\n        {key}: {a}\n        {key}: {b}\n",
            8,
        ),
        (
            "cfn.json",
            '{"AWSTemplateFormatVersion": "2010-09-09",\n "Resources": {"Web": {\n'
            ' "Type": "AWS::EC2::Instance",\n "Properties": {"MetadataOptions": {\n'
            f'  "{key}": {a},\n  "{key}": {b}}}}}}}}}}}\n',
            6,
        ),
        (
            "main.tf.json",
            '{"resource": {"aws_instance": {"web": {\n "ami": "ami-1",\n "metadata_options": {\n'
            f'  "{tf_key}": {tf_a},\n  "{tf_key}": {tf_b}}}}}}}}}}}\n',
            5,
        ),
        (
            "run.json",
            '{"ImageId": "ami-1", "MinCount": 1, "MaxCount": 1,\n "MetadataOptions": {\n'
            f'  "{key}": {a},\n  "{key}": {b}}}}}\n',
            4,
        ),
        (
            "lt.json",
            '{"LaunchTemplateName": "t",\n "LaunchTemplateData": {\n "MetadataOptions": {\n'
            f'  "{key}": {a},\n  "{key}": {b}}}}}}}\n',
            5,
        ),
    ]


def write_duplicate_keys(rng: random.Random, directory: Path) -> None:
    for name, text, _line in duplicate_key_files(rng):
        (directory / name).write_text(text)


def huge_integer_json(digits: int) -> str:
    return (
        '{"ImageId": "ami-1", "MinCount": 1, "MaxCount": 1, "MetadataOptions": '
        '{"HttpTokens": "required", "HttpPutResponseHopLimit": ' + "9" * digits + "}}"
    )


def write_huge_integer(rng: random.Random, directory: Path) -> None:
    (directory / "run.json").write_text(huge_integer_json(rng.randint(4_301, 20_000)))


GENERATORS: dict[str, Callable[[random.Random, Path], None]] = {
    **{f"yaml-deep-{form}": _deep_case(form) for form in DEEP_FORMS},
    "json-deep": write_deep_json,
    "cfn-if-alias-chain": write_if_chain,
    "cfn-and-alias-chain": write_and_chain,
    "yaml-big-metadata": write_big_yaml,
    "json-big-array": write_big_json,
    "duplicate-keys": write_duplicate_keys,
    "json-huge-integer": write_huge_integer,
}
