"""Decoding: the frames of any encoding pydicom's pixel handlers read, one at a time.

Native data of any bit depth, colour space and planar configuration, and every
encapsulated syntax with an installed plugin (pylibjpeg with its libjpeg,
openjpeg and rle plugins, pyjpegls, Pillow).  Frames come with their colour
space as decoded (``raw``: no colour conversion), so a masked frame can be
encoded again exactly as it was stored.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder
from pydicom.pixels.decoders.base import Decoder
from pydicom.uid import JPEGBaseline8Bit, JPEGExtended12Bit

from ..limits import Limits, over, size_text
from .base import PixelError
from .codestream import codestream_reason
from .layout import ImageLayout, SampleFormat

_PILLOW_READS = frozenset({JPEGBaseline8Bit, JPEGExtended12Bit})

@dataclass(frozen=True)
class Frame:
    """One decoded frame: ``pixels`` is a writable (rows, columns, samples) array."""

    index: int
    pixels: np.ndarray
    format: SampleFormat


def decode_frames(ds: Dataset, layout: ImageLayout, indices: Sequence[int] | None = None, *,
                  for_reading: bool = False) -> Iterator[Frame]:
    """Yield the frames ``indices`` (default: all) of ``ds``'s Pixel Data, in order.

    ``for_reading``: the frames are only looked at for text, never written.  8-bit lossy
    JPEG is then decoded by Pillow's libjpeg-turbo, 2 ms for a 640 x 480 frame against 5
    for pydicom's first choice (pylibjpeg's libjpeg): a 120-frame cine is read in 0.2 s
    instead of 0.6.  The two differ by a few levels on a few samples (chroma upsampling),
    which moves no text; written frames keep pydicom's first choice, so an output shows
    what a viewer using pydicom shows of its input.

    Raises :class:`PixelError` when the data cannot be decoded: no plugin for the
    syntax, a corrupt codestream, fewer frames than Number of Frames.
    """
    wanted = list(range(layout.frames)) if indices is None else list(indices)
    try:
        decoder = get_decoder(layout.transfer_syntax)
        # Without indices pydicom walks the fragments once; with them it seeks every frame anew.
        plugin = _reading_plugin(decoder, layout) if for_reading else ""  # "": pydicom's first choice
        arrays = decoder.iter_array(ds, indices=None if indices is None else wanted, raw=True, decoding_plugin=plugin)
    except Exception as exc:  # NotImplementedError for syntaxes without a decoder, and plugin errors
        raise _undecodable(layout, exc) from exc
    for index in wanted:
        try:
            pixels, properties = next(arrays)
        except StopIteration:
            raise PixelError("pixel data holds fewer frames than Number of Frames") from None
        except Exception as exc:
            raise _undecodable(layout, exc) from exc
        yield Frame(index, pixels.reshape(layout.rows, layout.columns, -1), _decoded_format(properties, layout))


def _reading_plugin(decoder: Decoder, layout: ImageLayout) -> str:
    eight_bit_jpeg = layout.transfer_syntax in _PILLOW_READS and layout.bits_stored <= 8
    return "pillow" if eight_bit_jpeg and "pillow" in decoder.available_plugins else ""


def check_decodable(ds: Dataset, layout: ImageLayout, limits: Limits = Limits()) -> None:
    """Raise :class:`PixelError` before decoding what would be over ``limits`` or is not what the header says.

    Rows × Columns × Samples × Bits Allocated × Frames bounds the decoded image;
    each encapsulated frame's own header (JPEG SOFn, JPEG-LS SOF55, JPEG 2000
    SIZ, RLE) must describe that image, as a decoder allocates what the
    codestream, not the DICOM header, claims.
    """
    if decoded_bytes(layout) > limits.max_pixel_bytes:
        raise PixelError(over(f"an image decoding to more than {size_text(limits.max_pixel_bytes)}"))
    if layout.encapsulated:
        reason = codestream_reason(ds.PixelData, str(layout.transfer_syntax), layout.rows, layout.columns,
                                   layout.samples, layout.bits_allocated, layout.frames, strict=True)
        if reason is not None:
            raise PixelError(reason)


def decoded_bytes(layout: ImageLayout) -> int:
    return -(-layout.rows * layout.columns * layout.samples * layout.bits_allocated * layout.frames // 8)


def decode_frame(ds: Dataset, layout: ImageLayout, index: int) -> Frame:
    """Frame ``index`` alone."""
    return next(decode_frames(ds, layout, [index]))


def _decoded_format(properties: dict[str, str | int], layout: ImageLayout) -> SampleFormat:
    photometric = str(properties.get("photometric_interpretation", layout.photometric))
    # Decoded frames are always full resolution: subsampled YCbCr comes back as YBR_FULL.
    if photometric == "YBR_FULL_422":
        photometric = "YBR_FULL"
    return SampleFormat(
        photometric,
        int(properties.get("bits_stored", layout.bits_stored)),
        int(properties.get("pixel_representation", int(layout.signed))) == 1,
        int(properties.get("samples_per_pixel", layout.samples)),
    )


def _undecodable(layout: ImageLayout, exc: Exception) -> PixelError:
    syntax = layout.transfer_syntax.keyword or layout.transfer_syntax
    return PixelError(f"pixel data cannot be decoded: {syntax}, {type(exc).__name__}")
