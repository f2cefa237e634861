"""A folder of de-identified instances: DST/<patient>/<study>/<series>/<instance>.dcm.

Each file is written under a temporary name in its final folder and renamed when
complete, so a run killed at any moment leaves whole files or none.  (No fsync:
a killed process loses nothing the kernel holds; a power cut is the storage's job.)  Temporary
names that a killed run left behind are removed when the next run opens the folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from .base import OutputName, Sink, SinkConflict, Staged

_TEMP_PREFIX = ".deidentify-"
_TEMP_SUFFIX = ".partial"


class FolderSink(Sink):
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._root = os.fspath(root)
        self._folders: set[str] = set()

    def sweep(self) -> None:
        """Remove temporary files a killed run left (only the run that owns the folder calls this)."""
        for leftover in self.root.rglob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
            leftover.unlink()

    def stage(self, name: OutputName, data: bytes) -> Staged:
        relative = str(name.path)
        folder, file_name = os.path.split(os.path.join(self._root, relative))
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        temp = os.path.join(folder, f"{_TEMP_PREFIX}{file_name}.{os.getpid()}{_TEMP_SUFFIX}")
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
            raise SinkConflict("another input already gave this SOP Instance UID different content")
        os.replace(staged.token, target)
        return relative

    def discard(self, relative: str) -> None:
        """Remove an earlier output (its input changed); never anything outside the folder."""
        if not relative:
            return
        target = (self.root / relative).resolve()
        if self.root.resolve() in target.parents and target.is_file():
            target.unlink()
