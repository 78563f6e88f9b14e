"""The data model shared by every stage: Spans, Values, Targets, Findings and scan errors.

Adapters in :mod:`imds_iac_checks.formats` turn files into :class:`Target` objects. Each setting
a target writes is a :class:`Value`: the resolved value (or *unknown*) plus its provenance, the
chain of places that produced it, first link = the text that set it. Rules in
:mod:`imds_iac_checks.engine` see only Targets and Values, never syntax, and produce
:class:`Finding` objects. The fixer (:mod:`imds_iac_checks.fix`) edits the bytes that a
finding's provenance points at.

Everything here is an immutable ``NamedTuple``: cheap to build, hashable where the fields are,
and free of the start-up cost of :mod:`dataclasses` (which imports :mod:`inspect`). Modules that
define NamedTuples do not use ``from __future__ import annotations``: string annotations make
each field compile a ``ForwardRef`` at import time, which costs milliseconds on every run of a
pre-commit hook.
"""

from collections.abc import Mapping
from typing import NamedTuple

Scalar = str | int | float | bool

# Canonical setting keys: the same in every format.
ENDPOINT = "endpoint"
TOKENS = "tokens"
HOP_LIMIT = "hop_limit"
SETTING_KEYS = (ENDPOINT, TOKENS, HOP_LIMIT)

# Canonical values.
REQUIRED = "required"
DISABLED = "disabled"

# How an evaluation that stopped at a bound (hostile input) begins its explanation; IMDS004 says
# "<setting> is too complex to evaluate statically: <why>".
TOO_COMPLEX = "too complex to evaluate statically"


class Span(NamedTuple):
    """A region of a file. Lines and columns are 1-based; columns count characters and the end
    column is exclusive (it points just past the last character), as in LSP, SARIF and ruff."""

    path: str
    start_byte: int
    end_byte: int
    line: int
    column: int
    end_line: int
    end_column: int


class Link(NamedTuple):
    """One step of a value's provenance: where it is written and what that place is."""

    span: Span
    description: str


class Value(NamedTuple):
    """One setting as a target would deploy it.

    ``known`` is False when the value cannot be resolved statically; ``expression`` is then the
    source text that could not be evaluated. ``value`` is the canonical value (see
    :func:`normalize`) and ``raw`` the literal as written (``"2"`` for a hop limit written as a
    string). ``provenance[0]`` is where the value is written: the place a finding points at and the
    place a fix edits. ``condition`` names the branch when a value is one alternative of a
    conditional. ``problem`` explains a literal that is not a valid value for the field. A known
    Value whose ``value`` is None is "not set" in its branch (CloudFormation ``AWS::NoValue``).
    """

    known: bool
    value: Scalar | None
    raw: Scalar | None
    expression: str
    provenance: tuple[Link, ...]
    condition: str | None = None
    problem: str | None = None

    @property
    def span(self) -> Span:
        return self.provenance[0].span if self.provenance else _NOWHERE


_NOWHERE = Span("", 0, 0, 0, 0, 0, 0)  # never used by a Value built by an adapter (see to_values)


class KindSpec(NamedTuple):
    """How one resource kind of one format carries the metadata settings.

    ``block`` is the options block (``metadata_options``), or ``None`` when the settings sit on the
    resource itself (account defaults). ``fields`` maps canonical keys to this format's field names.
    ``suggest`` maps canonical keys to the literal a fix writes, as shown in messages.
    ``absent_ok``: a missing tokens setting changes nothing (API calls that modify settings), so
    only a value that is written can be a finding.
    """

    kind: str
    block: str | None
    fields: Mapping[str, str]
    suggest: Mapping[str, str]
    needs_block: bool = True
    # Canonical token value for each accepted literal of the tokens field. A literal not listed
    # here is kept as written (and is therefore not "required").
    token_map: Mapping[str, str] = {}
    # Hop-limit literals that mean "no preference" (treated as absent: AWS's default applies).
    hop_no_preference: tuple[Scalar, ...] = ()
    absent_ok: bool = False
    # How messages name the options block ("metadata_options block", "MetadataOptions").
    block_label: str | None = None

    @property
    def label(self) -> str:
        return self.block_label or self.block or "the resource"


class Target(NamedTuple):
    """A place that decides the metadata options of instances: one resource."""

    spec: KindSpec
    address: str
    path: str
    span: Span
    header: Span
    block_span: Span | None
    settings: dict[str, tuple[Value, ...]]
    format: str
    recorded_state: bool = False
    # The options block itself is an expression that cannot be evaluated (`!If` over the block).
    unknown_block: Value | None = None
    # Launch-template inheritance (see imds_iac_checks.link): the template this target launches
    # from (a key such as "aws_launch_template.app" or "name:app", or an unknown Value), the keys
    # under which this target is a template, and what linking found.
    template_ref: Value | None = None
    template_keys: tuple[str, ...] = ()
    inherits_from: str | None = None
    used_by: tuple[str, ...] = ()
    # Suppressions the resource declares itself (CloudFormation Metadata): (rule id, reason).
    suppress: tuple[tuple[str, str], ...] = ()
    # This one target stands for every one of this many instances (a `count` or `for_each` too
    # large to expand, whose settings do not depend on the instance).
    instances: int | None = None

    @property
    def kind(self) -> str:
        return self.spec.kind

    def field(self, key: str) -> str:
        return self.spec.fields[key]


class Finding(NamedTuple):
    rule_id: str
    severity: str
    message: str
    path: str
    span: Span
    resource: str
    kind: str
    fixable: bool
    setting: str | None = None
    # How ``imds-iac fix`` would fix it: "safe" (edits only this resource or its own module-call
    # argument), "unsafe" (edits something shared: ``fix_note`` says what), or None.
    fix: str | None = None
    fix_note: str | None = None
    # Why the finding is accepted (an inline ignore, resource metadata, a checkov skip), or
    # "baseline" when a baseline file lists it: reported, but not counted for the exit code.
    suppressed: str | None = None


class ScanError(NamedTuple):
    """A file (or a part of one) that could not be scanned."""

    path: str
    line: int
    column: int
    message: str


SEVERITY_RANK = {"warning": 1, "error": 2}

# Finding.suppressed for a finding that a baseline file lists.
BASELINE = "baseline"


def _number(raw: Scalar) -> int | float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return int(raw) if float(raw).is_integer() else raw
    text = raw.strip()
    try:
        number = float(text)
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return int(number) if number.is_integer() else number


def normalize(spec: KindSpec, key: str, raw: Scalar | None) -> tuple[Scalar | None, str | None]:
    """Turn a literal as written into the canonical value for ``key``.

    Returns ``(value, problem)``. ``value`` is ``None`` when the literal means "not set" (``null``,
    or a "no preference" hop limit). ``problem`` is set when the literal is not a valid value.
    """
    if raw is None:
        return None, None
    if key == HOP_LIMIT:
        if raw in spec.hop_no_preference:
            return None, None
        number = _number(raw)
        if number is None:
            if isinstance(raw, str) and raw.strip() in spec.hop_no_preference:
                return None, None
            return None, f"{show(raw)} is not a number"
        if number in spec.hop_no_preference:
            return None, None
        return number, None
    text = _as_text(raw)
    if key == TOKENS:
        return spec.token_map.get(text, text), None
    return text, None


def _as_text(raw: Scalar) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


# --- how messages show a value or a piece of code (the one place that says it) ---------------


def show(raw: Scalar | None) -> str:
    """A literal as a message quotes it: strings in double quotes (``\\`` and ``"`` escaped),
    numbers bare, ``true``/``false``, ``null``. Also a ``for_each`` key in an address."""
    if raw is None:
        return "null"
    if isinstance(raw, str):
        return '"' + raw.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return _as_text(raw)


def compact(text: str, limit: int = 120) -> str:
    """Source text as a message quotes it: on one line (runs of blanks as one space), cut to
    ``limit`` characters with an ellipsis."""
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"
