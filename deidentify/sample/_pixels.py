"""Pixel data for the sample: simple phantoms plus text burnt into the image.

Noise comes from the raw output of NumPy's PCG64 bit generator, whose stream is
fixed across NumPy versions (``Generator`` methods are not), and text is drawn
with Pillow's bitmap font (its FreeType default can change between builds), so
the same seed gives the same bytes everywhere.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Pillow >= 10.1 returns a FreeType font from load_default(); the bitmap font it
# returned before is the one that renders identically on every build.
_FONT = getattr(ImageFont, "load_default_imagefont", ImageFont.load_default)()
LINE_HEIGHT = 12

CT_SIZE = MR_SIZE = 64
US_ROWS, US_COLUMNS = 240, 320
SC_SIZE = 256


def _noise(seed: int, shape: tuple[int, ...], spread: int) -> np.ndarray:
    """Uniform integers in ``[-spread, spread]``."""
    raw = np.random.PCG64(seed).random_raw(int(np.prod(shape)))
    return (raw % np.uint64(2 * spread + 1)).astype(np.int32).reshape(shape) - spread


def _ellipse(shape: tuple[int, int], centre: tuple[float, float], radii: tuple[float, float]) -> np.ndarray:
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    return ((rows - centre[0]) / radii[0]) ** 2 + ((cols - centre[1]) / radii[1]) ** 2 <= 1


def text_mask(lines: list[str], shape: tuple[int, int], origin: tuple[int, int] = (2, 1)) -> np.ndarray:
    """Boolean mask of ``lines`` drawn top-left from ``origin`` (x, y), one line per 12 rows."""
    image = Image.new("1", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((origin[0], origin[1] + i * LINE_HEIGHT), line, font=_FONT, fill=1)
    return np.array(image, dtype=bool)


def ct_slice(seed: int, position: float) -> np.ndarray:
    """A 64×64 axial chest slice in stored values (HU + 1024), 12 bits."""
    shape = (CT_SIZE, CT_SIZE)
    hu = np.full(shape, -1000, dtype=np.int32)
    hu[_ellipse(shape, (32, 32), (22, 29))] = 40
    lung = 9 + 2 * np.sin(position / 20)
    hu[_ellipse(shape, (30, 20), (13, lung))] = -850
    hu[_ellipse(shape, (30, 44), (13, lung))] = -850
    hu[_ellipse(shape, (48, 32), (4, 4))] = 700
    hu[_ellipse(shape, (28, 33), (5, 5))] = 160
    hu += _noise(seed, shape, 12)
    return np.clip(hu + 1024, 0, 4095).astype("<u2")


def mr_slice(seed: int, position: float) -> np.ndarray:
    """A 64×64 head slice: bright scalp, grey brain, dark ventricles; 12 bits."""
    shape = (MR_SIZE, MR_SIZE)
    image = np.zeros(shape, dtype=np.int32)
    image[_ellipse(shape, (32, 32), (27, 22))] = 1600
    image[_ellipse(shape, (32, 32), (24, 19))] = 900
    ventricle = max(1.0, 6 - abs(position) / 8)
    image[_ellipse(shape, (30, 28), (ventricle, 2))] = 250
    image[_ellipse(shape, (30, 36), (ventricle, 2))] = 250
    image += _noise(seed, shape, 40) * (image > 0)
    return np.clip(image, 0, 4095).astype("<u2")


def us_frame(seed: int, banner: list[str], phase: float = 0.0) -> np.ndarray:
    """A 240×320 RGB B-mode frame: speckled sector, a moving cyst, a text banner, a grey bar."""
    shape = (US_ROWS, US_COLUMNS)
    rows, cols = np.mgrid[: shape[0], : shape[1]].astype(float)
    apex_row, apex_col = 40.0, US_COLUMNS / 2
    radius = np.hypot(rows - apex_row, cols - apex_col)
    angle = np.arctan2(cols - apex_col, rows - apex_row)
    sector = (radius > 12) & (radius < 198) & (np.abs(angle) < 0.65)
    grey = 90 + _noise(seed, shape, 60) - (radius * 0.2).astype(np.int32)
    grey[_ellipse(shape, (130 + 20 * np.sin(phase), 150 + 15 * np.cos(phase)), (22, 30))] //= 5
    grey = np.where(sector, np.clip(grey, 0, 255), 0)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    rgb[40:220, 300:310] = np.linspace(255, 0, 180).astype(np.int32)[:, None, None]
    rgb[text_mask(banner, shape)] = (255, 255, 160)
    return rgb.astype(np.uint8)


def screen(lines: list[str]) -> np.ndarray:
    """A 256×256 8-bit screenshot of a text page, as a workstation would capture it."""
    shape = (SC_SIZE, SC_SIZE)
    image = np.full(shape, 24, dtype=np.uint8)
    image[: LINE_HEIGHT + 2] = 70
    image[text_mask(lines, shape)] = 235
    return image


def overlay_bits(text: str, shape: tuple[int, int]) -> bytes:
    """OverlayData for ``text`` drawn in the lower-left corner: 1 bit per pixel, row-major, LSB first."""
    mask = np.zeros(shape, dtype=bool)
    mask[-LINE_HEIGHT - 2 :] = text_mask([text], (LINE_HEIGHT + 2, shape[1]))
    packed = np.packbits(mask.ravel(), bitorder="little").tobytes()
    return packed + b"\0" * (len(packed) % 2)
