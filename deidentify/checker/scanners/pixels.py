"""Native pixel data that holds more than its frames: bytes after the last frame, bits outside BitsStored.

Both are places a name can be planted that no viewer shows and a header rule
never reads.  The scanner asks :func:`deidentify.pixels.native.canonical` -- the
function ``run`` writes pixel data through -- what it would take out, so a check
finds exactly what a run drops.  Trailing bytes that are all zeros hide nothing
and are reported low; anything else high.  Pixel data shorter than its frames,
or without the Image Pixel values that say how long it must be, cannot be shown
clean.  In encapsulated JPEG pixel data, the comments and application segments
(EXIF, XMP, thumbnails) that :func:`deidentify.pixels.codestream.without_metadata`
-- what ``run`` writes JPEG pixel data through -- would take out are reported high.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset

from ...pixels.base import PixelError
from ...pixels.codestream import without_metadata
from ...pixels.layout import PIXEL_DATA, transfer_syntax_of
from ...pixels.native import PIXEL_TAGS, canonical, format_of
from ..findings import Finding
from .base import FileContext, finding


class PixelScanner:
    """Bytes after the last frame and set bits outside BitsStored in native pixel data; metadata
    segments in JPEG codestreams."""

    name = "pixels"

    def scan(self, file: FileContext) -> Iterator[Finding]:
        ds = file.dataset
        if ds is None or not any(tag in ds for tag in PIXEL_TAGS):
            return
        syntax = transfer_syntax_of(ds)
        if syntax.is_transfer_syntax and syntax.is_encapsulated:
            yield from self._metadata(ds, syntax)
            return
        for tag in PIXEL_TAGS:
            if tag not in ds:
                continue
            element = ds.get_item(tag)
            path = keyword_for_tag(tag)
            try:
                if not syntax.is_transfer_syntax:
                    raise PixelError("pixel data in an unknown transfer syntax cannot be checked")
                found = canonical(element.value or b"", format_of(ds, tag, syntax, element.VR))
            except PixelError as exc:
                yield finding(self.name, path, "pixel-data-unchecked", "medium", "pixels", 0, str(exc))
                continue
            if found.trailing:
                yield finding(self.name, path, "pixel-trailing-bytes", "high" if found.hidden else "low", "bytes",
                              found.trailing, f"{found.trailing} bytes after the last frame"
                              + ("" if found.hidden else " (all zero)"))
            if found.cleared:
                yield finding(self.name, path, "pixel-bits-outside-stored", "high", "samples", found.cleared,
                              f"{found.cleared} samples have bits set outside BitsStored")

    def _metadata(self, ds: Dataset, syntax: str) -> Iterator[Finding]:
        if PIXEL_DATA not in ds:
            return
        try:
            stripped = without_metadata(ds.get_item(PIXEL_DATA).value or b"", syntax)
        except ValueError:
            return  # items pydicom's own reading reports
        if stripped is not None:
            yield finding(self.name, "PixelData", "pixel-codestream-metadata", "high", "segments", stripped.dropped,
                          f"{stripped.dropped} comment or application segments (EXIF, XMP, thumbnails) in JPEG "
                          "codestreams")

    def finish(self) -> Iterable[Finding]:
        return ()
