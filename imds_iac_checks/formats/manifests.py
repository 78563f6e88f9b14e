"""Dependency manifests and lock files, as payloads the SDK-version analyser
(:mod:`imds_iac_checks.hazards.sdk`) reads, and the readers that find the pins in them.

A manifest is one payload, written as is (language ``manifest-<format>``). :func:`pins` reads
it with the ecosystem's own grammar where Python has one — :mod:`tomllib` (pyproject.toml,
poetry.lock, uv.lock), :mod:`json` (Pipfile.lock, package.json, package-lock.json,
composer.lock, packages.lock.json), expat (pom.xml, ``*.csproj``), :mod:`packaging` (requirement
lines) — and with small readers of their documented formats otherwise (yarn.lock, go.mod,
Gemfile.lock; Gradle build scripts, whose dependency coordinates are string literals: the
reader tokenises string literals and comments, it does not parse Groovy or Kotlin). A file that
does not parse yields no pins (other tools report broken manifests).

Each pin carries the offsets of its version text in the payload: the finding points there and
the fix replaces it.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from typing import Any, NamedTuple
from xml.parsers.expat import ExpatError

from imds_iac_checks.model import Payload, ScanError, Target
from imds_iac_checks.source import Files

# File base name (lower case) -> payload language.
_LANGUAGES = {
    "pyproject.toml": "manifest-pyproject",
    "poetry.lock": "manifest-poetry-lock",
    "pipfile.lock": "manifest-pipfile-lock",
    "uv.lock": "manifest-uv-lock",
    "package.json": "manifest-package-json",
    "package-lock.json": "manifest-package-lock",
    "yarn.lock": "manifest-yarn-lock",
    "go.mod": "manifest-go-mod",
    "pom.xml": "manifest-pom",
    "build.gradle": "manifest-gradle",
    "build.gradle.kts": "manifest-gradle",
    "gemfile.lock": "manifest-gemfile-lock",
    "composer.lock": "manifest-composer-lock",
    "packages.lock.json": "manifest-packages-lock",
}

# What messages call each kind of payload.
WHAT = "dependency manifest"

# Text that names no SDK holds no pin worth parsing for.
_SDK_MARKERS = (
    "boto",
    "awscli",
    "aws-sdk",
    "aws/aws-sdk",
    "amazonaws",
    "awssdk",
    "AWSSDK",
    "AWSPowerShell",
    "AWS.Tools",
)


def language_of_file(name: str) -> str | None:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if base in _LANGUAGES:
        return _LANGUAGES[base]
    if base.startswith("requirements") and base.endswith(".txt"):
        return "manifest-requirements"
    if base.endswith(".csproj"):
        return "manifest-csproj"
    return None


def payloads(
    shown: str, data: bytes, *, origin: str | None = None, files: Files | None = None
) -> tuple[list[Payload], list[ScanError]]:
    """The payload of one manifest: the whole file, written as is."""
    from imds_iac_checks.formats.pieces import file_text, whole_file

    language = language_of_file(shown)
    if language is None:
        return [], []
    text = file_text(data)
    if text is None:
        return [], []
    return [whole_file(shown, data, text, WHAT, language)], []


def targets(
    shown: str, data: bytes, *, origin: str | None = None, files: Files | None = None
) -> tuple[list[Target], list[ScanError]]:
    """None: a manifest pins dependencies, it launches no instance."""
    return [], []


def pins(language: str, text: str) -> list[Pin]:
    """The dependency pins of a manifest of ``language`` (the analyser decides which are
    SDKs)."""
    if not any(marker in text for marker in _SDK_MARKERS):
        return []
    reader = _READERS.get(language)
    if reader is None:
        return []
    try:
        return list(reader(text))
    except (ValueError, KeyError, TypeError, IndexError, RecursionError, ExpatError):
        return []  # a manifest that does not parse


class Pin(NamedTuple):
    """A dependency on a package, as a manifest writes it: ``constraint`` (its ``syntax`` says
    how to read it) written at ``text[start:end]`` of the payload. ``bound`` is where the
    finding points (the version literal of the offending bound) when not the whole constraint;
    ``exact`` whether the constraint names one version (the fix may replace it)."""

    ecosystem: str
    name: str
    syntax: str  # exact | pep440 | poetry | npm | interval | nuget | ruby | prefix
    constraint: str
    start: int
    end: int
    where: str = ""  # "requirements.txt", "package-lock.json": how messages name the entry


_PEP440 = re.compile(r"(===|==|~=|!=|<=|>=|<|>)\s*([^\s,;\]\)]+)")


def pep440_parts(text: str) -> list[tuple[str, str, int, int]]:
    """``(operator, version, start, end)`` of each specifier in ``text`` (offsets of the
    version in ``text``)."""
    return [(m.group(1), m.group(2), m.start(2), m.end(2)) for m in _PEP440.finditer(text)]


# --- Python ---------------------------------------------------------------------------------


def _requirements(text: str) -> Iterator[Pin]:
    """requirements.txt: one requirement a line (PEP 508), ``\\`` continues a line, ``#``
    starts a comment, options (``-r``, ``-c``, ``--hash``, ``-e``, ``--index-url``) are not
    requirements: the files ``-r`` names are read when they are requirements*.txt files
    themselves."""
    offset = 0
    logical: list[tuple[str, int]] = []
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        logical.append((line, offset))
        offset += len(raw)
        if line.endswith("\\"):
            continue
        yield from _requirement_line(logical)
        logical = []
    if logical:
        yield from _requirement_line(logical)


def _requirement_line(parts: list[tuple[str, int]]) -> Iterator[Pin]:
    # Joined text and a map back to offsets in the file.
    text = ""
    where: list[int] = []
    for line, start in parts:
        body = line[:-1] if line.endswith("\\") else line
        text += body
        where.extend(range(start, start + len(body)))
    comment = re.search(r"(^|\s)#", text)
    if comment:
        text = text[: comment.start()]
    text = re.split(r"\s--?[a-z]", " " + text)[1] if text.strip().startswith("-") else text
    options = re.search(r"\s--?[a-z]", text)
    if options:
        text = text[: options.start()]
    if not text.strip() or text.lstrip().startswith("-"):
        return
    pin = _pep508(text, "requirements file")
    if pin is not None and pin.end <= len(where):
        yield pin._replace(start=where[pin.start], end=where[pin.end - 1] + 1)


def _pep508(text: str, where: str) -> Pin | None:
    """A PEP 508 requirement string's pin: its specifiers (offsets in ``text``)."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(text.strip())
    except InvalidRequirement:
        return None
    if requirement.url is not None or not requirement.specifier:
        return None
    body = text.split(";", 1)[0]
    parts = pep440_parts(body)
    if not parts:
        return None
    first = body.rfind(parts[0][1], 0, parts[0][3])
    begin = body.rfind(_op_before(body, first), 0, first + 1)
    end = parts[-1][3]
    return Pin("pypi", requirement.name, "pep440", body[begin:end], begin, end, where)


def _op_before(body: str, at: int) -> str:
    m = re.search(r"(===|==|~=|!=|<=|>=|<|>)\s*$", body[:at])
    return m.group(1) if m else ""


def _string_literals(text: str) -> Iterator[tuple[str, int, int]]:
    """Quoted strings of a TOML or Gradle file, skipping ``#`` / ``//`` / ``/* */`` comments:
    ``(value, start, end)`` with offsets of the value (inside the quotes). Escapes are kept as
    written; a string with an escape is not a version."""
    i = 0
    n = len(text)
    pattern = re.compile(r"""'''|\"\"\"|'|"|#|//|/\*""")
    while i < n:
        m = pattern.search(text, i)
        if m is None:
            return
        token = m.group(0)
        if token in ("#", "//"):
            newline = text.find("\n", m.end())
            i = n if newline < 0 else newline + 1
            continue
        if token == "/*":
            close = text.find("*/", m.end())
            i = n if close < 0 else close + 2
            continue
        start = m.end()
        if len(token) == 3:
            close = text.find(token, start)
        else:
            close = start
            while close < n and text[close] != token and text[close] != "\n":
                close += 2 if text[close] == "\\" and token == '"' else 1
            if close >= n or text[close] != token:
                i = close + 1
                continue
        if close < 0:
            return
        yield text[start:close], start, close
        i = close + len(token)


def _pyproject(text: str) -> Iterator[Pin]:
    """pyproject.toml: PEP 621 ``dependencies`` and ``optional-dependencies``, PEP 735
    ``dependency-groups``, and Poetry's ``[tool.poetry.*dependencies]`` tables."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    doc = tomllib.loads(text)
    wanted: list[str] = []
    project = doc.get("project", {})
    wanted += [d for d in project.get("dependencies", []) if isinstance(d, str)]
    for group in (project.get("optional-dependencies") or {}).values():
        wanted += [d for d in group if isinstance(d, str)]
    for group in (doc.get("dependency-groups") or {}).values():
        wanted += [d for d in group if isinstance(d, str)]
    wanted_set = set(wanted)
    for value, start, _end in _string_literals(text):
        if value in wanted_set:
            pin = _pep508(value, "pyproject.toml")
            if pin is not None:
                yield pin._replace(start=start + pin.start, end=start + pin.end)
    poetry = doc.get("tool", {}).get("poetry", {})
    tables = [poetry.get("dependencies", {}), poetry.get("dev-dependencies", {})]
    tables += [g.get("dependencies", {}) for g in (poetry.get("group") or {}).values()]
    names = {name for table in tables for name in table}
    if names:
        yield from _poetry_tables(text, names)


_POETRY_LINE = re.compile(
    r"""(?m)^[ \t]*["']?([A-Za-z0-9_.\-]+)["']?[ \t]*=[ \t]*"""
    r"""(\{[^}\n]*?\bversion[ \t]*=[ \t]*)?(["'])([^"'\n]*)\3"""
)


def _poetry_tables(text: str, names: set[str]) -> Iterator[Pin]:
    """``boto3 = "^1.9"`` or ``boto3 = { version = "^1.9", extras = [...] }`` lines."""
    for m in _POETRY_LINE.finditer(text):
        name = m.group(1)
        if name not in names or name == "python":
            continue
        yield Pin("pypi", name, "poetry", m.group(4), m.start(4), m.end(4), "pyproject.toml")


def _toml_lock(text: str) -> Iterator[Pin]:
    """poetry.lock and uv.lock: ``[[package]]`` tables with ``name`` and an exact
    ``version``."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    doc = tomllib.loads(text)
    names = {p.get("name") for p in doc.get("package", []) if isinstance(p, dict)}
    for m in re.finditer(
        r"""(?m)^\[\[package\]\]\s*\n(?:[^\[\n][^\n]*\n)*?name\s*=\s*"([^"]+)"\s*\n(?:[^\[\n][^\n]*\n)*?version\s*=\s*"([^"]+)\"""",
        text,
    ):
        if m.group(1) in names:
            yield Pin("pypi", m.group(1), "exact", m.group(2), m.start(2), m.end(2), "lock file")


# --- JSON -----------------------------------------------------------------------------------

_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.S)
MAX_JSON_DEPTH = 64


def json_strings(text: str) -> Iterator[tuple[tuple[str, ...], str, int, int]]:
    """Every string value of a JSON document with its path (object keys; array items as
    ``"[i]"``) and the offsets of its text inside the quotes. Deeper than
    :data:`MAX_JSON_DEPTH` is not read."""
    json.loads(text)  # a document that does not parse yields nothing (ValueError)
    # One frame per open container: [kind, its name in the path, item count, current key].
    frames: list[list[Any]] = []
    expect_key = False
    for m in _JSON_TOKEN.finditer(text):
        token = m.group(0)
        if token == "{" or token == "[":
            if len(frames) >= MAX_JSON_DEPTH:
                return
            frames.append([token, _slot(frames), 0, None])
            expect_key = token == "{"
        elif token == "}" or token == "]":
            frames.pop()
            expect_key = False
        elif token == ",":
            if frames:
                frames[-1][2] += 1
                frames[-1][3] = None
                expect_key = frames[-1][0] == "{"
        elif token == ":":
            expect_key = False
        elif token.startswith('"'):
            value = json.loads(token)
            if expect_key and frames:
                frames[-1][3] = value
            else:
                path = (*(f[1] for f in frames[1:]), _slot(frames))
                yield path, value, m.start() + 1, m.end() - 1


def _slot(frames: list[list[Any]]) -> str:
    if not frames:
        return ""
    kind, _name, count, key = frames[-1]
    return key if kind == "{" and key is not None else f"[{count}]"


def _pipfile_lock(text: str) -> Iterator[Pin]:
    for path, value, start, end in json_strings(text):
        if len(path) == 3 and path[0] in ("default", "develop") and path[2] == "version":
            yield Pin("pypi", path[1], "pep440", value, start, end, "Pipfile.lock")


_NPM_SECTIONS = ("dependencies", "devDependencies", "optionalDependencies")


def _package_json(text: str) -> Iterator[Pin]:
    for path, value, start, end in json_strings(text):
        if len(path) == 2 and path[0] in _NPM_SECTIONS:
            if value.startswith(("npm:", "git", "http", "file:", "link:", "workspace:")):
                continue
            yield Pin("npm", path[1], "npm", value, start, end, "package.json")


def _package_lock(text: str) -> Iterator[Pin]:
    """package-lock.json (and npm-shrinkwrap): lockfileVersion 2 and 3 list ``packages``
    by install path (``node_modules/a/node_modules/aws-sdk``); version 1 nests
    ``dependencies``."""
    for path, value, start, end in json_strings(text):
        if path[-1] != "version" or len(path) < 3:
            continue
        if path[0] == "packages" and len(path) == 3:
            name = path[1].rsplit("node_modules/", 1)[-1] if "node_modules/" in path[1] else ""
            if name:
                yield Pin("npm", name, "exact", value, start, end, "package-lock.json")
        elif path[0] == "dependencies" and all(p == "dependencies" for p in path[0:-2:2]):
            yield Pin("npm", path[-2], "exact", value, start, end, "package-lock.json")


def _composer_lock(text: str) -> Iterator[Pin]:
    names: dict[tuple[str, ...], str] = {}
    versions: list[tuple[tuple[str, ...], str, int, int]] = []
    for path, value, start, end in json_strings(text):
        if len(path) == 3 and path[0] in ("packages", "packages-dev"):
            if path[2] == "name":
                names[path[:2]] = value
            elif path[2] == "version":
                versions.append((path[:2], value, start, end))
    for where, value, start, end in versions:
        if where in names:
            yield Pin("packagist", names[where], "exact", value, start, end, "composer.lock")


def _packages_lock(text: str) -> Iterator[Pin]:
    for path, value, start, end in json_strings(text):
        if len(path) == 4 and path[0] == "dependencies" and path[3] == "resolved":
            yield Pin("nuget", path[2], "exact", value, start, end, "packages.lock.json")


# --- other lock files -----------------------------------------------------------------------


def _yarn_lock(text: str) -> Iterator[Pin]:
    """yarn.lock: a block per resolved package, headed by its specifiers (``aws-sdk@^2.1.0,
    aws-sdk@~2.2.0:``; Yarn 2+ writes YAML: ``"aws-sdk@npm:^2.1.0":``) with its ``version``
    (``version "2.2.0"`` / ``version: 2.2.0``) indented below."""
    name: str | None = None
    offset = 0
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        if line and not line[0].isspace() and not line.startswith("#"):
            name = _yarn_name(line.rstrip(":"))
        elif name is not None:
            m = re.match(r"""^\s+version:?\s+"?([^"\s]+)"?\s*$""", line)
            if m:
                yield Pin(
                    "npm",
                    name,
                    "exact",
                    m.group(1),
                    offset + m.start(1),
                    offset + m.end(1),
                    "yarn.lock",
                )
                name = None
        offset += len(raw)


def _yarn_name(header: str) -> str | None:
    first = header.split(",", 1)[0].strip().strip('"')
    at = first.find("@", 1)
    return first[:at] if at > 0 else None


def _go_mod(text: str) -> Iterator[Pin]:
    """go.mod: ``require`` lines and blocks; a ``replace`` of a module with a version of
    another (or of itself) is what is built, so the replacement is judged instead."""
    lines = text.splitlines(keepends=True)
    offset = 0
    block: str | None = None
    required: list[Pin] = []
    replaced: set[str] = set()
    replacements: list[Pin] = []
    for raw in lines:
        line = raw.split("//", 1)[0].rstrip()
        stripped = line.strip()
        if block is not None:
            if stripped == ")":
                block = None
            elif stripped:
                _go_entry(block, line, offset, required, replaced, replacements)
        else:
            m = re.match(r"^\s*(require|replace)\s*\(\s*$", line)
            if m:
                block = m.group(1)
            else:
                m = re.match(r"^(\s*(require|replace)\s+)", line)
                if m:
                    _go_entry(
                        m.group(2),
                        line,
                        offset,
                        required,
                        replaced,
                        replacements,
                        skip=len(m.group(1)),
                    )
        offset += len(raw)
    yield from (pin for pin in required if pin.name not in replaced)
    yield from replacements


def _go_entry(
    kind: str,
    line: str,
    offset: int,
    required: list[Pin],
    replaced: set[str],
    replacements: list[Pin],
    skip: int = 0,
) -> None:
    tokens = [(m.group(0), m.start()) for m in re.finditer(r"\S+", line[skip:])]
    tokens = [(t, s + skip) for t, s in tokens]
    if kind == "require" and len(tokens) >= 2:
        (module, _), (version, at) = tokens[0], tokens[1]
        required.append(
            Pin("go", module, "exact", version, offset + at, offset + at + len(version), "go.mod")
        )
    elif kind == "replace" and "=>" in [t for t, _ in tokens]:
        arrow = [t for t, _ in tokens].index("=>")
        old = tokens[0][0]
        new = tokens[arrow + 1 :]
        replaced.add(old)
        if len(new) >= 2:
            (module, _), (version, at) = new[0], new[1]
            replacements.append(
                Pin(
                    "go",
                    module,
                    "exact",
                    version,
                    offset + at,
                    offset + at + len(version),
                    "go.mod",
                )
            )


def _gemfile_lock(text: str) -> Iterator[Pin]:
    """Gemfile.lock: under ``GEM`` / ``specs:``, each resolved gem is ``    name (version)``
    (four spaces); its own dependencies follow with six spaces and are constraints, not
    versions."""
    offset = 0
    in_specs = False
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        if line and not line[0].isspace():
            in_specs = False
        elif line.strip() == "specs:":
            in_specs = True
        elif in_specs:
            m = re.match(r"^    ([A-Za-z0-9_.\-]+) \(([^)\s]+)\)\s*$", line)
            if m:
                version = m.group(2)
                platform = re.match(r"[\d.]+(?:\.[A-Za-z]\w*)?", version)
                end = m.start(2) + (platform.end() if platform else len(version))
                yield Pin(
                    "rubygems",
                    m.group(1),
                    "exact",
                    line[m.start(2) : end],
                    offset + m.start(2),
                    offset + end,
                    "Gemfile.lock",
                )
        offset += len(raw)


# --- XML ------------------------------------------------------------------------------------


class _Xml:
    """Elements of an XML document with the offsets of their text, read with expat (no DTD,
    no entities: a document that declares them is not read)."""

    def __init__(self, text: str) -> None:
        import xml.parsers.expat

        self.data = text.encode("utf-8", "surrogatepass")
        self.text = text
        self.path: list[str] = []
        # (path, attributes, start byte of the start tag)
        self.elements: list[tuple[tuple[str, ...], dict[str, str], int]] = []
        # path -> list of (text, start byte, end byte) of element text (stripped)
        self.texts: list[tuple[tuple[str, ...], str, int, int]] = []
        self._chunks: list[tuple[str, int]] = []
        parser = xml.parsers.expat.ParserCreate()
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._chars
        parser.EntityDeclHandler = self._refuse
        parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.parser = parser
        parser.Parse(self.data, True)

    def _refuse(self, *args: object) -> None:
        raise ValueError("entity declarations are not read")

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self.path.append(name.rsplit("}", 1)[-1])
        self.elements.append((tuple(self.path), attrs, self.parser.CurrentByteIndex))
        self._chunks = []

    def _chars(self, data: str) -> None:
        self._chunks.append((data, self.parser.CurrentByteIndex))

    def _end(self, name: str) -> None:
        if self._chunks:
            joined = "".join(c for c, _ in self._chunks)
            start = self._chunks[0][1]
            raw = self.data[start : self.parser.CurrentByteIndex].decode("utf-8", "replace")
            if raw == joined:  # written as is (no entity, no CDATA): offsets map
                lead = len(joined) - len(joined.lstrip())
                value = joined.strip()
                begin = start + len(joined[:lead].encode("utf-8"))
                self.texts.append(
                    (tuple(self.path), value, begin, begin + len(value.encode("utf-8")))
                )
        self._chunks = []
        self.path.pop()

    def char(self, byte: int) -> int:
        return len(self.data[:byte].decode("utf-8", "surrogatepass"))


def _pom(text: str) -> Iterator[Pin]:
    """pom.xml: every ``<dependency>`` (dependencies, dependencyManagement — a BOM import is
    one — and plugin dependencies) with a ``<version>``; a ``${property}`` version is the
    property's value in ``<properties>``, where the finding points."""
    doc = _Xml(text)
    properties: dict[str, tuple[str, int, int]] = {}
    deps: dict[tuple[str, ...], dict[str, tuple[str, int, int]]] = {}
    current: tuple[str, ...] | None = None
    for path, value, start, end in doc.texts:
        if len(path) >= 2 and path[-2] == "properties" and path[:2] == ("project", "properties"):
            properties[path[-1]] = (value, start, end)
    # Group dependency fields by the dependency element they belong to (document order).
    starts = [(p, s) for p, _a, s in doc.elements if p[-1] == "dependency"]
    bounds = [s for _p, s in starts]
    for path, value, start, end in doc.texts:
        if len(path) >= 2 and path[-2] == "dependency":
            index = max((i for i, b in enumerate(bounds) if b <= start), default=-1)
            if index < 0:
                continue
            current = (*starts[index][0], str(index))
            deps.setdefault(current, {})[path[-1]] = (value, start, end)
    for fields in deps.values():
        if "groupId" not in fields or "artifactId" not in fields or "version" not in fields:
            continue
        name = f"{fields['groupId'][0]}:{fields['artifactId'][0]}"
        version, start, end = fields["version"]
        m = re.fullmatch(r"\$\{([^}]+)\}", version)
        if m:
            if m.group(1) not in properties:
                continue
            version, start, end = properties[m.group(1)]
        yield Pin("maven", name, "interval", version, doc.char(start), doc.char(end), "pom.xml")


def _csproj(text: str) -> Iterator[Pin]:
    """A .NET project: ``<PackageReference Include="AWSSDK.Core" Version="3.3.100" />`` or
    with a ``<Version>`` child."""
    doc = _Xml(text)
    for path, attrs, start in doc.elements:
        if path[-1] != "PackageReference" or "Include" not in attrs:
            continue
        if "Version" in attrs:
            tag_start = doc.char(start)
            close = text.find(">", tag_start)
            tag = text[tag_start : close if close > 0 else len(text)]
            m = re.search(r"""\bVersion\s*=\s*(["'])([^"']*)\1""", tag)
            if m and m.group(2) == attrs["Version"]:
                yield Pin(
                    "nuget",
                    attrs["Include"],
                    "nuget",
                    m.group(2),
                    tag_start + m.start(2),
                    tag_start + m.end(2),
                    "project file",
                )
            continue
        for tpath, value, tstart, tend in doc.texts:
            if tpath == (*path, "Version") and tstart > start:
                yield Pin(
                    "nuget",
                    attrs["Include"],
                    "nuget",
                    value,
                    doc.char(tstart),
                    doc.char(tend),
                    "project file",
                )
                break


# --- Gradle ---------------------------------------------------------------------------------

_COORDINATE = re.compile(r"([\w.\-]+):([\w.\-]+):([^:@\s]+)(?::[\w.\-]+)?(?:@\w+)?")
_INTERPOLATED = re.compile(r"\$\{?([A-Za-z_][\w.]*)\}?")


def _gradle(text: str) -> Iterator[Pin]:
    """build.gradle / build.gradle.kts: dependency coordinates in string literals
    (``'com.amazonaws:aws-java-sdk-s3:1.11.500'``, ``platform("software.amazon.awssdk:bom:
    2.5.0")``), map notation (``group: 'com.amazonaws', name: 'aws-java-sdk-s3', version:
    '1.11.500'``), and a version interpolated from a variable assigned a literal in the same
    file (``"...:$awsSdkVersion"``; ``ext.awsSdkVersion = '1.11.500'``, ``val awsSdkVersion =
    "1.11.500"``), where the finding then points."""
    literals = list(_string_literals(text))
    assigned: dict[str, tuple[str, int, int]] = {}
    for value, start, end in literals:
        before = text[max(0, start - 200) : start - 1]
        m = re.search(r"([A-Za-z_][\w.]*)\s*(?:=|\(|,)\s*$", before)
        if m:
            assigned.setdefault(m.group(1).rsplit(".", 1)[-1], (value, start, end))
        m = re.search(
            r"""set\(\s*["']([\w.]+)["']\s*,\s*["']?$""", text[max(0, start - 120) : start]
        )
        if m:
            assigned.setdefault(m.group(1), (value, start, end))
    for index, (value, start, _end) in enumerate(literals):
        m = _COORDINATE.fullmatch(value)
        if m:
            name = f"{m.group(1)}:{m.group(2)}"
            version = m.group(3)
            inner = _INTERPOLATED.fullmatch(version)
            if inner:
                if inner.group(1) in assigned:
                    v, s, e = assigned[inner.group(1)]
                    yield _gradle_pin(name, v, s, e)
                continue
            yield _gradle_pin(name, version, start + m.start(3), start + m.end(3))
            continue
        # Map notation: group: '...', name: '...', version: '...'
        if re.search(r"\bgroup\s*[:=]\s*$", text[max(0, start - 40) : start - 1]):
            following = literals[index + 1 : index + 3]
            if len(following) == 2:
                (artifact, a_start, _), (version, v_start, v_end) = following
                if re.search(
                    r"\bname\s*[:=]\s*$", text[max(0, a_start - 40) : a_start - 1]
                ) and re.search(r"\bversion\s*[:=]\s*$", text[max(0, v_start - 40) : v_start - 1]):
                    yield _gradle_pin(f"{value}:{artifact}", version, v_start, v_end)


def _gradle_pin(name: str, version: str, start: int, end: int) -> Pin:
    syntax = "prefix" if version.endswith("+") else "interval"
    return Pin("maven", name, syntax, version, start, end, "build script")


_READERS = {
    "manifest-requirements": _requirements,
    "manifest-pyproject": _pyproject,
    "manifest-poetry-lock": _toml_lock,
    "manifest-uv-lock": _toml_lock,
    "manifest-pipfile-lock": _pipfile_lock,
    "manifest-package-json": _package_json,
    "manifest-package-lock": _package_lock,
    "manifest-yarn-lock": _yarn_lock,
    "manifest-go-mod": _go_mod,
    "manifest-pom": _pom,
    "manifest-gradle": _gradle,
    "manifest-gemfile-lock": _gemfile_lock,
    "manifest-composer-lock": _composer_lock,
    "manifest-csproj": _csproj,
    "manifest-packages-lock": _packages_lock,
}
