"""What the pixel stage's parts share: boxes, decisions and the pixel detector interface.

Coordinates are in pixels of the stored image: x to the right, y down, ``x1``
and ``y1`` exclusive, so a box covers columns x0..x1-1 and rows y0..y1-1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from ..errors import DeidentifyError

if TYPE_CHECKING:
    from ..detect.base import Detector


#: The label of every box a text detector finds (a rule's boxes carry the rule's name).
TEXT_LABEL = "text"


@dataclass(frozen=True)
class Box:
    """A rectangle to mask, and why: ``label`` is a rule's name or ``text`` (OCR);
    ``kind`` says which class of value OCR recognised (never the value)."""

    x0: int
    y0: int
    x1: int
    y1: int
    label: str
    kind: str = ""

    def clipped(self, columns: int, rows: int) -> Box | None:
        x0, y0 = max(0, self.x0), max(0, self.y0)
        x1, y1 = min(columns, self.x1), min(rows, self.y1)
        if x0 >= x1 or y0 >= y1:
            return None
        return Box(x0, y0, x1, y1, self.label, self.kind)

    def padded(self, padding: int) -> Box:
        return Box(self.x0 - padding, self.y0 - padding, self.x1 + padding, self.y1 + padding, self.label, self.kind)


def corners_of(boxes: Iterable[Box]) -> np.ndarray:
    """The boxes' corners as rows (x0, y0, x1, y1) of an array, to compare many boxes at once."""
    return np.array([(box.x0, box.y0, box.x1, box.y1) for box in boxes], dtype=np.intp).reshape(-1, 4)


@dataclass(frozen=True)
class RegionDecision:
    """What the device rules say about one image.

    ``boxes`` to mask; ``whole`` to blank the whole image; ``keep`` areas that
    may stay (e.g. the ultrasound regions); ``clean`` when a rule declares the
    image free of burnt-in text (OCR findings still win over it).

    ``keep`` areas are exempt from ``whole`` only: ``boxes`` (and OCR's boxes)
    are masked wherever they are.  ``flags`` names the rules that say the image
    has burnt-in text at places they do not know (deid's blacklist, a graylist
    label without coordinates); ``rules`` names every rule that applied.
    """

    boxes: Sequence[Box] = ()
    whole: bool = False
    keep: Sequence[Box] = ()
    clean: bool = False
    rules: Sequence[str] = field(default_factory=tuple)
    flags: Sequence[str] = field(default_factory=tuple)


class PixelDetector(Protocol):
    """Finds burnt-in text in one rendered frame (8-bit, rows x columns, grayscale)."""

    def find(self, image: np.ndarray, own_values: Iterable[Detector] = ()) -> list[Box]:
        """Boxes of text to mask; ``own_values`` are text detectors that say which words identify."""
        ...


@runtime_checkable
class GlyphReader(Protocol):
    """A detector that also reads a glyph standing alone, which a text-line detector does not see as a line."""

    def reads_glyph(self, glyph: np.ndarray) -> bool:
        """Whether ``glyph`` (8-bit, one character white on black, with a margin) reads as a letter or digit."""
        ...


#: What a detector found on each of some frames of an image (consecutive indices), boxes merged per frame.
FrameReader = Callable[[range], list[tuple[Box, ...]]]


class FrameSharing(Protocol):
    """How the frames of an image are read: here, or in parts by several processes (a run's workers)."""

    def read(self, frames: int, reader: FrameReader) -> list[tuple[Box, ...]]:
        """``reader``'s findings on frames ``0..frames-1``, in order, whoever read them."""
        ...


class ReadHere:
    """Every frame read by this process."""

    def read(self, frames: int, reader: FrameReader) -> list[tuple[Box, ...]]:
        return reader(range(frames))


READ_HERE = ReadHere()


#: When OCR runs on an image that may carry burnt-in text (see :class:`CleanSettings`).
OCR_MODES = ("auto", "always", "never")


@dataclass(frozen=True)
class CleanSettings:
    """How the pixel stage cleans an image that may carry burnt-in text.

    ``ocr``: ``auto`` runs the detector whenever there is one and requires it only
    where no region rule covers the image; ``always`` requires it on every such
    image; ``never`` relies on region rules alone.  ``padding`` widens each OCR
    box on every side, as text edges are anti-aliased beyond the box a detector
    reports.  ``icon_size`` bounds a regenerated icon's longer side (PS3.3 F.7).
    """

    ocr: str = "auto"
    padding: int = 2
    icon_size: int = 64

    def __post_init__(self) -> None:
        if self.ocr not in OCR_MODES:
            raise ValueError(f"ocr must be one of {', '.join(OCR_MODES)}")
        if self.padding < 0 or self.icon_size < 1:
            raise ValueError("padding must be >= 0 and icon_size >= 1")


class PixelError(DeidentifyError, ValueError):
    """Pixel data that cannot be read, decoded or written; the message is the reason and quotes no value."""
