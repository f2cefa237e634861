"""Regions: which boxes of each frame are masked, from the region rules and the OCR findings.

A rule's boxes are masked on every frame, and so is the full frame for
``whole``, less the areas the rules keep.  Kept areas exempt a frame from
``whole`` only: rule boxes and OCR findings are masked wherever they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from .base import Box, RegionDecision


def rule_regions(decision: RegionDecision, columns: int, rows: int) -> tuple[Box, ...]:
    """The areas the region rules mask on every frame of a ``columns`` x ``rows`` image."""
    regions: list[Box] = []
    if decision.whole:
        regions = [Box(0, 0, columns, rows, ", ".join(decision.rules) or "whole")]
        for keep in decision.keep:
            regions = [piece for box in regions for piece in _subtract(box, keep)]
    regions += [clipped for box in decision.boxes if (clipped := box.clipped(columns, rows)) is not None]
    return tuple(regions)


def frame_regions(
    rules: tuple[Box, ...], found: Iterable[Box], padding: int, columns: int, rows: int
) -> tuple[Box, ...]:
    """One frame's regions: the rules' and every OCR finding widened by ``padding``."""
    padded = (box.padded(padding).clipped(columns, rows) for box in found)
    return rules + tuple(box for box in padded if box is not None)


def _subtract(box: Box, hole: Box) -> list[Box]:
    """``box`` less ``hole``: the bands above and below the hole, and beside it."""
    x0, y0 = max(box.x0, hole.x0), max(box.y0, hole.y0)
    x1, y1 = min(box.x1, hole.x1), min(box.y1, hole.y1)
    if x0 >= x1 or y0 >= y1:
        return [box]
    pieces = (
        replace(box, y1=y0),
        replace(box, y0=y1),
        replace(box, x1=x0, y0=y0, y1=y1),
        replace(box, x0=x1, y0=y0, y1=y1),
    )
    return [piece for piece in pieces if piece.x0 < piece.x1 and piece.y0 < piece.y1]
