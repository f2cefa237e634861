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
        self._folders: set[Path] = set()

    def sweep(self) -> None:
        """Remove temporary files a killed run left (only the run that owns the folder calls this)."""
        for leftover in self.root.rglob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
            leftover.unlink()

    def stage(self, name: OutputName, data: bytes) -> Staged:
        target = self.root / name.path
        if target.parent not in self._folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(target.parent)
        temp = target.with_name(f"{_TEMP_PREFIX}{target.name}.{os.getpid()}{_TEMP_SUFFIX}")
        with open(temp, "wb") as handle:
            handle.write(data)
        return Staged(name, str(temp))

    def commit(self, staged: Staged) -> str:
        relative = staged.name.path
        target = self.root / relative
        if target.exists():
            same = Path(staged.token).read_bytes() == target.read_bytes()
            os.unlink(staged.token)
            if same:
                return str(relative)
            raise SinkConflict("another input already gave this SOP Instance UID different content")
        os.replace(staged.token, target)
        return str(relative)

    def discard(self, relative: str) -> None:
        """Remove an earlier output (its input changed); never anything outside the folder."""
        if not relative:
            return
        target = (self.root / relative).resolve()
        if self.root.resolve() in target.parents and target.is_file():
            target.unlink()
