"""Each escape layer (imds_iac_checks/hazards/escape.py), checked against the real reader of what it
writes: text encoded by a layer and read back by json.loads, ruamel.yaml, pygohcl (HCL) or
CloudFormation's Fn::Sub rule gives the text back."""

import io
import json
import re
import unicodedata

import pygohcl
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from imds_iac_checks.hazards.escape import LAYERS, encode

# Text a script may hold: printable and non-ASCII characters, the characters every layer
# escapes, and the sequences that mean something to one of the readers.
_SPECIAL = ["${", "%{", "$${", "%%{", "${!", "\\", '"', "'", "\n", "\t", "}", "$", "!", " ", "#"]
_chars = st.characters(blacklist_categories=("Cs",), min_codepoint=0)
TEXT = st.lists(st.one_of(st.sampled_from(_SPECIAL), _chars), max_size=40).map("".join)
# Text without control characters other than TAB and LF (what a YAML block or an HCL heredoc
# can hold), and without the other line breaks.
_printable = st.characters(
    blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\ufeff\ufffe\uffff\x85"
)
PRINTABLE = st.lists(st.one_of(st.sampled_from(_SPECIAL), _printable), max_size=40).map("".join)


def sub_unescape(text: str) -> str:
    """What CloudFormation's Fn::Sub makes of a string without variables: ``${!X}`` is
    ``${X}``; any other ``${Name}`` would be a variable (there must be none here)."""
    out, at = [], 0
    for match in re.finditer(r"\$\{(!?)([^}]*)\}", text):
        assert match.group(1) == "!", f"a variable in the encoded text: {match.group(0)!r}"
        out += [text[at : match.start()], "${" + match.group(2) + "}"]
        at = match.end()
    out.append(text[at:])
    return "".join(out)


def yaml_load(document: str) -> object:
    return YAML(typ="safe", pure=True).load(io.StringIO(document))


def test_every_layer_named_in_the_design_exists() -> None:
    for name in (
        "raw",
        "hcl-template",
        "hcl-string",
        "json",
        "sub",
        "indent",
        "yaml-dq",
        "yaml-sq",
    ):
        assert name in LAYERS


def test_examples() -> None:
    assert encode("hcl-template", 'echo "${HOME}" %{x}') == 'echo "$${HOME}" %%{x}'
    assert encode("hcl-string", 'a "${b}"\n\\') == 'a \\"$${b}\\"\\n\\\\'
    assert encode("json", 'X="${A}"\n') == 'X=\\"${A}\\"\\n'
    assert encode("json", "é\x01") == "é\\u0001"
    assert encode("sub", 'X="${A}"') == 'X="${!A}"'
    assert encode("sub+json", 'X="${A}"\n') == 'X=\\"${!A}\\"\\n'
    assert encode("indent:    ", "a\nb\n") == "a\n    b\n    "
    assert encode("sub+indent:  ", "T=${T}\n") == "T=${!T}\n  "
    assert encode("yaml-dq", 'a\\"\n') == 'a\\\\\\"\\n'
    assert encode("yaml-sq", "it's") == "it''s"
    assert encode("yaml-sq", "a\nb") is None
    assert encode("sub", "echo ${") is None
    assert encode("sub", "${a${b}") is None
    assert encode("", "x") is None
    assert encode("no-such-layer", "x") is None


@settings(max_examples=400, deadline=None)
@given(TEXT)
@example("\x00\x7f\u2028")
def test_json_round_trip(text: str) -> None:
    encoded = encode("json", text)
    assert encoded is not None
    assert json.loads('"' + encoded + '"') == text


@settings(max_examples=300, deadline=None)
@given(TEXT)
@example("$${")
@example("%%{")
@example("$${x}")
def test_hcl_string_round_trip(text: str) -> None:
    encoded = encode("hcl-string", text)
    assert encoded is not None
    # HCL normalises string literals to NFC (U+F900 reads as U+8C48): the escape keeps the
    # characters, HCL's reader normalises them whatever was written.
    assert pygohcl.loads(f'a = "{encoded}"\n')["a"] == unicodedata.normalize("NFC", text)


@settings(max_examples=300, deadline=None)
@given(PRINTABLE)
@example("$${")
@example("%%{a}")
@example("$$$${")
def test_hcl_template_round_trip_in_a_heredoc(text: str) -> None:
    assume("\r" not in text)
    assume(not any(line.strip() == "EOT" for line in text.split("\n")))
    encoded = encode("hcl-template", text)
    assert encoded is not None
    assert pygohcl.loads(f"a = <<EOT\n{encoded}\nEOT\n")["a"] == unicodedata.normalize(
        "NFC", text + "\n"
    )


@settings(max_examples=300, deadline=None)
@given(PRINTABLE)
@example("a\n\xa0\n")
def test_hcl_template_and_indent_in_an_indented_heredoc(text: str) -> None:
    """``<<-`` strips the common indentation: text encoded for its lines reads back as is.
    (Text that begins with an empty line leaves the indentation already written before the
    insertion point on a blank line: a ``<<-`` heredoc keeps it. HCL strips the indentation
    by grapheme cluster: a line that begins with a combining mark loses it with the blank it
    joins.)"""
    assume(not text.startswith("\n"))
    # A line of blanks keeps the indentation written before it in a <<- heredoc (HCL strips
    # no blank line): the text read back has it; a script does not care. HCL's blanks are
    # Unicode's (a line of U+00A0 is blank to it too).
    assume(not any(line and not line.strip() for line in text.split("\n")))
    joining = ("Mn", "Mc", "Me", "Sk", "Cf")
    assume(not any(unicodedata.category(line[:1] or "a") in joining for line in text.split("\n")))
    assume(not any(line.strip() == "EOT" for line in text.split("\n")))
    encoded = encode("hcl-template+indent:    ", text)
    assert encoded is not None
    value = pygohcl.loads(f"a = <<-EOT\n    x\n    {encoded}y\n    EOT\n")["a"]
    assert value == unicodedata.normalize("NFC", "x\n" + text + "y\n")  # HCL reads NFC


@settings(max_examples=300, deadline=None)
@given(TEXT)
@example("${!x}")
@example("$${")
def test_sub_round_trip(text: str) -> None:
    encoded = encode("sub", text)
    if encoded is None:  # an unclosed or nested ${: refused
        assert text.count("${") != len(re.findall(r"\$\{[^}]*\}", text)) or re.search(
            r"\$\{[^}]*\$\{", text
        )
        return
    assert sub_unescape(encoded) == text


@settings(max_examples=300, deadline=None)
@given(PRINTABLE, st.sampled_from(["  ", "    ", "        "]))
@example("  leading spaces\n\nand an empty line\n", "  ")
def test_indent_round_trip_in_a_yaml_literal_block(text: str, ws: str) -> None:
    encoded = encode(f"indent:{ws}", text)
    assert encoded is not None
    # The block starts with a line of its own (its indentation is detected there); the text
    # is inserted at the start of the second line, as a fix inserts a line.
    document = f"key: |+\n{ws}first\n{ws}{encoded}second\nnext: 1\n"
    assert yaml_load(document) == {"key": "first\n" + text + "second\n", "next": 1}


@settings(max_examples=300, deadline=None)
@given(PRINTABLE)
def test_sub_and_indent_in_a_yaml_literal_block(text: str) -> None:
    assume(encode("sub", text) is not None)
    encoded = encode("sub+indent:      ", text)
    assert encoded is not None
    document = f"UserData:\n  Fn::Sub: |\n      first\n      {encoded}last\n"
    value = yaml_load(document)["UserData"]["Fn::Sub"]  # type: ignore[index]
    assert sub_unescape(value) == "first\n" + text + "last\n"


@settings(max_examples=400, deadline=None)
@given(TEXT)
@example(" lead and trail ")
@example("\ufeff")
def test_yaml_dq_round_trip(text: str) -> None:
    encoded = encode("yaml-dq", text)
    assert encoded is not None
    assert yaml_load(f'key: "{encoded}"\n') == {"key": text}
    # Inserted next to a line break of a multi-line scalar, its spaces are kept too.
    folded = yaml_load(f'key: "one{encoded}\n  two"\n')
    assert folded == {"key": f"one{text} two"}


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_yaml_sq_round_trip_or_refused(text: str) -> None:
    encoded = encode("yaml-sq", text)
    if encoded is None:
        assert re.search("[\n\r\x85\u2028\u2029]", text) or not text.isprintable()
        return
    assert yaml_load(f"key: 'x{encoded}x'\n") == {"key": f"x{text}x"}


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_sub_inside_json_and_yaml_dq(text: str) -> None:
    assume(encode("sub", text) is not None)
    for escape, decode in (
        ("sub+json", lambda e: json.loads('"' + e + '"')),
        ("sub+yaml-dq", lambda e: yaml_load(f'k: "{e}"\n')["k"]),  # type: ignore[index]
    ):
        encoded = encode(escape, text)
        assert encoded is not None
        assert sub_unescape(decode(encoded)) == text


@pytest.mark.parametrize("text", ["a\rb", "a\x85b", "a\u2028b", "a\x00b"])
def test_indent_refuses_what_a_yaml_block_cannot_hold(text: str) -> None:
    assert encode("indent:  ", text) is None
