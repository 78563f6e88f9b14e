"""AWS SDKs too old to fetch IMDSv2 session tokens: pins in dependency manifests and lock files
(read by :mod:`imds_iac_checks.formats.manifests`) and in install commands of shell scripts
(``pip install boto3==1.9.0``, ``npm install aws-sdk@2.400.0``, ``gem install aws-sdk-core -v
3.50.0``).

An SDK that predates IMDSv2 asks the metadata service for credentials without a token; once an
instance requires tokens, it gets ``401`` and finds no credentials. :data:`SDKS` holds the first
release of each SDK that fetches a token (docs/rules/IMDS008.md cites the changelog of each).

The question asked of a pin is *can it install a version that fetches tokens?* An exact pin or
a lock-file entry below the minimum cannot; a range admits a safe version when some version it
allows is at or above the minimum (``boto3>=1.9`` does; ``boto3<1.10`` does not). Ranges are read
with the ecosystem's own rules: PEP 440 specifiers (:mod:`packaging`), npm ranges
(:mod:`nodesemver`), Poetry's caret and tilde, Maven and NuGet interval notation, RubyGems
requirements. Versions are ordered as :func:`version_key` says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from imds_iac_checks.formats.manifests import Pin, pep440_parts, pins
from imds_iac_checks.model import OLD_SDK, Found, Payload

KIND = OLD_SDK


class Sdk(NamedTuple):
    """An SDK package and the versions of it that fetch IMDSv2 tokens: ``safe`` is a list of
    ``(lowest, below)`` intervals (``below`` None: no upper end). ``label`` names it in
    messages; ``never`` says why no version of it is safe (a package to replace)."""

    name: str
    label: str
    safe: tuple[tuple[str, str | None], ...]
    never: str = ""

    @property
    def minimum(self) -> str:
        return self.safe[-1][0] if self.safe else ""


def _sdk(name: str, label: str, minimum: str) -> Sdk:
    return Sdk(name, label, ((minimum, None),))


# (ecosystem, package name as normalised by _normal) -> the SDK. Maven artifacts are matched by
# group and artifact prefix (_maven_sdk), AWSSDK.* NuGet packages through AWSSDK.Core.
SDKS: dict[tuple[str, str], Sdk] = {
    ("pypi", "awscli"): _sdk("awscli", "AWS CLI", "1.16.289"),
    ("pypi", "botocore"): _sdk("botocore", "botocore", "1.13.25"),
    # boto3 1.10.25 is the first boto3 that requires botocore>=1.13.25 (the AWS table says
    # 1.12.6, a later release with no IMDS change: docs/rules/IMDS008.md).
    ("pypi", "boto3"): _sdk("boto3", "boto3", "1.10.25"),
    ("pypi", "boto"): Sdk(
        "boto", "boto (version 2)", (), "boto 2 never fetches IMDSv2 tokens; move to boto3"
    ),
    ("npm", "aws-sdk"): _sdk("aws-sdk", "AWS SDK for JavaScript v2", "2.575.0"),
    ("go", "github.com/aws/aws-sdk-go"): _sdk(
        "github.com/aws/aws-sdk-go", "AWS SDK for Go", "1.25.38"
    ),
    ("go", "github.com/aws/aws-sdk-go-v2"): _sdk(
        "github.com/aws/aws-sdk-go-v2", "AWS SDK for Go v2", "0.19.0"
    ),
    ("maven", "com.amazonaws:aws-java-sdk"): _sdk(
        "com.amazonaws:aws-java-sdk", "AWS SDK for Java", "1.11.678"
    ),
    ("maven", "software.amazon.awssdk"): _sdk(
        "software.amazon.awssdk", "AWS SDK for Java 2.x", "2.10.21"
    ),
    # The AWS table's 3.3.634.1 is the version of the .NET SDK bundle; the AWSSDK.Core package
    # of that release is 3.3.103.66.
    ("nuget", "awssdk.core"): _sdk("AWSSDK.Core", "AWS SDK for .NET (AWSSDK.Core)", "3.3.103.66"),
    ("nuget", "awspowershell"): _sdk("AWSPowerShell", "AWS Tools for PowerShell", "4.0.1.0"),
    ("nuget", "awspowershell.netcore"): _sdk(
        "AWSPowerShell.NetCore", "AWS Tools for PowerShell", "4.0.1.0"
    ),
    ("nuget", "aws.tools.common"): _sdk("AWS.Tools.Common", "AWS Tools for PowerShell", "4.0.1.0"),
    ("packagist", "aws/aws-sdk-php"): _sdk("aws/aws-sdk-php", "AWS SDK for PHP", "3.147.7"),
    # Version 2 of the Ruby SDK fetches tokens from 2.11.401, version 3 from 3.79.0.
    ("rubygems", "aws-sdk-core"): Sdk(
        "aws-sdk-core", "AWS SDK for Ruby", (("2.11.401", "3"), ("3.79.0", None))
    ),
    # The version 2 meta gem pins aws-sdk-core to its own version; version 3's does not.
    ("rubygems", "aws-sdk"): Sdk("aws-sdk", "AWS SDK for Ruby", (("2.11.401", None),)),
}


def _normal(ecosystem: str, name: str) -> str:
    name = name.strip()
    if ecosystem == "pypi":
        return re.sub(r"[-_.]+", "-", name).lower()
    if ecosystem in ("nuget", "rubygems", "packagist"):
        return name.lower()
    return name


def sdk_of(ecosystem: str, name: str) -> Sdk | None:
    """The SDK a package is (or pins the version of), if any."""
    if ecosystem == "maven":
        return _maven_sdk(name)
    if ecosystem == "rubygems" and name.strip() == "aws-sdk":
        return SDKS[("rubygems", "aws-sdk")]
    return SDKS.get((ecosystem, _normal(ecosystem, name)))


def _maven_sdk(coordinate: str) -> Sdk | None:
    """Every artifact of the Java SDK 1.x is ``com.amazonaws:aws-java-sdk*`` and is released
    with one version; every artifact of 2.x is in the group ``software.amazon.awssdk``."""
    group, _, artifact = coordinate.partition(":")
    if group == "com.amazonaws" and artifact.startswith("aws-java-sdk"):
        return SDKS[("maven", "com.amazonaws:aws-java-sdk")]
    if group == "software.amazon.awssdk":
        return SDKS[("maven", "software.amazon.awssdk")]
    return None


# --- versions -------------------------------------------------------------------------------


def version_key(text: str) -> tuple[int, ...]:
    """How versions are ordered: as PEP 440 versions when the text is one (``1.11.678``,
    ``3.3.103.66``, ``2.0.0rc1``), else by their numbers (``v1.25.38+incompatible``,
    ``1.11.+``). The two kinds of key compare with each other by their release numbers."""
    from packaging.version import InvalidVersion, Version

    text = text.strip().lstrip("vV=")
    text = text.split("+", 1)[0] if "+" in text else text
    try:
        version = Version(text)
    except InvalidVersion:
        numbers = tuple(int(n) for n in re.findall(r"\d+", text)[:8])
        return (*_pad(numbers), 0)
    final = 0 if version.pre is not None or version.dev is not None else 1
    return (*_pad(version.release), final)


def _pad(numbers: tuple[int, ...]) -> tuple[int, ...]:
    return (numbers + (0,) * 8)[:8]


def is_safe(sdk: Sdk, version: str) -> bool:
    key = version_key(version)
    for lowest, below in sdk.safe:
        if key >= version_key(lowest) and (below is None or key < version_key(below)):
            return True
    return False


def bump_to(sdk: Sdk, version: str) -> str | None:
    """The lowest safe version above ``version`` (in its own line when the SDK has several)."""
    key = version_key(version)
    for lowest, _below in sdk.safe:
        if version_key(lowest) > key:
            return lowest
    return None


def _candidates(sdk: Sdk, mentioned: Iterable[str]) -> list[str]:
    """Versions that stand for every version a constraint may allow: the safe boundaries,
    each version the constraint names and the versions just above it, and a very large one.
    A constraint is an intersection (or union) of bounds at the versions it names, so if it
    admits any safe version it admits one of these."""
    out: list[str] = []
    for lowest, below in sdk.safe:
        out.append(lowest)
        if below:
            out.append(below)
    for text in mentioned:
        numbers = [int(n) for n in re.findall(r"\d+", text)[:6]]
        if not numbers:
            continue
        out.append(".".join(map(str, numbers)))
        out.append(".".join(map(str, [*numbers, 1])))
        for i in range(len(numbers)):
            bumped = [*numbers[:i], numbers[i] + 1]
            out.append(".".join(map(str, bumped + [0] * (len(numbers) - i - 1))))
        out.append(".".join(map(str, [*numbers, 99999])))
    out.append("99999.0.0")
    return out


def admits_safe(sdk: Sdk, allows: Callable[[str], bool], mentioned: Iterable[str]) -> bool:
    """Whether a constraint (``allows``: does it allow this version?) admits a safe version."""
    for candidate in _candidates(sdk, mentioned):
        if is_safe(sdk, candidate):
            try:
                if allows(candidate):
                    return True
            except ValueError:
                continue
    return False


# --- constraints per syntax -----------------------------------------------------------------


def _pep440_allows(constraint: str) -> Callable[[str], bool]:
    from packaging.specifiers import SpecifierSet

    spec = SpecifierSet(constraint.replace(" ", ""))
    return lambda version: spec.contains(version, prereleases=True)


def poetry_to_pep440(constraint: str) -> list[str]:
    """A Poetry version constraint as PEP 440 specifier sets (any of them): ``^1.9`` is
    ``>=1.9,<2.0``, ``^0.19`` is ``>=0.19,<0.20``, ``~1.9`` is ``>=1.9,<1.10``, ``1.9.0`` is
    ``==1.9.0``, ``*`` anything; ``||`` separates alternatives."""
    out = []
    for alternative in constraint.split("||"):
        parts = []
        for item in re.split(r",|\s+(?=[<>=!~^])", alternative.strip()):
            item = item.strip()
            if not item or item == "*":
                continue
            if item.startswith("^"):
                parts += _caret(item[1:].strip())
            elif item.startswith("~") and not item.startswith("~="):
                parts += _tilde(item[1:].strip())
            elif item[0].isdigit():
                parts.append(f"=={item}")
            else:
                parts.append(item)
        out.append(",".join(parts))
    return out


def _numbers(version: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", version.split("-", 1)[0])[:4]]


def _caret(version: str) -> list[str]:
    numbers = _numbers(version) or [0]
    for i, n in enumerate(numbers):
        if n != 0 or i == len(numbers) - 1:
            upper = [*numbers[:i], n + 1]
            break
    return [f">={version}", "<" + ".".join(map(str, upper))]


def _tilde(version: str) -> list[str]:
    numbers = _numbers(version) or [0]
    upper = [numbers[0] + 1] if len(numbers) == 1 else [numbers[0], numbers[1] + 1]
    return [f">={version}", "<" + ".".join(map(str, upper))]


_INTERVAL = re.compile(r"([\[(])\s*([^,\])]*)\s*(?:,\s*([^\])]*))?\s*([\])])")


def _interval_allows(constraint: str) -> Callable[[str], bool] | None:
    """Maven and NuGet version ranges: ``[1.0,2.0)``, ``(,1.5]``, ``[1.2]``, several joined
    by commas (any of them)."""
    ranges = []
    for m in _INTERVAL.finditer(constraint):
        opening, low, high, closing = m.groups()
        if high is None:  # [1.2]: exactly
            high = low
        ranges.append((opening, low.strip(), high.strip(), closing))
    if not ranges:
        return None

    def allows(version: str) -> bool:
        key = version_key(version)
        for opening, low, high, closing in ranges:
            if low and (key < version_key(low) or (opening == "(" and key == version_key(low))):
                continue
            if high and (key > version_key(high) or (closing == ")" and key == version_key(high))):
                continue
            return True
        return False

    return allows


def _ruby_allows(constraint: str) -> Callable[[str], bool]:
    """A RubyGems requirement: ``= 3.50.0``, ``~> 3.50``, ``>= 3.0, < 3.80``."""
    checks: list[Callable[[tuple[int, ...]], bool]] = []
    for item in constraint.split(","):
        m = re.match(r"\s*(~>|>=|<=|!=|=|>|<)?\s*(\S+)", item)
        if not m:
            continue
        op, version = m.group(1) or "=", m.group(2)
        key = version_key(version)
        if op == "~>":
            numbers = _numbers(version)
            upper = [numbers[0] + 1] if len(numbers) < 2 else [*numbers[:-2], numbers[-2] + 1]
            top = version_key(".".join(map(str, upper)))
            checks.append(_within(key, top))
        else:
            checks.append(_COMPARE[op](key))
    return lambda version: all(check(version_key(version)) for check in checks)


def _within(low: tuple[int, ...], top: tuple[int, ...]) -> Callable[[tuple[int, ...]], bool]:
    return lambda k: low <= k < top


_COMPARE: dict[str, Callable[[tuple[int, ...]], Callable[[tuple[int, ...]], bool]]] = {
    "=": lambda key: lambda k: k == key,
    "!=": lambda key: lambda k: k != key,
    ">=": lambda key: lambda k: k >= key,
    "<=": lambda key: lambda k: k <= key,
    ">": lambda key: lambda k: k > key,
    "<": lambda key: lambda k: k < key,
}


def _prefix_allows(constraint: str) -> Callable[[str], bool]:
    """A Gradle dynamic version or NuGet floating version: ``1.11.+``, ``3.3.*``, ``+``."""
    prefix = constraint.rstrip("+*").rstrip(".")
    if not prefix:
        return lambda version: True
    numbers = _numbers(prefix)
    return lambda version: _numbers(version)[: len(numbers)] == numbers


def _npm_allows(constraint: str) -> Callable[[str], bool]:
    import nodesemver  # type: ignore[import-untyped]

    return lambda version: bool(nodesemver.satisfies(version, constraint, loose=True))


def allows_of(pin: Pin) -> Callable[[str], bool] | None:
    """How to ask whether ``pin`` allows a version (None: a constraint not understood)."""
    constraint = pin.constraint.strip()
    try:
        if pin.syntax == "exact":
            key = version_key(constraint)
            return lambda version: version_key(version) == key
        if pin.syntax == "pep440":
            return _pep440_allows(constraint)
        if pin.syntax == "poetry":
            sets = [_pep440_allows(s) for s in poetry_to_pep440(constraint)]
            return lambda version: any(allows(version) for allows in sets)
        if pin.syntax == "npm":
            return _npm_allows(constraint)
        if pin.syntax == "interval":
            if "[" in constraint or "(" in constraint:
                return _interval_allows(constraint)
            if constraint.endswith(("+", "*")):
                return _prefix_allows(constraint)
            key = version_key(constraint)
            return lambda version: version_key(version) == key
        if pin.syntax == "nuget":
            if "[" in constraint or "(" in constraint:
                return _interval_allows(constraint)
            if constraint.endswith("*"):
                return _prefix_allows(constraint)
            # A bare NuGet version is a lower bound, but NuGet installs the lowest version
            # that satisfies it: that version.
            key = version_key(constraint)
            return lambda version: version_key(version) == key
        if pin.syntax == "ruby":
            return _ruby_allows(constraint)
        if pin.syntax == "prefix":
            return _prefix_allows(constraint)
    except Exception:  # an invalid constraint is not judged
        return None
    return None


_EXACT_VERSION = re.compile(r"v?\d+(\.\d+)*([.-]?[A-Za-z0-9]+)*")


def judge(pin: Pin, payload: Payload) -> Found | None:
    """The finding for ``pin`` when it admits no version that fetches tokens."""
    sdk = sdk_of(pin.ecosystem, pin.name)
    if sdk is None:
        return None
    constraint = pin.constraint.strip()
    if not constraint:
        return None
    if sdk.never:
        return Found(
            KIND,
            pin.start,
            pin.end,
            f"{pin.name} {constraint}: {sdk.never}",
            no_fix=f"no version of {pin.name} fetches IMDSv2 tokens",
            details=(("package", pin.name), ("ecosystem", pin.ecosystem)),
        )
    allows = allows_of(pin)
    if allows is None:
        return None
    mentioned = [v for _op, v, _s, _e in pep440_parts(constraint)] or re.findall(
        r"\d+(?:\.\d+)*", constraint
    )
    if admits_safe(sdk, allows, mentioned):
        return None
    start, end, bound = _offending(pin, constraint)
    exact = _exact(pin, constraint)
    target = bump_to(sdk, bound) if bound else None
    shown = _shown(pin, constraint)
    what = (
        f"{shown} is older than {_minimum_text(sdk, bound)}, the first {sdk.label} that "
        f"fetches IMDSv2 session tokens"
        if exact
        else f"{shown} allows only versions older than {_minimum_text(sdk, bound)}, the "
        f"first {sdk.label} that fetches IMDSv2 session tokens"
    )
    details = (
        ("package", pin.name),
        ("ecosystem", pin.ecosystem),
        ("constraint", constraint),
        ("minimum", target or sdk.minimum),
    )
    if exact and target and payload.text[start:end] == bound:
        new = _written_like(bound, target)
        return Found(
            KIND,
            start,
            end,
            what,
            edits=((start, end, new),),
            change=f"bumps {pin.name} to {new}",
            details=details,
        )
    return Found(
        KIND,
        start,
        end,
        what,
        no_fix=(
            "the constraint is a range: widen it by hand to admit "
            f"{pin.name} {target or sdk.minimum} or later"
        ),
        details=details,
    )


def _minimum_text(sdk: Sdk, bound: str) -> str:
    target = bump_to(sdk, bound) if bound else None
    return target or sdk.minimum


def _shown(pin: Pin, constraint: str) -> str:
    if pin.syntax == "pep440":
        return f"{pin.name}{constraint}"
    if pin.syntax in ("exact", "interval", "nuget", "prefix"):
        return f"{pin.name} {constraint}"
    return f"{pin.name} {constraint!r}"


def _written_like(old: str, new: str) -> str:
    """``new`` written as ``old`` is (Go versions keep their ``v``)."""
    return f"v{new}" if old.startswith("v") and not new.startswith("v") else new


def _exact(pin: Pin, constraint: str) -> bool:
    """Whether the constraint names one version (or one compatible series: ``~=1.9.0``)."""
    if pin.syntax in ("exact", "nuget"):
        return bool(_EXACT_VERSION.fullmatch(constraint))
    if pin.syntax == "interval":
        return bool(_EXACT_VERSION.fullmatch(constraint))
    if pin.syntax == "pep440":
        parts = pep440_parts(constraint)
        return len(parts) == 1 and parts[0][0] in ("==", "===", "~=")
    if pin.syntax == "poetry":
        return bool(_EXACT_VERSION.fullmatch(constraint.lstrip("=")))
    if pin.syntax == "npm":
        return bool(_EXACT_VERSION.fullmatch(constraint.lstrip("=")))
    if pin.syntax == "ruby":
        return bool(re.fullmatch(r"=?\s*" + _EXACT_VERSION.pattern, constraint))
    return False


def _offending(pin: Pin, constraint: str) -> tuple[int, int, str]:
    """Where the finding points (payload offsets) and the version written there: the version
    literal of the highest upper bound (``<1.10`` in ``>=1.4,<1.10``), else the whole
    constraint."""
    lead = len(pin.constraint) - len(pin.constraint.lstrip())
    base = pin.start + lead
    parts = pep440_parts(constraint) if pin.syntax == "pep440" else []
    if not parts and pin.syntax in ("poetry", "npm", "ruby"):
        parts = [
            (m.group(1) or "=", m.group(2), m.start(2), m.end(2))
            for m in re.finditer(r"(\^|~>|~|>=|<=|==|=|<|>)?\s*(v?\d[\w.\-+]*)", constraint)
        ]
    if parts:
        upper = [p for p in parts if p[0] not in (">", ">=", "!=")]
        chosen = max(upper or parts, key=lambda p: version_key(p[1]))
        _op, version, s, e = chosen
        return base + s, base + e, version
    return base, base + len(constraint), constraint


# --- the analyser ---------------------------------------------------------------------------


def find(payload: Payload) -> Iterator[Found]:
    """Old SDK pins in a manifest payload (``manifest-*``) or install commands in a shell
    script."""
    if payload.language.startswith("manifest-"):
        found = pins(payload.language, payload.text)
    elif payload.language == "shell":
        if not _INSTALL_MARKER.search(payload.text):
            return
        found = shell_pins(payload.text)
    else:
        return
    seen: set[tuple[int, int]] = set()
    for pin in found:
        if sdk_of(pin.ecosystem, pin.name) is None:
            continue
        result = judge(pin, payload)
        if result is not None and (result.start, result.end) not in seen:
            seen.add((result.start, result.end))
            yield result


# --- install commands in shell scripts ------------------------------------------------------

# A cheap look before the shell grammar is loaded.
_INSTALL_MARKER = re.compile(r"\b(pip[0-9.]*|npm|yarn|pnpm|gem|go|composer)\b")

# pip options that take a value (the next word is not a requirement).
_PIP_VALUED = {
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--src",
    "--trusted-host",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--no-binary",
    "--only-binary",
    "--progress-bar",
    "--log",
    "--proxy",
    "--retries",
    "--timeout",
    "--cache-dir",
    "--upgrade-strategy",
    "--report",
    "--python",
}
_NPM_VALUED = {"--registry", "--prefix", "-w", "--workspace", "--tag", "--cache"}

# Nested scripts (``bash -c "..."``) are not followed; commands are bounded.
MAX_COMMANDS = 20000


def _words(node: Any, data: bytes) -> list[tuple[str, int, int] | None]:
    """The command's words as ``(text, start, end)`` (byte offsets of the text written
    without its quotes), None for a word that is not written literally."""
    out: list[tuple[str, int, int] | None] = []
    for child in node.children:
        if child.type in (
            "command_name",
            "word",
            "raw_string",
            "string",
            "concatenation",
            "number",
        ):
            out.append(_literal(child, data))
        elif child.type in ("variable_assignment", "file_redirect", "herestring_redirect"):
            continue
        else:
            out.append(None)
    return out


def _literal(node: Any, data: bytes) -> tuple[str, int, int] | None:
    if node.type == "command_name" and node.children:
        return _literal(node.children[0], data)
    text = data[node.start_byte : node.end_byte]
    if node.type in ("word", "number"):
        if b"\\" in text or b"$" in text:
            return None
        return text.decode("utf-8", "replace"), node.start_byte, node.end_byte
    if node.type == "raw_string":
        return text[1:-1].decode("utf-8", "replace"), node.start_byte + 1, node.end_byte - 1
    if node.type == "string":
        if any(c.type not in ('"', "string_content") for c in node.children):
            return None
        inner = text[1:-1]
        if b"\\" in inner:
            return None
        return inner.decode("utf-8", "replace"), node.start_byte + 1, node.end_byte - 1
    return None


def shell_pins(text: str) -> list[Pin]:
    """SDK pins in the install commands of a shell script (positions in ``text``)."""
    try:
        import tree_sitter
        import tree_sitter_bash
    except ImportError:  # pragma: no cover - a dependency
        return []
    data = text.encode("utf-8", "surrogatepass")
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))
    tree = parser.parse(data)
    to_char = _char_offsets(text, data)
    out: list[Pin] = []
    stack = [tree.root_node]
    commands = 0
    while stack and commands < MAX_COMMANDS:
        node = stack.pop()
        if node.type == "command":
            commands += 1
            words = _words(node, data)
            for pin in _install_pins(words):
                out.append(pin._replace(start=to_char(pin.start), end=to_char(pin.end)))
        stack.extend(reversed(node.children))
    return out


def _char_offsets(text: str, data: bytes) -> Callable[[int], int]:
    if len(text) == len(data):
        return lambda offset: offset
    return lambda offset: len(data[:offset].decode("utf-8", "surrogatepass"))


def _install_pins(words: list[tuple[str, int, int] | None]) -> Iterator[Pin]:
    if not words or words[0] is None:
        return
    name = words[0][0].rsplit("/", 1)[-1]
    rest = words[1:]
    if (
        re.fullmatch(r"python[0-9.]*", name)
        and len(rest) >= 2
        and rest[0] is not None
        and rest[0][0] == "-m"
        and rest[1] is not None
    ):
        name, rest = rest[1][0], rest[2:]
    if name == "sudo" and rest and rest[0] is not None:
        yield from _install_pins(rest)
        return
    if re.fullmatch(r"pip[0-9.]*", name):
        yield from _pip(rest)
    elif name in ("npm", "pnpm", "yarn"):
        yield from _npm(rest)
    elif name == "gem":
        yield from _gem(rest)
    elif name == "go":
        yield from _go(rest)
    elif name == "composer":
        yield from _composer(rest)


def _after_subcommand(
    rest: list[tuple[str, int, int] | None], subcommands: tuple[str, ...]
) -> list[tuple[str, int, int] | None] | None:
    for i, word in enumerate(rest):
        if word is None:
            return None
        if word[0].startswith("-"):
            continue
        return rest[i + 1 :] if word[0] in subcommands else None
    return None


def _pip(rest: list[tuple[str, int, int] | None]) -> Iterator[Pin]:
    from packaging.requirements import InvalidRequirement, Requirement

    args = _after_subcommand(rest, ("install", "download", "wheel"))
    if args is None:
        return
    skip = False
    for word in args:
        if skip:
            skip = False
            continue
        if word is None:
            continue
        text, start, _end = word
        if text.startswith("-"):
            skip = text in _PIP_VALUED
            continue
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        spec = text[len(requirement.name) :]
        spec = spec.split(";", 1)[0]
        if "[" in spec:
            spec = spec[spec.index("]") + 1 :] if "]" in spec else spec
        offset = text.index(spec, len(requirement.name)) if spec else len(text)
        if spec.strip() and requirement.url is None:
            yield Pin(
                "pypi", requirement.name, "pep440", spec, start + offset, start + offset + len(spec)
            )


def _npm(rest: list[tuple[str, int, int] | None]) -> Iterator[Pin]:
    args = _after_subcommand(rest, ("install", "i", "add", "update", "up"))
    if args is None:
        return
    skip = False
    for word in args:
        if skip:
            skip = False
            continue
        if word is None:
            continue
        text, start, _end = word
        if text.startswith("-"):
            skip = text in _NPM_VALUED
            continue
        at = text.rfind("@")
        if at <= 0:
            continue
        name, constraint = text[:at], text[at + 1 :]
        if constraint and not constraint.startswith(("npm:", "git", "http", "file:")):
            yield Pin("npm", name, "npm", constraint, start + at + 1, start + len(text))


def _gem(rest: list[tuple[str, int, int] | None]) -> Iterator[Pin]:
    args = _after_subcommand(rest, ("install", "i"))
    if args is None:
        return
    names: list[tuple[str, int, int]] = []
    version: tuple[str, int, int] | None = None
    i = 0
    while i < len(args):
        word = args[i]
        i += 1
        if word is None:
            continue
        text, start, end = word
        if text in ("-v", "--version") and i < len(args):
            version = args[i]
            i += 1
        elif text.startswith("--version="):
            version = (text[10:], start + 10, end)
        elif text.startswith("-"):
            continue
        elif ":" in text:  # gem install aws-sdk-core:3.50.0
            name, _, pinned = text.partition(":")
            yield Pin("rubygems", name, "ruby", pinned, start + len(name) + 1, end)
        else:
            names.append(word)
    if version is not None:
        for name, _s, _e in names:
            yield Pin("rubygems", name, "ruby", version[0], version[1], version[2])


def _go(rest: list[tuple[str, int, int] | None]) -> Iterator[Pin]:
    args = _after_subcommand(rest, ("get", "install"))
    for word in args or ():
        if word is None or word[0].startswith("-") or "@" not in word[0]:
            continue
        text, start, end = word
        module, _, version = text.partition("@")
        if re.fullmatch(r"v\d+(\.\d+)*(-[\w.]+)?(\+incompatible)?", version):
            yield Pin("go", module, "exact", version, start + len(module) + 1, end)


def _composer(rest: list[tuple[str, int, int] | None]) -> Iterator[Pin]:
    args = _after_subcommand(rest, ("require",))
    for word in args or ():
        if word is None or word[0].startswith("-") or ":" not in word[0]:
            continue
        text, start, end = word
        name, _, version = text.partition(":")
        if _EXACT_VERSION.fullmatch(version):
            yield Pin("packagist", name, "exact", version, start + len(name) + 1, end)
