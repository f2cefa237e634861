"""Stamp: mark a de-identified dataset as such and give it its own file meta.

PS3.15 E.1.1 asks for PatientIdentityRemoved, a description of the method and
the CID 7050 codes of the profile and options applied; PS3.3 C.7.1.1 for
LongitudinalTemporalInformationModified.  The file meta is rebuilt rather than
copied, so nothing of the sending application (its AE title, say) passes on.
"""

from __future__ import annotations

import uuid
from io import BytesIO

from pydicom import dcmwrite
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset

from . import __version__
from .profile import Profile
from .profile.model import CLEAN_PIXEL_DATA_CODE

#: Our implementation's UID, derived once from the project's name (a UUID-based 2.25 UID).
IMPLEMENTATION_CLASS_UID = "2.25." + str(uuid.uuid5(uuid.NAMESPACE_URL, "https://pypi.org/project/deidentify/").int)
IMPLEMENTATION_VERSION_NAME = f"DEIDENTIFY_{__version__}"[:16]


def stamp(ds: Dataset, profile: Profile, pixels_cleaned: bool = False) -> None:
    """Add the de-identification marks to ``ds`` (the new dataset, never the input)."""
    codes = list(profile.method_codes)
    if pixels_cleaned:
        codes.insert(1, CLEAN_PIXEL_DATA_CODE)
    ds[0x00120062] = DataElement(0x00120062, "CS", "YES")
    ds[0x00120063] = DataElement(0x00120063, "LO", [f"deidentify {__version__}", f"profile {profile.name}"[:64]])
    ds[0x00120064] = DataElement(0x00120064, "SQ", [_code_item(value, meaning) for value, meaning in codes])
    ds[0x00280303] = DataElement(0x00280303, "CS", temporal_marking(profile))


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


def encode(ds: Dataset, transfer_syntax: str) -> bytes:
    """The file's bytes: zero preamble, our file meta, the dataset in ``transfer_syntax``."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    buffer = BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()
