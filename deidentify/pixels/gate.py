"""The gate: which images may carry burnt-in text, and what is withheld whatever is done.

An image that may carry burnt-in text must be cleaned (:mod:`.clean`) or withheld;
an encapsulated document (which can hold anything) is never passed on.
:func:`withhold_reason` is the stage's verdict where pixel cleaning is off.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from .layout import has_pixel_data

BURNT_IN_NOT_CLEANED = "burnt-in text not cleaned"

#: Modalities whose images typically carry burnt-in text, flagged or not.
CAPTURE_MODALITIES = frozenset({"US", "IVUS", "SC", "OT", "XC", "ES", "GM", "SM", "DOC", "VIDEO", "ECG"})

#: SOP Class UID prefixes of classes that typically carry burnt-in text: ultrasound
#: (.6 and .3.1), secondary capture (.7), visible light (.77) and encapsulated documents (.104).
_CAPTURE_CLASSES = frozenset({"1.2.840.10008.5.1.4.1.1.3.1", "1.2.840.10008.5.1.4.1.1.7"})
_CAPTURE_CLASS_PREFIXES = (
    "1.2.840.10008.5.1.4.1.1.6.",
    "1.2.840.10008.5.1.4.1.1.7.",
    "1.2.840.10008.5.1.4.1.1.77.",
)
_ENCAPSULATED_DOCUMENT_PREFIX = "1.2.840.10008.5.1.4.1.1.104."

#: What :func:`may_carry_burnt_in_text` reads: SOPClassUID, Modality, BurnedInAnnotation.
GATE_TAGS = frozenset({0x00080016, 0x00080060, 0x00280301})


def withhold_reason(ds: Dataset) -> str | None:
    """Why ``ds`` cannot be passed on without pixel cleaning, or None when it can."""
    reason = document_reason(ds)
    if reason is not None:
        return reason
    if not has_pixel_data(ds):
        return None
    if may_carry_burnt_in_text(ds):
        return BURNT_IN_NOT_CLEANED
    return None


def document_reason(ds: Dataset) -> str | None:
    """Why ``ds`` is withheld whatever the pixel stage can do: an encapsulated document can hold anything."""
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class.startswith(_ENCAPSULATED_DOCUMENT_PREFIX) or 0x00420011 in ds:
        return "encapsulated document cannot be cleaned"
    return None


def may_carry_burnt_in_text(ds: Dataset) -> bool:
    """BurnedInAnnotation YES, or a capture class or modality whatever the flag says."""
    if str(ds.get("BurnedInAnnotation", "")).strip().upper() == "YES":
        return True
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class in _CAPTURE_CLASSES or sop_class.startswith(_CAPTURE_CLASS_PREFIXES):
        return True
    return str(ds.get("Modality", "")).strip().upper() in CAPTURE_MODALITIES
