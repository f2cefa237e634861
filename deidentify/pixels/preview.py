"""Preview: a PNG that shows a person what the pixel stage masked.

The original frame, every masked region outlined and labelled (the rule's name,
or ``text`` and the kind of value OCR recognised), beside the cleaned frame as
written.  Small images are enlarged and large ones reduced so that both fit a
screen and the labels stay legible.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset
from pydicom.uid import UID

from .base import Box
from .clean import PixelOutcome
from .frames import decode_frame
from .layout import read_layout, transfer_syntax_of
from .render import to_display

_PANEL = 768  # longer side of each panel, in screen pixels
_GAP = 16
_CAPTION = 28
_OUTLINE = (255, 48, 48)


def render_preview(
    source_ds: Dataset,
    outcome: PixelOutcome,
    destination: Path | BinaryIO,
    cleaned: Dataset | None = None,
    frame: int | None = None,
) -> None:
    """Write the PNG preview of ``frame`` (default: the first with a masked region) to ``destination``.

    ``destination`` is a file path (its folders are created) or a binary stream.
    ``cleaned`` is the output dataset; without it (a withheld image, say) only
    the original panel is drawn.  It is shown with the original's display
    mapping (window, rescale, palette, or the original's min/max), so the
    panels differ only where something was masked.  Raises :class:`~.base.PixelError` when a frame
    cannot be decoded.  The preview shows the original image: it holds PHI.
    """
    layout = read_layout(source_ds, transfer_syntax_of(source_ds))
    if frame is None:
        frame = next((index for index, boxes in enumerate(outcome.boxes) if boxes), 0)
    boxes = outcome.boxes[frame] if frame < len(outcome.boxes) else ()
    scale = _PANEL / max(layout.rows, layout.columns)
    source_frame = decode_frame(source_ds, layout, frame)
    original = _panel(to_display(source_frame, source_ds), scale)
    panels = [(_outlined(original, boxes, scale), f"original, frame {frame + 1} of {layout.frames}")]
    if cleaned is not None:
        cleaned_frame = decode_frame(cleaned, read_layout(cleaned, UID(outcome.transfer_syntax)), frame)
        shown = to_display(cleaned_frame, source_ds, range_of=source_frame)
        panels.append((_panel(shown, scale), f"{outcome.status}: {outcome.reason}"))
    sheet = Image.new("RGB", (sum(p.width for p, _ in panels) + _GAP * (len(panels) - 1), original.height + _CAPTION))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=16)
    left = 0
    for panel, caption in panels:
        sheet.paste(panel, (left, _CAPTION))
        draw.text((left + 4, 4), caption, fill=(255, 255, 255), font=font)
        left += panel.width + _GAP
    if isinstance(destination, Path):
        destination.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(destination, format="PNG")


def _panel(display: np.ndarray, scale: float) -> Image.Image:
    image = Image.fromarray(display).convert("RGB")
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    # Enlarged pixels stay sharp squares; reduced ones are averaged.
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BOX
    return image.resize(size, resample)


def _outlined(panel: Image.Image, boxes: tuple[Box, ...], scale: float) -> Image.Image:
    draw = ImageDraw.Draw(panel)
    font = ImageFont.load_default(size=14)
    for box in boxes:
        x0, y0 = round(box.x0 * scale), round(box.y0 * scale)
        x1, y1 = round(box.x1 * scale) - 1, round(box.y1 * scale) - 1
        draw.rectangle((x0, y0, max(x0, x1), max(y0, y1)), outline=_OUTLINE, width=2)
        label = f"{box.label} ({box.kind})" if box.kind else box.label
        # Above the box where there is room, else just inside it.
        top = y0 - 20 if y0 >= 20 else y0 + 3
        draw.text((x0 + 2, top), label, fill=_OUTLINE, font=font, stroke_width=2, stroke_fill=(0, 0, 0))
    return panel
