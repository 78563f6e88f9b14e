"""Configuration: ``[tool.imds-iac]`` in ``pyproject.toml`` or the top level of ``.imds-iac.toml``.

Each scanned file uses the nearest configuration file found from its directory upwards (in one
directory ``.imds-iac.toml`` wins over ``pyproject.toml``; a ``pyproject.toml`` without a
``[tool.imds-iac]`` table does not count). Command-line flags override the file.

The keys (``hop-limit``, ``select``, ``ignore``, ``exclude``, ``fail-on``, ``severity``,
``max-file-size`` and a ``per-path`` table of globs) are documented, with an example, in the
README's "Configuration".

Paths and globs in a file are relative to the directory that holds it.
"""

import math
import os
import re
from typing import Any, NamedTuple

from imds_iac_checks import source
from imds_iac_checks.engine import DEFAULT_HOP_LIMIT, RULES
from imds_iac_checks.rules import by_name, example_id

CONFIG_NAMES = (".imds-iac.toml", "pyproject.toml")
MAX_HOP_LIMIT = 64
# Files larger than this are reported and skipped: tree-sitter needs about 150 bytes of memory per
# byte of HCL, and nobody writes infrastructure code this large by hand.
DEFAULT_MAX_FILE_SIZE = source.DEFAULT_LIMIT
# A larger max-file-size (in MB) is a mistake, not a limit: 0 says "no limit".
MAX_MAX_FILE_SIZE = 1_000_000_000
SEVERITIES = ("error", "warning")


class ConfigError(Exception):
    """A configuration file or option a user must correct."""


class Glob(NamedTuple):
    pattern: str
    regex: re.Pattern[str]
    anchored: bool
    base: str  # absolute directory the pattern is relative to

    def matches(self, path: str) -> bool:
        """Does the absolute ``path`` (file or directory) match?"""
        rel = os.path.relpath(path, self.base)
        if rel.startswith(".."):
            return False
        rel = rel.replace(os.sep, "/")
        if self.anchored:
            return self.regex.fullmatch(rel) is not None
        # Unanchored patterns (no "/") match any path component, or the whole relative path.
        return any(self.regex.fullmatch(part) for part in rel.split("/")) or bool(
            self.regex.fullmatch(rel)
        )


def compile_glob(pattern: str, base: str) -> Glob:
    """Compile a gitignore-like glob: ``*`` and ``?`` stay within a path component, ``**`` crosses
    components, ``[...]`` is a class. A pattern with a ``/`` is anchored at ``base``; one without
    matches any component. A trailing ``/`` or ``/**`` matches everything below a directory."""
    if not pattern or pattern.strip() != pattern:
        raise ConfigError(f"invalid glob {pattern!r}")
    pat = pattern.replace("\\", "/")
    anchored = "/" in pat.rstrip("/")
    pat = pat.lstrip("/").removeprefix("./")
    if pat.endswith("/"):
        pat += "**"
    out: list[str] = []
    i = 0
    while i < len(pat):
        c = pat[i]
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pat.find("]", i + 2)
            if end == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = pat[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    regex = "".join(out)
    if pat.endswith("/**"):
        # "dir/**" also matches "dir" itself, so that whole directories can be pruned.
        regex = regex[: -len("/.*")] + "(?:/.*)?"
    try:
        compiled = re.compile(regex)
    except re.error as exc:
        raise ConfigError(f"invalid glob {pattern!r}: {exc}") from None
    return Glob(pattern, compiled, anchored, os.path.abspath(base))


def _short(value: object) -> str:
    """``repr(value)``, cut short: a message never carries a 4,000-digit number."""
    try:
        text = repr(value)
    except ValueError:  # an integer too long to print
        return "a number too long to print"
    return text if len(text) <= 40 else text[:37] + "..."


def parse_selectors(
    values: list[str] | tuple[str, ...], where: str, *, allow_empty: bool = True
) -> tuple[str, ...]:
    """Validate rule selectors: full ids, prefixes of ids (``IMDS00``), rule names
    (``Rule.name``, meaning its id), or ``ALL``. With
    ``allow_empty=False`` (a ``select``), selecting nothing is an error, not "no rules"."""
    out: list[str] = []
    for raw in values:
        if not isinstance(raw, str):
            raise ConfigError(f"{where}: rule selectors must be strings, not {_short(raw)}")
        named = by_name(raw.strip().lower())
        sel = named.id if named is not None else raw.strip().upper()
        if not sel:
            continue
        if sel != "ALL" and not any(rule.startswith(sel) for rule in RULES):
            known = ", ".join(RULES)
            raise ConfigError(f"{where}: unknown rule selector {_short(raw)} (rules: {known})")
        out.append(sel)
    if not out and not allow_empty:
        raise ConfigError(
            f"{where}: an empty selection would turn every rule off; name rules such as "
            f"{example_id()} or prefixes such as {example_id()[:-1]} (ALL: every rule)"
        )
    return tuple(out)


def _matches(rule_id: str, selectors: tuple[str, ...]) -> bool:
    return any(sel == "ALL" or rule_id.startswith(sel) for sel in selectors)


# Severities set for rules: (selector, severity) pairs, selectors as ``select`` takes them.
SeverityMap = tuple[tuple[str, str], ...]


def _check_severity(value: object, where: str) -> str:
    if not isinstance(value, str) or value.strip().lower() not in SEVERITIES:
        raise ConfigError(
            f"{where}: a severity is one of {', '.join(SEVERITIES)}, not {_short(value)}"
        )
    return value.strip().lower()


def parse_severity_table(table: object, where: str) -> SeverityMap:
    """``severity = { <rule> = "error", <rule> = "warning" }``: rule ids, prefixes, names or
    ``ALL``, each to ``error`` or ``warning``."""
    if not isinstance(table, dict):
        raise ConfigError(
            f'{where} must be a table of rule = severity, such as {{ {example_id()} = "error" }}'
        )
    out: list[tuple[str, str]] = []
    for rule, level in table.items():
        (selector,) = parse_selectors([rule], where) or ("",)
        if not selector:
            raise ConfigError(f"{where}: an empty rule selector")
        out.append((selector, _check_severity(level, f"{where} {_short(rule)}")))
    return tuple(out)


def parse_severity_flags(values: list[str] | tuple[str, ...], where: str) -> SeverityMap:
    """``--severity <rule>=error,<rule>=warning``: RULE=LEVEL items."""
    out: list[tuple[str, str]] = []
    for item in values:
        rule, eq, level = item.partition("=")
        if not eq or not rule.strip():
            raise ConfigError(
                f"{where}: {_short(item)} is not RULE=LEVEL (such as {example_id()}=error)"
            )
        (selector,) = parse_selectors([rule], where) or ("",)
        out.append((selector, _check_severity(level, f"{where} {rule.strip()}")))
    return tuple(out)


def severity_in(rule_id: str, table: SeverityMap) -> str | None:
    """The severity ``table`` gives ``rule_id``: its most specific selector that matches (a
    full id over a prefix over ``ALL``; the last one written among equals), None when none."""
    best: tuple[int, str] | None = None
    for selector, level in table:
        if selector == "ALL" or rule_id.startswith(selector):
            rank = 0 if selector == "ALL" else len(selector)
            if best is None or rank >= best[0]:
                best = (rank, level)
    return best[1] if best is not None else None


class PathOverride(NamedTuple):
    glob: Glob
    hop_limit: int | None
    ignore: tuple[str, ...]
    severity: SeverityMap = ()


class Settings(NamedTuple):
    """The effective options for the files under one configuration file."""

    hop_limit: int = DEFAULT_HOP_LIMIT
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    exclude: tuple[Glob, ...] = ()
    fail_on: str = "error"
    per_path: tuple[PathOverride, ...] = ()
    source: str | None = None
    hop_limit_forced: bool = False  # set on the command line: per-path overrides do not apply
    max_file_size: int = DEFAULT_MAX_FILE_SIZE  # bytes; 0 = no limit
    severity: SeverityMap = ()  # rule severities the file sets
    severity_forced: SeverityMap = ()  # ... and the command line (over per-path values)

    def rules_for(self, path: str) -> tuple[str, ...]:
        ignore = list(self.ignore)
        for override in self.per_path:
            if override.glob.matches(path):
                ignore.extend(override.ignore)
        return tuple(
            rule
            for rule in RULES
            if _matches(rule, self.select) and not _matches(rule, tuple(ignore))
        )

    def hop_limit_for(self, path: str) -> int:
        if not self.hop_limit_forced:
            for override in self.per_path:
                if override.hop_limit is not None and override.glob.matches(path):
                    return override.hop_limit
        return self.hop_limit

    def severity_for(self, path: str, rule_id: str) -> str | None:
        """The severity the configuration sets for ``rule_id``'s findings in ``path``, None when
        it sets none (the rule's own applies): the command line's, else the first per-path glob
        that matches and names the rule, else the file's top-level ``severity``."""
        found = severity_in(rule_id, self.severity_forced)
        if found is not None:
            return found
        for override in self.per_path:
            if override.severity and override.glob.matches(path):
                found = severity_in(rule_id, override.severity)
                if found is not None:
                    return found
        return severity_in(rule_id, self.severity)

    @property
    def sets_severity(self) -> bool:
        return bool(self.severity or self.severity_forced or any(o.severity for o in self.per_path))

    def excluded(self, path: str) -> bool:
        return any(g.matches(path) for g in self.exclude)


class Overrides(NamedTuple):
    """Options given on the command line; ``None`` = not given."""

    hop_limit: int | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    exclude: tuple[Glob, ...] = ()
    fail_on: str | None = None
    max_file_size: int | None = None
    severity: SeverityMap = ()


def check_max_file_size(value: object, where: str) -> int:
    """Megabytes (a finite number >= 0; 0 = no limit) -> bytes."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and not math.isfinite(value))
        or not 0 <= value <= MAX_MAX_FILE_SIZE
    ):
        raise ConfigError(
            f"{where}: max-file-size must be a number of megabytes from 0 to "
            f"{MAX_MAX_FILE_SIZE:,} (0 = no limit), not {_short(value)}"
        )
    return int(value * 1_000_000)


def check_hop_limit(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: hop-limit must be a whole number, not {_short(value)}")
    if not 1 <= value <= MAX_HOP_LIMIT:
        raise ConfigError(
            f"{where}: hop-limit must be between 1 and {MAX_HOP_LIMIT}, not {_short(value)}"
        )
    return value


_TOP_KEYS = {
    *("hop-limit", "select", "ignore", "exclude", "fail-on", "per-path", "max-file-size"),
    "severity",
}
_PER_PATH_KEYS = {"hop-limit", "ignore", "severity"}


def _string_list(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings")
    return value


def settings_from_table(table: dict[str, Any], base: str, source: str) -> Settings:
    """Build Settings from the parsed ``[tool.imds-iac]`` table of ``source``."""
    unknown = sorted(set(table) - _TOP_KEYS)
    if unknown:
        raise ConfigError(
            f"{source}: unknown option {_short(unknown[0])} in the imds-iac configuration"
        )
    hop = DEFAULT_HOP_LIMIT
    if "hop-limit" in table:
        hop = check_hop_limit(table["hop-limit"], source)
    select: tuple[str, ...] = ("ALL",)
    if "select" in table:
        select = parse_selectors(
            _string_list(table["select"], f"{source}: select"),
            f"{source}: select",
            allow_empty=False,
        )
    ignore: tuple[str, ...] = ()
    if "ignore" in table:
        ignore = parse_selectors(_string_list(table["ignore"], f"{source}: ignore"), source)
    exclude = tuple(
        compile_glob(p, base) for p in _string_list(table.get("exclude", []), f"{source}: exclude")
    )
    fail_on = table.get("fail-on", "error")
    if fail_on not in SEVERITIES:
        raise ConfigError(f"{source}: fail-on must be one of {', '.join(SEVERITIES)}")
    per_path: list[PathOverride] = []
    raw_per_path = table.get("per-path", {})
    if not isinstance(raw_per_path, dict):
        raise ConfigError(f"{source}: per-path must be a table of glob = {{ options }}")
    for pattern, opts in raw_per_path.items():
        where = f"{source}: per-path {_short(pattern)}"
        if not isinstance(opts, dict):
            raise ConfigError(f"{where} must be a table such as {{ hop-limit = 2 }}")
        bad = sorted(set(opts) - _PER_PATH_KEYS)
        if bad:
            raise ConfigError(f"{where}: unknown option {_short(bad[0])}")
        per_path.append(
            PathOverride(
                compile_glob(pattern, base),
                check_hop_limit(opts["hop-limit"], where) if "hop-limit" in opts else None,
                parse_selectors(_string_list(opts.get("ignore", []), f"{where}: ignore"), where),
                parse_severity_table(opts["severity"], f"{where}: severity")
                if "severity" in opts
                else (),
            )
        )
    max_size = DEFAULT_MAX_FILE_SIZE
    if "max-file-size" in table:
        max_size = check_max_file_size(table["max-file-size"], source)
    severity: SeverityMap = ()
    if "severity" in table:
        severity = parse_severity_table(table["severity"], f"{source}: severity")
    return Settings(
        hop,
        select,
        ignore,
        exclude,
        fail_on,
        tuple(per_path),
        source,
        max_file_size=max_size,
        severity=severity,
    )


def _cache_file(path: str) -> str | None:
    """Where the parsed form of a configuration file is kept between runs: the TOML parser
    costs more than a pre-commit run's whole scan (it imports datetime and compiles regular
    expressions). ``IMDS_IAC_CACHE_DIR`` moves the cache; set it empty to turn it off."""
    base = os.environ.get("IMDS_IAC_CACHE_DIR")
    if base is None:
        root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(root, "imds-iac")
    if not base:
        return None
    import zlib

    return os.path.join(base, f"config-v1-{zlib.crc32(path.encode('utf-8', 'replace')):08x}")


def _read_config(path: str, limit: int | None) -> bytes:
    """The bytes of a configuration file: a regular file, within the size limit."""
    try:
        return source.read_regular(path, DEFAULT_MAX_FILE_SIZE if limit is None else limit)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _load_toml(path: str, limit: int | None = None) -> dict[str, Any]:
    """A TOML file as a dict, from the cache when the file is unchanged (same size and mtime)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    stamp = (path, info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)
    cache = _cache_file(path)
    if cache is not None:
        import marshal

        try:
            cached = marshal.loads(source.read_regular(cache, 0))
            if isinstance(cached, tuple) and cached[:5] == stamp:
                data: dict[str, Any] = cached[5]
                return data
        except (OSError, EOFError, ValueError, TypeError, IndexError, RecursionError):
            pass
    data = _parse_toml(path, _read_config(path, limit))
    if cache is not None:
        _store(cache, (*stamp, data))
    return data


def _store(cache: str, entry: tuple[Any, ...]) -> None:
    import marshal

    try:
        blob = marshal.dumps(entry)  # ValueError for values marshal cannot hold (datetimes)
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        temporary = f"{cache}.{os.getpid()}.tmp"
        with open(temporary, "wb") as fh:
            fh.write(blob)
        os.replace(temporary, cache)
    except (OSError, ValueError, RecursionError):
        pass  # a cache is an optimisation: a read-only home directory is fine


def _parse_toml(path: str, raw: bytes) -> dict[str, Any]:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path}: invalid TOML: byte 0x{raw[exc.start]:02x} on line {line} is not UTF-8 "
            "(TOML files must be UTF-8)"
        ) from None
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise ConfigError(f"{path}: invalid TOML: {value_error(exc)}") from None


def value_error(exc: ValueError) -> str:
    """What a ValueError from a parser says, in words for a user (not Python's advice)."""
    if "integer string conversion" in str(exc):
        return "a number is too long (over 4,300 digits)"
    return str(exc)


# `[tool.imds-iac]`, `[tool."imds-iac".per-path]`, `tool.imds-iac.hop-limit = 2`, ...
_MENTIONS_TOOL_TABLE = re.compile(rb"""tool\s*\.\s*["']?imds-iac""")


def load_file(path: str, limit: int | None = None) -> Settings | None:
    """Settings from one file; ``None`` for a pyproject.toml without ``[tool.imds-iac]``.
    ``limit``: the largest file to read, in bytes (default: the default max-file-size)."""
    path = os.path.abspath(path)
    base = os.path.dirname(path)
    if os.path.basename(path) == "pyproject.toml":
        # Most pyproject.toml files say nothing about us: skip the TOML parser for those.
        if not _MENTIONS_TOOL_TABLE.search(_read_config(path, limit)):
            return None
        tool = _load_toml(path, limit).get("tool", {})
        table = tool.get("imds-iac") if isinstance(tool, dict) else None
        if table is None:
            return None
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [tool.imds-iac] must be a table")
        return settings_from_table(table, base, path)
    return settings_from_table(_load_toml(path, limit), base, path)


class Resolver:
    """Finds and caches the Settings that apply to each directory."""

    def __init__(self, overrides: Overrides, config_file: str | None = None) -> None:
        self.overrides = overrides
        self._by_dir: dict[str, Settings] = {}
        self._fixed: Settings | None = None
        # Files read (baselines, parameters, variables, scanned files) are bounded by the
        # largest max-file-size of the configurations in use (raised by _apply).
        self.size_limit = source.SizeLimit(overrides.max_file_size)
        if config_file is not None:
            loaded = load_file(config_file, overrides.max_file_size)
            if loaded is None:
                raise ConfigError(f"{config_file}: no [tool.imds-iac] table")
            self._fixed = self._apply(loaded)

    def _apply(self, s: Settings) -> Settings:
        o = self.overrides
        out = s._replace(
            hop_limit=o.hop_limit if o.hop_limit is not None else s.hop_limit,
            hop_limit_forced=o.hop_limit is not None,
            select=o.select if o.select is not None else s.select,
            ignore=o.ignore if o.ignore is not None else s.ignore,
            exclude=s.exclude + o.exclude,
            fail_on=o.fail_on or s.fail_on,
            max_file_size=o.max_file_size if o.max_file_size is not None else s.max_file_size,
            severity_forced=o.severity,
        )
        if not any(_matches(r, out.select) and not _matches(r, out.ignore) for r in RULES):
            where = [
                *(["--select"] if o.select is not None else []),
                *(["--ignore"] if o.ignore is not None else []),
            ]
            if (o.select is None and s.select != ("ALL",)) or (o.ignore is None and s.ignore):
                where.insert(0, s.source or "the configuration")
            raise ConfigError(
                f"{' and '.join(where) or 'the configuration'}: no rule left to run "
                f"(select {', '.join(out.select)}; ignore {', '.join(out.ignore)}): "
                "every rule would be off"
            )
        self.size_limit.allow(out.max_file_size)
        return out

    def for_dir(self, directory: str) -> Settings:
        if self._fixed is not None:
            return self._fixed
        directory = os.path.abspath(directory)
        seen: list[str] = []
        current = directory
        found: Settings | None = None
        while True:
            cached = self._by_dir.get(current)
            if cached is not None:
                found = cached
                break
            seen.append(current)
            for name in CONFIG_NAMES:
                candidate = os.path.join(current, name)
                # Not isfile(): a named pipe or device under a configuration name is an error
                # (load_file never opens it for reading), not a file that is not there.
                if os.path.exists(candidate) and not os.path.isdir(candidate):
                    loaded = load_file(candidate, self.overrides.max_file_size)
                    if loaded is not None:
                        found = self._apply(loaded)
                        break
            if found is not None:
                break
            parent = os.path.dirname(current)
            if parent == current:
                found = self._apply(Settings())
                break
            current = parent
        for d in seen:
            self._by_dir[d] = found
        return found

    def for_path(self, path: str) -> Settings:
        path = os.path.abspath(path)
        return self.for_dir(path if os.path.isdir(path) else os.path.dirname(path))
