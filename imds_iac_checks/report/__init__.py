"""Report writers: one module per output format (``--format NAME`` is ``report/NAME.py``; ``text``
is ``full``, whose shared parts are ``report/text.py``), each a ``write(result, out, options)``:
the scan result, the stream the report goes to, and :class:`Options`. ``report/fixes.py`` writes
``fix``'s outcome the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, TextIO

if TYPE_CHECKING:
    from imds_iac_checks.source import Files


class Options(NamedTuple):
    """What a writer may need besides the result and its stream."""

    cwd: str = ""  # the directory paths are relative to (SARIF's base URI); "": the current one
    err: TextIO | None = None  # where the text report writes scan errors; None: standard error
    color: bool = False
    quiet: bool = False  # no summary line (text)
    # What the full text report reads the source of a finding through: the scan's Files (its
    # size limit, and its overlay when it has one); None: the files on disk.
    files: Files | None = None


DEFAULT = Options()
