"""A folder of de-identified instances: DST/<patient>/<study>/<series>/<instance>.dcm.

Each file is written under a temporary name in its final folder and renamed when
complete, so a run killed at any moment leaves whole files or none.  (No fsync:
a killed process loses nothing the kernel holds; a power cut is the storage's job.)  Temporary
names that a killed run left behind are removed when the next run opens the folder.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ..errors import DeidentifyError
from .base import OutputName, Sink, SinkConflict, Staged

_TEMP_PREFIX = ".deidentify-"
_TEMP_SUFFIX = ".partial"


class SinkLocked(DeidentifyError, RuntimeError):
    """Another live process is writing into the folder."""


class FolderSink(Sink):
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._root = os.fspath(root)
        self._folders: set[str] = set()
        self._lock: int | None = None

    def lock(self) -> None:
        """Take the folder for this run; raises :class:`SinkLocked` when another run writes into it."""
        fd = os.open(self._root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SinkLocked("another deidentify run is writing into DST") from None
        self._lock = fd

    @property
    def lock_fd(self) -> int | None:
        """The lock's descriptor, which forked workers must close (the lock dies with the run)."""
        return self._lock

    def sweep(self) -> None:
        """Remove temporary files a killed run left; only the holder of :meth:`lock` may."""
        assert self._lock is not None, "sweep needs the folder's lock"
        for leftover in self.root.rglob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
            leftover.unlink(missing_ok=True)

    def stage(self, name: OutputName, data: bytes, token: str = "") -> Staged:
        """Write ``data`` under a temporary name unique to this input (``token``) and process."""
        relative = str(name.path)
        folder, file_name = os.path.split(os.path.join(self._root, relative))
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        # Two inputs may claim one SOP Instance UID, in one worker: each gets its own temporary file.
        temp = os.path.join(folder, f"{_TEMP_PREFIX}{file_name}.{token}.{os.getpid()}{_TEMP_SUFFIX}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        return Staged(name, temp)

    def commit(self, staged: Staged) -> str:
        relative = str(staged.name.path)
        target = os.path.join(self._root, relative)
        if os.path.exists(target):
            with open(staged.token, "rb") as new, open(target, "rb") as old:
                same = new.read() == old.read()
            os.unlink(staged.token)
            if same:
                return relative
            raise SinkConflict("duplicate SOP Instance UID with different content")
        os.replace(staged.token, target)
        return relative

    def close(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # releases the flock
            self._lock = None

    def discard(self, relative: str) -> None:
        """Remove an earlier output (its input changed); never anything outside the folder."""
        if not relative:
            return
        target = (self.root / relative).resolve()
        if self.root.resolve() in target.parents and target.is_file():
            target.unlink()
