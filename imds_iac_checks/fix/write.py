"""Atomic file replacement: a reader, or a crash at any moment, sees the old file or the new
one, never a mix, and a file that changed since it was read is not overwritten.

Concurrent writers (two ``imds-iac fix`` runs on one tree) take turns: each holds an advisory
lock (``flock``) on the file it replaces, and on its own temporary file while that exists. A
temporary file is removed as stale only when its lock can be taken, that is when the process
that made it is gone; the temporary files of a live run are left alone.

A file the user may not write (no write permission bit, as editors check) is refused. A file
with several hard links, or whose extended attributes cannot all be copied, is written in place
after the new text has been written and fsynced to a temporary copy next to it, so that its
links and attributes stay; the copy is removed once the file holds the new text.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, renames still atomic
    fcntl = None  # type: ignore[assignment]

SUFFIX = ".imds-iac-tmp"
LOCK_WAIT = 30.0  # seconds to wait for another writer of the same file
STALE_AFTER = 3600.0  # where files cannot be locked: age of a temporary file left behind


class NotWritten(Exception):
    """The file was left as it was; ``reason`` says why (a scan error's message), ``why``
    the same for each finding left in the file."""

    reason = "not written"
    why = "the file could not be written"


class FileChanged(NotWritten):
    """The file no longer holds the bytes the fix was computed from."""

    reason = "changed on disk while fixing: not written"
    why = "the file changed on disk while fixing: not written"


class ReadOnly(NotWritten):
    """The file has no write permission: refused, as editors do."""

    reason = "read-only: not written"
    why = "the file is read-only: not written (make it writable to fix it)"


class Locked(NotWritten):
    """Another process kept its lock on the file for too long."""

    reason = "locked by another process: not written"
    why = "another process kept the file locked: not written"


def write_atomic(path: str, data: bytes, expected: bytes) -> None:
    """Replace the contents of ``path`` with ``data`` if it still holds ``expected``.

    The new text goes to a uniquely named temporary file in the same directory (same file
    system), is flushed and fsynced, gets the original's permission bits, owner and extended
    attributes, and is renamed over the original; then the directory is fsynced so the rename
    survives a power cut. Right before the rename the file is checked once more (inode, size,
    modification time and a hash of its bytes). A symbolic link is followed: the file it points
    to is replaced and the link stays. A file that already holds ``data`` (another run made the
    same edit) is left as it is. Raises FileChanged, ReadOnly, Locked or OSError.
    """
    real = os.path.realpath(path)
    with _locked(real, path) as (fd, info):
        if not _writable(real, info):
            raise ReadOnly(path)
        current = _read_fd(fd)
        if current != expected:
            if current == data:
                return  # a concurrent run made the same edit
            raise FileChanged(path)
        digest = hashlib.sha256(expected).digest()

        def unchanged() -> bool:
            """The last look, immediately before the file is replaced."""
            if hashlib.sha256(_read_fd(fd)).digest() != digest:
                return False
            try:
                now = os.stat(real)
            except OSError:
                return False
            return _identity(now) == _identity(info)

        _replace(real, data, info, unchanged, path)


def write_file(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, whatever it holds now (a new file is created
    with the usual permissions). Used for outputs such as a baseline. Raises OSError."""
    real = os.path.realpath(path)
    try:
        info = os.stat(real)
    except FileNotFoundError:
        _replace(real, data, None, lambda: True, path)
        return
    if not stat.S_ISREG(info.st_mode):  # a directory, /dev/null: never replaced
        raise OSError(errno.EINVAL, "not a regular file")
    try:
        with _locked(real, path) as (_, info):
            _replace(real, data, info, lambda: True, path)
    except NotWritten as exc:
        raise OSError(errno.EAGAIN, exc.reason) from None


# --- the pieces ---------------------------------------------------------------------------------


def _identity(info: os.stat_result) -> tuple[int, int, int, int]:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _writable(real: str, info: os.stat_result) -> bool:
    if not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return False  # 0444: read-only for everybody, root included
    return os.access(real, os.W_OK)


def _read_fd(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


@contextlib.contextmanager
def _locked(real: str, shown: str) -> Iterator[tuple[int, os.stat_result]]:
    """Open ``real`` and hold an exclusive advisory lock on it: (descriptor, its status).

    The lock is on the inode; when another writer replaced the file while we waited, the
    lock is taken again on the file now at the path."""
    deadline = time.monotonic() + LOCK_WAIT
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    while True:
        try:
            fd = os.open(real, flags)
        except FileNotFoundError:
            raise FileChanged(shown) from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise FileChanged(shown)
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise Locked(shown) from None
                    os.close(fd)
                    fd = -1
                    time.sleep(0.005)
                    continue
                except OSError:
                    pass  # a file system without locks: the last look still guards the file
            try:
                now = os.stat(real)
            except FileNotFoundError:
                raise FileChanged(shown) from None
            if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
                os.close(fd)
                fd = -1
                continue  # replaced while we waited: lock the new file
            yield fd, os.fstat(fd)
            return
        finally:
            if fd >= 0:
                os.close(fd)


def _replace(
    real: str,
    data: bytes,
    info: os.stat_result | None,
    unchanged: Callable[[], bool],
    shown: str,
) -> None:
    """Write ``data`` to a new temporary file next to ``real`` and move it into place (or copy
    it in place, see the module docstring) if ``unchanged()`` still holds."""
    directory = os.path.dirname(real) or "."
    _remove_stale(real)
    fd, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(real)}.", suffix=SUFFIX, dir=directory
    )
    try:
        if fcntl is not None:  # ours while it exists: no other run removes it as stale
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _write_all(fd, data)
        os.fsync(fd)
        in_place = False
        # by descriptor where the platform can (nobody can swap the path under us)
        own = fd if os.chmod in os.supports_fd else temporary
        if info is None:
            os.chmod(own, 0o666 & ~_umask())
        else:
            os.chmod(own, stat.S_IMODE(info.st_mode))
            with contextlib.suppress(OSError, AttributeError):  # keep the owner when we may
                if (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
                    os.chown(
                        fd if os.chown in os.supports_fd else temporary, info.st_uid, info.st_gid
                    )
            in_place = info.st_nlink > 1 or not _copy_xattrs(real, fd)
        if not unchanged():
            raise FileChanged(shown)
        if in_place:
            assert info is not None
            _write_in_place(real, data, info, shown)
            os.unlink(temporary)
        else:
            os.replace(temporary, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    finally:
        os.close(fd)
    _fsync_directory(directory)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _write_in_place(real: str, data: bytes, info: os.stat_result, shown: str) -> None:
    """Overwrite the file's own inode (its hard links and attributes stay)."""
    fd = os.open(real, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
            raise FileChanged(shown)
        _write_all(fd, data)
        os.ftruncate(fd, len(data))
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_xattrs(real: str, fd: int) -> bool:
    """Copy the extended attributes of ``real`` (ACLs, SELinux labels, user attributes) to the
    open file ``fd``; False when one could not be copied."""
    if not hasattr(os, "listxattr"):
        return True  # no extended attributes on this platform (through Python)
    try:
        names = os.listxattr(real)
    except OSError:
        return True  # not supported on this file system
    for name in names:
        try:
            value = os.getxattr(real, name)
        except OSError:
            return False
        try:
            os.setxattr(fd, name, value)
        except OSError:
            try:  # not ours to set (an SELinux label), but the new file may have it already
                if os.getxattr(fd, name) != value:
                    return False
            except OSError:
                return False
    return True


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove_stale(real: str) -> None:
    """Temporary files an earlier fix left for this file when it was killed before its rename
    (the file itself was then left as it was). A temporary file whose lock is held belongs to
    a live run: it stays."""
    directory, name = os.path.split(real)
    prefix = f".{name}."
    with contextlib.suppress(OSError):
        for entry in os.listdir(directory or "."):
            if not (entry.startswith(prefix) and entry.endswith(SUFFIX)):
                continue
            if "." in entry[len(prefix) : -len(SUFFIX)]:
                continue  # another file's (".main.tf." is also the start of ".main.tf.json.")
            candidate = os.path.join(directory, entry)
            with contextlib.suppress(OSError):
                _remove_if_dead(candidate)


def _remove_if_dead(candidate: str) -> None:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(candidate, flags)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # its writer is alive
            except OSError:  # no locks on this file system: only what is clearly abandoned
                if time.time() - os.fstat(fd).st_mtime < STALE_AFTER:
                    return
        held, now = os.fstat(fd), os.lstat(candidate)
        if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
            os.unlink(candidate)
    finally:
        os.close(fd)


def _fsync_directory(directory: str) -> None:
    if not hasattr(os, "O_DIRECTORY"):
        return  # Windows: directories cannot be opened
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
