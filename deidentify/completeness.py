"""Completeness: an image whose header promises pixel data it does not hold.

A file cut at an element boundary reads as a whole, shorter dataset: Pixel
Data, the last element, is simply gone.  Writing it would pass on an invalid
instance (PS3.3 C.7.6.3: the Image Pixel module requires Pixel Data), so both
header paths ask :func:`missing_pixels_reason` — the fast path with the tags
its scan found, the full path with pydicom's dataset.
"""

from __future__ import annotations

from typing import Container

NO_PIXEL_DATA = "no pixel data: the file may be cut short"

_PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)  # Pixel Data, Float and Double Float Pixel Data
#: Rows, Columns, Bits Allocated: present together only where the Image Pixel module is.
_PROMISE_TAGS = (0x00280010, 0x00280011, 0x00280100)
#: Pixel Data Provider URL: the pixels are elsewhere (JPIP), legitimately (PS3.3 C.7.6.3).
_PROVIDER_URL = 0x00287FE0
#: Storage classes that are images by definition, with or without the Image Pixel elements.
IMAGE_CLASSES = frozenset("1.2.840.10008.5.1.4.1.1." + suffix for suffix in (
    "1", "1.1", "1.1.1", "1.1.2", "1.1.2.1", "1.1.3", "1.1.3.1",  # CR, DX, mammography, intra-oral
    "2", "2.1", "4", "4.1", "20", "128", "130",  # CT, MR, NM, PET
    "3.1", "6.1", "6.2",  # ultrasound
    "7", "7.1", "7.2", "7.3", "7.4",  # secondary capture
    "12.1", "12.2", "481.1",  # XA, RF, RT Image
))


def missing_pixels_reason(present: Container[int], sop_class: str) -> str | None:
    """:data:`NO_PIXEL_DATA` when the top-level tags ``present`` promise pixel data they lack, else None."""
    if any(tag in present for tag in _PIXEL_TAGS) or _PROVIDER_URL in present:
        return None
    if all(tag in present for tag in _PROMISE_TAGS) or sop_class.strip() in IMAGE_CLASSES:
        return NO_PIXEL_DATA
    return None
