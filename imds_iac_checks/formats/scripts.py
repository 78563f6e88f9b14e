"""Files that hold code run on instances, as :class:`~imds_iac_checks.model.Payload` objects:
shell and PowerShell scripts, and source files whose IMDS calls are found where the URL is
literal (Python, JavaScript/TypeScript, Go, Java). A file whose whole text runs is one payload,
written as is (every offset maps to the same byte: escape ``raw``)."""

from imds_iac_checks.formats import kind_of
from imds_iac_checks.model import Payload, Piece, ScanError, Span
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


def payloads(
    shown: str, data: bytes, *, origin: str | None = None, files: Files | None = None
) -> tuple[list[Payload], list[ScanError]]:
    """The payloads of one file (``shown``: its path as findings show it)."""
    kind = kind_of(shown)
    syntax = kind.syntax if kind is not None else ""
    if syntax in _WHOLE_FILE:
        text = _text(data)
        if text is None:
            return [], []
        language, what = _WHOLE_FILE[syntax]
        if syntax == "shell" and not text.startswith("#!"):
            language = ""  # from its first line, or shell
        return [whole_file(shown, data, text, what, language)], []
    return [], []


def _text(data: bytes) -> str | None:
    """The file as text (UTF-8, a BOM dropped), or None for a file that is not text."""
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def whole_file(shown: str, data: bytes, text: str, what: str, language: str = "") -> Payload:
    """A file whose whole text runs, written as is. A UTF-8 byte order mark is not text."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    if start:
        text = text[1:]
    lines = text.count("\n")
    last = text.rfind("\n")
    end_column = (len(text) - last) if lines else len(text) + 1
    span = Span(shown, start, len(data), 1, 1, lines + 1, end_column)
    return Payload(text, (Piece(0, len(text), span, "raw"),), span, what, language)
