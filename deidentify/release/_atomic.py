"""Files written whole or not at all: a temporary name in the same folder, then a rename (or a link)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path``, replacing what was there only once every byte is on disk."""
    temp = _write_temp(path, data, mode)
    try:
        os.replace(temp, path)
    except BaseException:
        _remove(temp)
        raise


def create_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to a new file ``path``; raises FileExistsError, touching nothing, if it exists.

    The temporary file is linked to ``path`` (a link, unlike a rename, never
    replaces a file), so no reader ever sees it half-written and no race overwrites one.
    """
    temp = _write_temp(path, data, mode)
    try:
        os.link(temp, path)
    finally:
        _remove(temp)


def _write_temp(path: Path, data: bytes, mode: int) -> Path:
    temp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # whatever the umask, and whatever a leftover temporary had
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _remove(temp)
        raise
    os.close(fd)
    return temp


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
