"""How text inserted into a payload is written in the file that holds it.

A :class:`~imds_iac_checks.model.Piece` names its escape as layers joined by ``+``, innermost
first (``sub+json``: inside an ``Fn::Sub`` string, inside a JSON string), each a name of
:data:`LAYERS` with an optional ``:argument``. :func:`encode` applies them in that order; a
layer that cannot hold the text (or an empty escape) makes the insertion impossible.

The layers:

- ``raw``: as is.
- ``hcl-template``: a Terraform template (a heredoc, a template file): ``${`` → ``$${``,
  ``%{`` → ``%%{``.
- ``hcl-string``: a Terraform quoted string: ``hcl-template``, then ``\\`` ``"`` and control
  characters as backslash escapes (newline ``\\n``, tab ``\\t``, CR ``\\r``, others
  ``\\uXXXX``).
- ``json``: the body of a JSON string (no surrounding quotes): ``\\`` ``"`` and control
  characters escaped, everything else (non-ASCII too) as is.
- ``sub``: a CloudFormation ``Fn::Sub`` string: ``${`` → ``${!`` (CloudFormation writes
  ``${!Literal}`` as ``${Literal}``); text with a ``${`` that no ``}`` closes (or another
  ``${`` inside one) cannot be written there: how Fn::Sub reads that is not documented.
- ``indent:<ws>``: a YAML literal block scalar (``|``) or a Terraform ``<<-`` heredoc whose
  lines are indented by ``<ws>`` (the argument, literally), text inserted at the start of a
  line after its indentation: each newline is followed by it (but an empty line stays empty;
  a line of blanks keeps it in a ``<<-`` heredoc, which strips no blank line).
  Text holding another line break (CR, NEL, U+2028/9: line breaks to a YAML 1.1 reader such
  as CloudFormation's) or a control character YAML cannot hold cannot be written there.
- ``yaml-dq``: a YAML double-quoted scalar: ``\\`` ``"``, line breaks, tabs and characters
  YAML cannot hold as escapes; spaces at the ends of the text as ``\\x20`` (a space next to
  a line break of a multi-line scalar would be folded away).
- ``code-string:<quote>``: a quoted string in JavaScript/TypeScript or Python source (not a
  raw, f- or template string) quoted with ``<quote>``: ``\\``, that quote and control
  characters as backslash escapes (newline ``\\n``, others ``\\xHH``).
- ``yaml-sq``: a YAML single-quoted scalar: ``'`` → ``''``; a line break (or a character
  YAML cannot hold) cannot be written there (it would be folded).
"""

import re
from collections.abc import Callable


def _raw(text: str, argument: str) -> str | None:
    return text


def _hcl_template(text: str, argument: str) -> str | None:
    return text.replace("${", "$${").replace("%{", "%%{")


_HCL_STRING = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_HCL_SPECIAL = re.compile(r'[\\"\x00-\x1f\x7f]')


def _hcl_string(text: str, argument: str) -> str | None:
    templated = _hcl_template(text, argument)
    assert templated is not None

    def one(match: re.Match[str]) -> str:
        char = match.group(0)
        return _HCL_STRING.get(char) or f"\\u{ord(char):04x}"

    return _HCL_SPECIAL.sub(one, templated)


def _json(text: str, argument: str) -> str | None:
    import json

    if _has_surrogate(text):
        return None  # not writable in a UTF-8 file
    return json.dumps(text, ensure_ascii=False)[1:-1]


# ``${`` closed by a ``}`` with no other ``${`` before it: what Fn::Sub reads as one reference.
_SUB_OPEN = re.compile(r"\$\{(?![^}]*?\$\{)[^}]*\}")


def _sub(text: str, argument: str) -> str | None:
    if text.count("${") != len(_SUB_OPEN.findall(text)):
        return None  # an unclosed or nested ``${``: how Fn::Sub reads it is not documented
    return text.replace("${", "${!")


# Line breaks other than LF: a YAML 1.1 reader (CloudFormation's) breaks lines at each of them.
_OTHER_BREAKS = re.compile("[\r\x85\u2028\u2029]")
# Characters a YAML stream cannot hold as they are (outside c-printable), with TAB and LF allowed.
_NOT_PRINTABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufeff\ufffe\uffff]"
)


_LINE_START = re.compile("\n(?!\n)")


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in text)


def _indent(text: str, argument: str) -> str | None:
    if _OTHER_BREAKS.search(text) or _NOT_PRINTABLE.search(text):
        return None
    # An empty line stays empty (a ``<<-`` heredoc keeps the blanks of a blank line).
    return _LINE_START.sub(lambda _: "\n" + argument, text)


_YAML_DQ = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}
_YAML_DQ_SPECIAL = re.compile(
    '[\\\\"\n\t\r\x85\u2028\u2029\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufeff\ufffe\uffff]'
)


def _yaml_dq(text: str, argument: str) -> str | None:
    if _has_surrogate(text):
        return None

    def one(match: re.Match[str]) -> str:
        char = match.group(0)
        known = _YAML_DQ.get(char)
        if known is not None:
            return known
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    body = _YAML_DQ_SPECIAL.sub(one, text)
    # Spaces at the ends: next to a line break of a multi-line scalar they would be folded away.
    stripped = body.lstrip(" ")
    lead = len(body) - len(stripped)
    body = "\\x20" * lead + stripped
    stripped = body.rstrip(" ")
    trail = len(body) - len(stripped)
    return stripped + "\\x20" * trail


def _yaml_sq(text: str, argument: str) -> str | None:
    if "\n" in text or _OTHER_BREAKS.search(text) or _NOT_PRINTABLE.search(text):
        return None
    return text.replace("'", "''")


# Layer name -> encoder(text, argument) -> the text as written, or None when it cannot be.
def _dockerfile_run(text: str, argument: str) -> str | None:
    """A shell-form ``RUN`` instruction: a line break would end the instruction, so each is
    written as ``; \\`` and a line continuation, which BuildKit joins into ``;`` for the shell
    (a command list, as the line break was)."""
    if "\r" in text:
        return None
    return text.replace("\n", "; \\\n")


_CODE_STRING = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _code_string(text: str, argument: str) -> str | None:
    """A quoted string of program source (JavaScript/TypeScript or Python, not a raw, f- or
    template string) whose quote is ``argument``: backslash, that quote, and control
    characters as backslash escapes."""
    if _has_surrogate(text) or argument not in ("'", '"'):
        return None
    out = []
    for char in text:
        if char in _CODE_STRING:
            out.append(_CODE_STRING[char])
        elif char == argument:
            out.append("\\" + char)
        elif char < " " or char == "\x7f":
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


LAYERS: dict[str, Callable[[str, str], str | None]] = {
    "code-string": _code_string,
    "dockerfile-run": _dockerfile_run,
    "raw": _raw,
    "hcl-template": _hcl_template,
    "hcl-string": _hcl_string,
    "json": _json,
    "sub": _sub,
    "indent": _indent,
    "yaml-dq": _yaml_dq,
    "yaml-sq": _yaml_sq,
}


def encode(escape: str, text: str) -> str | None:
    """``text`` as it must be written into a piece with this escape, or None when it cannot
    be (no escape, or a layer that cannot hold it)."""
    if not escape:
        return None
    for layer in escape.split("+"):
        name, _, argument = layer.partition(":")
        encoder = LAYERS.get(name)
        if encoder is None:
            return None
        encoded = encoder(text, argument)
        if encoded is None:
            return None
        text = encoded
    return text
