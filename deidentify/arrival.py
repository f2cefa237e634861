"""Whether a file has arrived whole: what the folder watcher asks before it takes a file as final.

A copy that stalls longer than the settle time leaves a file that has stopped
changing but is not whole, and pydicom reads most such files without a word.
A file is *whole* here when its own structure says no byte is missing:

1. the fast path's scanner walks its file meta and, for explicit VR little endian
   (every encapsulated syntax included, and deflated once inflated, where the
   deflate stream must end), every element, sequence, item and fragment of the
   data set to the file's last byte.  This finds what pydicom reads without a
   word: a cut inside an undefined-length sequence or encapsulated pixel data, or
   after the first few bytes of an element header;
2. the source stage reads it and its last element is as long as its header says
   (:func:`~deidentify.source.parse_source`);
3. implicit VR and big endian: the last top-level element ends at the last byte;
4. an image carries its pixel data.  Pixel Data comes last in an image, so a copy
   cut between two whole elements before it leaves an image without any.  An image
   is a data set of an image storage SOP class, or one with Rows, Columns and Bits
   Allocated; Pixel Data, Float or Double Float Pixel Data, or a Pixel Data
   Provider URL count as its pixel data.

What no structure shows: a non-image cut exactly between two top-level elements,
and an image cut after its pixel data but before elements that follow it
(private groups, trailing padding).  The settle time is the only guard there.

Files that are not DICOM, or that fail the source stage's other checks, are not
judged here: the run reports them as it would anyway.
"""

from __future__ import annotations

import zlib

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.uid import UID

from .completeness import NO_PIXEL_DATA
from .limits import Limits
from .pixels.layout import has_pixel_data
from .rawscan import UNDEFINED, RawElement, ScanError, Truncated, read_group, scan
from .source import Source, SourceError, parse_source

WAITING = "truncated (waiting for the rest)"
CUT_SHORT = f"{WAITING}: the file ends inside an element"
NO_PIXELS = f"{WAITING}: an image without its pixel data"

_ROWS, _COLUMNS, _BITS_ALLOCATED = 0x00280010, 0x00280011, 0x00280100
_PIXEL_DATA_PROVIDER_URL = 0x00287FE0
_TRANSFER_SYNTAX = 0x00020010
#: (0002,0000) UL, length 4: the File Meta Information Group Length.
_GROUP_LENGTH_HEADER = b"\x02\x00\x00\x00UL\x04\x00"
#: The source stage's reason for a last element shorter than its length begins so.
_SOURCE_TRUNCATED = "truncated"


def not_whole(data: bytes) -> str | None:
    """Why ``data`` is not a whole file yet (a reason that quotes no value), or ``None``.

    ``None`` also for bytes that are not DICOM or that the source stage refuses for
    another reason: they are not judged here.
    """
    if _scanner_finds_cut(data):
        return CUT_SHORT
    try:
        source = parse_source(data)
    except SourceError as exc:
        if exc.reason == NO_PIXEL_DATA:
            return NO_PIXELS
        return CUT_SHORT if exc.reason.startswith(_SOURCE_TRUNCATED) else None
    if _last_element_ends_early(data, source):
        return CUT_SHORT
    if _image_without_pixels(source.dataset):
        return NO_PIXELS
    return None


def _scanner_finds_cut(data: bytes) -> bool:
    """The fast path's scanner runs out of bytes in the file meta or in an explicit VR little endian data set
    (a deflated one inflated first, its stream required to end)."""
    buf = memoryview(data)
    try:
        meta, start = _file_meta(buf)
        syntax = _syntax(buf, meta)
        if syntax is None or syntax.is_implicit_VR or not syntax.is_little_endian:
            return False
        if syntax.is_deflated:
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            bound = Limits().max_inflated_bytes
            buf = memoryview(inflater.decompress(buf[start:], bound + 1))
            if len(buf) > bound:
                return False  # a bomb, not a cut: the source stage refuses it by its bound
            if not inflater.eof:
                return True
            start = 0
        scan(buf, start, len(buf))
    except Truncated:
        return True
    except (ScanError, zlib.error):  # not what the scanner walks: pydicom's parse judges it
        return False
    return False


def _file_meta(buf: memoryview) -> tuple[dict[int, RawElement], int]:
    """The file meta's elements and where the data set begins.

    By the meta's group length where it has one: the scanner cannot find the end
    of the meta by walking on into a data set that is not explicit VR.
    """
    start = 132 if bytes(buf[128:132]) == b"DICM" else 0
    if bytes(buf[start:start + 8]) != _GROUP_LENGTH_HEADER:
        return read_group(buf, start, 0x0002)
    if len(buf) < start + 12:
        raise Truncated("the file meta's group length runs past the end")
    end = start + 12 + int.from_bytes(buf[start + 8:start + 12], "little")
    if end > len(buf):
        raise Truncated("the file meta runs past the end")
    return {element.tag: element for element in scan(buf, start, end)}, end


def _syntax(buf: memoryview, meta: dict[int, RawElement]) -> UID | None:
    element = meta.get(_TRANSFER_SYNTAX)
    if element is None:
        return None
    return UID(bytes(buf[element.value:element.value_end]).decode("ascii", "replace").rstrip("\0 "))


def _last_element_ends_early(data: bytes, source: Source) -> bool:
    """Implicit VR or big endian: bytes after the last element are the start of one pydicom ignored."""
    syntax = UID(source.transfer_syntax) if source.transfer_syntax else None
    if syntax is not None and (syntax.is_deflated or not syntax.is_implicit_VR and syntax.is_little_endian):
        return False  # the scanner has walked it
    dataset = source.dataset
    last = dataset.get_item(max(dataset.keys()))
    if isinstance(last, RawDataElement) and last.length != UNDEFINED and last.value_tell is not None:
        return last.value_tell + last.length < len(data)
    return False


def _image_without_pixels(ds: Dataset) -> bool:
    """Stricter than the source stage's rule (the Image Pixel module's elements), which a copy cut
    before group 0028 passes: an arriving file of an image storage class must hold its pixels too."""
    if has_pixel_data(ds) or _PIXEL_DATA_PROVIDER_URL in ds:
        return False
    return "Image Storage" in UID(str(ds.get("SOPClassUID", ""))).name
