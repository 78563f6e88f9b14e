"""Files that hold code run on instances, as :class:`~imds_iac_checks.model.Payload` objects:
shell and PowerShell scripts, and source files whose IMDS calls are found where the URL is
literal (Python, JavaScript/TypeScript, Go, Java), each one payload written as is (every offset
maps to the same byte: escape ``raw``); Dockerfiles (one payload per ``RUN``), systemd units (one
per ``Exec*=`` line) and Packer templates (one per provisioner: :mod:`.packer`).

Files that cannot hold an IMDS call or an SDK install (no marker in their bytes) are not parsed
at all: most Dockerfiles and units in a repository never name the metadata service."""

from __future__ import annotations

import re
import shlex
from importlib import import_module

from imds_iac_checks.formats import kind_of
from imds_iac_checks.formats.doc import Locator
from imds_iac_checks.formats.pieces import (
    Builder,
    file_text,
    json_string,
    located_text,
    not_text,
    undecodable_holes,
    whole_file,
    wide_encoding,
)
from imds_iac_checks.model import Payload, ScanError, Span, Target
from imds_iac_checks.source import Files

# FileKind.syntax -> the payload language and how messages name such a file.
_WHOLE_FILE = {
    "shell": ("shell", "script"),
    "powershell": ("powershell", "script"),
    "python": ("python", "source file"),
    "javascript": ("javascript", "source file"),
    "go": ("go", "source file"),
    "java": ("java", "source file"),
}

# Bytes without one of these hold no IMDS call and no SDK install (the scan's own markers,
# imds_iac_checks.scan._MARKERS, read the payloads again).
MARKERS = (
    b"169.254.169.254",
    b"fd00:ec2::254",
    b"instance-data",
    b"ec2-metadata",
    b"ec2metadata",
    b"boto",
    b"aws-sdk",
    b"awscli",
    b"AWSSDK",
    b"aws/aws-sdk",
    b"software.amazon.awssdk",
    b"com.amazonaws",
)


def worth_parsing(data: bytes) -> bool:
    """Whether a file's bytes name the metadata service or an AWS SDK at all."""
    return any(marker in data for marker in MARKERS)


def payloads(
    shown: str, data: bytes, *, origin: str | None = None, files: Files | None = None
) -> tuple[list[Payload], list[ScanError]]:
    """The payloads of one file (``shown``: its path as findings show it; ``origin``: its path
    on disk, from which a Packer template's script files are found, read through ``files``)."""
    kind = kind_of(shown)
    syntax = kind.syntax if kind is not None else ""
    if kind is not None and kind.suffix in (".pkr.hcl", ".pkr.json"):
        from imds_iac_checks.formats import packer

        return packer.payloads(shown, data, origin=origin, files=files)
    text = file_text(data)
    if text is None:
        return [], not_text(shown, data) if kind is not None and kind.reads_as == "script" else []
    if syntax in _WHOLE_FILE:
        language, what = _WHOLE_FILE[syntax]
        if syntax == "shell" and text.lstrip("\ufeff").startswith("#!"):
            language = ""  # from its shebang (a .sh file may run python)
        return [whole_file(shown, data, text, what, language)], []
    if not worth_parsing(data):
        return [], []
    located = located_text(text)
    if syntax == "dockerfile":
        found, errors = dockerfile(shown, located)
    elif syntax == "systemd":
        found, errors = systemd(shown, located), []
    else:
        return [], []
    wide = wide_encoding(data)
    if wide is not None:
        # Read from the decoded text, whose offsets are not the file's bytes: no piece (never
        # edited); findings point at the instruction's lines.
        no_fix = f"the file is {wide[1]}: convert it to UTF-8 to have it fixed"
        return [p._replace(pieces=(), no_fix=p.no_fix or no_fix) for p in found], errors
    return undecodable_holes(found, located), errors


def targets(
    shown: str, data: bytes, *, origin: str | None = None, files: Files | None = None
) -> tuple[list[Target], list[ScanError]]:
    """The targets a file of code declares besides the code it runs (a Packer template's build
    instance and AMI, a CDK app's instances): each reader of :data:`_TARGET_READERS` whose
    suffix the name has, or whose syntax the file's kind is, and that finds its markers in the
    bytes (``worth``), reads the file with ``targets(shown, data, *, origin, files)``."""
    kind = kind_of(shown)
    if kind is None:
        return [], []
    found: list[Target] = []
    errors: list[ScanError] = []
    for matches, first, module in _TARGET_READERS:
        if kind.suffix in matches or kind.syntax in matches:
            if not any(marker in data for marker in first):
                continue  # not the reader's: its module is not even imported
            reader = import_module(module)
            if reader.worth(data):
                more, errs = reader.targets(shown, data, origin=origin, files=files)
                found += more
                errors += errs
    return found, errors


def declares_targets(suffix: str, syntax: str) -> bool:
    """Whether code files of this kind (``formats.FILE_KINDS``) are read for the instances
    they launch (Packer templates, CDK apps), not only for the code they run."""
    return any(suffix in matches or syntax in matches for matches, _, _ in _TARGET_READERS)


# (suffixes or syntaxes of formats.FILE_KINDS, the bytes one of which a file must hold for the
# module to be imported at all (what its ``worth`` requires: most .py and .ts files are no CDK
# app), the module that reads targets from such files).
_TARGET_READERS: tuple[tuple[tuple[str, ...], tuple[bytes, ...], str], ...] = (
    ((".pkr.hcl", ".pkr.json"), (b"amazon-",), "imds_iac_checks.formats.packer_targets"),
    (
        ("python", "javascript"),
        (b"aws-cdk-lib", b"@aws-cdk/", b"aws_cdk"),
        "imds_iac_checks.formats.cdk",
    ),
)


# --- Dockerfile ------------------------------------------------------------------------------
#
# Read with BuildKit's own parser (the ``dockerfile`` package wraps moby/buildkit's
# frontend/dockerfile/parser), which says which lines each instruction spans, its flags, its
# value once continuation lines are joined and comment lines dropped, and its heredocs. Payload
# pieces are then cut from those lines and checked against that value: a RUN whose lines do not
# rebuild it is read from the value alone (no piece: never edited).
#
# A RUN in shell form is one shell command: a line break inserted there would end the
# instruction, so its pieces take the ``dockerfile-run`` escape (a line break written as
# ``; \`` + line break, see hazards/escape.py); a heredoc's body takes text as it is (``raw``).

_WHAT_RUN = "Dockerfile RUN"
_DIRECTIVE = re.compile(r"#[ \t]*escape[ \t]*=[ \t]*([\\`])[ \t]*\r?$", re.IGNORECASE | re.M)
_BARE_HEREDOC = re.compile(r"<<-?[ \t]*(['\"]?)([A-Za-z0-9_.-]+)\1[ \t]*")
_SHELLS = {"powershell": "powershell", "pwsh": "powershell", "cmd": "batch"}


def dockerfile(shown: str, text: str) -> tuple[list[Payload], list[ScanError]]:
    """One payload per ``RUN`` instruction (``ONBUILD RUN`` runs in another build: skipped).
    A ``SHELL`` instruction sets the language of the RUNs after it (PowerShell on Windows
    images)."""
    import dockerfile as buildkit

    try:
        commands = buildkit.parse_string(text)
    except buildkit.GoParseError as exc:
        return [], [ScanError(shown, 0, 0, f"invalid Dockerfile: {exc}")]
    loc = Locator(shown, text)
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    escape_char = "\\"
    directive = _DIRECTIVE.match(text.lstrip("\ufeff"))
    if directive is not None:
        escape_char = directive.group(1)
    language = "shell"
    out: list[Payload] = []
    for command in commands:
        name = command.cmd.upper()
        if name == "FROM":
            language = "shell"  # a new stage starts with the default shell
        elif name == "SHELL" and command.json and command.value:
            program = re.split(r"[\\/]", command.value[0])[-1].lower().removesuffix(".exe")
            language = _SHELLS.get(program, "shell")
        elif name == "RUN" and command.start_line <= len(starts):
            first = starts[command.start_line - 1]
            last = starts[command.end_line] if command.end_line < len(starts) else len(text)
            payload = _run(loc, command, first, last, escape_char, language)
            if payload is not None:
                out.append(payload)
    return out, []


def _run(
    loc: Locator, command: object, first: int, last: int, escape_char: str, language: str
) -> Payload | None:
    text = loc.text
    end = last
    while end > first and text[end - 1] in "\r\n":
        end -= 1
    span = loc.span(first, end)
    value: tuple[str, ...] = command.value  # type: ignore[attr-defined]
    flags: tuple[str, ...] = command.flags  # type: ignore[attr-defined]
    m = re.compile(r"[ \t\ufeff]*run[ \t]+", re.IGNORECASE).match(text, first, end)
    pos = m.end() if m is not None else -1
    for flag in flags:
        if pos < 0 or not text.startswith(flag, pos):
            pos = -1
            break
        pos = re.compile(r"[ \t]*").match(text, pos + len(flag)).end()  # type: ignore[union-attr]
    if command.json:  # type: ignore[attr-defined]
        return _exec_form(loc, value, pos, end, span)
    script = value[0] if value else ""
    heredocs = command.heredocs  # type: ignore[attr-defined]
    b = Builder(loc)
    if pos >= 0 and heredocs:
        first_line_end = text.find("\n", pos, end)
        if first_line_end < 0 or text[pos:first_line_end].rstrip("\r").endswith(escape_char):
            pos = -1
        elif len(heredocs) == 1 and _BARE_HEREDOC.fullmatch(script):
            body = heredocs[0].content
            if _heredoc_body(b, first_line_end + 1, end, body):
                body_language = "" if body.startswith("#!") else language
                return b.payload(span, _WHAT_RUN, body_language)
            return _value_only(loc, body, span, language)
        else:
            b.literal(pos, first_line_end + 1, "dockerfile-run")
            b.literal(first_line_end + 1, end, "raw")
            return b.payload(span, _WHAT_RUN, language)
    if pos < 0:
        return _value_only(loc, script, span, language)
    _shell_form(b, pos, end)
    if escape_char == "\\":
        joined = re.sub(r"\\[ \t]*\r?\n", "", b.text)
        if joined.rstrip() == script.rstrip():
            return b.payload(span, _WHAT_RUN, language)
    return _value_only(loc, script, span, language)


def _shell_form(b: Builder, pos: int, end: int) -> None:
    """A RUN's command lines as written, without the comment and blank lines BuildKit drops
    inside a continued instruction."""
    text = b.loc.text
    run_start = pos
    line_end = text.find("\n", pos, end)
    while line_end >= 0:
        next_start = line_end + 1
        line = text[next_start : (text.find("\n", next_start, end) + 1) or end]
        stripped = line.strip(" \t\r\n")
        if not stripped or stripped.startswith("#"):
            b.literal(run_start, next_start, "dockerfile-run")
            run_start = next_start + len(line)
        line_end = text.find("\n", next_start, end)
    b.literal(run_start, end, "dockerfile-run")


def _heredoc_body(b: Builder, start: int, end: int, body: str) -> bool:
    """A heredoc's body, line by line from ``start``: each line of ``body`` must be its
    source line (or its end, for a ``<<-`` line whose tabs are stripped)."""
    text = b.loc.text
    pos = start
    for line in body.splitlines(keepends=True):
        line_end = text.find("\n", pos, end)
        source_end = line_end + 1 if line_end >= 0 else end
        source = text[pos:source_end]
        if not source.endswith(line):
            return False
        b.literal(source_end - len(line), source_end, "raw")
        pos = source_end
    return b.text == body


def _exec_form(loc: Locator, argv: tuple[str, ...], pos: int, end: int, span: Span) -> Payload:
    """``RUN ["prog", "arg"]``: the argv as shell words; a word is written in pieces (escape
    "": JSON form cannot take a token request) where its JSON string writes it (its escapes,
    ``\\"`` or ``\\n``, one piece each), so a call in ``["sh", "-c", "..."]`` points at itself."""
    b = Builder(loc)
    strings = list(re.finditer(r'"((?:[^"\\\r\n]|\\.)*)"', loc.text[:end])) if pos >= 0 else []
    strings = [s for s in strings if s.start() >= pos]
    for index, arg in enumerate(argv):
        if index:
            b.hole(" ")
        quoted = shlex.quote(arg)
        match = strings[index] if index < len(strings) and len(strings) == len(argv) else None
        if match is None or _json_value(match.group()) != arg:
            b.hole(quoted)
        elif quoted == arg:
            json_string(b, match.start(1), match.end(1), "")
        elif quoted == f"'{arg}'":
            b.hole("'")
            json_string(b, match.start(1), match.end(1), "")
            b.hole("'")
        else:
            b.hole(quoted)
    no_fix = "a RUN in exec (JSON) form runs one program: fetching a token needs the shell form"
    return b.payload(span, _WHAT_RUN, "shell", no_fix)


def _json_value(literal: str) -> str | None:
    import json

    try:
        value = json.loads(literal)
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _value_only(loc: Locator, value: str, span: Span, language: str) -> Payload:
    """A RUN whose text could not be matched to its lines: read, never edited."""
    b = Builder(loc)
    b.hole(value)
    return b.payload(span, _WHAT_RUN, language)


# --- systemd units ---------------------------------------------------------------------------
#
# systemd.syntax(7): a unit file is line based; ``#`` and ``;`` start comment lines; a line
# ending in a backslash continues on the next (comment lines inside a continuation are
# ignored); ``[Section]`` headers; ``Key=Value`` settings. systemd.service(5): an ``Exec*=``
# value may start with the prefixes ``-@:+!`` (``!!``, ``|`` in newer versions) and names one
# command, run without a shell unless it is ``sh -c '...'``; systemd itself expands ``%``
# specifiers and ``$VAR`` from ``Environment=``. A token request cannot be added inside such a
# line (it adds a line, and ``$TOKEN`` would be systemd's variable), so these payloads are read,
# not fixed.

_EXEC_KEYS = frozenset(
    (
        "ExecStart",
        "ExecStartPre",
        "ExecStartPost",
        "ExecCondition",
        "ExecReload",
        "ExecStop",
        "ExecStopPost",
    )
)
_SETTING = re.compile(r"[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*")
_SPECIFIER = r"%[A-Za-z%]"
_SYSTEMD_NO_FIX = (
    "a systemd Exec line runs one command: move the metadata call into a script that fetches "
    "a token, and run that script"
)


def systemd(shown: str, text: str) -> list[Payload]:
    """One shell payload per ``Exec*=`` setting of a unit file."""
    loc = Locator(shown, text)
    out: list[Payload] = []
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]*\n|[^\n]+$", text)]
    index = 0
    while index < len(lines):
        start, end = lines[index]
        index += 1
        line = text[start:end].rstrip("\r\n")
        stripped = line.lstrip(" \t\ufeff")
        if not stripped or stripped[0] in "#;[":
            continue
        setting = _SETTING.match(text, start + len(line) - len(stripped), start + len(line))
        if setting is None:
            continue
        value_start = setting.end()
        runs = [(value_start, start + len(line))]
        while line.endswith("\\") and index < len(lines):
            start, end = lines[index]
            index += 1
            line = text[start:end].rstrip("\r\n")
            if line.lstrip(" \t")[:1] in ("#", ";"):
                continue
            runs.append((start, start + len(line)))
        if setting.group(1) not in _EXEC_KEYS:
            continue
        prefix = re.compile(r"[-@:+!|]*").match(text, runs[0][0], runs[0][1])
        runs[0] = (prefix.end() if prefix is not None else runs[0][0], runs[0][1])
        b = Builder(loc)
        for number, (lo, hi) in enumerate(runs):
            if number:
                b.hole("\n")
            b.literal(lo, hi, "")
        if not b.text.strip():
            continue  # ``ExecStart=`` alone resets the list
        what = f"systemd {setting.group(1)}"
        span = loc.span(runs[0][0], runs[-1][1])
        out.append(b.payload(span, what, "shell", _SYSTEMD_NO_FIX, holes=_SPECIFIER))
    return out
