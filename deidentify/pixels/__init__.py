"""Pixel cleaning: find burnt-in text (device rules, OCR) and mask it, in every encoding."""

from .gate import BURNT_IN_NOT_CLEANED, CAPTURE_MODALITIES, may_carry_burnt_in_text, withhold_reason

__all__ = ["BURNT_IN_NOT_CLEANED", "CAPTURE_MODALITIES", "may_carry_burnt_in_text", "withhold_reason"]
