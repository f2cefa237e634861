"""Small, blurred thumbnails of images with pixel findings, for the HTML report.

The report leaves the secure area, so a thumbnail must show *which* image and
*where*, not what the burnt-in text says: it is at most 128 pixels wide and
blurred until letters run together.  A finding's region is outlined in red.

Until the pixel stage's renderer is shared, this renders the first frame with
pydicom and a min-max window; an image pydicom cannot decode gets no thumbnail.
"""

from __future__ import annotations

from io import BytesIO

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from pydicom.dataset import Dataset

MAX_SIDE = 128
_BLUR_RADIUS = 1.6


def _first_frame(ds: Dataset) -> np.ndarray | None:
    try:
        pixels = ds.pixel_array
    except Exception:  # no handler for the transfer syntax, broken pixel data: no thumbnail
        return None
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if frames > 1:
        pixels = pixels[0]
    if samples > 1:
        pixels = pixels.mean(axis=-1)
    return pixels if pixels.ndim == 2 else None


def thumbnail_png(ds: Dataset, region: tuple[int, int, int, int] | None = None) -> bytes | None:
    """A PNG of ``ds``'s first frame, at most :data:`MAX_SIDE` pixels, blurred; None if it cannot be drawn."""
    frame = _first_frame(ds)
    if frame is None or frame.size == 0:
        return None
    frame = frame.astype(np.float64)
    low, high = float(frame.min()), float(frame.max())
    if high <= low:
        scaled = np.zeros(frame.shape, np.uint8)
    else:
        scaled = ((frame - low) * (255.0 / (high - low))).astype(np.uint8)
    image = Image.fromarray(scaled, "L").convert("RGB")
    factor = MAX_SIDE / max(image.size)
    if factor < 1:
        image = image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))))
    image = image.filter(ImageFilter.GaussianBlur(_BLUR_RADIUS))
    if region is not None:
        scale = min(factor, 1.0)
        x0, y0, x1, y1 = (round(v * scale) for v in region)
        ImageDraw.Draw(image).rectangle((x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)), outline=(255, 0, 0))
    buffer = BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
