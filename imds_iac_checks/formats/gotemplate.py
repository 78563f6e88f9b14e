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


class Region(NamedTuple):
    """Text under a condition: ``[start, end)`` is rendered only when ``when`` holds."""

    start: int
    end: int
    when: str


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
        found.append(Action(at, end, inner, word, _alone(text, at, end), silent))
        at = text.find("{{", end)
    # "alone" means alone with other actions too: `{{- if .x }}{{ end }}` on one line
    lines: dict[int, list[int]] = {}
    for index, action in enumerate(found):
        lines.setdefault(text.rfind("\n", 0, action.start), []).append(index)
    for indexes in lines.values():
        if len(indexes) > 1 and _only_actions(text, [found[i] for i in indexes]):
            for i in indexes:
                found[i] = found[i]._replace(alone=True)
    return found


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
        elif char in "\"`":
            quote = char
        elif char == "}" and text.startswith("}}", pos):
            return pos + 2
        elif char == "\n" and quote == "" and text.startswith("{{", pos + 1):
            return pos  # an action left open: stop before the next one
        pos += 1
    return size


def _alone(text: str, start: int, end: int) -> bool:
    begin = text.rfind("\n", 0, start) + 1
    stop = text.find("\n", end)
    stop = len(text) if stop < 0 else stop
    after = text[end:stop].strip()
    return not text[begin:start].strip() and (not after or after.startswith("#"))


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
    alone on its line, ``x`` characters for one among other text (line breaks kept)."""
    if not found:
        return text
    parts: list[str] = []
    at = 0
    for action in found:
        parts.append(text[at : action.start])
        fill = " " if action.alone else "x"
        piece = text[action.start : action.end]
        parts.append("".join(c if c in "\r\n" else fill for c in piece))
        at = action.end
    parts.append(text[at:])
    return "".join(parts)


def regions(found: list[Action]) -> list[Region]:
    """The conditional parts of the text: each branch of an ``if``/``else`` (and ``else if``),
    the body of a ``with`` or ``range``. A ``define`` (a named template, rendered only where it
    is included) is a region too. Unbalanced actions are ignored."""
    out: list[Region] = []
    # open structures: [word, condition of the current branch, where it started, conditions so far]
    stack: list[list[str | int | list[str]]] = []
    for action in found:
        word = action.word
        if word in _OPENERS:
            rest = action.body[len(word) :].strip()
            stack.append([word, _when(word, rest), action.end, [rest]])
        elif word == "else" and stack:
            top = stack[-1]
            kind, when, start, seen = top
            assert isinstance(start, int) and isinstance(seen, list) and isinstance(when, str)
            out.append(Region(start, action.start, when))
            rest = action.body[len("else") :].strip()
            if rest.startswith("if "):
                seen.append(rest[3:].strip())
                top[1] = f"{{{{ else {rest} }}}} holds"
            elif len(seen) == 1:
                top[1] = f"{{{{ {kind} {seen[0]} }}}} does not hold"
            else:
                top[1] = f"no condition of {{{{ {kind} {seen[0]} }}}} and its else ifs holds"
            top[2] = action.end
        elif word == "end" and stack:
            _, when, start, _ = stack.pop()
            assert isinstance(start, int) and isinstance(when, str)
            out.append(Region(start, action.start, when))
    return out


def _when(word: str, rest: str) -> str:
    if word == "if":
        return f"{{{{ if {rest} }}}} holds"
    if word == "with":
        return f"{{{{ with {rest} }}}} is not empty"
    if word == "range":
        return f"{{{{ range {rest} }}}} has items (once per item)"
    return f"the named template {{{{ {word} {rest} }}}} is included"


def conditions(found: list[Region], start: int, end: int) -> list[Region]:
    """The regions that hold ``[start, end)``, outermost first."""
    inside = [r for r in found if r.start <= start and end <= r.end]
    return sorted(inside, key=lambda r: (r.start, -r.end))


def overlaps(found: list[Action], start: int, end: int) -> Action | None:
    """The first action that overlaps ``[start, end)`` (or, for an empty range, holds it)."""
    for action in found:
        if action.start < max(end, start + 1) and start < action.end:
            return action
    return None
