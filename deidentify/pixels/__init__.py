"""Pixel cleaning: find burnt-in text (device rules, OCR) and mask it, in every encoding."""

from .base import Box, CleanSettings, PixelDetector, PixelError, RegionDecision
from .clean import PixelOutcome, clean_pixels
from .gate import BURNT_IN_NOT_CLEANED, CAPTURE_MODALITIES, document_reason, may_carry_burnt_in_text, withhold_reason
from .preview import render_preview

__all__ = [
    "BURNT_IN_NOT_CLEANED",
    "CAPTURE_MODALITIES",
    "Box",
    "PixelDetector",
    "PixelError",
    "PixelOutcome",
    "CleanSettings",
    "RegionDecision",
    "clean_pixels",
    "document_reason",
    "may_carry_burnt_in_text",
    "render_preview",
    "withhold_reason",
]
