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

from bisect import bisect_right
from collections.abc import Callable, Mapping
from typing import NamedTuple

Scalar = str | int | float | bool

# Canonical setting keys: the same in every format. A kind carries the settings its KindSpec
# names (``fields``); :data:`NORMALIZE` says how a literal of each is read. A new setting is a new
# key here, a field in the KindSpecs that carry it and, when its literals need more than text, an
# entry in NORMALIZE: the adapters fill whatever a KindSpec names.
ENDPOINT = "endpoint"
TOKENS = "tokens"
HOP_LIMIT = "hop_limit"
# What an AMI says about the instances launched from it: ``imds_support = "v2.0"`` (RegisterImage
# ``ImdsSupport``) makes them default to tokens required.
IMDS_SUPPORT = "imds_support"

# Canonical values.
REQUIRED = "required"
DISABLED = "disabled"
V2_0 = "v2.0"  # the one value of IMDS_SUPPORT that requires tokens

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


class LinkKind:
    """What kind of place a provenance :class:`Link` is. Plain string constants (no
    :mod:`enum` import at start-up); a table row per kind (``_LINK_KINDS``) says how a link of
    it reads in messages and whether a fix may edit the value written there (:func:`fix_safety`).
    A new kind of place is a constant here and a row there."""

    # Where a value is written.
    LITERAL = "literal"  # a literal (in the resource, or anywhere not named by another kind)
    EXPRESSION = "expression"  # an expression that could not be evaluated
    # An expression whose evaluation stopped at a bound (hostile input): the value's expression
    # says why, beginning with TOO_COMPLEX.
    TOO_COMPLEX = "too complex"
    VARIABLE_DEFAULT = "variable default"  # subject: "var.x"
    VARIABLE_FILE = "variable file"  # subject: "var.x", place: the .tfvars file (or --var-file)
    # Values given outside the files scanned: their links have no file (``Span.path`` is ""),
    # and a finding points at the first place in a file that uses the value (see Value.span).
    VARIABLE_CLI = "variable on the command line"  # subject: "var.x", place: "--var x=..."
    VARIABLE_ENV = "variable from the environment"  # subject: "var.x", place: "TF_VAR_x"
    LOCAL = "local"  # subject: "local.y"
    MODULE_INPUT = "module input"  # subject: the input, place: the module call's address
    OPTIONAL_DEFAULT = "optional default"  # subject: "var.x.attr" (the typed attribute)
    OPTIONAL_ATTRIBUTE = "optional attribute"  # an optional() attribute with no default: null
    KNOWN_MODULE = "known module"  # subject: registry source, place: version constraint
    KNOWN_MODULE_DEFAULT = "known module default"  # the same, a default the module writes
    # A known module's default for the node groups it makes (registry.NODE_GROUP_MODULES).
    # subject: "module eks (terraform-aws-modules/eks/aws 19.16.0)", place: where it is written.
    NODE_GROUP_DEFAULT = "node group default"
    # A managed node group without a custom launch template: EKS's own template decides (IMDSv1
    # allowed, hop limit 2). subject: the argument that says so (use_custom_launch_template).
    EKS_OWN_TEMPLATE = "EKS launch template"
    # A module input that several of the module's resources share (the EKS module's
    # *_node_group_defaults): subject, place as for MODULE_INPUT.
    SHARED_MODULE_INPUT = "shared module input"
    # A value written under a YAML anchor that an alias or a merge key (``<<: *name``) uses
    # elsewhere too: subject: the anchor's name.
    YAML_ANCHOR = "YAML anchor"
    PARAMETER_DEFAULT = "parameter default"  # subject: the CloudFormation parameter
    # subject: the parameter, place: "--parameter Key=Value" or "--parameters FILE". The link is
    # at the ``Ref`` that uses the value (the parameters file is read without positions).
    PARAMETER_CLI = "parameter on the command line"
    MAPPING = "mapping"  # subject: "Map.Key.Key" (a Mappings entry)
    # A value a parent stack passes to a nested stack: subject: the parameter, place: the nested
    # stack's logical id in the parent (the link is at the parent's Parameters entry).
    STACK_PARAMETER = "stack parameter"
    NO_VALUE = "AWS::NoValue"
    # A setting a template writes only in some branches of its conditionals (a Helm
    # ``{{ if }}`` without ``{{ else }}``): "not set" in the others. subject: why no fix writes it.
    NOT_WRITTEN = "not written"
    TEMPLATE_REFERENCE = "launch template reference"
    # A module call or nested stack whose code was not evaluated (remote, not downloaded, not
    # on disk): the value's expression is the whole explanation (what, and how to make it
    # evaluable), and the link points at the ``source`` / ``TemplateURL`` written.
    NOT_EVALUATED = "not evaluated"
    # What a value flowed through after it was written.
    REFERENCE = "reference"  # subject: "var.x" or "local.y"
    PARAMETER_REFERENCE = "parameter reference"  # subject: the parameter (``Ref``)
    FIND_IN_MAP = "Fn::FindInMap"
    FUNCTION = "function"  # subject: the function's name
    CONDITIONAL = "conditional"  # an undecided conditional (its branches are the values)
    # A conditional that its condition decided: the link is at the value that decided it (the
    # input a person edits to choose the other branch) and carries the :class:`Decision`.
    DECISION = "decision"


# How the fix safety of a value is derived from the kind of place it is written in.
_WHERE = "where"  # safe inside the resource; elsewhere unsafe: other resources may share it
_OWN = "own"  # safe wherever it is written: it belongs to one resource (its module-call argument)
_NEVER = "never"  # not fixable: it is given outside the files scanned (command line, environment)
_MODULE = "module"  # not fixable there: a registry module's own default (override it in the call)
_SHARED = "shared"  # unsafe wherever it is written: other resources read it too

# Each kind: how a link of it reads in a message ({subject}, {place}: the link's fields), and
# how a fix of a value written there is judged (see fix_safety).
_LINK_KINDS: dict[str, tuple[str, str]] = {
    LinkKind.LITERAL: ("literal", _WHERE),
    LinkKind.EXPRESSION: ("expression", _WHERE),
    LinkKind.TOO_COMPLEX: ("expression", _WHERE),
    LinkKind.VARIABLE_DEFAULT: ("default of {subject}", _WHERE),
    LinkKind.VARIABLE_FILE: ("{subject} in {place}", _WHERE),
    LinkKind.VARIABLE_CLI: ("{subject} from {place}", _NEVER),
    LinkKind.VARIABLE_ENV: ("{subject} from {place} in the environment", _NEVER),
    LinkKind.LOCAL: ("{subject}", _WHERE),
    LinkKind.MODULE_INPUT: ("{place} input {subject}", _OWN),
    LinkKind.OPTIONAL_DEFAULT: ("optional default of {subject}", _WHERE),
    LinkKind.OPTIONAL_ATTRIBUTE: ("optional attribute", _WHERE),
    LinkKind.KNOWN_MODULE: ("{subject} {place}", _WHERE),
    LinkKind.KNOWN_MODULE_DEFAULT: ("default of {subject} {place}", _MODULE),
    LinkKind.NODE_GROUP_DEFAULT: ("{subject} default for node groups, {place}", _MODULE),
    LinkKind.EKS_OWN_TEMPLATE: (
        "EKS's own launch template ({subject}), which allows IMDSv1 with hop limit 2",
        _MODULE,
    ),
    LinkKind.SHARED_MODULE_INPUT: ("{place} input {subject}", _SHARED),
    LinkKind.YAML_ANCHOR: ("anchor &{subject}", _SHARED),
    LinkKind.PARAMETER_DEFAULT: ("default of parameter {subject}", _WHERE),
    LinkKind.PARAMETER_CLI: ("parameter {subject} from {place}", _NEVER),
    LinkKind.MAPPING: ("mapping {subject}", _WHERE),
    LinkKind.STACK_PARAMETER: ("parameter {subject} passed by {place}", _OWN),
    LinkKind.NO_VALUE: ("AWS::NoValue", _WHERE),
    LinkKind.NOT_WRITTEN: ("not written in that branch", _NEVER),
    LinkKind.TEMPLATE_REFERENCE: ("launch template reference", _WHERE),
    LinkKind.NOT_EVALUATED: ("source", _WHERE),
    LinkKind.REFERENCE: ("{subject}", _WHERE),
    LinkKind.PARAMETER_REFERENCE: ("Ref {subject}", _WHERE),
    LinkKind.FIND_IN_MAP: ("Fn::FindInMap", _WHERE),
    LinkKind.FUNCTION: ("{subject}()", _WHERE),
    LinkKind.CONDITIONAL: ("conditional", _WHERE),
    LinkKind.DECISION: ("{subject}", _WHERE),
}


class Decision(NamedTuple):
    """Why a conditional took the branch it took: ``condition`` (as written) is ``taken``
    (True: the first branch). ``at`` is the conditional (Terraform ``c ? a : b``, CloudFormation
    ``Fn::If``). ``subject`` is what the condition reads (``var.use_imds_v2``, a parameter) and
    ``shown`` its value as a message quotes it; ``input`` is where that value is written — a
    variable default, a tfvars entry, a module argument, a parameter default — as (span, link
    kind, subject, place) of a :class:`Link`, None when no single written value decides
    (``var.a && var.b``, a function of several inputs). ``flip`` is the value to write there to
    take the other branch, None when none can be derived (``why`` says so)."""

    condition: str
    taken: bool
    at: Span
    subject: str = ""
    shown: str = ""
    input: tuple[Span, str, str, str] | None = None
    flip: Scalar | None = None
    why: str = ""
    other: str = ""  # the branch not taken, as written
    # The condition reads an input of the configuration (a variable, a local, a parameter), not
    # something of the instance (``count.index``): writing the other branch's value over the
    # branch taken would make that input a no-op, so a fix never does.
    reads_input: bool = False
    # The names followed from the condition to ``subject`` (``local.is_prod``, ``condition
    # IsProd``), comma-separated; empty when the condition reads ``subject`` itself.
    through: str = ""

    @property
    def actionable(self) -> bool:
        """A value to write where the deciding value is written is known: the fix changes the
        decision, and a finding points there."""
        return self.input is not None and self.flip is not None

    @property
    def input_link(self) -> "Link | None":
        return Link(*self.input) if self.input is not None else None

    @property
    def branch(self) -> str:
        return "true" if self.taken else "false"

    def reason(self) -> str:
        """``var.x ? ... : ... at main.tf:7 takes its false branch: var.x is false (default of
        var.x at variables.tf:3)`` (the location of the conditional relative to ``here``)."""
        text = f"{self.condition} is {self.branch}"
        link = self.input_link
        if link is None or not self.subject:
            return text
        where = link.description
        if link.kind == LinkKind.VARIABLE_DEFAULT and link.subject == self.subject:
            where = "default"
        if link.span.path:
            where += f" at {link.span.path}:{link.span.line}"
        if self.condition == self.subject:
            return f"{text} ({where})"
        if self.through:
            return f"{text} because {self.subject} is {self.shown} ({where})"
        return f"{text}: {self.subject} is {self.shown} ({where})"


class Link(NamedTuple):
    """One step of a value's provenance: where it is written and what kind of place that is.

    ``subject`` names what is there (``var.x``, ``local.y``, a parameter, a module input) and
    ``place`` where that is (a tfvars file, a module call's address); which of them a kind uses
    is said at :class:`LinkKind`. Messages read :attr:`description`, built from the three."""

    span: Span
    kind: str
    subject: str = ""
    place: str = ""
    decision: Decision | None = None  # kind DECISION: why the branch was taken

    @property
    def description(self) -> str:
        return _LINK_KINDS[self.kind][0].format(subject=self.subject, place=self.place)


# Fix safety (Finding.fix).
SAFE = "safe"
UNSAFE = "unsafe"


def fix_safety(link: Link, inside: bool) -> str | None:
    """Whether editing the value written at ``link`` fixes one resource only, from the link's
    kind: SAFE when it is inside the resource (``inside``) or belongs to it alone (its own
    module-call argument), UNSAFE when other resources may share what is edited (a variable
    default, a local, a tfvars entry, a parameter default, a mapping, a module input several
    node groups share), None when no fix can edit it (a value given on the command line or in
    the environment, a registry module's own default). A value from one branch
    of a condition is unsafe in any case (the caller says so)."""
    rule = _LINK_KINDS[link.kind][1]
    if rule in (_NEVER, _MODULE):
        return None
    if rule == _SHARED:
        return UNSAFE
    return SAFE if (inside or rule == _OWN) else UNSAFE


def module_decides(link: Link) -> bool:
    """Is the value a registry module's own default (no fix edits it: the module call overrides
    it with an input)?"""
    return _LINK_KINDS[link.kind][1] == _MODULE


class Value(NamedTuple):
    """One setting as a target would deploy it.

    ``known`` is False when the value cannot be resolved statically; ``expression`` is then the
    source text that could not be evaluated. ``value`` is the canonical value (see
    :func:`normalize`) and ``raw`` the literal as written (``"2"`` for a hop limit written as a
    string). ``provenance[0]`` is where the value is written: the place a finding points at (see
    :attr:`span`) and the place a fix edits. ``condition`` names the branch when a value is one
    alternative of a conditional. ``problem`` explains a literal that is not a valid value for
    the field. A known Value whose ``value`` is None is "not set" in its branch (CloudFormation
    ``AWS::NoValue``).
    """

    known: bool
    value: Scalar | None
    raw: Scalar | None
    expression: str
    provenance: tuple[Link, ...]
    condition: str | None = None
    problem: str | None = None

    @property
    def decision(self) -> Decision | None:
        """The innermost conditional that chose this value with its condition decided (see
        :class:`Decision`), if any."""
        for link in self.provenance:
            if link.kind == LinkKind.DECISION and link.decision is not None:
                return link.decision
        return None

    @property
    def span(self) -> Span:
        """Where a finding on the value points: where it is written, or, for a value given
        outside the files scanned (``--var``, ``TF_VAR_x``: links with no file), the first place
        in a file that uses it. A value a decided conditional chose points at the value that
        decided it (the input a person edits: a variable default, a tfvars entry, a module
        argument, a parameter default) when a value that takes the other branch is known and
        the input is written in a file (see :attr:`Decision.actionable`)."""
        decision = self.decision
        if (
            decision is not None
            and decision.input is not None
            and decision.actionable
            and decision.input[0].path
        ):
            return decision.input[0]
        for link in self.provenance:
            if link.span.path:
                return link.span
        return self.provenance[0].span if self.provenance else _NOWHERE


_NOWHERE = Span("", 0, 0, 0, 0, 0, 0)  # never used by a Value built by an adapter (see to_values)
# The span of a link to a value given outside any file (the command line, the environment).
NO_FILE = _NOWHERE


class KindSpec(NamedTuple):
    """How one resource kind of one format carries the metadata settings.

    ``block`` is the options block (``metadata_options``), or ``None`` when the settings sit on the
    resource itself (account defaults). ``fields`` names the settings this kind carries: it maps
    each canonical key to this format's field name, and an adapter fills a Target's ``settings``
    with a Value for each field written (rules read ``settings``, never syntax).
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
    # A kind that launches instances but has no metadata options of its own (a spot fleet's
    # launch specifications, an EKS node group without a launch template): how its instances
    # can be made to require IMDSv2 (IMDS006 ends its message with this). Such a kind declares
    # no ``fields`` and no ``block``; naming a launch template makes it inherit from it.
    remedy: str = ""
    # The settings are entries of a list of option settings (Elastic Beanstalk's ``setting``
    # blocks, ``OptionSettings``): the (namespace, option name) of the entry that holds the
    # tokens setting. A fix of a missing setting adds such an entry.
    option: tuple[str, str] | None = None
    # What the resource a target inherits from is called in messages (the target's
    # ``template_ref``, a user's ``used_by``): an EMR cluster's security configuration, an
    # Elastic Beanstalk environment's configuration template.
    template_noun: str = "launch template"
    # The checkov and cfn-lint plugins judge this kind (False: a kind whose settings sit in a
    # shape the plugins do not read, or that only links to a template).
    plugins: bool = True
    # The options block sits in a JSON document held in a string (EMR's configuration): a fix
    # edits a value written there, but never adds the block or a key to it.
    block_in_json: bool = False
    # The settings are the account's defaults for the instances launched without settings of
    # their own (aws_ec2_instance_metadata_defaults, modify-instance-metadata-defaults).
    account_default: bool = False
    # What the tool that deploys this kind does with a setting that is not written, as
    # canonical values by key: Karpenter requires tokens, eksctl (0.143.0 and later) sets
    # disableIMDSv1, Packer sends optional tokens. A setting whose default is REQUIRED is no
    # finding when it is not written; {} = AWS's defaults (IMDSv1 allowed). See
    # :func:`default_setting`.
    defaults: Mapping[str, Scalar] = {}
    # The same when the options block is written without the setting, where that differs
    # (Karpenter v1alpha1: metadataOptions written without httpTokens leaves them optional, while
    # no metadataOptions at all gives required); None: as ``defaults``.
    block_defaults: Mapping[str, Scalar] | None = None
    # Whose default it is, as messages say it ("Karpenter v1 requires tokens by default",
    # "Packer sends http_tokens = \"optional\" when metadata_options is not set").
    default_note: str = ""

    @property
    def label(self) -> str:
        return self.block_label or self.block or "the resource"


def default_setting(target: "Target", key: str) -> Scalar | None:
    """The canonical value ``key`` takes on ``target`` where it is not written (its kind's
    ``defaults``, or ``block_defaults`` when the options block is written), None when the kind
    declares none (AWS's own default applies: IMDSv1 allowed, hop limit 1, endpoint enabled)."""
    spec = target.spec
    if spec.block_defaults is not None and spec.block is not None and target.block_span is not None:
        return spec.block_defaults.get(key)
    return spec.defaults.get(key)


# --- code that runs on instances (migration hazards) --------------------------------------------
#
# Requiring tokens breaks whatever on the instance still calls IMDSv1. Adapters hand over the text
# that runs on instances — a target's user data, a script file, a Dockerfile's RUN lines — as a
# :class:`Payload`: the text as the instance sees it, and where each run of it is written
# (:class:`Piece`). Analysers (:mod:`imds_iac_checks.hazards`) find what breaks in that text
# (:class:`Found`, in the payload's coordinates); the engine maps each to the file a person
# edits and to the instances it runs on (:class:`Hazard`, :class:`Host`), and rules that judge
# hazards (``Rule.hazard``) turn them into findings.


class Piece(NamedTuple):
    """A run of a payload's text written literally in a file: ``text[start:end]`` is written at
    ``span``. When the text's UTF-8 length equals the span's byte length the run is written as
    is (an offset inside it maps to the same offset in the file); otherwise it is one escape
    (``\\"`` in a JSON string, ``$${`` in an HCL template) and only its ends map.

    ``escape`` says how text inserted into this run must be written there: layers joined by
    ``+``, innermost first (``sub+json``: an ``Fn::Sub`` string in a JSON template), each a name
    of :data:`imds_iac_checks.hazards.escape.LAYERS` with an optional ``:argument``
    (``yaml-block:4``, the block scalar's indentation); "" when nothing can be inserted here (a
    YAML plain scalar: the fix says why)."""

    start: int
    end: int
    span: Span
    escape: str = "raw"


class Payload(NamedTuple):
    """Text that runs on instances, as they see it, and where it is written.

    ``pieces`` cover the literal runs in order; text outside every piece is a hole: something
    evaluated at deploy time (``${var.x}``, ``!Ref``), kept as written so that a parser sees a
    word there, and never edited. ``span`` is the whole expression or file: where a finding
    points when what it reports is not inside one piece. ``what`` names the payload in messages
    ("user data", "script", "Dockerfile RUN"), ``language`` how it is read ("" = from its first
    line: a shebang, ``<powershell>``, ``#cloud-config``; see :mod:`imds_iac_checks.hazards`),
    and ``no_fix`` why no edit can be made in it ("" = editable where pieces allow: a base64
    literal is not). ``owner`` is the address of the target whose user data it is ("" for a
    file on its own)."""

    text: str
    pieces: tuple[Piece, ...]
    span: Span
    what: str
    language: str = ""
    no_fix: str = ""
    owner: str = ""

    def located(self, start: int, end: int) -> Span | None:
        """The file span of ``text[start:end]`` when it lies in one piece written as is (or
        covers whole escapes at its ends), else None."""
        return locate(self, start, end)


def locate(payload: Payload, start: int, end: int) -> Span | None:
    """See :meth:`Payload.located`. The locators of the last payloads asked about are kept:
    the spans of many hazards of one large script cost linear time in all, not one pass over
    the script each."""
    for index, (known, locator) in enumerate(_LOCATORS):
        if known is payload:
            if index:
                _LOCATORS.insert(0, _LOCATORS.pop(index))
            return locator.span(start, end)
    locator = Locator(payload)
    _LOCATORS.insert(0, (payload, locator))
    del _LOCATORS[4:]
    return locator.span(start, end)


# The (payload, its Locator) pairs last used by :func:`locate`, most recent first (compared by
# identity: a strong reference is held, so an id is never reused while cached).
_LOCATORS: list[tuple[Payload, "Locator"]] = []


class Locator:
    """File spans of runs of a payload's text, for many runs in a row: within a piece written
    as is, lines, columns and bytes are counted from where the previous run of that piece ended
    (when it lies before), so runs asked for in order cost linear time in all (a nested payload
    of thousands of lines)."""

    def __init__(self, payload: Payload) -> None:
        self.payload = payload
        # piece index -> the positions counted so far, as sorted (text offset, byte offset,
        # line, column): a run is counted from the nearest one before it, so runs asked for in
        # any order cost about the distance to a position already counted.
        self.cursors: dict[int, list[tuple[int, int, int, int]]] = {}
        self.verbatim: dict[int, bool] = {}

    def span(self, start: int, end: int) -> Span | None:
        text = self.payload.text
        for index, piece in enumerate(self.payload.pieces):
            if piece.start <= start and end <= piece.end:
                verbatim = self.verbatim.get(index)
                if verbatim is None:
                    verbatim = self.verbatim[index] = _verbatim(piece, text)
                if not verbatim:
                    if (start, end) == (piece.start, piece.end):
                        return piece.span
                    return None
                first = self._advance(index, piece, start)
                last = self._advance(index, piece, end)
                return Span(
                    piece.span.path, first[1], last[1], first[2], first[3], last[2], last[3]
                )
        return None

    def _advance(self, index: int, piece: Piece, at: int) -> tuple[int, int, int, int]:
        span = piece.span
        known = self.cursors.get(index)
        if known is None:
            known = self.cursors[index] = [(piece.start, span.start_byte, span.line, span.column)]
        # the last position counted at or before `at` (the first is the piece's start)
        nearest = bisect_right(known, at, key=_offset) - 1
        offset, byte, line, column = known[max(nearest, 0)]
        if offset == at:
            return known[nearest]
        between = self.payload.text[offset:at]
        byte += len(between.encode("utf-8", "surrogatepass"))
        line, column = _advance(line, column, between)
        moved = (at, byte, line, column)
        known.insert(nearest + 1, moved)
        return moved


def _offset(position: tuple[int, int, int, int]) -> int:
    return position[0]


def _verbatim(piece: Piece, text: str) -> bool:
    size = piece.span.end_byte - piece.span.start_byte
    return size == len(text[piece.start : piece.end].encode("utf-8", "surrogatepass"))


def _advance(line: int, column: int, text: str) -> tuple[int, int]:
    newlines = text.count("\n")
    if not newlines:
        return line, column + len(text)
    return line + newlines, len(text) - text.rfind("\n")


# Kinds of hazard (Found.kind, Hazard.kind): a rule that judges hazards names those it judges
# (``Rule.kinds``). An IMDS request without a session token; an SDK pinned below the first
# release that fetches tokens.
METADATA_CALL = "metadata request without a token"
OLD_SDK = "SDK older than IMDSv2 support"


class Found(NamedTuple):
    """A hazard an analyser found in a payload, in the payload's coordinates.

    ``kind`` says what it is (a rule judging hazards names the kinds it judges:
    ``Rule.kinds``); ``text[start:end]`` is the call or pin; ``what`` describes it for messages
    (``curl GET http://169.254.169.254/latest/meta-data/iam/security-credentials/ without a
    session token``). ``edits`` fix it, as ``(start, end, new text)`` on the payload's text
    (none overlapping; an edit shared by several hazards of one payload, such as the one line
    that fetches the token, is the same tuple in each and applied once); ``change`` says what
    they do, ``no_fix`` why there are none."""

    kind: str
    start: int
    end: int
    what: str
    edits: tuple[tuple[int, int, str], ...] = ()
    change: str = ""
    no_fix: str = ""
    # Free details for rules and reports (the tool, the URL, the package and its minimum),
    # as (key, value) pairs.
    details: tuple[tuple[str, str], ...] = ()


class Host(NamedTuple):
    """A target a payload runs on (or whose instances it runs on), with whether its instances
    require tokens: ``state`` is "required", "allowed" (IMDSv1 still answers), "disabled" (the
    endpoint is off: every call fails) or "unknown"."""

    address: str
    span: Span
    state: str
    # Its instances set no tokens (nor does a template they launch from): the account's
    # default decides, so requiring tokens there breaks the code too.
    defaulted: bool = False


class Hazard(NamedTuple):
    """Something that breaks when IMDSv2 is required, placed where a person edits it and tied
    to the instances it runs on. ``edits`` are byte-range edits of files, as ``(path, start,
    end, new bytes)``: the payload's edits mapped through its pieces and escaped for each
    piece (none when ``no_fix`` says why)."""

    kind: str
    span: Span
    what: str
    payload: str  # Payload.what: "user data", "script", ...
    owner: str  # the target whose user data it is, or "" (a file on its own)
    hosts: tuple[Host, ...]
    edits: tuple[tuple[str, int, int, bytes], ...] = ()
    change: str = ""
    no_fix: str = ""
    details: tuple[tuple[str, str], ...] = ()


class Target(NamedTuple):
    """A place that decides the metadata options of instances: one resource.

    ``settings`` maps each setting the resource writes (a key of ``spec.fields``) to its
    possible Values; a setting not written is absent."""

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
    # Further templates the target names besides ``template_ref`` (an Auto Scaling group's
    # mixed-instances overrides, a fleet's other configurations): linking names the target on
    # each, and leaves in ``unlinked`` those it could not find (IMDS004).
    more_refs: tuple[Value, ...] = ()
    unlinked: tuple[Value, ...] = ()
    # Suppressions the resource declares itself (CloudFormation Metadata): (code, reason, span).
    # The code is a rule id, name or prefix; the span is that of an imds-iac entry as written
    # (None: another tool's entry, mapped to the rule id it covers).
    suppress: tuple[tuple[str, str, Span | None], ...] = ()
    # This one target stands for every one of this many instances (a `count` or `for_each` too
    # large to expand, whose settings do not depend on the instance).
    instances: int | None = None
    # The names in ``address`` (and in the module inputs its values come from) that carry an
    # instance key of `count` or `for_each`, innermost first, each with the same name without its
    # own key: ``("module.web[0].aws_instance.this[1]", "module.web[0].aws_instance.this")``,
    # ``("module.web[0]", "module.web")``. Instances of one block have the same :meth:`generic`
    # names, so their findings can be reported once (:func:`imds_iac_checks.scan.merge_instances`).
    instance_names: tuple[tuple[str, str], ...] = ()
    # The module blocks through which this target was instantiated, outermost first (the first
    # is in the root module): which root a finding comes from, and, in a scan of named files,
    # which files it depends on (a changed module call is part of what makes a resource in the
    # module it calls).
    module_calls: tuple[Span, ...] = ()
    # The options block's name as written (``metadata_options``, ``dynamic "metadata_options"``,
    # the ``MetadataOptions`` key): where a finding on a setting the block lacks points.
    block_key: Span | None = None
    # The resource exists only under inputs other than the defaults (a CloudFormation
    # ``Condition`` false under the parameter defaults, a Terraform ``count = var.x ? 1 : 0``
    # off by default): under which ("PHPVersion is 5.5", "var.create is true"). It was evaluated
    # under them, and its findings say so.
    only_when: str | None = None
    # What runs on the target's instances, as its adapter read it (user data: see Payload).
    user_data: tuple[Payload, ...] = ()
    # Where code that runs on the target's instances still calls IMDSv1 (``user-data.sh:14``):
    # filled by the scan before the rules run; a fix that requires tokens here is unsafe (it
    # would break those calls) and says so.
    blocked_by: tuple[str, ...] = ()
    # Why no fix may edit this target at all (a Packer source whose missing field another
    # build's ``source`` block sets: writing it in the source would make that build fail).
    no_fix: str | None = None
    # Why requiring tokens here is not proven safe although no IMDSv1 call was found: code that
    # runs on the instances could not be read (a Packer ``scripts`` value not evaluated, CDK
    # user data given as a variable).
    fix_unsafe: str | None = None

    @property
    def kind(self) -> str:
        return self.spec.kind

    def field(self, key: str) -> str:
        return self.spec.fields[key]

    def generic(self, text: str) -> str:
        """``text`` (this target's address, or a message about it) with this target's instance
        names written without their keys: the same for every instance of its block."""
        for keyed, base in self.instance_names:
            text = text.replace(keyed, base)
        return text


class Finding(NamedTuple):
    """One finding. ``message`` is what every report prints: ``"[label] body"``, where ``label``
    names the resource (``aws_instance.web``, ``aws_instance.pool (2 instances)``) and ``body``
    says what is wrong; both are kept as fields so that nothing takes a message apart."""

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
    # ``message`` is ``f"[{label}] {body}"`` (None: a finding built without them).
    label: str | None = None
    body: str | None = None
    # What to do about it, on its own (``set http_tokens to "required"``): the ``help:`` line of
    # the full text report. None: the message says all there is.
    help: str | None = None
    # A finding on a resource made through module calls: each call chain it was made through
    # (several when the same finding came from several roots and was merged), outermost call
    # first, each call as (its address, the span of its ``module`` block). See
    # :func:`imds_iac_checks.scan.merge_instances`.
    roots: tuple[tuple[tuple[str, Span], ...], ...] = ()
    # A finding on a hazard (Rule.hazard) carries its fix as byte-range edits of files,
    # ``(path, start, end, new bytes)`` (see Hazard.edits); () for every other finding.
    edits: tuple[tuple[str, int, int, bytes], ...] = ()


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


def _hop_limit(spec: KindSpec, raw: Scalar) -> tuple[Scalar | None, str | None]:
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


def _tokens(spec: KindSpec, raw: Scalar) -> tuple[Scalar | None, str | None]:
    text = _as_text(raw)
    return spec.token_map.get(text, text), None


def _text(spec: KindSpec, raw: Scalar) -> tuple[Scalar | None, str | None]:
    return _as_text(raw), None


# How a literal of a setting becomes its canonical value: ``(value, problem)`` (see
# :func:`normalize`). A setting not listed here is text (``true`` is ``"true"``).
Normalizer = Callable[[KindSpec, Scalar], tuple[Scalar | None, str | None]]
NORMALIZE: dict[str, Normalizer] = {HOP_LIMIT: _hop_limit, TOKENS: _tokens}


def normalize(spec: KindSpec, key: str, raw: Scalar | None) -> tuple[Scalar | None, str | None]:
    """Turn a literal as written into the canonical value for ``key``.

    Returns ``(value, problem)``. ``value`` is ``None`` when the literal means "not set" (``null``,
    or a "no preference" hop limit). ``problem`` is set when the literal is not a valid value.
    """
    if raw is None:
        return None, None
    return NORMALIZE.get(key, _text)(spec, raw)


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


class Parameters(dict[str, str]):
    """CloudFormation parameter values given to a scan, by name (they override the parameters'
    defaults), with ``origins``: where each was given, as messages name it (``--parameter
    Key=Value``, ``--parameters FILE``). A plain dict works too (then messages say "the
    parameters given")."""

    def __init__(self) -> None:
        super().__init__()
        self.origins: dict[str, str] = {}

    def give(self, name: str, value: str, origin: str) -> None:
        self[name] = value
        self.origins[name] = origin


# --- guardrail policies (service control policies, IAM policy documents) ----------------------
#
# An organisation keeps IMDSv1 out for good with policies: a service control policy that denies
# launches unless tokens are required, credentials delivered by IMDSv1, changes of the options.
# Those policies are code too. Adapters (formats/policy*.py) read each policy document wherever
# it is written (a JSON file, a Terraform ``aws_organizations_policy`` or
# ``data.aws_iam_policy_document``, a CloudFormation ``AWS::Organizations::Policy``) into a
# :class:`Policy`: its statements, every scalar of them with where it is written. Rules that
# judge policies (``Rule.policy``) read these, never syntax; their fixes replace written scalars
# (:attr:`Written.edit`) or apply an edit the adapter prepared (``Statement.add_effect``).


# Bytes (lower-cased) of which a file must hold one to be read for policies: the condition keys
# of the IMDS guardrails (IAM keys are case-insensitive), the action that changes the options,
# and an EC2 declarative policy's instance metadata defaults. Here, so that the scan tests a file
# without importing the policy readers.
POLICY_MARKERS = (
    b"ec2:metadatahttp",
    b"ec2:roledelivery",
    b"modifyinstancemetadataoptions",
    b"instance_metadata_defaults",
)


class Written(NamedTuple):
    """One scalar of a policy as written: ``value`` (None when it could not be evaluated:
    ``expression`` is then the text written), ``span`` where it is written (the whole token,
    quotes included: where a finding points), and ``edit``, the span whose bytes, replaced with
    plain text (letters, digits and ``:*/._-``), write that text as the scalar's new value
    (inside the quotes of a string); None when no edit can be made there (an escape in the
    text, an expression)."""

    value: str | None
    span: Span
    edit: Span | None = None
    expression: str = ""
    # The value is written in a place other code also reads (a Terraform local or variable
    # default used elsewhere): who else reads it ("local.imdsv2_only, also used by
    # aws_iam_policy.ci_launch"). A rule then makes no fix that edits it, and says why.
    shared: str = ""


class Condition(NamedTuple):
    """One condition of a statement: ``{"<operator>": {"<key>": [<values>]}}`` (in
    ``aws_iam_policy_document``: ``condition { test, variable, values }``)."""

    operator: Written
    key: Written
    values: tuple[Written, ...]
    # The values could not all be read (a variable list, a ``dynamic`` block): why.
    unknown: str = ""


class Statement(NamedTuple):
    """One statement of a policy. Lists are as written (a single string is a list of one);
    ``not_action`` / ``not_resource``: the statement writes ``NotAction`` / ``NotResource``.
    ``effect`` None: no effect is written, and ``default_effect`` applies ("Allow" in
    ``aws_iam_policy_document``; "" where a policy without one is invalid). ``add_effect`` is
    the edit, as ``(path, start, end, new bytes)``, that writes ``Deny`` as the effect where
    none is written (None: none can be made)."""

    span: Span
    sid: str
    effect: Written | None
    actions: tuple[Written, ...]
    resources: tuple[Written, ...]
    conditions: tuple[Condition, ...]
    not_action: bool = False
    not_resource: bool = False
    default_effect: str = ""
    add_effect: tuple[str, int, int, bytes] | None = None
    # A part that could not be read (a ``dynamic "statement"``, a statement made by a function):
    # what it is. A rule says it could not judge it rather than pass it.
    unknown: str = ""
    # Where the statement sits in an ``aws_iam_policy_document`` (its ``statement`` block) or a
    # document: the address a finding names (``data.aws_iam_policy_document.scp statement 2``).
    label: str = ""


class Policy(NamedTuple):
    """A policy document as written: its statements and where it is.

    ``address`` names it as a person finds it (``aws_organizations_policy.imds``, the logical
    id ``ImdsGuardrail``, or the file for a document on its own); ``what`` says what it is
    ("service control policy", "policy document"); ``type`` the policy type declared
    (``SERVICE_CONTROL_POLICY``, ``RESOURCE_CONTROL_POLICY``, "" when not said). ``no_fix``:
    why no edit may be made to it (a plan or other recorded state). Its findings are suppressed
    as a target's are (see :mod:`imds_iac_checks.suppress`)."""

    address: str
    path: str
    span: Span
    what: str
    format: str
    statements: tuple[Statement, ...]
    type: str = ""
    no_fix: str = ""
    # Where the resource that writes it begins (a Terraform block's first line: an
    # ``# imds-iac: ignore`` there or on the comment line above covers the whole policy), and the
    # suppressions the resource declares itself (CloudFormation ``Metadata``), as Target's.
    header: Span | None = None
    suppress: tuple[tuple[str, str, Span | None], ...] = ()
