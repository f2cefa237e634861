"""Whether a file has arrived whole: what the folder watcher asks before it takes a file as final.

A copy that stalls longer than the settle time leaves a file that has stopped
changing but is not whole, and pydicom reads most such files without a word.
A file is *whole* here when its own structure says no byte is missing:

1. the source stage reads it and its last element is as long as its header says
   (:func:`~deidentify.source.parse_source`);
2. its data set ends exactly at the file's last byte.  For explicit VR little
   endian (every encapsulated syntax included) the fast path's scanner walks every
   element, sequence, item and fragment to the end, which also finds a cut inside
   an undefined-length sequence or encapsulated pixel data, and the few bytes of
   an element header pydicom ignores.  For implicit VR and big endian, the last
   top-level element must end at the last byte.  A deflated data set is checked by
   the parse alone (its offsets are those of the inflated stream);
3. an image carries its pixel data: Pixel Data comes last in an image, so a copy cut
   between two whole elements before it leaves an image without any.  An image is
   a data set of an image storage SOP class, or one with Rows, Columns and Bits
   Allocated; Pixel Data, Float or Double Float Pixel Data, or a Pixel Data Provider
   URL count as its pixel data.

What no structure shows: a non-image data set in implicit VR, big endian or
deflated cut exactly between two top-level elements, and an image cut after its
pixel data but before elements that follow it (private groups, trailing padding).
The settle time is the only guard there.

Files that are not DICOM, or that fail the source stage's other checks, are not
judged here: the run reports them as it would anyway.
"""

from __future__ import annotations

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.uid import UID

from .pixels.layout import has_pixel_data
from .rawscan import UNDEFINED, ScanError, Truncated, read_group, scan
from .source import Source, SourceError, parse_source

WAITING = "truncated (waiting for the rest)"
CUT_SHORT = f"{WAITING}: the file ends inside an element"
NO_PIXELS = f"{WAITING}: an image without its pixel data"

_ROWS, _COLUMNS, _BITS_ALLOCATED = 0x00280010, 0x00280011, 0x00280100
_PIXEL_DATA_PROVIDER_URL = 0x00287FE0
#: The source stage's reason for a last element shorter than its length begins so.
_SOURCE_TRUNCATED = "truncated"


def not_whole(data: bytes) -> str | None:
    """Why ``data`` is not a whole file yet (a reason that quotes no value), or ``None``.

    ``None`` also for bytes the source stage refuses for another reason: they are
    not judged here.
    """
    try:
        source = parse_source(data)
    except SourceError as exc:
        return CUT_SHORT if exc.reason.startswith(_SOURCE_TRUNCATED) else None
    if _ends_early(data, source):
        return CUT_SHORT
    if _image_without_pixels(source.dataset):
        return NO_PIXELS
    return None


def _ends_early(data: bytes, source: Source) -> bool:
    """The data set stops before its last element does (point 2 of the module's list)."""
    syntax = UID(source.transfer_syntax) if source.transfer_syntax else None
    if syntax is not None and syntax.is_deflated:
        return False
    if syntax is not None and not syntax.is_implicit_VR and syntax.is_little_endian:
        buf = memoryview(data)
        try:
            _, start = read_group(buf, 132 if data[128:132] == b"DICM" else 0, 0x0002)
            scan(buf, start, len(buf))
        except Truncated:
            return True
        except ScanError:  # a structure the scanner does not walk; pydicom's parse read it whole
            return False
        return False
    dataset = source.dataset
    last = dataset.get_item(max(dataset.keys()))
    if isinstance(last, RawDataElement) and last.length != UNDEFINED and last.value_tell is not None:
        return last.value_tell + last.length < len(data)
    return False


def _image_without_pixels(ds: Dataset) -> bool:
    if has_pixel_data(ds) or _PIXEL_DATA_PROVIDER_URL in ds:
        return False
    if all(tag in ds for tag in (_ROWS, _COLUMNS, _BITS_ALLOCATED)):
        return True
    return "Image Storage" in UID(str(ds.get("SOPClassUID", ""))).name
