"""Migration hazards: what in code that runs on instances breaks when IMDSv2 is required.

Adapters hand over :class:`~imds_iac_checks.model.Payload` objects (a target's user data, a
script file, a Dockerfile's RUN lines, a dependency manifest). :func:`analyse` reads each by its
language and returns what it found (:class:`~imds_iac_checks.model.Found`, in the payload's
coordinates): IMDSv1 calls (``curl`` to 169.254.169.254 without a session token, PowerShell's
``Invoke-RestMethod``, Python ``requests``, ...) and SDK pins too old for IMDSv2. An analyser
may also hand back payloads nested in the one it reads (a ``#cloud-config`` document's
``runcmd``, a shell heredoc fed to ``python3``), which are analysed in turn, to a bounded depth.

Each analyser is a module of this package with ``find(payload) -> Iterable[Found | Payload]``,
imported only when a payload of its language is read (:data:`ANALYSERS`: a language may have
several, each reads every payload of it). Nothing here knows a
rule: rules judge the :class:`~imds_iac_checks.model.Hazard` objects the scan builds from what
is found (``Rule.hazard``).
"""

from collections.abc import Callable, Iterable, Iterator
from importlib import import_module

from imds_iac_checks.model import Found, Locator, Payload, Piece

# Language -> the modules that read it (``imds_iac_checks.hazards.<module>``, or a dotted name
# of a module elsewhere).
ANALYSERS: dict[str, tuple[str, ...]] = {
    "shell": ("shell", "sdk"),
    "powershell": ("powershell",),
    "python": ("code",),
    "javascript": ("code",),
    "typescript": ("code",),
    "go": ("code",),
    "java": ("code",),
    "cloud-config": ("cloudinit",),
    "mime": ("cloudinit",),
    "manifest-requirements": ("sdk",),
    "manifest-pyproject": ("sdk",),
    "manifest-poetry-lock": ("sdk",),
    "manifest-pipfile-lock": ("sdk",),
    "manifest-uv-lock": ("sdk",),
    "manifest-package-json": ("sdk",),
    "manifest-package-lock": ("sdk",),
    "manifest-yarn-lock": ("sdk",),
    "manifest-go-mod": ("sdk",),
    "manifest-pom": ("sdk",),
    "manifest-gradle": ("sdk",),
    "manifest-gemfile-lock": ("sdk",),
    "manifest-composer-lock": ("sdk",),
    "manifest-csproj": ("sdk",),
    "manifest-packages-lock": ("sdk",),
    "ansible-uri": ("ansible",),
}

# Nested payloads are followed this deep (a heredoc in a runcmd in a MIME part is depth 3).
MAX_DEPTH = 4
# What a payload may hold before it is not worth reading: every payload is bounded by the file
# size limit already; this bounds the number of nested payloads one payload may yield.
MAX_NESTED = 1000

# Host names of the instance metadata service, as scripts write them (IPv4, IPv6, the name).
IMDS_HOSTS = ("169.254.169.254", "[fd00:ec2::254]", "fd00:ec2::254", "instance-data")


def mentions_imds(text: str) -> bool:
    """A cheap first look: does the text name the metadata service at all? (Analysers still
    decide what is a call; a payload that names no host and runs no known IMDS client can
    hold no IMDSv1 call.)"""
    return any(host in text for host in IMDS_HOSTS) or "ec2-metadata" in text


def unknown_spans(payload: Payload) -> list[tuple[int, int]]:
    """The runs of ``payload.text`` whose value is not known: the expressions adapters keep as
    written because they could not evaluate them (``${var.host}``, ``${AWS::Region}``,
    ``%{ if x }``, ``{{ host }}``), as sorted ``(start, end)`` character ranges.

    Text outside every piece is of two sorts. Known text that is not written literally where a
    person could edit it in place (a decoded base64 literal: a payload without pieces; the value
    an adapter gave an interpolation, ``169.254.169.254`` for ``${local.imds}``; a folded line
    break) is what the instance runs: analysers read it like any text (a fix that would edit it
    is refused when the hazard is placed). Only a region between pieces that is nothing but such
    expressions (and whitespace between them) is unknown: each of its expressions is a span."""
    text = payload.text
    out: list[tuple[int, int]] = []
    at = 0
    for piece in sorted(payload.pieces, key=lambda p: (p.start, p.end)):
        if piece.start > at:
            out.extend(_expressions(text, at, piece.start))
        at = max(at, piece.end)
    if at < len(text):
        out.extend(_expressions(text, at, len(text)))
    return out


def _expressions(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The expressions ``text[start:end]`` consists of, when it is nothing else (whitespace
    between them aside), else none."""
    out: list[tuple[int, int]] = []
    at = start
    while at < end:
        if text[at].isspace():
            at += 1
            continue
        close = _expression_end(text, at, end)
        if close is None:
            return []
        out.append((at, close))
        at = close
    return out


def _expression_end(text: str, start: int, end: int) -> int | None:
    """Where the template expression opening at ``start`` closes (within ``end``), or None:
    braces are counted outside quoted strings (``"`` in HCL; ``"`` and ``'`` in Jinja)."""
    if text.startswith(("${", "%{"), start):
        at, quotes = start + 1, '"'
    elif text.startswith("{{", start):
        at, quotes = start, "\"'"
    else:
        return None
    depth = 0
    quote = ""
    while at < end:
        ch = text[at]
        if quote:
            if ch == "\\":
                at += 1
            elif ch == quote:
                quote = ""
        elif ch in quotes:
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return at + 1
        at += 1
    return None


def language_of(payload: Payload) -> str:
    """The payload's language: as its adapter said, else from its first line (a shebang,
    ``<powershell>``/``<script>``, ``#cloud-config``, a MIME header); plain text that is
    not recognised is read as shell (what cloud-init runs a user-data script with, when it has
    no shebang it is not run at all, but a heredoc in a resource is most often a shell script)."""
    if payload.language:
        return payload.language
    head = payload.text.lstrip("\ufeff \t\r\n")[:200]
    first = head.split("\n", 1)[0].strip()
    lower = first.lower()
    if lower.startswith("#cloud-config") or lower.startswith("#cloud-boothook"):
        return "cloud-config" if lower.startswith("#cloud-config") else "shell"
    if lower.startswith("content-type:") or lower.startswith("mime-version:"):
        return "mime"
    if lower.startswith("<powershell>") or lower.startswith("<persist>"):
        return "powershell"
    if lower.startswith("<script>"):
        return "batch"
    if first.startswith("#!"):
        interpreter = first[2:].strip().split()
        name = ""
        if interpreter:
            name = interpreter[0].rsplit("/", 1)[-1]
            if name == "env" and len(interpreter) > 1:
                rest = [word for word in interpreter[1:] if not word.startswith("-")]
                name = rest[0].rsplit("/", 1)[-1] if rest else ""
        if name.startswith("python"):
            return "python"
        if name in ("node", "nodejs"):
            return "javascript"
        if name in ("pwsh", "powershell", "powershell.exe"):
            return "powershell"
        return "shell"
    return "shell"


def analyse(payload: Payload, depth: int = 0) -> Iterator[tuple[Payload, Found]]:
    """``(payload, found)`` for every hazard in ``payload`` and in the payloads nested in it;
    each Found is in the coordinates of the payload it is paired with (a nested payload maps to
    files through its own pieces). Every analyser of the payload's language reads it."""
    language = language_of(payload)
    read = payload._replace(language=language)
    nested = 0
    found: list[Found] = []
    for module in ANALYSERS.get(language, ()):
        cheap = _CHEAP_LOOK.get(module)
        if cheap is not None and not cheap(read):
            continue  # nothing for it here: its module (and what it imports) is not loaded
        analyser = import_module(module if "." in module else f"{__name__}.{module}")
        items: Iterable[Found | Payload] = analyser.find(read)
        for item in items:
            if isinstance(item, Found):
                found.append(item)
            elif depth < MAX_DEPTH and nested < MAX_NESTED:
                nested += 1
                yield from analyse(item, depth + 1)
    for item in _proven(read, found):
        yield read, item


# How a payload's text, with its fixes applied, is checked (language -> check); a language
# not listed is proven by the rescan alone.
def _shell_text_valid(text: str) -> bool:
    return shell_valid(text.encode("utf-8", "surrogatepass"))


_SYNTAX_CHECKS: dict[str, Callable[[str], bool]] = {"shell": _shell_text_valid}


def _proven(payload: Payload, found: list[Found]) -> list[Found]:
    """``found``, with the fixes of a payload whose text would not pass its syntax check once
    every fix is applied (``bash -n`` for shell) taken away, and the reason given."""
    check = _SYNTAX_CHECKS.get(payload.language)
    edits = {edit for item in found for edit in item.edits}
    if check is None or not edits:
        return found
    text = payload.text
    try:
        # applied in one pass (a script with thousands of calls: linear, not one copy each)
        parts: list[str] = []
        at = 0
        for start, end, new in sorted(edits):
            if start < at:
                raise ValueError("overlapping edits")
            parts += (text[at:start], new)
            at = end
        parts.append(text[at:])
        valid = check("".join(parts))
    except Exception:  # overlapping edits, a checker that cannot run: not proven
        valid = False
    if valid:
        return found
    why = "the fixed script would not pass a syntax check (bash -n); fix it by hand"
    return [
        item._replace(edits=(), change="", no_fix=why) if item.edits else item for item in found
    ]


def shell_valid(data: bytes) -> bool:
    """A shell script that ``bash -n`` accepts (see :func:`imds_iac_checks.hazards.shell.valid`)."""
    from imds_iac_checks.hazards import shell

    return shell.valid(data)


def _may_install(payload: Payload) -> bool:
    """A shell payload can pin an SDK only in an install command (``pip install``, ``npm i``,
    ``gem install``, ``go get``, ``composer require``); a manifest always can."""
    if payload.language.startswith("manifest-"):
        return True
    text = payload.text
    return any(word in text for word in (" install", " i ", " add ", "go get", " require"))


# A look at a payload before an analyser's module is imported: False = nothing for it there.
_CHEAP_LOOK: dict[str, Callable[[Payload], bool]] = {"sdk": _may_install}


def nest(
    parent: Payload,
    runs: Iterable[tuple[str, int, int, str]],
    *,
    what: str | None = None,
    language: str = "",
    no_fix: str | None = None,
) -> Payload:
    """A payload nested in ``parent`` (a ``runcmd`` entry of a ``#cloud-config`` document, a
    heredoc body): its text is the concatenation of ``runs``, each ``(text, start, end,
    layer)``: ``text`` is what ``parent.text[start:end]`` means once decoded (the same text when
    nothing is decoded), and ``layer`` how text inserted there is escaped for ``parent`` (a
    name of :data:`imds_iac_checks.hazards.escape.LAYERS`, "raw" for none, "" when nothing can be
    inserted). A run whose text is the parent's text as is maps through the parent's pieces
    character by character; a decoded run maps only at its ends, and only inside one piece.
    Text the parent does not write literally (a hole) stays a hole."""
    out: list[str] = []
    pieces: list[Piece] = []
    at = 0
    locator = Locator(parent)
    for text, start, end, layer in runs:
        same = parent.text[start:end] == text
        for piece in parent.pieces:
            lo, hi = max(start, piece.start), min(end, piece.end)
            if lo >= hi and not (lo == hi == start == end):
                continue
            escape = _compose(layer, piece.escape)
            if same:
                span = locator.span(lo, hi)
                if span is not None:
                    pieces.append(Piece(at + lo - start, at + hi - start, span, escape))
            elif piece.start <= start and end <= piece.end:
                span = locator.span(start, end)
                if span is not None:
                    pieces.append(Piece(at, at + len(text), span, escape))
        out.append(text)
        at += len(text)
    return Payload(
        "".join(out),
        tuple(pieces),
        parent.span,
        what or parent.what,
        language,
        parent.no_fix if no_fix is None else no_fix,
        parent.owner,
    )


def _compose(inner: str, outer: str) -> str:
    """The escape of text inserted into a nested run: its own layer, then the parent's."""
    if not inner or not outer:
        return ""
    if inner == "raw":
        return outer
    if outer == "raw":
        return inner
    return f"{inner}+{outer}"
