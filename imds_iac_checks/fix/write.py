"""Atomic file replacement: a reader, or a crash at any moment, sees the old file or the new
one, never a mix, and a file that changed since it was read is not overwritten."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile


class FileChanged(Exception):
    """The file no longer holds the bytes the fix was computed from."""


def write_atomic(path: str, data: bytes, expected: bytes) -> None:
    """Replace the contents of ``path`` with ``data`` if it still holds ``expected``.

    The new text goes to a temporary file in the same directory (same file system), is flushed
    and fsynced, gets the original's permission bits, and is renamed over the original; then the
    directory is fsynced so the rename survives a power cut. A symbolic link is followed: the
    file it points to is replaced and the link stays. Raises FileChanged or OSError.
    """
    real = os.path.realpath(path)
    directory = os.path.dirname(real) or "."
    _remove_stale(real)
    info = os.stat(real)
    with open(real, "rb") as fh:
        if fh.read() != expected:
            raise FileChanged(path)
    fd, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(real)}.", suffix=SUFFIX, dir=directory
    )
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, stat.S_IMODE(info.st_mode))
        with contextlib.suppress(OSError):  # keep the owner when we may (running as root)
            if (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
                os.chown(temporary, info.st_uid, info.st_gid)
        # Last look: a change made while we wrote the temporary file is not lost.
        with open(real, "rb") as fh:
            if fh.read() != expected:
                raise FileChanged(path)
        os.replace(temporary, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_directory(directory)


def _remove_stale(real: str) -> None:
    """Temporary files an earlier fix left for this file when it was killed before its rename
    (the file itself was then left as it was)."""
    directory, name = os.path.split(real)
    prefix = f".{name}."
    with contextlib.suppress(OSError):
        for entry in os.listdir(directory or "."):
            if entry.startswith(prefix) and entry.endswith(SUFFIX):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(directory, entry))


SUFFIX = ".imds-iac-tmp"


def _fsync_directory(directory: str) -> None:
    if not hasattr(os, "O_DIRECTORY"):
        return  # Windows: directories cannot be opened
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
