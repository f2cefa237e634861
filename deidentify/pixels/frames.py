"""Decoding: the frames of any encoding pydicom's pixel handlers read, one at a time.

Native data of any bit depth, colour space and planar configuration, and every
encapsulated syntax with an installed plugin (pylibjpeg with its libjpeg,
openjpeg and rle plugins, pyjpegls, Pillow).  Frames come with their colour
space as decoded (``raw``: no colour conversion), so a masked frame can be
encoded again exactly as it was stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder

from .base import PixelError
from .layout import ImageLayout, SampleFormat


@dataclass(frozen=True)
class Frame:
    """One decoded frame: ``pixels`` is a writable (rows, columns, samples) array."""

    index: int
    pixels: np.ndarray
    format: SampleFormat


def decode_frames(ds: Dataset, layout: ImageLayout, indices: Sequence[int] | None = None) -> Iterator[Frame]:
    """Yield the frames ``indices`` (default: all) of ``ds``'s Pixel Data, in order.

    Raises :class:`PixelError` when the data cannot be decoded: no plugin for the
    syntax, a corrupt codestream, fewer frames than Number of Frames.
    """
    wanted = list(range(layout.frames)) if indices is None else list(indices)
    try:
        decoder = get_decoder(layout.transfer_syntax)
        # Without indices pydicom walks the fragments once; with them it seeks every frame anew.
        arrays = decoder.iter_array(ds, indices=None if indices is None else wanted, raw=True)
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
