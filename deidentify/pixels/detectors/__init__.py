"""Pixel detectors: one module per engine that finds burnt-in text in a rendered frame.

* :mod:`.ocr` -- Tesseract OCR (:class:`TesseractDetector`).

Every detector implements :class:`~deidentify.pixels.base.PixelDetector` and
raises :class:`DetectorError` (or its :class:`DetectorUnavailable`) when it
cannot look at an image, so the caller can withhold the image.
"""

from .base import DetectorError, DetectorUnavailable, Word, check_frame
from .ocr import TesseractDetector, should_scan, tesseract_version, text_detectors

__all__ = [
    "DetectorError",
    "DetectorUnavailable",
    "TesseractDetector",
    "Word",
    "check_frame",
    "should_scan",
    "tesseract_version",
    "text_detectors",
]
