"""Every file a scan reads goes through :func:`read`.

Two things hook in here. The fixer scans the text it is about to write before writing it: an
*overlay* maps absolute paths to replacement bytes. And it must edit exactly the bytes the scan
saw and notice when a file changes on disk in between: a *record* keeps the bytes of every file
read. Both are off unless the fixer turns them on.
"""

import os

_overlay: dict[str, bytes] = {}
_record: dict[str, bytes] | None = None
# Bytes read ahead of their parse (module calls are found in the bytes first): the parse takes
# them from here, so that each file is read from disk once. Forked workers inherit them.
_ahead: dict[str, bytes] = {}


def read(path: str) -> bytes:
    """The bytes of ``path`` (from the overlay when it holds the file). Raises OSError."""
    key = os.path.abspath(path)
    data = _overlay.get(key)
    if data is None:
        data = _ahead.pop(key, None)
    if data is None:
        with open(path, "rb") as fh:
            data = fh.read()
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
