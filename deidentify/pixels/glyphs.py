"""Lone glyphs: a letter standing alone, which a text-line detector does not see as a line.

The text detector (DBNet) finds lines of text; over a single letter inside an icon (the
"P" of a probe icon) its probability map stays at 0.05 or less.  :func:`find_glyphs`
looks for glyphs one by one: the stable regions of a glyph's size (OpenCV's MSER) that
stand out as drawn, each cut out of its ground and given to the recogniser
(:class:`~.base.GlyphReader`), which must read it as a letter or digit.

What "stands out as drawn" means depends on what else is known of the image:

* In a cine, what stays still while the picture moves is the overlay (:mod:`.cine`):
  there a glyph must lie in the overlay and stand on a plain ground
  (:func:`on_plain_ground`).
* In an image of fewer than :data:`OVERLAY_FRAMES` frames, nothing tells the overlay from
  the picture.  There a glyph must look drawn by a device (:func:`drawn`): one grey
  throughout, strokes at least two pixels wide, far from the grey of its ground.
  :func:`read_drawn_glyphs` reads each frame of such an image beside the text detector
  (:func:`~.clean.find_text`), searching only around blocks of one grey that stand out
  (MSER over a frame of speckle would cost more than the detector).

Only frames of up to :data:`GLYPH_FRAME_PIXELS` are searched: the text detector reads larger
frames scaled down, where a glyph of a few pixels is a speck (and MSER's work and memory
grow with the pixels).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

import numpy as np

from .base import TEXT_LABEL, Box, GlyphReader, PixelDetector, PixelError, corners_of
from .layout import ImageLayout

__all__ = [
    "GLYPH_FRAME_PIXELS", "OVERLAY_FRAMES", "StandsOut", "drawn", "drawn_glyph_reader", "find_glyphs",
    "glyph_reader", "on_plain_ground", "read_drawn_glyphs",
]

#: The fewest frames over which what stays still can be told from the picture: in a pair of
#: frames, or a series of copies, what stays the same may be the picture itself.
OVERLAY_FRAMES = 3
#: The largest frame searched for lone glyphs: the largest the text detector reads unscaled.
GLYPH_FRAME_PIXELS = 2048 * 2048

# A lone glyph, in pixels: smaller is a speck, larger the detector reads as a line.
_GLYPH_HEIGHT = (5, 24)
_GLYPH_WIDTH = (3, 20)
_GLYPH_ASPECT = (0.3, 1.3)
_GLYPH_AREA = (12, 480)
_RING = 2
# A frame with more glyphs standing out than this is a texture, not an icon: the first ones
# found are read, so that a hostile frame costs at most this many readings, wherever they lie.
_MOST_GLYPHS = 64

# On a plain ground: the median absolute Laplacian around the glyph (a glyph's height on each
# side): 0-4 around text, 24-30 in a probe icon's shaded ball, 56-102 in the anatomy of a
# still ultrasound or CT, where specks read as "4", "5" or "r" with confidence.
_PLAIN_GROUND = 40
# A glyph drawn over a ground stands out from it (78-150 grey levels for the probe icons' "P");
# the blobs of a smooth picture do not.
_CONTRAST = 40

# Drawn by a device, measured on 280 real files (pydicom's, pydicom-data, deid-data,
# octave-dicom): the probe icons' "P" and "G" are one grey throughout (68-100 % of their
# pixels, 100 % at the heart of the glyph that MSER finds), their strokes two pixels wide, and
# 106-212 grey levels from their ground.  What else reads as a letter or digit there: specks
# of an echo's colour Doppler ("4", "5": 40-43 levels from their ground), a patch of a CT
# (one grey over 71 % of it).  A CT's saturated bone is one grey and far from its ground
# too, but reads as "1", "十" or "中", which the recogniser does not take for a lone glyph.
_ONE_GREY = 0.9
_TWO_PIXEL_STROKES = 0.2
_DRAWN_CONTRAST = 80
# Where to look for drawn glyphs: a block of one grey this far from the median grey of the
# square of this side around it (larger than the largest glyph's strokes, so that the ground
# is the most common grey there), looser than _DRAWN_CONTRAST.
_SEEDS = 60
_SEEDS_AROUND = 11

#: Which glyphs stand out as drawn: the image, each glyph's pixels (x, y), their boxes (x0, y0, x1, y1).
StandsOut = Callable[[np.ndarray, Sequence[np.ndarray], np.ndarray], np.ndarray]
# A glyph: its pixels (x, y) and its box (x0, y0, x1, y1).
_Glyph = tuple[np.ndarray, np.ndarray]
# Glyphs whose greys are counted at once (a count of 256 for each): 8 MB.
_GREYS_AT_ONCE = 4096


def glyph_reader(layout: ImageLayout, detector: PixelDetector) -> GlyphReader | None:
    """``detector`` where it reads lone glyphs and this layout's frames are searched for them (up to
    :data:`GLYPH_FRAME_PIXELS`), None elsewhere."""
    if isinstance(detector, GlyphReader) and layout.rows * layout.columns <= GLYPH_FRAME_PIXELS:
        return detector
    return None


def drawn_glyph_reader(layout: ImageLayout, detector: PixelDetector) -> GlyphReader | None:
    """The reader of lone drawn glyphs in an image of this layout: :func:`glyph_reader` in an image of
    fewer than :data:`OVERLAY_FRAMES` frames (a cine's glyphs are read in :mod:`.cine`)."""
    return glyph_reader(layout, detector) if layout.frames < OVERLAY_FRAMES else None


def read_drawn_glyphs(grays: Sequence[np.ndarray], found: Sequence[Box], reader: GlyphReader) -> list[Box]:
    """The lone glyphs that look drawn on the readings ``grays`` of one frame, outside ``found`` (the
    text found on it)."""
    # The bound on readings holds for the frame: the places are searched in turn until it is reached.
    return _read(islice(_drawn_candidates(grays, corners_of(found)), _MOST_GLYPHS), reader)


def _drawn_candidates(grays: Sequence[np.ndarray], corners: np.ndarray) -> Iterator[_Glyph]:
    """The glyphs that look drawn on each reading, place by place, in the frame's coordinates."""
    # Each reading of the frame, as text is read: a palette's indices can show what its colours hide.
    for gray in grays:
        for x0, y0, x1, y1 in _places_to_search(gray, corners):
            part = np.ascontiguousarray(gray[y0:y1, x0:x1])
            for pixels, box in _standing(part, None, corners - (x0, y0, x0, y0), drawn):
                yield pixels + (x0, y0), box + (x0, y0, x0, y0)


def _places_to_search(gray: np.ndarray, corners: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The parts of a frame (x0, y0, x1, y1) where a drawn glyph may lie, outside ``corners``.

    MSER over a whole frame of speckle costs more than the detector (0.1 s and 40 MB on a
    1024 x 768 ultrasound image).  A drawn glyph holds blocks of 2 x 2 pixels of one grey
    (``_SEEDS``) far from the grey that is most common around it; each part is such blocks with
    room around them for the largest glyph and its ground, the whole frame if they are many."""
    import cv2

    flat = np.zeros(gray.shape, dtype=bool)
    block = gray[:-1, :-1]
    flat[:-1, :-1] = (block == gray[1:, :-1]) & (block == gray[:-1, 1:]) & (block == gray[1:, 1:])
    around = cv2.medianBlur(gray, _SEEDS_AROUND)
    seeds = flat & (cv2.absdiff(gray, around) >= _SEEDS)
    for x0, y0, x1, y1 in corners:
        seeds[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = False
    if not seeds.any():
        return []
    reach = 2 * _GLYPH_HEIGHT[1]
    grown = cv2.dilate(seeds.view(np.uint8), np.ones((2 * reach + 1, 2 * reach + 1), dtype=np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    places = [(int(x), int(y), int(x + width), int(y + height)) for x, y, width, height, _ in stats[1:count]]
    if sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in places) > gray.size // 2:
        return [(0, 0, gray.shape[1], gray.shape[0])]
    return places


def find_glyphs(
    image: np.ndarray, where: np.ndarray | None, corners: np.ndarray, reader: GlyphReader, stands_out: StandsOut
) -> list[Box]:
    """Boxes of the lone glyphs of ``image`` that lie, with a ring of ``_RING`` pixels, in ``where``
    (the whole image if None), outside ``corners`` (text already found), stand out, and read."""
    return _read(islice(_standing(image, where, corners, stands_out), _MOST_GLYPHS), reader)


def _standing(
    image: np.ndarray, where: np.ndarray | None, corners: np.ndarray, stands_out: StandsOut
) -> Iterator[_Glyph]:
    """The glyph-shaped stable regions of ``image`` in ``where``, outside ``corners``, that stand out."""
    import cv2

    mser = cv2.MSER.create(delta=5, min_area=_GLYPH_AREA[0], max_area=_GLYPH_AREA[1])
    regions, found = mser.detectRegions(image)
    bounds = np.asarray(found, dtype=np.intp).reshape(-1, 4)
    x, y, width, height = bounds.T
    # A frame of speckle has thousands of stable regions: those of a glyph's shape, once each
    # and outside the text already found, are sifted out together.
    candidate = (
        (_GLYPH_HEIGHT[0] <= height) & (height <= _GLYPH_HEIGHT[1])
        & (_GLYPH_WIDTH[0] <= width) & (width <= _GLYPH_WIDTH[1])
        & (width >= _GLYPH_ASPECT[0] * height) & (width <= _GLYPH_ASPECT[1] * height)
    )
    once = np.zeros(len(bounds), dtype=bool)
    once[np.unique(bounds, axis=0, return_index=True)[1]] = True
    candidate &= once
    if len(corners):
        x0, y0, x1, y1 = (column[:, None] for column in corners.T)
        candidate &= ~((x0 <= x) & (y0 <= y) & (x1 >= x + width) & (y1 >= y + height)).any(axis=0)
    indices = np.flatnonzero(candidate)
    boxes = np.stack((x, y, x + width, y + height), axis=1)[indices]
    if where is not None:
        inside = [bool(where[max(0, y0 - _RING) : y1 + _RING, max(0, x0 - _RING) : x1 + _RING].all())
                  for x0, y0, x1, y1 in boxes]
        indices, boxes = indices[inside], boxes[inside]
    points = [np.asarray(regions[index]) for index in map(int, indices)]
    for index in map(int, np.flatnonzero(stands_out(image, points, boxes))):
        yield points[index], boxes[index]


def _read(candidates: Iterable[_Glyph], reader: GlyphReader) -> list[Box]:
    """Boxes of the ``candidates`` that ``reader`` reads as a letter or digit."""
    glyphs = []
    for pixels, box in candidates:
        left, top, right, bottom = (int(value) for value in box)
        # The glyph alone, white on black, with a margin of its height: how a recogniser sees a character.
        margin = bottom - top
        glyph = np.zeros((3 * margin, right - left + 2 * margin), dtype=np.uint8)
        glyph[pixels[:, 1] - top + margin, pixels[:, 0] - left + margin] = 255
        try:
            reads = reader.reads_glyph(glyph)
        except Exception as exc:  # any failure of the recogniser leaves the glyph unread
            raise PixelError(f"OCR failed: {type(exc).__name__}") from exc
        if reads:
            glyphs.append(Box(left, top, right, bottom, TEXT_LABEL))
    return glyphs


def on_plain_ground(image: np.ndarray) -> StandsOut:
    """Glyphs of ``image`` whose ground (their height on each side, their box left out) has a
    median absolute Laplacian up to ``_PLAIN_GROUND``, and whose mean grey is ``_CONTRAST``
    from the ground's median."""
    import cv2

    laplacian = np.abs(cv2.Laplacian(image, cv2.CV_16S, ksize=3))

    def stands_out(image: np.ndarray, points: Sequence[np.ndarray], boxes: np.ndarray) -> np.ndarray:
        standing = np.zeros(len(points), dtype=bool)
        for index, (pixels, box) in enumerate(zip(points, boxes, strict=True)):
            ground = _ground(image.shape, box)
            if ground is not None and float(np.median(laplacian[ground[0]][ground[1]])) <= _PLAIN_GROUND:
                standing[index] = _contrast(image, pixels, *ground) >= _CONTRAST
        return standing

    return stands_out


def drawn(image: np.ndarray, points: Sequence[np.ndarray], boxes: np.ndarray) -> np.ndarray:
    """Which glyphs look drawn by a device: ``_ONE_GREY`` of their pixels one grey, strokes two
    pixels wide (``_TWO_PIXEL_STROKES`` of their pixels left by an erosion of 2 x 2), and a mean
    grey ``_DRAWN_CONTRAST`` from their ground's median."""
    import cv2

    standing = _one_grey(image, points)
    for index in map(int, np.flatnonzero(standing)):
        pixels, (x0, y0, x1, y1) = points[index], boxes[index]
        shape = np.zeros((y1 - y0 + 2, x1 - x0 + 2), dtype=np.uint8)
        shape[pixels[:, 1] - y0 + 1, pixels[:, 0] - x0 + 1] = 1
        ground = _ground(image.shape, boxes[index])
        standing[index] = (
            int(cv2.erode(shape, np.ones((2, 2), dtype=np.uint8)).sum()) >= _TWO_PIXEL_STROKES * len(pixels)
            and ground is not None
            and _contrast(image, pixels, *ground) >= _DRAWN_CONTRAST
        )
    return standing


def _one_grey(image: np.ndarray, points: Sequence[np.ndarray]) -> np.ndarray:
    """Which glyphs have ``_ONE_GREY`` of their pixels one grey, counted for many glyphs at once: a
    frame of speckle has thousands of glyph-shaped regions, and this test rules out nearly all."""
    one_grey = np.zeros(len(points), dtype=bool)
    for start in range(0, len(points), _GREYS_AT_ONCE):
        some = points[start : start + _GREYS_AT_ONCE]
        sizes = np.array([len(pixels) for pixels in some])
        pixels = np.concatenate(some)
        glyph = np.repeat(np.arange(len(some)), sizes)
        counts = np.bincount(glyph * 256 + image[pixels[:, 1], pixels[:, 0]], minlength=len(some) * 256)
        one_grey[start : start + len(some)] = counts.reshape(len(some), 256).max(axis=1) >= _ONE_GREY * sizes
    return one_grey


def _ground(shape: tuple[int, ...], box: np.ndarray) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """The window around a glyph's box (its height on each side) and, in it, the pixels off the box."""
    x0, y0, x1, y1 = (int(value) for value in box)
    margin = y1 - y0
    top, left = max(0, y0 - margin), max(0, x0 - margin)
    around = np.ones((min(shape[0], y1 + margin) - top, min(shape[1], x1 + margin) - left), dtype=bool)
    around[max(0, y0 - 1 - top) : y1 + 1 - top, max(0, x0 - 1 - left) : x1 + 1 - left] = False
    if not around.any():
        return None
    return (slice(top, top + around.shape[0]), slice(left, left + around.shape[1])), around


def _contrast(image: np.ndarray, points: np.ndarray, window: tuple[slice, slice], around: np.ndarray) -> float:
    """How far a glyph's mean grey is from its ground's median."""
    return abs(float(image[points[:, 1], points[:, 0]].mean()) - float(np.median(image[window][around])))
