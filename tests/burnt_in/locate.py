"""Where the labelled files of ``truth.json`` are on this machine.

``truth_files()`` yields ``(path, entry)`` for every positive entry whose corpus is
installed, ``negative_files()`` the same for the negative set.  An entry that names
another file with ``same_as`` comes back with that file's ``frames`` filled in, so a
caller never has to resolve it.  Corpora are looked for only inside installed
packages and inside this repository:

- ``deid-data``: the ``deid_data`` package's ``data/ultrasounds`` folder;
- ``pydicom-data``: the ``data_store`` package's ``data`` folder;
- ``pydicom``: pydicom's own ``data/test_files`` folder;
- ``octave-dicom``: ``.corpora/octave-dicom`` at the repository root (the files of
  Debian's octave-dicom source package, copied there by hand; absent on most machines).

A corpus that is not installed, or a file missing from it, is skipped silently: the
caller decides whether that is an error.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TRUTH = HERE / "truth.json"
REPO = HERE.parent.parent

#: The classes a box may carry.
CLASSES = frozenset({"name", "id", "date", "time", "institution", "device", "measurement", "marker", "other"})

Entry = dict[str, Any]


def _package_dir(module: str) -> Path | None:
    """The folder of an installed package, without importing it; None when it is not installed."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def corpus_dir(corpus: str) -> Path | None:
    """The folder holding a corpus's files, or None when the corpus is not on this machine."""
    if corpus == "deid-data":
        base = _package_dir("deid_data")
        folder = base / "data" / "ultrasounds" if base else None
    elif corpus == "pydicom-data":
        base = _package_dir("data_store")
        folder = base / "data" if base else None
    elif corpus == "pydicom":
        base = _package_dir("pydicom")
        folder = base / "data" / "test_files" if base else None
    elif corpus == "octave-dicom":
        folder = REPO / ".corpora" / "octave-dicom"
    else:
        raise ValueError(f"unknown corpus {corpus!r}")
    return folder if folder is not None and folder.is_dir() else None


def load_truth() -> dict[str, Any]:
    """The whole of truth.json."""
    with TRUTH.open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def _resolved(entries: list[Entry]) -> Iterator[Entry]:
    """Each entry with ``frames``, taken from the entry that ``same_as`` names when it has none."""
    by_name = {(e["corpus"], e["file"]): e for e in entries}
    for entry in entries:
        if "frames" in entry:
            yield entry
            continue
        source = by_name[(entry["corpus"], entry["same_as"])]
        if "frames" not in source:
            raise ValueError(f"{entry['file']}: same_as {entry['same_as']} has no frames of its own")
        yield {**entry, "frames": copy.deepcopy(source["frames"])}


def _present(entries: Iterator[Entry]) -> Iterator[tuple[Path, Entry]]:
    for entry in entries:
        folder = corpus_dir(entry["corpus"])
        if folder is None:
            continue
        path = folder / entry["file"]
        if path.is_file():
            yield path, entry


def truth_files() -> Iterator[tuple[Path, Entry]]:
    """(path, entry) for each labelled file that is on this machine, same_as resolved."""
    return _present(_resolved(load_truth()["positive"]))


def negative_files() -> Iterator[tuple[Path, Entry]]:
    """(path, entry) for each file of the negative set (no burnt-in text) that is on this machine."""
    return _present(iter(load_truth()["negative"]))


def boxes_for_frame(entry: Entry, frame: int) -> list[Entry]:
    """The boxes of one frame: the frame's own list, else the ``all`` list, else none."""
    frames: dict[str, list[Entry]] = entry["frames"]
    return frames.get(str(frame), frames.get("all", []))
