"""uid (PS3.15 U): keyed remap of instance UIDs; well-known UIDs stay.

SOP classes, transfer syntaxes, coding schemes and the other UIDs of the DICOM
dictionary name things, not patients; changing them would break the file.
"""

from pydicom.uid import UID_dictionary

from .base import ElementContext, each_value

_DICOM_ROOT = "1.2.840.10008."


def is_well_known(uid: str) -> bool:
    """True for UIDs defined by the standard (PS3.6 Annex A), which identify nobody."""
    return uid in UID_dictionary or uid.startswith(_DICOM_ROOT)


@each_value
def uid(value: str, ctx: ElementContext) -> str:
    value = value.strip("\0 ")
    return value if not value or is_well_known(value) else ctx.keyring.uid(value)
