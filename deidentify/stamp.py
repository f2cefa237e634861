"""Stamp: mark a de-identified dataset as such and give it its own file meta.

PS3.15 E.1.1 asks for PatientIdentityRemoved, a description of the method and
the CID 7050 codes of the profile and options applied; PS3.3 C.7.1.1 for
LongitudinalTemporalInformationModified.  The file meta is rebuilt rather than
copied, so nothing of the sending application (its AE title, say) passes on.
"""

from __future__ import annotations

import uuid
from io import BytesIO
from struct import Struct
from typing import Any

from pydicom import dcmwrite
from pydicom.charset import default_encoding
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32

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
    """The file's bytes: zero preamble, our file meta, the dataset in ``transfer_syntax``.

    The bytes are pydicom's (``dcmwrite``); in the common case they are put together
    here, raw elements copied as they are and only decoded ones encoded by pydicom's
    element writer, since ``dcmwrite`` spends milliseconds per file on elements it
    only copies (a test compares the two on pydicom's files).
    """
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    ds.file_meta = meta
    ds.preamble = PREAMBLE[:128]
    body = _body(ds, transfer_syntax)
    if body is None:
        return _write(ds)
    try:
        head = file_meta_bytes(str(ds.SOPClassUID), str(ds.SOPInstanceUID), transfer_syntax)
    except UnicodeEncodeError:  # a UID that is not ASCII: pydicom says what to do with it
        return _write(ds)
    return b"".join([PREAMBLE, head, *body])


PREAMBLE = b"\0" * 128 + b"DICM"
_IMPLICIT_VR_LE = "1.2.840.10008.1.2"
_EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
# Syntaxes whose data set is little endian and not deflated (the encapsulated ones are explicit VR).
_PLAIN_PREFIX = "1.2.840.10008.1.2.4."
_DELIMITER = Struct("<HHI").pack(0xFFFE, 0xE0DD, 0)
_ITEM_TAG = b"\xfe\xff\x00\xe0"
_PIXEL_DATA = 0x7FE00010
_IMPLICIT_HEADER = Struct("<HHI")
_SHORT_HEADER = Struct("<HH2sH")
_LONG_HEADER = Struct("<HH2s2xI")
_LONG_VRS = frozenset(str(vr) for vr in EXPLICIT_VR_LENGTH_32)


def _write(ds: Dataset) -> bytes:
    buffer = BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _body(ds: Dataset, transfer_syntax: str) -> list[bytes] | None:
    """The data set's elements as ``dcmwrite`` encodes them; None where pydicom must do it all.

    That is another syntax (deflated, big endian), or an encoding or character set
    other than the one the elements were read in, which makes pydicom decode them all.
    """
    implicit = transfer_syntax == _IMPLICIT_VR_LE
    if not (implicit or transfer_syntax == _EXPLICIT_VR_LE or transfer_syntax.startswith(_PLAIN_PREFIX)):
        return None
    if ds.original_encoding != (implicit, True) or ds.original_character_set != ds._character_set:
        return None
    charset = ds.get("SpecificCharacterSet", default_encoding)
    # Header and value as separate pieces: a large value is copied once, into the output.
    pieces: list[bytes] = []
    for tag in sorted(ds.keys()):
        if tag.element == 0 and tag.group > 6:
            continue  # retired group lengths are not written
        element = ds.get_item(tag)
        found = _raw_pieces(element, implicit) if element.is_raw else _encoded(element, charset, implicit)
        if found is None:
            return None
        pieces += found
    return pieces


def _raw_pieces(element: RawDataElement, implicit: bool) -> list[bytes] | None:
    value, tag, vr = element.value or b"", element.tag, element.VR
    undefined = element.length == 0xFFFFFFFF
    if undefined and tag == _PIXEL_DATA and not value[:4].startswith(_ITEM_TAG):
        return None  # pydicom refuses it, with its message
    tail = [_DELIMITER] if undefined else []
    length = 0xFFFFFFFF if undefined else len(value)
    if implicit:
        return [_IMPLICIT_HEADER.pack(tag >> 16, tag & 0xFFFF, length), value, *tail]
    if not vr or len(vr) != 2 or (vr not in _LONG_VRS and not undefined and length > 0xFFFF):
        return None  # an ambiguous VR, or one pydicom rewrites as UN
    header = _LONG_HEADER if vr in _LONG_VRS or undefined else _SHORT_HEADER
    return [header.pack(tag >> 16, tag & 0xFFFF, vr.encode(), length), value, *tail]


def _encoded(element: DataElement, charset: Any, implicit: bool) -> list[bytes]:
    value, vr = element.value, element.VR
    if not implicit and vr != "SQ" and not element.is_undefined_length:
        if vr in ("OB", "OW") and isinstance(value, bytes) and len(value) % 2 == 0:
            return [_element_header(element.tag, vr, len(value)), value]
        quick = element_bytes(element.tag, vr, value)
        if quick is not None:
            return [quick]
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, implicit
    write_data_element(buffer, element, charset)
    return [buffer.getvalue()]


# Text VRs whose ASCII values pydicom writes as they are, padded to even length.
_ASCII_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI",
                             "UR", "UT"})


def element_bytes(tag: int, vr: str, value: Any) -> bytes | None:
    """An element with an empty or plain-ASCII text value as pydicom writes it in explicit VR
    little endian; None for any other value (pydicom's element writer takes those)."""
    if value is None or (isinstance(value, (str, bytes, list)) and len(value) == 0):
        return _element_header(tag, vr, 0)
    if isinstance(value, str) and vr in _ASCII_TEXT_VRS and value.isascii():
        encoded = value.encode("ascii")
        if len(encoded) % 2:
            encoded += b"\0" if vr == "UI" else b" "
        return _element_header(tag, vr, len(encoded)) + encoded
    return None


def _element_header(tag: int, vr: str, length: int) -> bytes:
    header = _LONG_HEADER if vr in _LONG_VRS else _SHORT_HEADER
    return header.pack(tag >> 16, tag & 0xFFFF, vr.encode(), length)


def file_meta_bytes(sop_class: str, instance: str, syntax: str) -> bytes:
    """The file meta group (group length first) as pydicom writes the one :func:`encode` builds."""
    elements = b"".join([
        _meta_element(0x0001, "OB", b"\0\1"),
        _meta_element(0x0002, "UI", _padded(sop_class, b"\0")),
        _meta_element(0x0003, "UI", _padded(instance, b"\0")),
        _meta_element(0x0010, "UI", _padded(syntax, b"\0")),
        _meta_element(0x0012, "UI", _padded(IMPLEMENTATION_CLASS_UID, b"\0")),
        _meta_element(0x0013, "SH", _padded(IMPLEMENTATION_VERSION_NAME, b" ")),
    ])
    return _meta_element(0x0000, "UL", Struct("<I").pack(len(elements))) + elements


def _meta_element(element: int, vr: str, value: bytes) -> bytes:
    return _element_header(0x00020000 | element, vr, len(value)) + value


def _padded(text: str, pad: bytes) -> bytes:
    encoded = text.encode("ascii")
    return encoded + pad if len(encoded) % 2 else encoded
