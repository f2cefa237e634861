"""The interface every text detector implements.

A detector finds spans of identifying text in a string.  It reports what *class*
of value it found (``kind``) and where, never the value itself, so findings can
be logged and reported without leaking PHI.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, order=True)
class Finding:
    """One identifying span in a text: ``text[start:end]`` is of class ``kind``."""

    start: int
    end: int
    kind: str


class Detector(Protocol):
    """Finds identifying spans in free text."""

    def find(self, text: str) -> Iterable[Finding]:
        """Yield the identifying spans of ``text`` (they may overlap)."""
        ...
