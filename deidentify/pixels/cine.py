"""What the frames of a cine show together that no one frame does.

Each frame of a multi-frame image is read on its own (:func:`~.clean.find_text`).
With every frame's findings in hand, one more pass over the frames adds two things:

* **Text found on one frame is masked wherever its pixels stay.**  The detector reads
  a frame as a whole, so a line at the edge of what it can see is found on some
  frames and not on others while its own pixels never change (pydicom's 30-frame
  ``examples_ybr_color``: a faint 5 x 6 pixel "B", found on one frame).  A box found
  on a frame is carried to the frames before and after it for as long as the pixels
  under it stay as they were on the frame before (``_STILL``).
* **A glyph standing alone in the overlay is read.**  Where the picture moves, what
  stays the same on every frame is drawn over it.  A letter standing alone there (the
  "P" of a probe icon) is no line of text to the detector: the lone glyphs lying in
  the overlay and standing on a plain ground (:func:`~.glyphs.on_plain_ground`: a
  flat background or a shaded icon, not the texture of anatomy, for a picture can
  stand still in a cine too, as the frozen half of a dual display does) are read
  (:func:`~.glyphs.find_glyphs`), and one that reads as a letter or digit is masked
  on every frame.  Only in a cine of :data:`~.glyphs.OVERLAY_FRAMES` frames or more of
  which at least ``_MOVING`` of the pixels change, and only in frames of up to
  :data:`~.glyphs.GLYPH_FRAME_PIXELS`.

Both only add masks, and only over pixels that do not move.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydicom.dataset import Dataset

from .base import Box, PixelDetector, PixelError, corners_of
from .detectors.base import merge_boxes
from .frames import decode_frames
from .glyphs import OVERLAY_FRAMES, find_glyphs, glyph_reader, on_plain_ground
from .layout import ImageLayout
from .render import to_gray

__all__ = ["read_across_frames"]

# Mean grey-level change under a box from one frame to the next that still counts as the same
# pixels (lossy cines vary by a level or two where nothing changed; moving anatomy by 3 to 25).
_STILL = 2.0
# How far a pixel of the overlay may vary across all the frames of a cine.
_OVERLAY_SPREAD = 2
# Frames up to this many pixels sum the change under their boxes in a 32-bit integral image.
_INTEGRAL_PIXELS = (2**31 - 1) // 255
_MOVING = 0.2


def read_across_frames(
    source_ds: Dataset, layout: ImageLayout, found: Sequence[tuple[Box, ...]], detector: PixelDetector
) -> list[tuple[Box, ...]]:
    """``found`` (the detector's boxes on each frame), with the boxes the frames show together added."""
    if layout.frames < 2:
        return list(found)
    reader = glyph_reader(layout, detector) if layout.frames >= OVERLAY_FRAMES else None
    boxes = _distinct(found, layout.columns, layout.rows)
    if not (boxes or reader):
        return list(found)
    corners = corners_of(boxes)
    still = np.zeros((layout.frames, len(boxes)), dtype=bool)
    previous: np.ndarray | None = None
    bounds: tuple[np.ndarray, np.ndarray] | None = None  # each pixel's lowest and highest grey, for the overlay
    read = 0
    # A second pass over the frames: the first may have been read in parts by other workers, and
    # what this one needs of every frame (its pixels under each box, its lowest and highest grey)
    # is too large to come back from them.
    for frame in decode_frames(source_ds, layout, for_reading=True):
        gray = to_gray(frame, source_ds)
        if previous is not None and boxes:
            still[read] = _still(previous, gray, corners)
        if reader is not None:
            if bounds is None:
                bounds = gray.copy(), gray.copy()
            else:
                np.minimum(bounds[0], gray, out=bounds[0])
                np.maximum(bounds[1], gray, out=bounds[1])
        previous = gray
        read += 1
    if read != layout.frames:
        raise PixelError("frames were left unread")
    present = _present(found, corners)
    added = _carried(present, still) & ~present
    result = [[*frame_boxes, *(boxes[k] for k in np.flatnonzero(row))]
              for frame_boxes, row in zip(found, added, strict=True)]
    if reader is not None and bounds is not None:
        low, high = bounds
        overlay = (high - low) <= _OVERLAY_SPREAD
        if 1 - float(overlay.mean()) >= _MOVING:
            # Where the overlay is, every frame shows the same: its lowest grey is any frame's.  What
            # moves is blanked, so MSER does not spend its time on the picture.
            image = np.where(overlay, low, 0).astype(np.uint8)
            glyphs = find_glyphs(image, overlay, corners, reader, on_plain_ground(image))
            result = [[*frame_boxes, *glyphs] for frame_boxes in result]
    return [tuple(merge_boxes(now)) if len(now) > len(before) else tuple(before)
            for before, now in zip(found, result, strict=True)]


def _distinct(found: Sequence[tuple[Box, ...]], columns: int, rows: int) -> list[Box]:
    """Each place inside the frame a box was found on any frame, once (with the kind of value
    recognised there, if any)."""
    distinct: dict[tuple[int, int, int, int], Box] = {}
    for frame_boxes in found:
        for found_box in frame_boxes:
            box = found_box.clipped(columns, rows)
            if box is None:
                continue
            place = (box.x0, box.y0, box.x1, box.y1)
            if place not in distinct or (box.kind and not distinct[place].kind):
                distinct[place] = box
    return list(distinct.values())


def _still(previous: np.ndarray, gray: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """For each box, whether its pixels on ``gray`` are those of ``previous`` (a mean change up to ``_STILL``)."""
    import cv2

    rows, columns = gray.shape
    difference = cv2.absdiff(previous, gray)
    x0, y0, x1, y1 = corners.T
    if rows * columns <= _INTEGRAL_PIXELS:
        total = cv2.integral(difference, sdepth=cv2.CV_32S)
        sums = total[np.stack((y1, y0, y1, y0)), np.stack((x1, x1, x0, x0))].astype(np.int64)
        change = sums[0] - sums[1] - sums[2] + sums[3]
    else:  # an integral image of a frame this large needs 64-bit sums: 8 bytes a pixel
        change = np.array([difference[top:bottom, left:right].sum(dtype=np.int64)
                           for left, top, right, bottom in corners], dtype=np.int64)
    return np.asarray(change <= _STILL * (x1 - x0) * (y1 - y0))


def _present(found: Sequence[tuple[Box, ...]], corners: np.ndarray) -> np.ndarray:
    """(frames, boxes): whether each box lies inside a box found on each frame."""
    present = np.zeros((len(found), len(corners)), dtype=bool)
    x0, y0, x1, y1 = corners.T
    for index, frame_boxes in enumerate(found):
        for box in frame_boxes:
            present[index] |= (x0 >= box.x0) & (y0 >= box.y0) & (x1 <= box.x1) & (y1 <= box.y1)
    return present


def _carried(present: np.ndarray, still: np.ndarray) -> np.ndarray:
    """Each box on the frames it was found on, and on the runs of frames before and after them
    over which its pixels stay still (``still[i]``: frame i against frame i - 1)."""
    carried = present.copy()
    run = present[0].copy()
    for index in range(1, len(present)):
        run = present[index] | (run & still[index])
        carried[index] |= run
    run = present[-1].copy()
    for index in range(len(present) - 2, -1, -1):
        run = present[index] | (run & still[index + 1])
        carried[index] |= run
    return carried
