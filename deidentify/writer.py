"""The writer: the one encoder of an output file.

It takes what the stages leave — the header walk's :class:`~.header.Written`
pieces (kept elements as read, new values, items of sequences), pixel
elements the pixel stage replaced, the stamp — and writes the file: zero
preamble, our file meta, the data set in the output's transfer syntax.
Kept elements are copied as the bytes the file held; only new values are
encoded, by pydicom's element writer where they are not plain ASCII.  The
bytes are pydicom's own (``dcmwrite``'s), which a test checks; where the
output's encoding is not the one the pieces were read in (big endian,
deflated, a syntax the pixel stage changed), pydicom writes the whole data
set from :func:`as_dataset`.
"""

from __future__ import annotations

import uuid
from io import BytesIO
from struct import Struct
from typing import Any

from pydicom import dcmwrite
from pydicom.charset import convert_encodings, default_encoding
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.tag import BaseTag
from pydicom.uid import UID
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32

from . import __version__
from .errors import DeidentifyError
from .header.sources.base import Constant, Items, NewValue, Piece, Written

#: Our implementation's UID, derived once from the project's name (a UUID-based 2.25 UID).
IMPLEMENTATION_CLASS_UID = "2.25." + str(uuid.uuid5(uuid.NAMESPACE_URL, "https://pypi.org/project/deidentify/").int)
IMPLEMENTATION_VERSION_NAME = f"DEIDENTIFY_{__version__}"[:16]
PREAMBLE = b"\0" * 128 + b"DICM"

_IMPLICIT_VR_LE = "1.2.840.10008.1.2"
_EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
# Syntaxes whose data set is explicit VR little endian and not deflated.
_ENCAPSULATED_PREFIX = "1.2.840.10008.1.2.4."
_DELIMITER = Struct("<HHI").pack(0xFFFE, 0xE0DD, 0)
_ITEM = Struct("<HHI")
_ITEM_TAG = b"\xfe\xff\x00\xe0"
_PIXEL_DATA = 0x7FE00010
_IMPLICIT_HEADER = Struct("<HHI")
_SHORT_HEADER = Struct("<HH2sH")
_LONG_HEADER = Struct("<HH2s2xI")
_LONG_VRS = frozenset(str(vr) for vr in EXPLICIT_VR_LENGTH_32)
_SOP_CLASS, _SOP_INSTANCE = 0x00080016, 0x00080018
_LENGTH_32, _LENGTH_16 = Struct("<I"), Struct("<H")


class _Foreign(DeidentifyError):
    """A piece that cannot be copied into the output's encoding: pydicom writes the whole data set."""


def encode_file(top: Written, transfer_syntax: str) -> bytes:
    """The output file's bytes for the data set ``top`` in ``transfer_syntax``."""
    implicit = transfer_syntax == _IMPLICIT_VR_LE
    plain = implicit or transfer_syntax == _EXPLICIT_VR_LE or transfer_syntax.startswith(_ENCAPSULATED_PREFIX)
    if plain:
        try:
            # Header and value as separate pieces: a large value is copied once, into the output.
            body = _pieces(top, implicit)
            head = file_meta_bytes(text_of(top, _SOP_CLASS), text_of(top, _SOP_INSTANCE), transfer_syntax)
        except (_Foreign, UnicodeEncodeError):
            pass
        else:
            return b"".join([PREAMBLE, head, *body])
    ds = as_dataset(top)
    ds.file_meta = _file_meta(str(ds.SOPClassUID), str(ds.SOPInstanceUID), transfer_syntax)
    ds.preamble = PREAMBLE[:128]
    buffer = BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def constant(element: DataElement) -> Constant:
    """An element written the same in every file, encoded now in both VR forms (its values are ASCII)."""
    explicit, implicit = (b"".join(_encoded(element, default_encoding, form)) for form in (False, True))
    return Constant(element, explicit, implicit)


def _pieces(written: Written, implicit: bool) -> list[bytes | memoryview]:
    copyable = (written.implicit, written.little) == (implicit, True)
    out: list[bytes | memoryview] = []
    for tag, piece in written.pieces:
        if isinstance(piece, (bytes, memoryview)):
            if implicit:
                raise _Foreign  # raw slices are explicit VR
            out.append(piece)
        elif isinstance(piece, NewValue):
            out += _new(tag, piece, written.charset, implicit)
        elif isinstance(piece, Items):
            out += _sequence(tag, piece, implicit)
        elif isinstance(piece, Constant):
            out.append(piece.implicit if implicit else piece.explicit)
        elif isinstance(piece, RawDataElement):
            if not copyable:
                raise _Foreign
            out += _raw_pieces(piece, implicit)
        else:
            out += _encoded(piece, written.charset, implicit)
    return out


def _sequence(tag: int, items: Items, implicit: bool) -> list[bytes | memoryview]:
    """A sequence the walk went into, as pydicom writes a new one: defined lengths for it and its items."""
    pieces: list[bytes | memoryview] = []
    total = 0
    for item in items.items:
        body = _pieces(item, implicit)
        size = sum(len(p) for p in body)
        pieces.append(_ITEM.pack(0xFFFE, 0xE000, size))
        pieces += body
        total += 8 + size
    if implicit:
        head = _IMPLICIT_HEADER.pack(tag >> 16, tag & 0xFFFF, total)
    else:
        head = _LONG_HEADER.pack(tag >> 16, tag & 0xFFFF, b"SQ", total)
    return [head, *pieces]


def _new(tag: int, piece: NewValue, charset: Any, implicit: bool) -> list[bytes]:
    if not implicit:
        quick = element_bytes(tag, piece.vr, piece.value)
        if quick is not None:
            return [quick]
    return _encoded(DataElement(tag, piece.vr, piece.value), charset, implicit)


def _raw_pieces(element: RawDataElement, implicit: bool) -> list[bytes]:
    value, tag, vr = element.value or b"", element.tag, element.VR
    undefined = element.length == 0xFFFFFFFF
    if undefined and tag == _PIXEL_DATA and not value[:4].startswith(_ITEM_TAG):
        raise _Foreign  # pydicom refuses it, with its message
    tail = [_DELIMITER] if undefined else []
    length = 0xFFFFFFFF if undefined else len(value)
    if implicit:
        return [_IMPLICIT_HEADER.pack(tag >> 16, tag & 0xFFFF, length), value, *tail]
    if not vr or len(vr) != 2 or (vr not in _LONG_VRS and not undefined and length > 0xFFFF):
        raise _Foreign  # an ambiguous VR, or one pydicom rewrites as UN
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


def text_of(written: Written, tag: int) -> str:
    """The text of a top-level element of ``written`` (a UID, say), whatever piece holds it; "" when absent."""
    for found, piece in written.pieces:
        if found >= tag:  # in tag order: past it, it is absent
            return _text(piece) if found == tag else ""
    return ""


def _text(piece: Piece) -> str:
    if isinstance(piece, (bytes, memoryview)):
        return bytes(piece[8:]).decode("ascii", "replace").strip("\0 ")  # short-header explicit VR
    if isinstance(piece, Items):
        return ""
    if isinstance(piece, Constant):
        piece = piece.element
    if isinstance(piece, RawDataElement):
        return (piece.value or b"").decode("ascii", "replace").strip("\0 ")
    value = piece.value
    return str(value if value is not None else "").strip("\0 ")


def as_dataset(written: Written) -> Dataset:
    """``written`` as a pydicom dataset read in its encoding (for pydicom's writer and readers of datasets)."""
    ds = Dataset(parent_encoding=written.charset)
    for tag, piece in written.pieces:
        ds[tag] = as_element(tag, piece)
    read_in = written.character_set
    if read_in is not None and convert_encodings(read_in) == convert_encodings(ds._character_set):
        # pydicom tells a set read in from the one to write by spelling ("iso8859" is not
        # ["iso8859"]); told apart, it would decode and re-encode every raw element.
        read_in = ds._character_set
    ds.set_original_encoding(written.implicit, written.little, read_in)
    return ds


def as_element(tag: int, piece: Piece) -> RawDataElement | DataElement:
    """One piece as a pydicom element."""
    if isinstance(piece, NewValue):
        return DataElement(tag, piece.vr, piece.value)
    if isinstance(piece, Items):
        return DataElement(tag, "SQ", [as_dataset(item) for item in piece.items])
    if isinstance(piece, Constant):
        return piece.element
    if isinstance(piece, (bytes, memoryview)):
        vr, length, value = slice_parts(piece)
        return RawDataElement(BaseTag(tag), vr, length, bytes(value), 0, False, True)
    return piece


def slice_parts(piece: bytes | memoryview) -> tuple[str, int, memoryview]:
    """VR, length and value (a view, not a copy) of an explicit VR little endian slice of the input."""
    view = memoryview(piece)
    vr = bytes(view[4:6]).decode("ascii")
    if vr in _LONG_VRS:
        length, value = _LENGTH_32.unpack_from(view, 8)[0], view[12:]
    else:
        length, value = _LENGTH_16.unpack_from(view, 6)[0], view[8:]
    if length == 0xFFFFFFFF:
        value = value[:-8]  # the sequence delimiter is the writer's to add
    return vr, length, value


def _file_meta(sop_class: str, instance: str, syntax: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(instance)
    meta.TransferSyntaxUID = UID(syntax)
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    return meta


def file_meta_bytes(sop_class: str, instance: str, syntax: str) -> bytes:
    """The file meta group (group length first) as pydicom writes the one :func:`encode_file` builds."""
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


__all__ = ["encode_file", "constant", "as_dataset", "as_element", "text_of", "element_bytes",
           "file_meta_bytes", "IMPLEMENTATION_CLASS_UID", "PREAMBLE"]
