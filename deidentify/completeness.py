"""Completeness: an image whose header promises pixel data it does not hold.

A file cut at an element boundary reads as a whole, shorter dataset: Pixel
Data, the last element, is simply gone.  Writing it would pass on an invalid
instance (PS3.3 C.7.6.3: the Image Pixel module requires Pixel Data), so both
header paths ask :func:`missing_pixels_reason` — the fast path with the tags
its scan found, the full path with pydicom's dataset.
"""

from __future__ import annotations

from typing import Protocol

NO_PIXEL_DATA = "no pixel data: the file may be cut short"

_PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)  # Pixel Data, Float and Double Float Pixel Data
#: Rows, Columns, Bits Allocated: present together only where the Image Pixel module is.
_PROMISE_TAGS = (0x00280010, 0x00280011, 0x00280100)
#: Pixel Data Provider URL: the pixels are elsewhere (JPIP), legitimately (PS3.3 C.7.6.3).
_PROVIDER_URL = 0x00287FE0


class Tags(Protocol):
    """What ``tag in present`` can be asked of: a pydicom dataset, or the tags a scan found.

    Not ``Container[int]``: a dataset's ``__contains__`` takes tags, not any object.
    """

    def __contains__(self, tag: int, /) -> bool: ...


def missing_pixels_reason(present: Tags) -> str | None:
    """:data:`NO_PIXEL_DATA` when the top-level tags ``present`` promise pixel data they lack, else None.

    The promise is the Image Pixel module's own elements, not the SOP class:
    header-only copies of image instances (test fixtures, pydicom's DICOMDIR
    examples) are common, and a file cut before Pixel Data keeps group 0028.
    """
    if any(tag in present for tag in _PIXEL_TAGS) or _PROVIDER_URL in present:
        return None
    return NO_PIXEL_DATA if all(tag in present for tag in _PROMISE_TAGS) else None
