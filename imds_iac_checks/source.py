"""Every file a scan reads goes through :func:`read`.

Two things hook in here. The fixer scans the text it is about to write before writing it: an
*overlay* maps absolute paths to replacement bytes. And it must edit exactly the bytes the scan
saw and notice when a file changes on disk in between: a *record* keeps the bytes of every file
read. Both are off unless the fixer turns them on.

Reading is bounded: only regular files are read (a named pipe would block for ever, ``/dev/zero``
never ends), and never more than the size limit (:func:`allow`). Configuration, baseline,
parameter and variable files are read with :func:`read_regular`, under the same rules.
"""

import errno
import os
import stat

from imds_iac_checks.model import ScanError

# Bytes; 0 = no limit. The configuration's ``max-file-size`` (see config.DEFAULT_MAX_FILE_SIZE).
DEFAULT_LIMIT = 8_000_000
# The largest limit of any configuration in use (None: none is known yet, DEFAULT_LIMIT applies).
_limit: int | None = None

_overlay: dict[str, bytes] = {}
_record: dict[str, bytes] | None = None
# Bytes read ahead of their parse (module calls are found in the bytes first): the parse takes
# them from here, so that each file is read from disk once. Forked workers inherit them.
_ahead: dict[str, bytes] = {}

_KINDS = (
    (stat.S_ISDIR, "is a directory"),
    (stat.S_ISFIFO, "not a regular file (a named pipe)"),
    (stat.S_ISCHR, "not a regular file (a character device)"),
    (stat.S_ISBLK, "not a regular file (a block device)"),
    (stat.S_ISSOCK, "not a regular file (a socket)"),
)


class NotRegularFile(OSError):
    """A path that names a directory, a named pipe, a device or a socket."""


class TooLarge(OSError):
    """A file over the size limit."""


def limit() -> int:
    """The size limit :func:`read` applies, in bytes (0 = none)."""
    return DEFAULT_LIMIT if _limit is None else _limit


def reset_limit(value: int | None = None) -> None:
    """Forget the limits allowed so far (a new scan); ``value`` is the new one, if known."""
    global _limit
    _limit = value


def allow(value: int) -> None:
    """A configuration in use allows files up to ``value`` bytes (0 = any size)."""
    global _limit
    if _limit is None or (_limit and (value == 0 or value > _limit)):
        _limit = value


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


def too_big(path: str, shown: str, limit: int) -> ScanError | None:
    """The error for a file over the size limit (0 = no limit), else None. Raises OSError."""
    if not limit:
        return None
    size = os.stat(path).st_size
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
    """The bytes of the regular file ``path``, at most ``limit`` of them (default: :func:`limit`;
    0 = no limit). Raises OSError: :class:`NotRegularFile` for a directory, named pipe, device or
    socket (opened without blocking, never read), :class:`TooLarge` over the limit."""
    if limit is None:
        limit = DEFAULT_LIMIT if _limit is None else _limit
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


def read(path: str) -> bytes:
    """The bytes of ``path`` (from the overlay when it holds the file). Raises OSError (see
    :func:`read_regular`)."""
    key = os.path.abspath(path)
    data = _overlay.get(key)
    if data is None:
        data = _ahead.pop(key, None)
    if data is None:
        data = read_regular(path)
    if _record is not None:
        _record.setdefault(key, data)
    return data


def read_ahead(path: str) -> bytes:
    """Read ``path`` now and keep the bytes for the next :func:`read` of it."""
    data = read(path)
    _ahead[os.path.abspath(path)] = data
    return data


def forget_ahead() -> None:
    _ahead.clear()


def plain() -> bool:
    """Files are read as they are on disk and nobody records them: a scan may use workers."""
    return not _overlay and _record is None


def set_overlay(files: dict[str, bytes]) -> None:
    """Scan these contents instead of the files on disk (absolute paths)."""
    _overlay.clear()
    _overlay.update(files)


def start_recording() -> dict[str, bytes]:
    """Keep the bytes of every file read from now on: absolute path -> bytes."""
    global _record
    _record = {}
    return _record


def stop_recording() -> None:
    global _record
    _record = None
