"""Native pixel data that holds more than its frames: bytes after the last frame, bits outside BitsStored.

Both are places a name can be planted that no viewer shows and a header rule
never reads.  The scanner asks :func:`deidentify.pixels.native.canonical` -- the
function ``run`` writes pixel data through -- what it would take out, so a check
finds exactly what a run drops.  Trailing bytes that are all zeros hide nothing
and are reported low; anything else high.  Pixel data shorter than its frames,
or without the Image Pixel values that say how long it must be, cannot be shown
clean.  In encapsulated pixel data, the metadata (JPEG comments, EXIF, XMP and
thumbnails, JPEG 2000 comments, JP2 boxes, unused RLE header slots) that
:func:`deidentify.pixels.codestream.without_metadata` -- what ``run`` writes
encapsulated pixel data through -- would take out are reported high,
and so are frames past Number of Frames and data after a codestream's end, which
``run`` refuses (:func:`deidentify.pixels.codestream.codestream_reason`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset

from ...pixels.base import PixelError
from ...pixels.codestream import EXCESS, TRAILING, MetadataError, codestream_reason, without_metadata
from ...pixels.layout import PIXEL_DATA, element_number, transfer_syntax_of
from ...pixels.native import PIXEL_TAGS, canonical, format_of
from ..findings import Finding
from .base import FileContext, finding

# Rows, Columns, Samples per Pixel, Bits Allocated, Number of Frames, as codestream_reason takes them.
_SHAPE = ((0x00280010, None), (0x00280011, None), (0x00280002, 1), (0x00280100, None), (0x00280008, 1))
_HIDDEN = {EXCESS: "pixel-hidden-frames", TRAILING: "pixel-codestream-trailing"}


class PixelScanner:
    """Bytes after the last frame and set bits outside BitsStored in native pixel data; metadata
    segments, frames past Number of Frames and data after a codestream's end in encapsulated data."""

    name = "pixels"

    def scan(self, file: FileContext) -> Iterator[Finding]:
        ds = file.dataset
        if ds is None or not any(tag in ds for tag in PIXEL_TAGS):
            return
        syntax = transfer_syntax_of(ds)
        if syntax.is_transfer_syntax and syntax.is_encapsulated:
            yield from self._encapsulated(ds, syntax)
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

    def _encapsulated(self, ds: Dataset, syntax: str) -> Iterator[Finding]:
        if PIXEL_DATA not in ds:
            return
        value = ds.get_item(PIXEL_DATA).value or b""
        try:
            stripped = without_metadata(value, syntax)
            shape = [element_number(ds, tag, default) for tag, default in _SHAPE]
        except MetadataError as exc:
            yield finding(self.name, "PixelData", "pixel-codestream-metadata", "high", "segments", 1, str(exc))
            return
        except (ValueError, PixelError):
            return  # items or numbers pydicom's own reading reports
        if stripped is not None:
            yield finding(self.name, "PixelData", "pixel-codestream-metadata", "high", "segments", stripped.dropped,
                          f"{stripped.dropped} pieces of metadata in codestreams (comments, EXIF, XMP, thumbnails, "
                          "JP2 boxes, RLE header slots)")
        reason = codestream_reason(value, syntax, *shape, strict=False)
        if reason in _HIDDEN:
            yield finding(self.name, "PixelData", _HIDDEN[reason], "high", "pixels", 0, reason)
        elif reason is not None:
            yield finding(self.name, "PixelData", "pixel-data-unchecked", "medium", "pixels", 0, reason)

    def finish(self) -> Iterable[Finding]:
        return ()
