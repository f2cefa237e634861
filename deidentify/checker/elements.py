"""Every element of a file as text a detector can read, with its path.

The walk covers the file meta, every sequence at every depth, private and UN
elements and overlay and icon groups.  Values are decoded with the file's own
character set; an element pydicom cannot decode is read as Latin-1 bytes
rather than skipped, so a broken element cannot hide a name.  Binary values
that are not pixels (private blobs, UN) are searched for their printable runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from .findings import PATH_ELEMENT

#: VRs whose values are strings.
STRING_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"}
)
#: String VRs that are numbers, dates, times, ages or UIDs: not free text.
STRUCTURED_VRS = frozenset({"AS", "DA", "DS", "DT", "IS", "TM", "UI"})
_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
# Pixels, overlays, waveforms, LUTs, documents: images or samples, not text (OCR reads images).
_PIXEL_LIKE = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009, 0x54001010, 0x00420011, 0x00880200})
_PRINTABLE_RUN = re.compile(rb"[\x20-\x7e\xa0-\xff]{4,}")
_MAX_BLOB = 1 << 20


@dataclass(frozen=True)
class Element:
    """One element as the scanners see it.

    ``path`` is how findings name it (``ContentSequence[2].TextValue`` or
    ``(0071,1004)``); ``text`` its value as one string (values of a
    multi-valued element joined by ``\\``), ``None`` for sequences and pixels.
    ``free`` says whether the text is free text (pattern detectors read it).
    """

    path: str
    tag: int
    vr: str
    text: str | None
    free: bool
    meta: bool = False


def tag_label(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def element_name(elem: DataElement) -> str:
    """Keyword for public elements, the tag for private and unknown ones.

    Private creators are vendor strings that could say anything, so they are
    never part of a path.
    """
    return elem.keyword or tag_label(elem.tag)


def _is_pixel_like(tag: int) -> bool:
    group = tag >> 16
    return tag in _PIXEL_LIKE or (0x6000 <= group <= 0x601E and tag & 0xFFFF == 0x3000) or (
        group == 0x0028 and 0x1200 <= tag & 0xFFFF <= 0x3006
    )


def _string(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, PersonName):
        return str(value)
    if isinstance(value, (MultiValue, list, tuple)):
        return "\\".join(_string(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


def binary_text(data: bytes) -> str:
    """The printable runs of a binary value, one per line (a whole text value stays whole)."""
    data = data[:_MAX_BLOB].rstrip(b"\0 ")
    for encoding in ("utf-8", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if text and sum(c.isprintable() or c in "\r\n\t" for c in text) >= 0.95 * len(text):
            return text
        break
    return "\n".join(run.decode("latin-1") for run in _PRINTABLE_RUN.findall(data))


def _decoded(ds: Dataset, tag: int) -> DataElement | None:
    try:
        return ds[tag]
    except Exception:  # undecodable: fall back to the raw bytes below
        return None


def _element_text(ds: Dataset, tag: int) -> tuple[str, str | None, bool]:
    """(VR, text, free) for one element of ``ds``."""
    raw = ds.get_item(tag)
    elem = _decoded(ds, tag)
    vr = (elem.VR if elem is not None else raw.VR) or "UN"
    if elem is None:
        value = raw.value if isinstance(raw.value, bytes) else b""
        return vr, binary_text(value) if not _is_pixel_like(tag) else None, True
    if vr in STRING_VRS:
        return vr, _string(elem.value), vr not in STRUCTURED_VRS
    if vr in _BINARY_VRS and isinstance(elem.value, bytes) and not _is_pixel_like(tag):
        return vr, binary_text(elem.value), True
    return vr, None, False


def iter_elements(ds: Dataset, prefix: str = "") -> Iterator[Element]:
    """Every element of ``ds`` (file meta first), sequences included, depth first."""
    meta = getattr(ds, "file_meta", None)
    if not prefix and meta is not None:
        for tag in sorted(meta.keys()):
            elem = _decoded(meta, tag)
            vr, text, free = _element_text(meta, tag)
            name = element_name(elem) if elem is not None else tag_label(tag)
            yield Element(f"FileMeta.{name}", tag, vr, text, free, meta=True)
    for tag in sorted(ds.keys()):
        elem = _decoded(ds, tag)
        name = element_name(elem) if elem is not None else tag_label(tag)
        path = f"{prefix}{name}"
        if elem is not None and elem.VR == "SQ":
            yield Element(path, tag, "SQ", None, False)
            for index, item in enumerate(elem.value or ()):
                yield from iter_elements(item, f"{path}[{index}].")
            continue
        vr, text, free = _element_text(ds, tag)
        yield Element(path, tag, vr, text, free)


def path_element(relpath: str) -> Element:
    """A file's path below the checked folder, as one free-text element.

    Separators become spaces so that ``KOEHLER_LIESELOTTE_19830307`` reads as
    three words; offsets are unchanged (one character for one).
    """
    return Element(PATH_ELEMENT, 0, "path", re.sub(r"[_/\\]", " ", relpath), True)
