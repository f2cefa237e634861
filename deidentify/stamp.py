"""Stamp: mark a de-identified dataset as such.

PS3.15 E.1.1 asks for PatientIdentityRemoved, a description of the method and
the CID 7050 codes of the profile and options applied; PS3.3 C.7.1.1 for
LongitudinalTemporalInformationModified.  The marks are the same for every
file a profile writes (with or without pixel cleaning), so they are built and
encoded once per run (:meth:`~deidentify.plan.RuleBook.stamp`); the writer
gives the file its own file meta, so nothing of the sending application (its
AE title, say) passes on.
"""

from __future__ import annotations

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from . import __version__
from .header.sources.base import Constant
from .profile import Profile
from .profile.model import CLEAN_PIXEL_DATA_CODE
from .writer import constant


def stamp_pieces(profile: Profile, pixels_cleaned: bool = False,
                 identity_removed: bool = True) -> list[tuple[int, Constant]]:
    """The de-identification marks for ``profile``, as pieces for the writer."""
    return [(int(e.tag), constant(e)) for e in stamp_elements(profile, pixels_cleaned, identity_removed)]


def stamp_elements(profile: Profile, pixels_cleaned: bool = False, identity_removed: bool = True) -> list[DataElement]:
    """The de-identification marks for ``profile``, in tag order.

    ``identity_removed`` is False for a profile that keeps attributes the Basic
    Profile removes: it says NO, and claims no CID 7050 profile or option, since
    it conforms to none.
    """
    method = [f"deidentify {__version__}", f"profile {profile.name}"[:64]]
    if not identity_removed:
        return [
            DataElement(0x00120062, "CS", "NO"),
            DataElement(0x00120063, "LO", [*method, "keeps attributes of PS3.15 Table E.1-1"]),
            DataElement(0x00280303, "CS", temporal_marking(profile)),
        ]
    codes = list(profile.method_codes)
    if pixels_cleaned:
        codes.insert(1, CLEAN_PIXEL_DATA_CODE)
    return [
        DataElement(0x00120062, "CS", "YES"),
        DataElement(0x00120063, "LO", method),
        DataElement(0x00120064, "SQ", [_code_item(value, meaning) for value, meaning in codes]),
        DataElement(0x00280303, "CS", temporal_marking(profile)),
    ]


def temporal_marking(profile: Profile) -> str:
    """LongitudinalTemporalInformationModified for what the profile does to dates."""
    if "retain-long-full-dates" in profile.options:
        return "UNMODIFIED"
    if "retain-long-modified-dates" in profile.options:
        return "MODIFIED"
    return "REMOVED"


def _code_item(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = meaning
    return item
