"""Which images the text detector reads, and what it checks their words against."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydicom.dataset import Dataset

from .gate import may_carry_burnt_in_text

if TYPE_CHECKING:
    from deidentify.detect.base import Detector

__all__ = ["should_scan", "text_detectors"]


def should_scan(ds: Dataset, settings: Any) -> bool:
    """Whether the profile's text-detector settings ask for ``ds`` to be read.

    ``scan: all`` -- every image; ``auto`` -- images that
    :func:`~deidentify.pixels.gate.may_carry_burnt_in_text` flags, plus any listed
    modality or SOP class; ``listed`` -- only the listed modalities and SOP
    classes (a class ending in ``*`` is a prefix).  Nothing when OCR is off.
    """
    if not settings.enabled:
        return False
    if settings.scan == "all":
        return True
    if settings.scan == "auto" and may_carry_burnt_in_text(ds):
        return True
    modality = str(ds.get("Modality", "")).strip().upper()
    if modality and modality in {m.upper() for m in settings.modalities}:
        return True
    sop_class = str(ds.get("SOPClassUID", "")).strip()
    for wanted in settings.sop_classes:
        if sop_class == wanted or (wanted.endswith("*") and sop_class.startswith(wanted[:-1])):
            return True
    return False


def text_detectors(ds: Dataset) -> list[Detector]:
    """The text detectors OCR words are checked with: the dataset's own
    identifying values first, then the patterns that need no dataset."""
    from deidentify.detect import OwnValuesDetector, default_detectors

    return [OwnValuesDetector.from_dataset(ds), *default_detectors()]
