"""Pixel detectors: one module per engine that finds burnt-in text in a rendered frame.

* :mod:`.ppocr` -- PP-OCR's neural text detector and recogniser, run by ONNX
  Runtime (:class:`TextDetector`, engine ``text-detector``; the default).
* :mod:`.ocr` -- Tesseract OCR (:class:`TesseractDetector`, engine ``tesseract``).

Every detector implements :class:`~deidentify.pixels.base.PixelDetector` and
raises :class:`DetectorError` (or its :class:`DetectorUnavailable`) when it
cannot look at an image, so the caller can withhold the image.  A profile names
its engines (``pixels.ocr.engines``); :func:`build_detector` starts them, and
several engines mask the union of their boxes.  Adding an engine is one module
and one line in :data:`ENGINES`.
"""

from collections.abc import Callable
from typing import Any

from ..base import PixelDetector
from .base import CombinedDetector, DetectorError, DetectorUnavailable, Word, check_frame
from .ocr import TesseractDetector, tesseract_version
from .ppocr import TextDetector

__all__ = [
    "ENGINES",
    "CombinedDetector",
    "DetectorError",
    "DetectorUnavailable",
    "TesseractDetector",
    "TextDetector",
    "Word",
    "build_detector",
    "check_frame",
    "tesseract_version",
]

#: Engine name (as profiles spell it) -> how to start it from ``pixels.ocr`` settings.
ENGINES: dict[str, Callable[[Any], PixelDetector]] = {
    TextDetector.name: TextDetector.from_settings,
    "tesseract": TesseractDetector.from_settings,
}


def build_detector(settings: Any) -> PixelDetector:
    """The detector of a profile's ``pixels.ocr`` settings: its one engine, or all of them combined.

    Raises DetectorUnavailable naming the first engine that cannot start: a
    profile that asks for two engines is not served by one.
    """
    engines = [ENGINES[name](settings) for name in settings.engines]
    return engines[0] if len(engines) == 1 else CombinedDetector(engines)
