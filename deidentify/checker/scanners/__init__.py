"""The scanners of ``deidentify check``, one module each, behind :class:`.base.Scanner`.

======== ================================================================ ===========
name      looks for                                                        needs
======== ================================================================ ===========
text      phone, e-mail, national IDs, dates, person names, addresses      --
against   the source's names, IDs, dates, addresses, phones, devices       ``--against``
uids      the source's instance UIDs                                       ``--against``
conform.  elements and values the profile does not allow                   --
structure marks, file meta, burnt-in text risk, dangling references        --
pixels    bytes after the last frame, bits outside BitsStored (native)     --
validity  dciodvfy errors (new ones only, given a source)                  dciodvfy
======== ================================================================ ===========

OCR of the pixels will be one more module here and one more line below.
"""

from __future__ import annotations

from ..source_index import SourceIndex
from .against import AgainstScanner
from .base import FileContext, Scanner
from .conformance import ConformanceScanner
from .pixels import PixelScanner
from .structure import StructureScanner
from .text import TextScanner
from .uids import UidScanner
from .validity import ValidityScanner
from .validity import available as validity_available

#: Every scanner's name, in the order they run.
SCANNER_NAMES: tuple[str, ...] = ("text", "against", "uids", "conformance", "structure", "pixels", "validity")


def build_scanners(source: SourceIndex | None = None, skip: frozenset[str] = frozenset(),
                   references: bool = True) -> tuple[list[Scanner], list[str]]:
    """The scanners to run, and a note for each one that cannot run (never silently)."""
    unknown = skip - set(SCANNER_NAMES)
    if unknown:
        raise ValueError(f"unknown scanners {sorted(unknown)}; choose from {', '.join(SCANNER_NAMES)}")
    scanners: list[Scanner] = []
    notes: list[str] = []
    for name in SCANNER_NAMES:
        if name in skip:
            notes.append(f"{name}: skipped on request")
        elif name in ("against", "uids") and source is None:
            notes.append(f"{name}: needs a source (--against)")
        elif name == "validity" and not validity_available():
            notes.append("validity: dciodvfy is not installed (apt-get install dicom3tools)")
        elif name == "text":
            scanners.append(TextScanner())
        elif name == "against":
            scanners.append(AgainstScanner(source))  # type: ignore[arg-type]
        elif name == "uids":
            scanners.append(UidScanner(source))  # type: ignore[arg-type]
        elif name == "conformance":
            scanners.append(ConformanceScanner())
        elif name == "structure":
            scanners.append(StructureScanner(references=references))
        elif name == "pixels":
            scanners.append(PixelScanner())
        else:
            scanners.append(ValidityScanner(source))
    return scanners, notes


__all__ = ["SCANNER_NAMES", "FileContext", "Scanner", "build_scanners"]
