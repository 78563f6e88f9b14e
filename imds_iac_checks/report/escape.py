"""What file names and file contents may put into human-readable output: no control characters.

imds-iac runs on pull requests from strangers, and its text goes to terminals and to CI logs that
act on what they read: a line that starts with ``::`` is a GitHub Actions workflow command, and
``##[``, ``##vso[``, ``##teamcity[`` anywhere in a line are the older command forms of GitHub
Actions, Azure Pipelines and TeamCity. A value or a directory name holding a newline followed by
``::error ...`` would otherwise print a line the runner executes; ESC would drive the terminal.

:func:`escape` writes these characters the way Python's ``repr`` does — ``\\n``, ``\\r``, ``\\t``,
``\\x1b``, ``\\u2028``, ``\\udcff`` — so every report line stays one line and says what is there:

- C0 controls (U+0000-U+001F, tab and newline included), DEL and C1 controls (U+007F-U+009F);
- the line and paragraph separators U+2028 and U+2029;
- the bidirectional controls that can make text read differently from what it is (Trojan Source:
  U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069);
- lone surrogates (a file name that is not UTF-8, read with ``surrogateescape``), which no
  UTF-8 stream can write, and the non-characters U+FFFE and U+FFFF, which XML forbids;
- the second ``#`` of a CI command marker (``##[``, ``##vso[``): ``#\\x23[``.

Backslashes are left as they are: a name holding a literal ``\\n`` prints like an escaped
newline, a trade for keeping ordinary paths and messages unchanged.
"""

from __future__ import annotations

_TABLES: list[dict[int, str]] = []  # [all, all but tab], built on first use


def _tables() -> list[dict[int, str]]:
    if not _TABLES:
        special = [*range(0x00, 0x20), *range(0x7F, 0xA0), 0x061C, 0x200E, 0x200F]
        special += [*range(0x2028, 0x202F), *range(0x2066, 0x206A), 0xFFFE, 0xFFFF]
        special += range(0xD800, 0xE000)
        table = {c: repr(chr(c))[1:-1] for c in special}
        _TABLES.extend((table, {c: e for c, e in table.items() if c != 0x09}))
    return _TABLES


def escape(text: str, *, tabs: bool = False) -> str:
    """``text`` with every character listed above escaped (``tabs=True`` keeps tabs)."""
    if text.isprintable():  # every character escaped is non-printable: the common case is free
        if "##" not in text:
            return text
    else:
        text = text.translate(_tables()[tabs])
    if "##" in text:
        import re

        text = re.sub(r"##(?=\w*\[)", r"#\\x23", text)
    return text


def escape_path(path: str) -> str:
    """A path that starts an output line: escaped, and never starting with ``::`` (a workflow
    command for GitHub Actions, even after leading spaces): ``./::name`` names the same file."""
    path = escape(path)
    if path.lstrip().startswith("::"):
        return "./" + path
    return path


def escape_line(line: str, *, tabs: bool = False) -> str:
    """A whole output line of file content (a diff line): escaped, and a leading ``::`` (after
    spaces) written as ``\\x3a:``."""
    line = escape(line, tabs=tabs)
    stripped = line.lstrip()
    if stripped.startswith("::"):
        cut = len(line) - len(stripped)
        return line[:cut] + "\\x3a" + line[cut + 1 :]
    return line


MESSAGE_LIMIT = 2000  # characters of a message in a human-readable report


def escape_message(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """A finding's message as a human-readable report prints it: escaped, and cut to ``limit``
    characters (a value of megabytes would otherwise make one line of megabytes; the JSON and
    SARIF reports keep it whole)."""
    shown = escape(text)
    if len(shown) <= limit:
        return shown
    return shown[: limit - 1] + f"… ({len(shown) - limit + 1} more characters)"
