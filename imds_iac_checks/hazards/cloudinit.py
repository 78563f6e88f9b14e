"""cloud-init user data: the scripts in a ``#cloud-config`` document and in a MIME multipart.

Nothing here finds a hazard itself: it hands back the payloads nested in the one it reads, each
mapped to the parent's text so that what the shell (or another) analyser finds in them points at
the line in the file, and its fix is written there with the right quoting.

- ``#cloud-config``: ``bootcmd`` and ``runcmd`` (each ONE shell payload, an entry a line, so a
  token fetched in one entry is seen by the next; a list entry, which cloud-init runs with
  execve, is its argv joined as shell words), ``snap: commands``, and ``write_files`` entries
  whose ``path`` names a script (or whose content starts with ``#!``). Each run's escape says
  how inserted text is written in the YAML: ``indent:<ws>`` in a block scalar, ``yaml-dq`` /
  ``yaml-sq`` in quoted scalars, "" (nothing can be inserted) in a plain scalar or an argv word.
- MIME multipart (``cloudinit_config``, ``write-mime-multipart``): each part, its language from
  its Content-Type; a base64-encoded part is decoded and cannot be edited.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from itertools import pairwise
from typing import TYPE_CHECKING

from imds_iac_checks.formats.structured import DQ_ESCAPES
from imds_iac_checks.hazards import nest
from imds_iac_checks.model import Payload

if TYPE_CHECKING:
    from imds_iac_checks.formats.doc import DNode

Run = tuple[str, int, int, str]

# Entries read per command list, and the text a nested payload may grow to (aliases can repeat
# one long scalar many times: the nested text is bounded, not the YAML's expansion).
MAX_ENTRIES = 2000
MAX_TEXT = 4 * 1024 * 1024

PLAIN_NO_FIX = (
    "the command is a plain YAML scalar, where inserted text could change how YAML reads it; "
    "quote it or use a block scalar (|), then fix it"
)
ARGV_NO_FIX = (
    "the command is an argv list (run without a shell); rewrite it as a shell string to fetch "
    "and send a session token"
)

_SCRIPT_SUFFIXES = {
    ".sh": "shell",
    ".bash": "shell",
    ".py": "python",
    ".ps1": "powershell",
    ".js": "javascript",
}
_PART_LANGUAGES = {
    "text/x-shellscript": "shell",
    "text/x-shellscript-per-boot": "shell",
    "text/x-shellscript-per-instance": "shell",
    "text/x-shellscript-per-once": "shell",
    "text/cloud-boothook": "shell",
    "text/cloud-config": "cloud-config",
    "text/part-handler": "python",
    "text/plain": "",
    "multipart/mixed": "mime",
}


def find(payload: Payload) -> Iterator[Payload]:
    if payload.language == "mime":
        return _mime(payload)
    if payload.language == "cloud-config":
        return _cloud_config(payload)
    return iter(())


# --- #cloud-config ------------------------------------------------------------------------------


def _cloud_config(payload: Payload) -> Iterator[Payload]:
    from imds_iac_checks.formats.doc import MAP, DocError, parse_yaml

    text = payload.text
    try:
        roots = parse_yaml(text)
    except (DocError, RecursionError, ValueError):
        return
    for root in roots[:1]:
        if root.kind != MAP:
            continue
        for key in ("bootcmd", "runcmd"):
            node = root.get(key)
            if node is not None:
                nested = _commands(payload, node)
                if nested is not None:
                    yield nested
        snap = root.get("snap")
        if snap is not None and snap.kind == MAP:
            node = snap.get("commands")
            if node is not None:
                nested = _commands(payload, node)
                if nested is not None:
                    yield nested
        files = root.get("write_files")
        if files is not None:
            yield from _write_files(payload, files)


def _commands(payload: Payload, node: DNode) -> Payload | None:
    """A command list as one shell script, a line per entry."""
    from imds_iac_checks.formats.doc import MAP, SCALAR, SEQ

    entries: list[DNode]
    if node.kind == SEQ:
        entries = list(node.items[:MAX_ENTRIES])
    elif node.kind == MAP:  # snap: commands may be a mapping of name -> command
        entries = [value for _, value in node.pairs()[:MAX_ENTRIES]]
    elif node.kind == SCALAR and isinstance(node.value, str):
        entries = [node]
    else:
        return None
    runs: list[Run] = []
    size = 0
    no_fix = ""
    for entry in entries:
        if runs and not runs[-1][0].endswith("\n"):
            runs.append(("\n", entry.start, entry.start, ""))
        if entry.kind == SCALAR and entry.value is not None:
            scalar = _scalar_runs(payload.text, entry)
            if not any(layer for _, _, _, layer in scalar):
                no_fix = no_fix or PLAIN_NO_FIX
            runs += scalar
        elif entry.kind == SEQ:
            runs += _argv_runs(payload.text, entry)
            no_fix = no_fix or ARGV_NO_FIX
        size += sum(len(r[0]) for r in runs[-64:])
        if size > MAX_TEXT:
            break
    if not runs:
        return None
    # A fix that cannot be written in every entry it touches is refused there by its piece's
    # escape (""); the payload's no_fix is only set when no entry can hold an edit at all.
    editable = any(layer for _, _, _, layer in runs)
    return nest(
        payload, runs, language="shell", no_fix=payload.no_fix or ("" if editable else no_fix)
    )


def _argv_runs(text: str, node: DNode) -> list[Run]:
    """An argv list as shell words: a word that needs quoting is a decoded run."""
    import shlex

    from imds_iac_checks.formats.doc import SCALAR

    runs: list[Run] = []
    for word in node.items[:MAX_ENTRIES]:
        if word.kind != SCALAR or word.value is None:
            continue
        value = str(word.value)
        if runs:
            runs.append((" ", word.start, word.start, ""))
        quoted = shlex.quote(value)
        if quoted == value:
            runs += [(r[0], r[1], r[2], "") for r in _scalar_runs(text, word)]
        else:
            runs.append((quoted, word.start, word.end, ""))
    return runs


def _write_files(payload: Payload, node: DNode) -> Iterator[Payload]:
    from imds_iac_checks.formats.doc import MAP, SCALAR, SEQ

    if node.kind != SEQ:
        return
    for entry in node.items[:MAX_ENTRIES]:
        if entry.kind != MAP:
            continue
        content = entry.get("content")
        if content is None or content.kind != SCALAR or not isinstance(content.value, str):
            continue
        path_node = entry.get("path")
        path = str(path_node.value) if path_node is not None and path_node.value else ""
        encoding_node = entry.get("encoding")
        encoding = str(encoding_node.value).lower() if encoding_node is not None else ""
        if encoding in ("b64", "base64"):
            try:
                data = base64.b64decode(content.value, validate=False)
                decoded = data.decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                continue
            language = _file_language(path, decoded)
            if language is None:
                continue
            yield Payload(
                decoded,
                (),
                payload.span,
                payload.what,
                language,
                "the file's content is base64-encoded (write_files encoding: b64)",
                payload.owner,
            )
            continue
        if encoding not in ("", "text/plain"):
            continue  # gzip: not read
        language = _file_language(path, content.value)
        if language is None:
            continue
        runs = _scalar_runs(payload.text, content)
        editable = any(layer for _, _, _, layer in runs)
        yield nest(
            payload,
            runs,
            language=language,
            no_fix=payload.no_fix or ("" if editable else PLAIN_NO_FIX),
        )


def _file_language(path: str, content: str) -> str | None:
    """The language of a written file that is a script, None for any other file."""
    from imds_iac_checks.hazards import language_of

    lower = path.lower()
    for suffix, language in _SCRIPT_SUFFIXES.items():
        if lower.endswith(suffix):
            if content.startswith("#!"):
                return language_of(Payload(content[:200], (), None, "", ""))  # type: ignore[arg-type]
            return language
    if content.startswith("#!"):
        return language_of(Payload(content[:200], (), None, "", ""))  # type: ignore[arg-type]
    return None


# --- YAML scalars -------------------------------------------------------------------------------


def _scalar_runs(text: str, node: DNode) -> list[Run]:
    """The runs of a YAML string scalar: its value, mapped to the text that writes it."""
    value = str(node.value)
    start, end = node.start, node.end
    raw = text[start:end]
    # A tag (``!!str "x"``) or anchor (``&a x``) before the scalar: skip them.
    while raw[:1] in ("!", "&"):
        space = re.search(r"[ \t\r\n]+", raw)
        if space is None:
            break
        start += space.end()
        raw = text[start:end]
    first = raw[:1]
    if first == '"':
        runs = _quoted(text, start + 1, end - 1, "yaml-dq")
    elif first == "'":
        runs = _quoted(text, start + 1, end - 1, "yaml-sq")
    elif first in ("|", ">"):
        runs = _block(text, start, end)
    else:
        runs = _plain(text, start, end)
    return _fit(runs, value, node)


def _fit(runs: list[Run], value: str, node: DNode) -> list[Run]:
    """The runs when they spell the scalar's value (trailing line breaks cut as the chomping
    says), else the whole scalar as one decoded run that cannot be edited."""
    joined = "".join(r[0] for r in runs)
    if joined == value:
        return runs
    if joined.startswith(value) and not joined[len(value) :].strip():
        out: list[Run] = []
        left = len(value)
        for run in runs:
            if left <= 0:
                break
            piece, s, e, layer = run
            if len(piece) <= left:
                out.append(run)
                left -= len(piece)
            elif len(piece) == e - s:  # verbatim: cut it
                out.append((piece[:left], s, s + left, layer))
                left = 0
            else:
                out.append((piece[:left], s, e, ""))
                left = 0
        return out
    return [(value, node.start, node.end, "")]


def _plain(text: str, start: int, end: int) -> list[Run]:
    """A plain scalar: each line as written; line breaks fold to a space (a blank line to a
    line break). Nothing can be inserted into it."""
    runs: list[Run] = []
    lines = _lines(text, start, end)
    for i, (s, e) in enumerate(lines):
        s2 = s
        while s2 < e and text[s2] in " \t":
            s2 += 1
        e2 = e
        while e2 > s2 and text[e2 - 1] in " \t\r":
            e2 -= 1
        if i and s2 < e2:
            runs.append((" ", lines[i - 1][1], s2, ""))
        if s2 < e2:
            runs.append((text[s2:e2], s2, e2, ""))
    return runs


def _quoted(text: str, start: int, end: int, layer: str) -> list[Run]:
    """A quoted scalar's content: verbatim runs split at escapes (each a decoded run) and at
    line folds."""
    runs: list[Run] = []
    i = start
    seg = start
    while i < end:
        c = text[i]
        if layer == "yaml-dq" and c == "\\" and i + 1 < end:
            if seg < i:
                runs.append((text[seg:i], seg, i, layer))
            length, decoded = _dq_escape(text, i, end)
            runs.append((decoded, i, i + length, layer if decoded else ""))
            i += length
            seg = i
            continue
        if layer == "yaml-sq" and c == "'" and i + 1 < end and text[i + 1] == "'":
            if seg < i:
                runs.append((text[seg:i], seg, i, layer))
            runs.append(("'", i, i + 2, layer))
            i += 2
            seg = i
            continue
        if c in "\r\n":
            # A fold: trailing blanks, the break, blank lines and the next line's indentation.
            trail = i
            while trail > seg and text[trail - 1] in " \t":
                trail -= 1
            if seg < trail:
                runs.append((text[seg:trail], seg, trail, layer))
            j = i
            breaks = 0
            while j < end and text[j] in " \t\r\n":
                if text[j] == "\n":
                    breaks += 1
                j += 1
            runs.append(("\n" * (breaks - 1) if breaks > 1 else " ", trail, j, ""))
            i = j
            seg = j
            continue
        i += 1
    if seg < end:
        runs.append((text[seg:end], seg, end, layer))
    return runs


# YAML double-quoted escapes by the character after the backslash (the shared table).
_DQ_SIMPLE = DQ_ESCAPES


def _dq_escape(text: str, i: int, end: int) -> tuple[int, str]:
    """(length, decoded text) of the escape at ``text[i]`` (a backslash) in a double-quoted
    scalar; an escaped line break (a line joined without a space) decodes to nothing."""
    c = text[i + 1]
    if c in _DQ_SIMPLE:
        return 2, _DQ_SIMPLE[c]
    width = {"x": 2, "u": 4, "U": 8}.get(c)
    if width is not None:
        digits = text[i + 2 : i + 2 + width]
        try:
            return 2 + width, chr(int(digits, 16))
        except ValueError:
            return 2, c
    if c in "\r\n":
        j = i + 1
        if text[j] == "\r":
            j += 1
        if j < end and text[j] == "\n":
            j += 1
        while j < end and text[j] in " \t":
            j += 1
        return j - i, ""
    return 2, c


def _block(text: str, start: int, end: int) -> list[Run]:
    """A block scalar: each content line without its indentation, as written (an
    ``indent:<ws>`` run); ``>`` folds line breaks between lines of text into spaces."""
    header_end = text.find("\n", start, end)
    if header_end < 0:
        return []
    header = text[start:header_end].split("#", 1)[0].strip()
    folded = header.startswith(">")
    explicit = re.search(r"[1-9]", header)
    lines = _lines(text, header_end + 1, end)
    indent: int | None = None
    if explicit:
        indent = _indent_of(text, start) + int(explicit.group())
    else:
        for s, e in lines:
            content = text[s:e].rstrip("\r")
            if content.strip(" "):
                indent = len(content) - len(content.lstrip(" "))
                break
    if indent is None:
        return []
    runs: list[Run] = []
    previous_text = False
    for s, e in lines:
        line_end = e
        cr = e > s and text[e - 1] == "\r"
        if cr:
            line_end -= 1
        body_start = min(s + indent, line_end)
        ws = text[s : s + indent]
        layer = f"indent:{ws}" if ws.strip(" ") == "" else ""
        content = text[body_start:line_end]
        is_text = bool(content) and content[:1] not in " \t"
        if folded and previous_text and is_text and runs and runs[-1][0] == "\n":
            runs[-1] = (" ", runs[-1][1], runs[-1][2], "")
        if content:
            runs.append((content, body_start, line_end, layer))
        if e < end or (e == end and text[e : e + 1] == "\n"):
            brk = e + 1 if text[e : e + 1] == "\n" else e
            if cr:
                runs.append(("\n", line_end, brk, ""))
            else:
                runs.append(("\n", e, brk, layer))
        previous_text = is_text
    return runs


def _indent_of(text: str, at: int) -> int:
    """The indentation of the line holding ``text[at]``'s parent node (the line's own)."""
    line_start = text.rfind("\n", 0, at) + 1
    line = text[line_start:at]
    stripped = line.lstrip(" ")
    indent = len(line) - len(stripped)
    # "- |" or "key: |": the parent's indentation is the line's, plus "- " for a list entry
    while stripped.startswith("- "):
        indent += 2
        stripped = stripped[2:].lstrip(" ")
    return indent


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``(start, end)`` of each line of ``text[start:end]``, without its line feed."""
    out = []
    at = start
    while at < end:
        nl = text.find("\n", at, end)
        if nl < 0:
            out.append((at, end))
            break
        out.append((at, nl))
        at = nl + 1
    return out


# --- MIME multipart ---------------------------------------------------------------------------


def _mime(payload: Payload) -> Iterator[Payload]:
    """Each part of a MIME multipart user data, mapped to the parent's text."""
    text = payload.text
    head_end, body_start = _header_end(text, 0)
    if head_end < 0:
        return
    content_type, boundary, _ = _headers(text[:head_end])
    if not content_type.startswith("multipart/") or not boundary:
        return
    yield from _parts(payload, body_start, len(text), boundary, 0)


def _parts(payload: Payload, start: int, end: int, boundary: str, depth: int) -> Iterator[Payload]:
    text = payload.text
    delimiter = re.compile(r"(?m)^--" + re.escape(boundary) + r"(--)?[ \t]*\r?$")
    marks = []
    for match in delimiter.finditer(text, start, end):
        marks.append(match)
        if match.group(1) or len(marks) > MAX_ENTRIES:
            break
    for this, following in pairwise(marks):
        part_start = this.end() + (2 if text.startswith("\r\n", this.end()) else 1)
        part_end = following.start()
        # the line break before the next delimiter belongs to the delimiter
        if text[part_end - 2 : part_end] == "\r\n":
            part_end -= 2
        elif text[part_end - 1 : part_end] == "\n":
            part_end -= 1
        if part_start > part_end:
            continue
        head_end, body_start = _header_end(text, part_start, part_end)
        if head_end < 0:
            head_end, body_start = part_start, part_start  # no headers: text/plain
        content_type, inner_boundary, encoding = _headers(text[part_start:head_end])
        content_type = content_type or "text/plain"
        if content_type not in _PART_LANGUAGES:
            continue
        language = _PART_LANGUAGES[content_type]
        if language == "mime":
            if inner_boundary and depth < 3:
                yield from _parts(payload, body_start, part_end, inner_boundary, depth + 1)
            continue
        body_end = max(body_start, part_end)
        if encoding == "base64":
            try:
                decoded = base64.b64decode(text[body_start:body_end], validate=False).decode(
                    "utf-8"
                )
            except (binascii.Error, UnicodeDecodeError, ValueError):
                continue
            yield Payload(
                decoded,
                (),
                payload.span,
                payload.what,
                language,
                "the part is base64-encoded",
                payload.owner,
            )
            continue
        if encoding == "quoted-printable":
            import quopri

            decoded = quopri.decodestring(text[body_start:body_end].encode("utf-8")).decode(
                "utf-8", "replace"
            )
            yield Payload(
                decoded,
                (),
                payload.span,
                payload.what,
                language,
                "the part is quoted-printable-encoded",
                payload.owner,
            )
            continue
        yield nest(
            payload, [(text[body_start:body_end], body_start, body_end, "raw")], language=language
        )


def _header_end(text: str, start: int, end: int | None = None) -> tuple[int, int]:
    """Where the headers beginning at ``start`` end (the blank line), and the body starts."""
    end = len(text) if end is None else end
    match = re.compile(r"\r?\n\r?\n").search(text, start, end)
    if match is None:
        return -1, -1
    return match.start(), match.end()


def _headers(head: str) -> tuple[str, str, str]:
    """(content type, boundary, transfer encoding) of a header block."""
    from email.parser import HeaderParser

    message = HeaderParser().parsestr(head + "\n\n", headersonly=True)
    content_type = message.get_content_type() if message.get("Content-Type") else ""
    boundary = message.get_boundary() or ""
    encoding = str(message.get("Content-Transfer-Encoding", "")).strip().lower()
    return content_type, boundary, encoding
