"""The walk of a source folder: every file in a stable order, and every place it could not go.

Rules, so that nothing under SRC is skipped without a word:

- regular files are yielded, in sorted order, folder by folder;
- a symbolic link to a file is followed (datasets are often assembled from links);
- a symbolic link to a folder is followed once per real folder: a link back into
  a folder already walked (a loop, or a second way to the same files) is a
  problem, and so is a folder that resolves into one of the ``avoid`` folders
  (the run's own DST and state folder);
- a folder that cannot be listed, a path the system cannot open (too long), a
  dangling link and anything that is not a regular file or folder (a FIFO, a
  socket, a device) is a :class:`WalkProblem` with a reason.

Problems carry the path so the caller can name them by a keyed id; reasons
never quote a name.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WalkProblem:
    """A place under SRC the walk could not read as a file."""

    path: Path
    reason: str


def walk(src: Path, avoid: Sequence[Path] = ()) -> Iterator[Path | WalkProblem]:
    """Files under ``src`` (a single file is its own walk) and the problems met on the way."""
    try:
        info = os.stat(src)
    except OSError as exc:
        yield WalkProblem(src, _cannot("read", exc))
        return
    if not stat.S_ISDIR(info.st_mode):
        yield src if stat.S_ISREG(info.st_mode) else WalkProblem(src, _NOT_REGULAR)
        return
    avoided = {os.path.realpath(p) for p in avoid}
    seen = {(info.st_dev, info.st_ino)}
    # An explicit stack, not recursion: a folder tree of any depth is walked in constant stack.
    stack: list[Path] = [src]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            yield WalkProblem(folder, _cannot("enter the folder", exc))
            continue
        subfolders: list[Path] = []
        for entry in entries:
            path = Path(entry.path)
            try:
                link = entry.is_symlink()
                info = os.stat(entry.path)
            except OSError as exc:
                yield WalkProblem(path, "a symbolic link to nothing" if link else _cannot("read", exc))
                continue
            if stat.S_ISDIR(info.st_mode):
                if (info.st_dev, info.st_ino) in seen:
                    yield WalkProblem(path, "a symbolic link to a folder already walked (not followed again)")
                elif link and _inside_any(os.path.realpath(path), avoided):
                    yield WalkProblem(path, "a symbolic link into the run's output or state folder (not followed)")
                else:
                    seen.add((info.st_dev, info.st_ino))
                    subfolders.append(path)
            elif stat.S_ISREG(info.st_mode):
                yield path
            else:
                yield WalkProblem(path, _NOT_REGULAR)
        stack.extend(reversed(subfolders))


_NOT_REGULAR = "not a regular file (a FIFO, socket or device is never read)"


def _cannot(what: str, exc: OSError) -> str:
    return f"cannot {what} ({type(exc).__name__}{': ' + os.strerror(exc.errno) if exc.errno else ''})"


def _inside_any(path: str, folders: set[str]) -> bool:
    return any(path == f or path.startswith(f + os.sep) for f in folders)
