"""Which source file a report row is: computed on the fly from the keyed ids, never stored.

The report names inputs only by keyed ids.  The manifest maps each input's
path id (:func:`~deidentify.batch.worker.path_id_of`, keyed by the run's key)
to its row, whose ``file_id`` is the report's; a place the walk could not read
has its path id as its file id.  So walking SRC again with the key, and
computing each path's id, finds the source of every row.  The mapping lives in
memory, for the page that shows it, and nowhere else.

A path id is the id of the path as the run spelled it (``studies/a.dcm``,
``/data/studies/a.dcm``): the walk tries SRC as given, absolute, resolved and
each shorter tail of its absolute path, and keeps the first spelling whose ids
the state folder knows.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..batch.worker import path_id_of
from ..keys import Keyring
from ..source.walk import WalkProblem, walk
from ..state import StateFolder


def spellings(src: Path) -> list[Path]:
    """The ways a run may have named ``src``: as given, absolute, resolved, and each tail of the absolute path."""
    given = Path(src)
    absolute = given.absolute()
    found = [given, absolute, given.resolve()]
    parts = absolute.parts[1:]
    found += [Path(*parts[i:]) for i in range(1, len(parts))]
    unique: list[Path] = []
    for path in found:
        if path not in unique:
            unique.append(path)
    return unique


def source_paths(src: Path, key: bytes, state: Path) -> dict[str, Path]:
    """The source path of every report row found under ``src``, by file id (paths as found under ``src``)."""
    keyring = Keyring(key)
    # The state folder exists (its report was read): StateFolder creates nothing here, and takes no lock.
    rows = {path_id: str(seen.row.get("file_id", "")) for path_id, seen in StateFolder(state).load_manifest().items()}
    known = set(rows)
    found: dict[str, Path] = {}
    roots = spellings(src)
    chosen: Path | None = None
    for path in _walked(src):
        relative = _relative(path, src)
        candidates = [chosen] if chosen is not None else roots
        for root in candidates:
            spelled = root / relative if relative is not None else root
            path_id = path_id_of(spelled, keyring)
            if path_id in known or chosen is not None:
                chosen = root
                found[rows.get(path_id) or path_id] = path
                break
            # A place the walk could not read is in the report by its path id, not in the manifest.
            found.setdefault(path_id, path)
    return found


def _walked(src: Path) -> Iterator[Path]:
    items: Iterable[Path | WalkProblem] = walk(src)
    for item in items:
        yield item.path if isinstance(item, WalkProblem) else item


def _relative(path: Path, src: Path) -> Path | None:
    if path == src:
        return None
    try:
        return path.relative_to(src)
    except ValueError:
        return Path(os.path.relpath(path, src))
