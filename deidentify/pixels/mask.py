"""Masking: the one routine that paints boxes, and the value it paints.

The value is the darkest one the image can display, so a masked area reads as
black on any viewer: the lowest stored value for MONOCHROME2 and RGB, the
highest for MONOCHROME1, black (Y 0, chroma at its mid-point) for YCbCr, and
for palette colour the index of the darkest entry of the image's own palette.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_color_lut

from .base import Box, PixelError
from .layout import SampleFormat
from .render import LUMA


def mask_frame(view: np.ndarray, boxes: Iterable[Box], value: np.ndarray, unit_width: int = 1) -> None:
    """Set every box of a (rows, units, samples per unit) frame view to ``value``.

    A unit is ``unit_width`` pixels stored together (two for native YBR_FULL_422,
    whose chroma is shared); a box that cuts a unit masks all of it.
    """
    for box in boxes:
        view[box.y0 : box.y1, box.x0 // unit_width : -(-box.x1 // unit_width)] = value


def darkest(sample_format: SampleFormat, ds: Dataset) -> np.ndarray:
    """The mask value, one entry per sample of a stored unit (Y Y Cb Cr for YBR_FULL_422)."""
    photometric, bits, signed = sample_format.photometric, sample_format.bits_stored, sample_format.signed
    if photometric == "PALETTE COLOR":
        return np.array([_darkest_entry(ds)], dtype=np.int64)
    low = -(1 << (bits - 1)) if signed else 0
    high = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    middle = 1 << (bits - 1)
    values = {
        "MONOCHROME1": [high],
        "MONOCHROME2": [low],
        "RGB": [low] * 3,
        "YBR_FULL": [0, middle, middle],
        "YBR_FULL_422": [0, 0, middle, middle],
    }.get(photometric)
    if values is None:
        raise PixelError(f"{photometric} pixel data cannot be masked")
    return np.array(values, dtype=np.int64)


def _darkest_entry(ds: Dataset) -> int:
    """The stored value that the palette maps to its darkest colour."""
    try:
        entries, first = ds.RedPaletteColorLookupTableDescriptor[:2]
        stored = np.arange(first, first + (entries or 1 << 16))
        colours = apply_color_lut(stored, ds)[..., :3].astype(np.float32)
    except Exception as exc:  # a missing or malformed palette
        raise PixelError(f"palette cannot be read ({type(exc).__name__})") from exc
    return int(stored[np.argmin(colours @ LUMA)])
