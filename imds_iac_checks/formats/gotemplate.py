"""Go template actions in YAML (Helm chart templates): found, blanked, and their conditions.

A Helm chart's ``templates/*.yaml`` is YAML only once Helm has rendered it: ``{{ ... }}``
actions stand for values (``httpTokens: {{ .Values.tokens }}``), for whole lines of YAML
(``{{- toYaml .Values.spec | nindent 2 }}``) and for control flow (``{{- if ... }}``,
``{{- end }}``). The readers here do not render templates: they read the text as it is written,
with every action blanked to text of the same length (offsets, lines and columns unchanged), so
that a YAML parser sees the literal parts. An action alone on its line becomes blanks; an action
among other text becomes ``x`` characters (a plain word the parser takes as a scalar). The
readers then treat a value that overlaps an action as unknown (IMDS004 names it), and know which
parts of the text lie inside a conditional (``{{ if }}``, ``{{ with }}``, ``{{ range }}``).
"""

import re
from bisect import bisect_right
from typing import NamedTuple

# Words that open, continue or close a control structure, or produce no output.
_OPENERS = frozenset(("if", "with", "range", "define", "block"))
_SILENT = frozenset(("if", "else", "end", "with", "range", "define", "break", "continue"))
_ASSIGN = re.compile(r"\$[A-Za-z0-9_]*\s*:?=")

# Bound on the actions read from one file (a file with more is read as far as this).
MAX_ACTIONS = 100_000


class Action(NamedTuple):
    """One ``{{ ... }}`` action: ``text[start:end]``. ``word`` is its first word (``if``,
    ``else``, ``end``, ``range``, ``include``, ``.Values.x``: "" for a comment), ``alone``
    whether it stands on a line with nothing but blanks and other actions, ``silent`` whether it
    writes nothing into the output (control flow, comments, variable assignments)."""

    start: int
    end: int
    body: str
    word: str
    alone: bool
    silent: bool


class Scope(NamedTuple):
    """The conditions text is under: the innermost one (``when``: what must hold for the text
    to be rendered) and the scope it is nested in. One object per branch: text in the same
    branch has the same scope. ``group`` is the offset of the action that opens the structure
    the branch belongs to (``{{ if }}``, ``{{ with }}``, ``{{ range }}``), ``final`` whether the
    branch is its plain ``{{ else }}`` (taken when no other branch is)."""

    when: str
    parent: "Scope | None"
    depth: int
    group: int = -1
    final: bool = False


# How many conditions a description names (the innermost ones; deeper nesting is summed up).
MAX_NAMED = 6


class Scopes:
    """The scope of every part of a text, from its actions: each branch of an ``if``/``else``
    (and ``else if``), the body of a ``with`` or ``range``, a ``define`` (a named template,
    rendered only where it is included). Unbalanced actions are ignored. A lookup costs a binary
    search."""

    def __init__(self, found: list[Action]) -> None:
        self.ends: list[int] = []
        self.states: list[Scope | None] = []
        # How many branches each structure has (by its opening action's offset).
        self.branches: dict[int, int] = {}
        # open structures: (opening word, first condition, the scope outside it, its offset)
        opened: list[tuple[str, str, Scope | None, int]] = []
        state: Scope | None = None
        for action in found:
            word = action.word
            if word in _OPENERS:
                rest = action.body[len(word) :].strip()
                opened.append((word, rest, state, action.start))
                self.branches[action.start] = 1
                depth = state.depth + 1 if state else 1
                state = Scope(_when(word, rest), state, depth, action.start)
            elif word == "else" and opened:
                kind, first, outside, group = opened[-1]
                rest = action.body[len("else") :].strip()
                final = not rest.startswith(("if ", "with "))
                if not final:
                    when = f"{{{{ else {rest} }}}} holds"
                else:
                    when = _negate(_when(kind, first))
                    if state is not None and state.when.startswith("{{ else "):
                        when = f"no condition of {{{{ {kind} {first} }}}} and its else ifs holds"
                self.branches[group] += 1
                depth = outside.depth + 1 if outside else 1
                state = Scope(when, outside, depth, group, final)
            elif word == "end" and opened:
                state = opened.pop()[2]
            else:
                continue
            self.ends.append(action.end)
            self.states.append(state)

    def at(self, offset: int) -> Scope | None:
        """The scope of the text at ``offset``."""
        index = bisect_right(self.ends, offset) - 1
        return self.states[index] if index >= 0 else None

    @staticmethod
    def describe(scope: Scope | None, outside: Scope | None = None) -> str | None:
        """The conditions of ``scope`` that ``outside`` (the scope of what holds it) does not
        have, outermost first, joined with "and"; None when there are none."""
        names: list[str] = []  # innermost first
        inner, other = scope, outside
        while inner is not None and (other is None or inner.depth > other.depth):
            names.append(inner.when)
            inner = inner.parent
        while other is not None and other.depth > (inner.depth if inner is not None else 0):
            other = other.parent
        while inner is not None and inner is not other:  # up to the scope they share
            names.append(inner.when)
            inner = inner.parent
            other = other.parent if other is not None else None
        if not names:
            return None
        shown = names[:MAX_NAMED]
        text = " and ".join(reversed(shown))
        more = len(names) - len(shown)
        return f"{text} (and {more} more conditions)" if more else text

    def always(self, written: list["Scope | None"], outside: "Scope | None") -> bool:
        """Whether text written in the scopes ``written`` is rendered whenever text in
        ``outside`` is: one of them is ``outside`` itself, or they hold every branch of a
        structure directly inside ``outside`` that has a plain ``{{ else }}``. (Deeper nesting
        is not followed: such text is taken as not always rendered.)"""
        groups: dict[int, set[int]] = {}
        finals: set[int] = set()
        for scope in written:
            if scope is outside:
                return True
            if scope is not None and scope.parent is outside and scope.group >= 0:
                groups.setdefault(scope.group, set()).add(id(scope))
                if scope.final:
                    finals.add(scope.group)
        return any(
            group in finals and len(ids) == self.branches.get(group, 0)
            for group, ids in groups.items()
        )

    @classmethod
    def negate(cls, written: list["Scope | None"], outside: "Scope | None") -> str:
        """When text in ``outside`` is rendered but none in ``written`` is: the negation of each
        branch's conditions, joined with "and"."""
        parts: list[str] = []
        for scope in written:
            text = cls.describe(scope, outside)
            if text is None or text in parts:
                continue
            if " and " not in text and scope is not None and scope.parent is outside:
                negated = _negate(text)
                if negated not in parts:
                    parts.append(negated)
            else:
                parts.append(f"not ({text})")
            if len(parts) >= MAX_NAMED:
                parts.append("(and more conditions)")
                break
        return " and ".join(parts)


def _negate(when: str) -> str:
    for said, negated in _NEGATIONS:
        if when.endswith(said):
            return when[: -len(said)] + negated
    return f"not ({when})"


_NEGATIONS = (
    (" does not hold", " holds"),
    (" holds", " does not hold"),
    (" is not empty", " is empty"),
    (" has items (once per item)", " has no items"),
)


def actions(text: str) -> list[Action]:
    """Every action of ``text`` in order (quotes inside an action are respected: ``{{ "}}" }}``
    is one action). An action left open runs to the end of the text."""
    found: list[Action] = []
    at = text.find("{{")
    while at >= 0 and len(found) < MAX_ACTIONS:
        end = _close(text, at + 2)
        body = text[at + 2 : end - 2] if text.endswith("}}", 0, end) else text[at + 2 : end]
        inner = body.strip()
        inner = inner[1:] if inner.startswith("-") else inner
        inner = inner[:-1] if inner.endswith("-") else inner
        inner = inner.strip()
        comment = inner.startswith("/*")
        word = "" if comment else (inner.split(None, 1)[0] if inner else "")
        silent = comment or word in _SILENT or bool(_ASSIGN.match(inner))
        found.append(Action(at, end, inner, word, False, silent))
        at = text.find("{{", end)
    # "alone": with nothing but blanks, other actions and a comment on its line(s); each line
    # is looked at once (one long line of many actions costs its length, not that per action)
    group: list[int] = []
    for index, action in enumerate(found):
        if group and text.find("\n", found[group[-1]].end, action.start) >= 0:
            _mark_alone(text, found, group)
            group = []
        group.append(index)
    if group:
        _mark_alone(text, found, group)
    return found


def _mark_alone(text: str, found: list[Action], group: list[int]) -> None:
    if _only_actions(text, [found[i] for i in group]):
        for i in group:
            found[i] = found[i]._replace(alone=True)


def _close(text: str, pos: int) -> int:
    """The offset just past the ``}}`` that closes an action whose body starts at ``pos``."""
    quote = ""
    size = len(text)
    while pos < size:
        char = text[pos]
        if quote:
            if char == "\\" and quote == '"':
                pos += 2
                continue
            if char == quote:
                quote = ""
        elif char in '"`':
            quote = char
        elif char == "}" and text.startswith("}}", pos):
            return pos + 2
        elif char == "\n" and quote == "" and text.startswith("{{", pos + 1):
            return pos  # an action left open: stop before the next one
        pos += 1
    return size


def _only_actions(text: str, group: list[Action]) -> bool:
    begin = text.rfind("\n", 0, group[0].start) + 1
    stop = text.find("\n", group[-1].end)
    stop = len(text) if stop < 0 else stop
    rest, at = [], begin
    for action in group:
        rest.append(text[at : action.start])
        at = action.end
    after = text[at:stop].strip()
    return not "".join(rest).strip() and (not after or after.startswith("#"))


def blank(text: str, found: list[Action]) -> str:
    """``text`` with every action replaced by text of the same length: blanks for an action
    alone on its line and for a comment (``{{/* ... */}}`` writes nothing), ``x`` characters
    for one among other text (line breaks kept). An action that runs over several lines is a
    word on its first line and blanks on the others (a value continued on an indented line
    stays one value); one left open is ``x`` characters to the end."""
    if not found:
        return text
    parts: list[str] = []
    at = 0
    for action in found:
        parts.append(text[at : action.start])
        piece = text[action.start : action.end]
        if action.alone or action.body.startswith("/*"):
            fill = " " * len(piece)
        elif not piece.endswith("}}"):  # left open: Helm rejects it, so must the parser
            fill = "x" * len(piece)
        else:
            first, newline, rest = piece.partition("\n")
            fill = "x" * len(first) + newline + " " * len(rest)
        parts.append("".join(c if c in "\r\n" else f for c, f in zip(piece, fill, strict=True)))
        at = action.end
    parts.append(text[at:])
    return "".join(parts)


def _when(word: str, rest: str) -> str:
    if word == "if":
        return f"{{{{ if {rest} }}}} holds"
    if word == "with":
        return f"{{{{ with {rest} }}}} is not empty"
    if word == "range":
        return f"{{{{ range {rest} }}}} has items (once per item)"
    return f"the named template {{{{ {word} {rest} }}}} is included"


def overlapping(found: list[Action], starts: list[int], start: int, end: int) -> Action | None:
    """The first action that overlaps ``[start, end)`` (or, for an empty range, holds
    ``start``); ``starts`` are the actions' starts."""
    index = max(bisect_right(starts, start) - 1, 0)
    while index < len(found) and found[index].start < max(end, start + 1):
        if start < found[index].end:
            return found[index]
        index += 1
    return None
