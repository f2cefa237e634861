"""What every pixel detector shares: the interface and the ways it can fail.

A detector looks at one rendered frame (8-bit grayscale, rows x columns) and
returns :class:`~deidentify.pixels.base.Box` es of burnt-in text.  When it
cannot look -- its engine is missing, or fails on this image -- it raises a
:class:`DetectorError`, never returns an empty list: "found nothing" and
"could not look" must not be confused, because the first lets an image out
and the second must withhold it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...errors import DeidentifyError
from ..base import Box, GlyphReader, PixelDetector

if TYPE_CHECKING:
    from deidentify.detect.base import Detector

__all__ = [
    "Box",
    "CombinedDetector",
    "DetectorError",
    "DetectorUnavailable",
    "PixelDetector",
    "Word",
    "boxes_to_mask",
    "check_frame",
    "classify",
    "merge_boxes",
    "overlap",
]


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


def classify(line: list[Word], detectors: Sequence[Detector], label: str) -> list[Word]:
    """The words of one line, each with the kind of the first detector finding that overlaps it
    (``own`` when that detector knows the dataset's own values); boxes get ``label``."""
    if not detectors:
        return line
    text = ""
    spans: list[tuple[int, int]] = []
    for word in line:
        if text:
            text += " "
        spans.append((len(text), len(text) + len(word.text)))
        text += word.text
    from deidentify.detect import OwnValuesDetector

    kinds = [""] * len(line)
    own = [False] * len(line)
    for detector in detectors:
        is_own = isinstance(detector, OwnValuesDetector)
        for finding in detector.find(text):
            for index, (start, end) in enumerate(spans):
                if not kinds[index] and start < finding.end and finding.start < end:
                    kinds[index] = finding.kind
                    own[index] = is_own
    return [
        Word(Box(w.box.x0, w.box.y0, w.box.x1, w.box.y1, label, kind), w.text, w.confidence, kind, w.source, mine)
        if kind
        else w
        for w, kind, mine in zip(line, kinds, own, strict=True)
    ]


def boxes_to_mask(words: Iterable[Word], padding: int, shape: tuple[int, ...]) -> list[Box]:
    """Each word's box widened by ``padding`` and kept inside a frame of ``shape`` (rows,
    columns), boxes that mostly overlap merged: what an engine's ``find`` returns."""
    rows, columns = shape[:2]
    return merge_boxes([box for word in words if (box := word.box.padded(padding).clipped(columns, rows)) is not None])


def merge_boxes(boxes: list[Box]) -> list[Box]:
    """One box for each word read several times: boxes that mostly overlap become their
    union, with the kind one of them was given (an identifying kind wins over none)."""
    merged: list[Box] = []
    for box in sorted(boxes, key=lambda b: (b.y0, b.x0, b.y1, b.x1, b.kind)):
        for index, other in enumerate(merged):
            if overlap(box, other) >= 0.5:
                merged[index] = Box(
                    min(box.x0, other.x0),
                    min(box.y0, other.y0),
                    max(box.x1, other.x1),
                    max(box.y1, other.y1),
                    box.label,
                    other.kind or box.kind,
                )
                break
        else:
            merged.append(box)
    return merged


def overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box's area."""
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    if width <= 0 or height <= 0:
        return 0.0
    smaller = min((a.x1 - a.x0) * (a.y1 - a.y0), (b.x1 - b.x0) * (b.y1 - b.y0))
    return width * height / smaller


class CombinedDetector:
    """Several engines read each frame; every box any of them finds is masked.

    One engine's failure is the whole detector's: a frame read by half the
    engines a profile asked for is not read.
    """

    def __init__(self, engines: Sequence[PixelDetector]) -> None:
        if not engines:
            raise ValueError("a combined detector needs at least one engine")
        self.engines = tuple(engines)

    def find(self, image: np.ndarray, own_values: Iterable[Detector] = ()) -> list[Box]:
        """The union of every engine's boxes (boxes that mostly overlap merged)."""
        detectors = list(own_values)
        return merge_boxes([box for engine in self.engines for box in engine.find(image, detectors)])

    def reads_glyph(self, glyph: np.ndarray) -> bool:
        """Whether an engine that reads lone glyphs reads ``glyph`` as a letter or digit."""
        return any(engine.reads_glyph(glyph) for engine in self.engines if isinstance(engine, GlyphReader))
