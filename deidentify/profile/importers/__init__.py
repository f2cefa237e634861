"""Importers: other tools' de-identification configurations as deidentify profiles.

One module per source format, each with ``read(path, options) -> ImportResult``
(:mod:`.deid` for pydicom/deid recipes, :mod:`.ctp` for CTP DicomAnonymizer
scripts).  Every source line ends up in :attr:`ImportResult.lines`: translated
(its rules carry a ``note`` naming the line), translated with a stated
difference, not translated (with the reason), disabled, or of no effect.  No line
is dropped silently.  :func:`~.precedence.settle` makes the written rules
follow the source's precedence; :func:`write_import` writes the profile and the
files it refers to (a lookup table, a pixels recipe) beside it.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from .model import ImportFailed, ImportOptions, ImportResult, LineReport, RuleSpec, Status
from .write import profile_text, write_import

#: The formats that can be imported: name -> what it is.
FORMATS = {
    "deid": "a pydicom/deid recipe (FORMAT dicom, %header, %filter ...)",
    "ctp": "a CTP DicomAnonymizer script (<script> with <e>, <k>, <r>, <p> elements)",
}


def sniff(path: Path) -> str | None:
    """The format the file at ``path`` looks like (``deid``, ``ctp``), or None."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    for line in head.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower().startswith("format") and line.split()[-1].lower() == "dicom":
            return "deid"
        break
    if "<script" in head and ("<e " in head or "<k " in head or "<r " in head or "<p " in head):
        return "ctp"
    return None


def import_file(path: Path, kind: str, options: ImportOptions) -> ImportResult:
    """Read ``path`` as format ``kind``; raises :class:`ImportFailed` when it cannot be read as one."""
    if kind not in FORMATS:
        raise ImportFailed(f"no importer for {kind!r}; known: {', '.join(FORMATS)}")
    module = importlib.import_module(f"{__name__}.{kind}")
    result: ImportResult = module.read(Path(path), options)
    return result


__all__ = [
    "FORMATS",
    "ImportFailed",
    "ImportOptions",
    "ImportResult",
    "LineReport",
    "RuleSpec",
    "Status",
    "import_file",
    "profile_text",
    "sniff",
    "write_import",
]
