"""The marks and the shape of a de-identified file, and references across the folder.

* PatientIdentityRemoved ``YES``, a DeidentificationMethod, and the CID 7050
  method codes of the profile and its options (PS3.15 E.1.1), with
  LongitudinalTemporalInformationModified as the profile's date options say;
* a file meta that names no sending application and carries the dataset's
  own SOP instance UID;
* an image that may carry burnt-in text (capture modalities and classes,
  BurnedInAnnotation YES) whose pixels were not cleaned: until the OCR scanner
  reads them, such an image cannot be shown to be clean;
* references to instances (ReferencedSOPInstanceUID of a storage class) that
  point at no instance of the checked folder: an original UID that was not
  replaced, or an instance that was withheld.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from pydicom.dataset import Dataset

from ...pixels import may_carry_burnt_in_text
from ...profile.model import CLEAN_PIXEL_DATA_CODE
from ...stamp import temporal_marking
from ..elements import Element
from ..findings import Finding
from ..thumbnail import thumbnail_png
from .base import FileContext, finding

# File meta elements that name or address the sending, receiving or source application.
_SENDER_META = frozenset({0x00020016, 0x00020017, 0x00020018, 0x00020026, 0x00020027, 0x00020028,
                          0x00020100, 0x00020102})
_PIXEL_DATA = (0x7FE00010, 0x7FE00008, 0x7FE00009)
_STORAGE_CLASS_ROOT = "1.2.840.10008.5.1.4.1.1."
_REFERENCED_SOP_INSTANCE = 0x00081155
_REFERENCED_SOP_CLASS = 0x00081150


def _text(ds: Dataset, keyword: str) -> str:
    try:
        return str(ds.get(keyword, "") or "").strip()
    except Exception:
        return ""


class StructureScanner:
    """De-identification marks, file meta, burnt-in text risk and dangling references."""

    name = "structure"

    def __init__(self, references: bool = True) -> None:
        self.references = references
        self._instances: set[str] = set()
        self._refs: list[tuple[str, str, str]] = []

    def scan(self, file: FileContext) -> Iterator[Finding]:
        ds = file.dataset
        if ds is None:
            return
        yield from self._marks(ds, file)
        yield from self._file_meta(ds)
        yield from self._burnt_in(ds, file)
        if self.references:
            self._instances.add(_text(ds, "SOPInstanceUID"))
            self._refs += [(file.relpath, path, uid) for path, uid in _instance_references(file.elements)]

    def finish(self) -> Iterator[Finding]:
        """References to instances that no file of the folder is (the runner names the files)."""
        for relpath, path, uid in self._refs:
            if uid not in self._instances:
                found = finding(self.name, path, "dangling-reference", "low", "uid", len(uid),
                                "references an instance that is not in the folder")
                yield replace(found, file=relpath)

    # --- per file --------------------------------------------------------------------------

    def _marks(self, ds: Dataset, file: FileContext) -> Iterator[Finding]:
        profile = file.rules.profile
        if _text(ds, "PatientIdentityRemoved").upper() != "YES":
            yield finding(self.name, "PatientIdentityRemoved", "identity-not-marked-removed", "medium", "CS", 0,
                          "PatientIdentityRemoved is not YES")
        if not _text(ds, "DeidentificationMethod") and "DeidentificationMethodCodeSequence" not in ds:
            yield finding(self.name, "DeidentificationMethod", "method-missing", "medium", "LO", 0,
                          "neither DeidentificationMethod nor its code sequence is present")
        codes = set()
        for item in ds.get("DeidentificationMethodCodeSequence", None) or ():
            codes.add(_text(item, "CodeValue"))
        missing = [value for value, _ in profile.method_codes if value not in codes]
        if missing:
            yield finding(self.name, "DeidentificationMethodCodeSequence", "method-codes-missing", "medium",
                          "SQ", len(missing), f"method codes of profile {profile.name} missing: "
                          + ", ".join(missing))
        expected = temporal_marking(profile)
        if _text(ds, "LongitudinalTemporalInformationModified").upper() != expected:
            yield finding(self.name, "LongitudinalTemporalInformationModified", "temporal-marking", "low", "CS",
                          0, f"expected {expected} under profile {profile.name}")

    def _file_meta(self, ds: Dataset) -> Iterator[Finding]:
        meta = getattr(ds, "file_meta", None)
        if meta is None:
            return
        for tag in sorted(set(meta.keys()) & _SENDER_META):
            yield finding(self.name, f"FileMeta.{meta[tag].keyword}", "file-meta-sender", "medium",
                          meta[tag].VR, len(str(meta[tag].value or "")),
                          "the file meta names an application or address")
        stored = str(meta.get("MediaStorageSOPInstanceUID", "") or "").strip("\0 ")
        if stored and stored != _text(ds, "SOPInstanceUID"):
            yield finding(self.name, "FileMeta.MediaStorageSOPInstanceUID", "file-meta-uid-mismatch", "medium",
                          "UI", len(stored), "differs from the dataset's SOPInstanceUID")

    def _burnt_in(self, ds: Dataset, file: FileContext) -> Iterator[Finding]:
        if not any(tag in ds for tag in _PIXEL_DATA) or not may_carry_burnt_in_text(ds):
            return
        codes = {_text(item, "CodeValue") for item in ds.get("DeidentificationMethodCodeSequence", None) or ()}
        if CLEAN_PIXEL_DATA_CODE[0] in codes:
            return  # cleaned by the pixel stage; reading the pixels is the OCR scanner's job
        thumbnail = thumbnail_png(ds) if file.thumbnails else None
        yield finding(self.name, "PixelData", "burnt-in-text-risk", "medium", "image", 0,
                      "an image that may carry burnt-in text, and its pixels were not cleaned",
                      thumbnail=thumbnail)


def _instance_references(elements: Iterable[Element]) -> Iterator[tuple[str, str]]:
    """(path, UID) of each ReferencedSOPInstanceUID whose item names a storage SOP class.

    References to a study or a procedure step (ReferencedStudySequence, MPPS)
    name something that is never a file of the folder.
    """
    classes = {e.path: e.text or "" for e in elements if e.tag == _REFERENCED_SOP_CLASS}
    for element in elements:
        if element.tag != _REFERENCED_SOP_INSTANCE or not element.text:
            continue
        item = element.path.rpartition(".")[0]
        sop_class = classes.get(f"{item}.ReferencedSOPClassUID" if item else "ReferencedSOPClassUID", "")
        if sop_class.strip("\0 ").startswith(_STORAGE_CLASS_ROOT):
            yield element.path, element.text.strip("\0 ")
