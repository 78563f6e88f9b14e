"""Every file a scan reads goes through a :class:`Files`: the caller makes one and passes it to
the scan (``scan.scan(..., files=...)``), which passes it to whatever reads files.

Two things hook in there. The fixer scans the text it is about to write before writing it: an
*overlay* maps absolute paths to replacement bytes. And it must edit exactly the bytes the scan
saw and notice when a file changes on disk in between: a *record* keeps the bytes of every file
read. Both are off unless the fixer turns them on, in the Files it gives the scan.

Reading is bounded: only regular files are read (a named pipe would block for ever, ``/dev/zero``
never ends), and never more than the size limit (a :class:`SizeLimit`, which the configuration
resolver raises to the largest ``max-file-size`` in use). Configuration, baseline, parameter
and variable files are read with :func:`read_regular`, under the same rules.
"""

from __future__ import annotations

import errno
import os
import stat

from imds_iac_checks.model import ScanError

# Bytes; 0 = no limit. The configuration's ``max-file-size`` (see config.DEFAULT_MAX_FILE_SIZE).
DEFAULT_LIMIT = 8_000_000

_KINDS = (
    (stat.S_ISDIR, "is a directory"),
    (stat.S_ISFIFO, "not a regular file (a named pipe)"),
    (stat.S_ISCHR, "not a regular file (a character device)"),
    (stat.S_ISBLK, "not a regular file (a block device)"),
    (stat.S_ISSOCK, "not a regular file (a socket)"),
)


class SizeLimit:
    """The size limit on the files a scan reads, in bytes (0 = none): the largest
    ``max-file-size`` of the configurations in use. A :class:`~imds_iac_checks.config.Resolver`
    owns one and raises it (:meth:`allow`) as it loads configurations; :data:`DEFAULT_LIMIT`
    until one is known."""

    __slots__ = ("_value",)

    def __init__(self, value: int | None = None) -> None:
        self._value = value  # None: none is known yet

    @property
    def value(self) -> int:
        return DEFAULT_LIMIT if self._value is None else self._value

    def allow(self, value: int) -> None:
        """A configuration in use allows files up to ``value`` bytes (0 = any size)."""
        if self._value is None or (self._value and (value == 0 or value > self._value)):
            self._value = value

    def __reduce__(self) -> tuple[type[SizeLimit], tuple[int | None]]:
        return SizeLimit, (self._value,)


class NotRegularFile(OSError):
    """A path that names a directory, a named pipe, a device or a socket."""


class TooLarge(OSError):
    """A file over the size limit."""


def _describe(mode: int) -> str:
    for test, what in _KINDS:
        if test(mode):
            return what
    return "not a regular file"


def too_large_message(size: int, limit: int) -> str:
    return (
        f"{size / 1e6:.1f} MB is over the {limit / 1e6:g} MB limit "
        "(raise it with --max-file-size or max-file-size in the configuration)"
    )


def too_big(path: str, shown: str, limit: int, files: Files | None = None) -> ScanError | None:
    """The error for a file over the size limit (0 = no limit), else None: its size on disk,
    or in the overlay of ``files`` when that holds it. Raises OSError."""
    if not limit:
        return None
    held = None if files is None else files.overlay.get(os.path.abspath(path))
    size = os.stat(path).st_size if held is None else len(held)
    if size <= limit:
        return None
    return ScanError(shown, 0, 0, f"skipped: {too_large_message(size, limit)}")


def display_path(path: str, cwd: str) -> str:
    """``path`` relative to ``cwd`` when it is below it, else absolute; always with ``/``."""
    absolute = os.path.abspath(path)
    try:
        rel = os.path.relpath(absolute, cwd)
    except ValueError:  # another drive on Windows
        rel = absolute
    shown = absolute if rel == ".." or rel.startswith(".." + os.sep) else rel
    return shown.replace(os.sep, "/")


def read_regular(path: str, limit: int | None = None) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them (default:
    :data:`DEFAULT_LIMIT`; 0 = no limit). Raises OSError: :class:`NotRegularFile` for a
    directory, named pipe, device or socket (opened without blocking, never read),
    :class:`TooLarge` over the limit."""
    if limit is None:
        limit = DEFAULT_LIMIT
    # O_NONBLOCK: opening a named pipe that has no writer returns at once instead of waiting.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(errno.EINVAL, _describe(info.st_mode), path)
        if limit and info.st_size > limit:
            raise TooLarge(errno.EFBIG, too_large_message(info.st_size, limit), path)
        if flags & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=True) as fh:  # buffered: read(n) reads until n or EOF
            fd = -1
            # The whole file and one byte more, to see its end (never limit + 1: a buffer of
            # that size is allocated up front).
            data = fh.read(info.st_size + 1)
            if len(data) > info.st_size:  # it grew since fstat, or its size is not known (/proc)
                parts, total = [data], len(data)
                while not limit or total <= limit:
                    more = fh.read(1 << 20)
                    if not more:
                        break
                    parts.append(more)
                    total += len(more)
                data = b"".join(parts)
    finally:
        if fd >= 0:
            os.close(fd)
    if limit and len(data) > limit:
        raise TooLarge(errno.EFBIG, too_large_message(len(data), limit), path)
    return data


class Files:
    """What one scan reads files through: :meth:`read` gives the bytes of a path, from the
    *overlay* (absolute path -> bytes: the fixer's pending edits) when it holds the path, else
    from disk within the size limit; a *record* (absolute path -> bytes), when given, keeps the
    bytes of every file read. The caller makes one per scan and passes it to ``scan.scan``.

    ``limit`` None: the scan's (its resolver's :class:`SizeLimit`, see :meth:`under`); a Files
    used outside a scan then reads within :data:`DEFAULT_LIMIT`.

    Only the size limit and the overlay go to a worker process started by ``spawn`` (a forked
    worker inherits everything); a scan with an overlay or a record uses no workers anyway
    (:attr:`plain`)."""

    __slots__ = ("_ahead", "_marked", "limit", "overlay", "record")

    def __init__(
        self,
        limit: SizeLimit | None = None,
        *,
        overlay: dict[str, bytes] | None = None,
        record: dict[str, bytes] | None = None,
    ) -> None:
        self.limit = limit
        self.overlay: dict[str, bytes] = {} if overlay is None else overlay
        self.record = record
        # Bytes read ahead of their parse (module calls are found in the bytes first): the
        # parse takes them from here, so that each file is read from disk once. Forked workers
        # inherit them.
        self._ahead: dict[str, bytes] = {}
        # Whether each file read in this process holds an ``imds-iac:`` comment (see
        # :meth:`may_suppress`): the suppressions of the others need not be read again.
        self._marked: dict[str, bool] = {}

    def __reduce__(
        self,
    ) -> tuple[type[Files], tuple[SizeLimit | None], dict[str, dict[str, bytes]]]:
        return Files, (self.limit,), {"overlay": self.overlay}

    def __setstate__(self, state: dict[str, dict[str, bytes]]) -> None:
        self.overlay = state["overlay"]

    def under(self, limit: SizeLimit) -> Files:
        """These files read within ``limit`` unless they have a limit of their own (the same
        overlay and record)."""
        if self.limit is not None:
            return self
        under = Files(limit, overlay=self.overlay, record=self.record)
        under._marked = self._marked
        return under

    @property
    def plain(self) -> bool:
        """Files are read as they are on disk and nobody records them: a scan may use workers."""
        return not self.overlay and self.record is None

    def read(self, path: str) -> bytes:
        """The bytes of ``path`` (from the overlay when it holds the file). Raises OSError (see
        :func:`read_regular`)."""
        key = os.path.abspath(path)
        data = self.overlay.get(key)
        if data is None:
            data = self._ahead.pop(key, None)
        if data is None:
            data = read_regular(path, DEFAULT_LIMIT if self.limit is None else self.limit.value)
        if self.record is not None:
            self.record.setdefault(key, data)
        self._marked[key] = b"imds-iac:" in data
        return data

    def may_suppress(self, path: str) -> bool:
        """False when ``path`` was read through these Files and holds no ``imds-iac:``
        suppression; True when it does, or was not read here (by a worker process)."""
        return self._marked.get(os.path.abspath(path), True)

    def read_ahead(self, path: str) -> bytes:
        """Read ``path`` now and keep the bytes for the next :meth:`read` of it."""
        data = self.read(path)
        self._ahead[os.path.abspath(path)] = data
        return data

    def forget_ahead(self) -> None:
        self._ahead.clear()
