"""Before/after thumbnails of a masked image, drawn with the pixel stage's own renderer.

Both come from the first frame only, decoded alone, scaled down to at most
:data:`MAX_SIDE` pixels.  The output is drawn with the original's display
mapping (window, rescale, palette, or the original's min/max), as ``deidentify
preview`` draws it, so the two differ only where something was masked; the
pixels that differ are outlined in red on the "before" thumbnail.  The "before"
thumbnail shows the original image, burnt-in text and all: a page holding one
is as sensitive as the originals.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset

from ..limits import Limits
from ..pixels.frames import Frame, check_decodable, decode_frame
from ..pixels.layout import read_layout, transfer_syntax_of
from ..pixels.render import to_display
from ..source import parse_source, quiet_pydicom

#: The longer side of a thumbnail, in pixels.
MAX_SIDE = 200
_MAX_ENLARGE = 3  # a small image is enlarged at most this much
_OUTLINE = (255, 40, 40)


@dataclass(frozen=True)
class Thumbnails:
    """The PNGs of one masked image; a missing one has its reason in ``note``."""

    after: bytes | None
    before: bytes | None = None
    note: str = ""


def thumbnails(output: Path | None, source: Path | None, limits: Limits = Limits()) -> Thumbnails:
    """The "after" thumbnail of ``output`` and, given the ``source`` it was made from, the "before" one.

    Never raises: what cannot be drawn is left out and ``note`` says why (no value of the file).
    """
    notes: list[str] = []
    with quiet_pydicom():
        after_ds = before_ds = None
        before_frame = None
        if source is not None:
            try:
                before_ds, before_frame = _first_frame(parse_source(_read(source, limits), limits).dataset, limits)
            except Exception as exc:  # a source changed since the run, unreadable, undecodable
                notes.append(f"the original cannot be drawn ({_why(exc)})")
        if output is None:
            notes.append("the output is not in DST")
            after_frame = None
        else:
            try:
                after_ds, after_frame = _first_frame(pydicom.dcmread(output), limits)
            except Exception as exc:
                notes.append(f"the output cannot be drawn ({_why(exc)})")
                after_frame = None
        before = after = None
        try:
            if before_ds is not None and before_frame is not None:
                before = to_display(before_frame, before_ds)
            if after_ds is not None and after_frame is not None:
                if before_ds is not None and before is not None:
                    # Shown as the original is: the panels then differ only where something was masked.
                    after = to_display(after_frame, before_ds, range_of=before_frame)
                else:
                    after = to_display(after_frame, after_ds)
        except Exception as exc:
            notes.append(f"cannot be rendered ({_why(exc)})")
    changed = None
    if before is not None and after is not None and before.shape == after.shape:
        changed = before != after
        changed = changed.any(axis=-1) if changed.ndim == 3 else changed
        if not changed.any():
            notes.append("nothing masked on the first frame (the masked regions are on later frames)")
    return Thumbnails(_png(after) if after is not None else None,
                      _png(before, changed) if before is not None else None, "; ".join(notes))


def _read(path: Path, limits: Limits) -> bytes:
    if path.stat().st_size > limits.max_file_bytes:
        raise ValueError("larger than the run's file size bound")
    return path.read_bytes()


def _first_frame(ds: Dataset, limits: Limits) -> tuple[Dataset, Frame]:
    layout = read_layout(ds, transfer_syntax_of(ds))
    check_decodable(ds, layout, limits)
    return ds, decode_frame(ds, layout, 0)


def _why(exc: Exception) -> str:
    # Messages of pydicom may quote values; the project's own errors never do.
    from ..errors import DeidentifyError

    return str(exc) if isinstance(exc, DeidentifyError) else type(exc).__name__


def _png(display: np.ndarray, changed: np.ndarray | None = None) -> bytes:
    image = Image.fromarray(display)
    factor = min(MAX_SIDE / max(image.size), _MAX_ENLARGE)
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    resample = Image.Resampling.NEAREST if factor >= 1 else Image.Resampling.BOX
    image = image.resize(size, resample)
    if changed is not None and changed.any():
        image = image.convert("RGB")
        mask = np.asarray(Image.fromarray(changed.astype(np.uint8) * 255).resize(size, Image.Resampling.BOX)) > 0
        pixels = np.asarray(image).copy()
        pixels[_outline(mask)] = _OUTLINE
        image = Image.fromarray(pixels)
    buffer = BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _outline(mask: np.ndarray) -> np.ndarray:
    """The pixels of ``mask`` at its edges, two pixels wide (inside and just outside)."""
    padded = np.pad(mask, 1)
    inner = padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    edge = mask & ~inner
    grown = np.pad(edge, 1)
    return edge | grown[:-2, 1:-1] | grown[2:, 1:-1] | grown[1:-1, :-2] | grown[1:-1, 2:]
