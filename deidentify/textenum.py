"""Enums whose members are the text that reports, logs and pages show."""

from __future__ import annotations

from enum import Enum


class TextEnum(str, Enum):
    """A member equals and hashes as its value, and prints and formats as it (never ``Status.WRITTEN``),
    so rows read back from a report compare with members directly."""

    def __str__(self) -> str:
        return str(self.value)
