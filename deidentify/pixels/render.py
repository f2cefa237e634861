"""Rendering: a decoded frame as a person would see it, in 8 bits.

Monochrome frames go through the modality rescale and the dataset's first VOI
window (PS3.3 C.11.2.1.2.1, linear), or their own min/max (or another frame's)
when no window is given; MONOCHROME1 is inverted so that text shows as on a
viewer.  Palette frames go through their lookup table, YCbCr frames are
converted to RGB.  OCR reads the grey (luminance) image; the preview shows the
colour one.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, convert_color_space

from .base import PixelError
from .frames import Frame

#: ITU-R BT.601 luma weights, as in YBR_FULL's Y (PS3.3 C.7.6.3.1.2).
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def to_display(frame: Frame, ds: Dataset, range_of: Frame | None = None) -> np.ndarray:
    """uint8 (rows, columns) for monochrome frames, (rows, columns, 3) RGB for colour ones.

    ``range_of`` is the frame whose min/max scales a monochrome frame without a
    window (default: ``frame`` itself): a masked copy shown with its original's
    range looks the same as the original wherever nothing was masked.
    """
    try:
        return _display(frame, ds, frame if range_of is None else range_of)
    except Exception as exc:  # a malformed window, rescale or palette
        raise PixelError(f"frame cannot be rendered ({type(exc).__name__})") from exc


def _display(frame: Frame, ds: Dataset, range_of: Frame) -> np.ndarray:
    photometric = frame.format.photometric
    if photometric in ("MONOCHROME1", "MONOCHROME2"):
        return _monochrome(frame.pixels[..., 0], ds, range_of.pixels[..., 0], invert=photometric == "MONOCHROME1")
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(frame.pixels[..., 0], ds)[..., :3]
        bits = _palette_bits(ds, frame.format.bits_stored)
        return _to_8_bits(rgb.astype(np.uint8) if bits == 8 else rgb, bits)
    rgb = _to_8_bits(frame.pixels, frame.format.bits_stored)
    return convert_color_space(rgb, "YBR_FULL", "RGB") if photometric == "YBR_FULL" else rgb


def _palette_bits(ds: Dataset, bits_stored: int) -> int:
    """How many bits the palette's entries use.  8-bit entries in a 16-bit table (PS3.3
    C.7.6.3.1.5 notes implementations that do this) would render nearly black, and text burnt
    into them invisible: they are read as 8 bits, as viewers do.  Decided on the whole table,
    so a masked copy of a frame is shown as its original is."""
    indices = np.arange(2 ** min(bits_stored, 16), dtype=np.uint16 if bits_stored > 8 else np.uint8)
    table = apply_color_lut(indices, ds)
    return 8 if table.dtype.itemsize == 2 and int(table.max(initial=0)) < 256 else 8 * table.dtype.itemsize


def to_gray(frame: Frame, ds: Dataset) -> np.ndarray:
    """uint8 (rows, columns): what the OCR detector reads.

    A YCbCr frame's Y is already the luminance of the RGB it shows (PS3.3 C.7.6.3.1.2 defines
    Y with the same weights), so it is read without converting the frame to RGB and back:
    that round trip cost a second per 120-frame ultrasound cine.
    """
    if frame.format.photometric == "YBR_FULL":
        return _to_8_bits(np.ascontiguousarray(frame.pixels[..., 0]), frame.format.bits_stored)
    return luminance(to_display(frame, ds))


def readings(frame: Frame, ds: Dataset) -> list[np.ndarray]:
    """The 8-bit grey images a text detector reads of one frame: as displayed and, for a
    palette frame, its stored indices too.  A palette can give text and background
    colours a viewer barely tells apart (pydicom-data's OBXXXX1A_2frame, whose second frame
    inverts every index) while the indices still differ: what is stored is what leaks.
    """
    shown = to_gray(frame, ds)
    if frame.format.photometric != "PALETTE COLOR":
        return [shown]
    return [shown, _to_8_bits(frame.pixels[..., 0], frame.format.bits_stored)]


def luminance(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    return np.clip(np.rint(image @ LUMA), 0, 255).astype(np.uint8)


def _monochrome(stored: np.ndarray, ds: Dataset, range_of: np.ndarray, invert: bool) -> np.ndarray:
    window = _window(ds)
    if window is None:
        values = stored.astype(np.float32)
        low, high = float(range_of.min()), float(range_of.max())
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    else:
        centre, width = window
        values = np.asarray(apply_modality_lut(stored, ds), dtype=np.float32)
        scaled = ((values - (centre - 0.5)) / max(width - 1.0, 1e-6) + 0.5) * 255.0
    gray = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return 255 - gray if invert else gray


def _window(ds: Dataset) -> tuple[float, float] | None:
    """The first Window Center and Width, or None when absent or unreadable."""
    try:
        centre, width = (_first(ds.get(keyword)) for keyword in ("WindowCenter", "WindowWidth"))
        window = float(centre), float(width)  # type: ignore[arg-type]
    except (TypeError, ValueError, IndexError):
        return None
    return window if window[1] >= 1 else None


def _first(value: object) -> object:
    return value[0] if isinstance(value, MultiValue) else value


def _to_8_bits(values: np.ndarray, bits: int) -> np.ndarray:
    if values.dtype == np.uint8:
        return values
    return (values.astype(np.float64) * (255.0 / (2**bits - 1))).round().clip(0, 255).astype(np.uint8)
