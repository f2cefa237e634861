"""What every pixel detector shares: the interface and the ways it can fail.

A detector looks at one rendered frame (8-bit grayscale, rows x columns) and
returns :class:`~deidentify.pixels.base.Box` es of burnt-in text.  When it
cannot look -- its engine is missing, or fails on this image -- it raises a
:class:`DetectorError`, never returns an empty list: "found nothing" and
"could not look" must not be confused, because the first lets an image out
and the second must withhold it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import DeidentifyError
from ..base import Box, PixelDetector

__all__ = ["Box", "DetectorError", "DetectorUnavailable", "PixelDetector", "Word", "check_frame"]


class DetectorError(DeidentifyError, RuntimeError):
    """A detector could not examine an image; the image must be withheld.

    The message names the detector and the cause, never pixel or text content.
    """


class DetectorUnavailable(DetectorError):
    """A detector's engine is not installed or not usable on this machine
    (e.g. the ``tesseract`` program or its language data is missing)."""


@dataclass(frozen=True)
class Word:
    """One word a detector read.  ``text`` is what the image shows -- possibly PHI:
    keep it in memory, never log or report it.  ``kind`` is the class of
    identifying value a text detector recognised in it (``name``, ``id``,
    ``date``...), or ``""``; ``own`` when that was one of the dataset's own
    values; ``source`` names the reading it came from."""

    box: Box
    text: str
    confidence: float
    kind: str = ""
    source: str = ""
    own: bool = False


def check_frame(image: np.ndarray) -> np.ndarray:
    """``image`` as a 2-D uint8 array, or ``ValueError`` saying why it is not one."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"a frame is a numpy array, not {type(image).__name__}")
    if image.ndim != 2:
        raise ValueError(f"a frame is 2-D grayscale (rows x columns), not of shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"a frame is 8-bit (uint8), not {image.dtype}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"an empty frame {image.shape}")
    return image
