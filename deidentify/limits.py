"""Bounds on the work one input may cause, checked before the work is done.

A hostile or broken file can claim far more than it holds: a deflated stream
that inflates without end, sequences nested thousands deep (pydicom's reader
recurses once per level), hundreds of thousands of items, a JPEG header that
promises a 60000 × 60000 image inside a 64 × 64 one.  Each such claim is
checked against a :class:`Limits` before anything is allocated for it; a file
over a bound is an ``error`` (``withheld`` where the bound stops pixel
cleaning) whose reason names the bound, never a value of the file.

The defaults were measured (see tests/test_bounds.py and tests/hostile.py):
a file at every structural bound goes through the full (pydicom) path in a
few seconds and a few hundred MB, while real archives' largest files pass —
RT Structure Sets with tens of thousands of contours, deep SR trees (depth
~20), multi-frame ultrasound cine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import DeidentifyError

_MIB = 1 << 20


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one): what the
    pool sizes itself by and what a worker's text detector may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class LimitError(DeidentifyError, ValueError):
    """An input over one of the bounds; the message is the reason and names the bound."""


@dataclass(frozen=True)
class Limits:
    """The bounds on one input; every check reads them from here.

    ``max_file_bytes``: the size of the file as stored.
    ``max_inflated_bytes``: what a deflated transfer syntax's data may inflate to.
    ``max_pixel_bytes``: Rows × Columns × SamplesPerPixel × BitsAllocated / 8 ×
    NumberOfFrames of an image the pixel stage decodes (native data is masked
    in place, encapsulated data is decoded frame by frame into a native copy of
    this size).
    ``max_depth``: sequences nested in sequences; the top-level dataset's
    sequences are depth 1.
    ``max_items``: items in any one sequence (fragments of pixel data are not items).
    ``max_elements``: data elements and sequence items in the whole file, at
    every depth (an item costs a reader what an element does: a dataset).
    """

    max_file_bytes: int = 2048 * _MIB
    max_inflated_bytes: int = 128 * _MIB
    max_pixel_bytes: int = 1024 * _MIB
    max_depth: int = 64
    max_items: int = 50_000
    max_elements: int = 150_000

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive whole number")


def over(what: str) -> str:
    """The reason for an input over a bound: ``what`` says which, in words and the bound's figure."""
    return f"over the limit: {what}"


def size_text(size: int) -> str:
    """A byte count as a reason states a bound: whole MiB or GiB where it is one."""
    if size % (1 << 30) == 0:
        return f"{size >> 30} GiB"
    if size % _MIB == 0:
        return f"{size >> 20} MiB"
    return f"{size} bytes"
