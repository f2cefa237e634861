"""The inbound spool: received instances, each on disk before the sender is told it is stored.

:meth:`Spool.store` writes an instance under a hidden temporary name in the
spool folder, flushes it to the storage (``fsync`` of the file, then of the
folder after the rename) and only then gives it its final name: what the SCP
acknowledges survives a kill and a power cut.  Final names are sequence numbers
in arrival order (``<nanoseconds>-<counter>.dcm``): nothing of the instance is in
them.  Temporary files left by a killed process were never acknowledged and are
removed when the spool is opened again.

The spool has a size limit (``max_bytes``) and keeps ``reserve`` bytes of the
file system free; an instance that would pass either is refused
(:class:`SpoolFull`), and the SCP answers with a DICOM failure status, so a full
disk never crashes the node nor loses an acknowledged instance.

The folder is created private (0700): it holds the originals, which carry PHI.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from pathlib import Path

from ..errors import DeidentifyError

_TEMP_PREFIX = ".receiving-"
#: Kept free on the spool's file system besides the size limit (the pipeline writes there too).
DEFAULT_RESERVE = 64 << 20


class SpoolFull(DeidentifyError):
    """The instance would pass the spool's size limit or the free-space reserve."""


class Spool:
    """A folder of received instances waiting to be de-identified, oldest first."""

    def __init__(self, folder: Path, max_bytes: int | None = None, reserve: int = DEFAULT_RESERVE) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)
        self.max_bytes = max_bytes
        self.reserve = reserve
        self._lock = threading.Lock()
        self._counter = itertools.count()
        self.arrived = threading.Event()
        """Set whenever an instance lands; the pipeline waits on it."""
        for leftover in folder.glob(f"{_TEMP_PREFIX}*"):
            leftover.unlink(missing_ok=True)  # never acknowledged: the sender still has it
        self._used = sum(self._size(path) for path in self.pending())

    @staticmethod
    def _size(path: Path) -> int:
        try:
            return path.stat().st_size
        except OSError:
            return 0

    @property
    def used(self) -> int:
        """Bytes the spool holds now."""
        return self._used

    def pending(self) -> list[Path]:
        """Instances waiting, in arrival order."""
        try:
            names = [entry.name for entry in os.scandir(self.folder)
                     if not entry.name.startswith(".") and entry.name.endswith(".dcm")]
        except OSError:
            return []
        return [self.folder / name for name in sorted(names)]

    def _reserve(self, size: int) -> None:
        with self._lock:
            if self.max_bytes is not None and self._used + size > self.max_bytes:
                raise SpoolFull("the spool is at its size limit")
            stats = os.statvfs(self.folder)
            if stats.f_bavail * stats.f_frsize < size + self.reserve:
                raise SpoolFull("the spool's file system is full")
            self._used += size

    def store(self, data: bytes) -> Path:
        """Write one instance durably and return its spooled path.

        Raises :class:`SpoolFull`, or :class:`OSError` when the storage fails; in
        both cases nothing is left in the spool and the instance must not be
        acknowledged.
        """
        self._reserve(len(data))
        name = f"{time.time_ns():020d}-{next(self._counter):06d}.dcm"
        temp = self.folder / f"{_TEMP_PREFIX}{name}"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            final = self.folder / name
            os.rename(temp, final)
            _fsync_folder(self.folder)
        except BaseException:
            temp.unlink(missing_ok=True)
            with self._lock:
                self._used -= len(data)
            raise
        self.arrived.set()
        return final

    def remove(self, path: Path) -> None:
        """Forget a spooled instance once the pipeline has finished it."""
        size = self._size(path)
        path.unlink(missing_ok=True)
        with self._lock:
            self._used = max(self._used - size, 0)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
