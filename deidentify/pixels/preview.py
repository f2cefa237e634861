"""Preview: a PNG that shows a person what the pixel stage masked.

The original frame, every masked region outlined and numbered, beside the
cleaned frame as written; below both, a legend says what each number is (the
rule's name, or ``text`` and the kind of value OCR recognised, never a value).
Labels drawn at the boxes would cover each other wherever text is dense, so only
the numbers are, and no two numbers overlap.  Small images are enlarged and
large ones reduced so that both fit a screen and the numbers stay legible.
"""

from __future__ import annotations

import itertools
import math
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset
from pydicom.uid import UID

from .base import Box, PixelError
from .clean import PixelOutcome
from .frames import decode_frame
from .layout import read_layout, transfer_syntax_of
from .render import to_display

_PANEL = 768  # longer side of each panel, in screen pixels
_GAP = 16  # between the panels
_MARGIN = 8  # around everything
_CAPTION = 28  # the panels' titles
_LINE = 22  # one row of the legend
_COLUMN_GAP = 24  # between the legend's columns
_BACKGROUND = (40, 40, 40)  # not black, so that a panel's black edges show where it ends
_WHITE = (255, 255, 255)
_OUTLINE = (255, 48, 48)
_TAG_BORDER = (0, 0, 0)  # keeps two neighbouring numbers from reading as one
_TAG_SPACING = 2  # screen pixels kept free around every number
_NEAR = 96  # how far from its box a number is first looked for a place
_LEADER = 3  # a number further than this from its box gets a line to it
# What a number costs, in screen pixels of distance from its box, per pixel of any box it covers: covering the
# text that was masked hides what the preview is there to show, so a number moves a little away instead.
_COVER_COST = 0.1
_NO_ROOM = "no room on the image for its number"

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in screen pixels, all inclusive (as ImageDraw takes them)
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont  # the latter where Pillow was built without FreeType


def render_preview(
    source_ds: Dataset,
    outcome: PixelOutcome,
    destination: BinaryIO,
    cleaned: Dataset | None = None,
    frame: int | None = None,
) -> None:
    """Write the PNG preview of frame ``frame`` (from 0; default: the first with a masked region) to ``destination``.

    ``cleaned`` is the output dataset; without it (a withheld image, say) only
    the original panel is drawn.  It is shown with the original's display
    mapping (window, rescale, palette, or the original's min/max), so the
    panels differ only where something was masked.  Raises
    :class:`~.base.PixelError` when the frame does not exist or cannot be
    decoded.  The preview shows the original image: it holds PHI.
    """
    layout = read_layout(source_ds, transfer_syntax_of(source_ds))
    if frame is None:
        frame = next((index for index, boxes in enumerate(outcome.boxes) if boxes), 0)
    _check_frame(frame, layout.frames)
    boxes = outcome.boxes[frame] if frame < len(outcome.boxes) else ()
    scale = _PANEL / max(layout.rows, layout.columns)
    source_frame = decode_frame(source_ds, layout, frame)
    original = _panel(to_display(source_frame, source_ds), scale)
    panels = [(original, f"original, frame {frame + 1} of {layout.frames}")]
    if cleaned is not None:
        cleaned_frame = decode_frame(cleaned, read_layout(cleaned, UID(outcome.transfer_syntax)), frame)
        shown = to_display(cleaned_frame, source_ds, range_of=source_frame)
        panels.append((_panel(shown, scale), f"{outcome.status}: {outcome.reason}"))
    placed = _number(original, boxes, scale)
    width = 2 * _MARGIN + sum(panel.width for panel, _ in panels) + _GAP * (len(panels) - 1)
    legend = _legend(boxes, placed, width - 2 * _MARGIN)
    sheet = Image.new("RGB", (width, 3 * _MARGIN + _CAPTION + original.height + legend.height), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=16)
    left = _MARGIN
    for panel, caption in panels:
        sheet.paste(panel, (left, _MARGIN + _CAPTION))
        draw.text((left, _MARGIN + 2), _fitted(caption, font, panel.width), fill=_WHITE, font=font)
        left += panel.width + _GAP
    sheet.paste(legend, (_MARGIN, 2 * _MARGIN + _CAPTION + original.height))
    sheet.save(destination, format="PNG")


def check_frame(source_ds: Dataset, frame: int) -> None:
    """Raise :class:`~.base.PixelError` unless the image has frame ``frame`` (from 0; the message counts from 1)."""
    _check_frame(frame, read_layout(source_ds, transfer_syntax_of(source_ds)).frames)


def _check_frame(frame: int, frames: int) -> None:
    if not 0 <= frame < frames:
        raise PixelError(f"frame {frame + 1} is out of range: the image has {frames} frame{'s' * (frames != 1)}")


def _panel(display: np.ndarray, scale: float) -> Image.Image:
    image = Image.fromarray(display).convert("RGB")
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    # Enlarged pixels stay sharp squares; reduced ones are averaged.
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BOX
    return image.resize(size, resample)


def _number(panel: Image.Image, boxes: tuple[Box, ...], scale: float) -> list[Rect | None]:
    """Outline every box on ``panel`` and number it (1, 2, ...); returns where each number went (None: no room)."""
    rects = [_screen(box, scale, panel.width, panel.height) for box in boxes]
    font = ImageFont.load_default(size=14)
    sizes = [_tag_size(str(number), font) for number in range(1, len(boxes) + 1)]
    placed = _place(rects, sizes, panel.width, panel.height)
    draw = ImageDraw.Draw(panel)
    for rect in rects:
        draw.rectangle(rect, outline=_OUTLINE, width=2)
    # Lines first, numbers over them: a line may cross a number's place, never hide its digits.
    for rect, tag in zip(rects, placed, strict=True):
        if tag is not None and _gap(tag, rect) > _LEADER:
            draw.line((_nearest(tag, rect), _nearest(rect, tag)), fill=_OUTLINE, width=1)
    for number, tag in enumerate(placed, 1):
        if tag is not None:
            _draw_tag(draw, tag, str(number), font)
    return placed


def _screen(box: Box, scale: float, width: int, height: int) -> Rect:
    x0, y0 = min(round(box.x0 * scale), width - 1), min(round(box.y0 * scale), height - 1)
    x1, y1 = min(round(box.x1 * scale) - 1, width - 1), min(round(box.y1 * scale) - 1, height - 1)
    return x0, y0, max(x0, x1), max(y0, y1)


def _tag_size(text: str, font: Font) -> tuple[int, int]:
    _, top, _, bottom = font.getbbox("0123456789")
    return math.ceil(font.getlength(text)) + 6, math.ceil(bottom - top) + 6


def _draw_tag(draw: ImageDraw.ImageDraw, tag: Rect, text: str, font: Font) -> None:
    draw.rectangle(tag, fill=_OUTLINE, outline=_TAG_BORDER, width=1)
    draw.text(((tag[0] + tag[2] + 1) / 2, (tag[1] + tag[3] + 1) / 2), text, fill=_WHITE, font=font, anchor="mm")


def _place(rects: list[Rect], sizes: list[tuple[int, int]], width: int, height: int) -> list[Rect | None]:
    """A place for each box's number: never over another number, near its box, over as little of any box as can be.

    Each number in turn takes the free place of least cost (its distance from
    its box, plus the pixels it covers of any box but those around its own,
    which no place near its box can avoid), looked for near the box first and
    then anywhere on the panel; a preference for just above the top left
    corner only breaks ties.  None when the panel has no free place left.
    """
    taken = np.zeros((height, width), dtype=bool)
    placed: list[Rect | None] = []
    for rect, (w, h) in zip(rects, sizes, strict=True):
        others = [other for other in rects if not _inside(rect, other) or other == rect]
        spot = None
        for reach in (_NEAR, max(width, height)):
            spot = _best_spot(rect, w, h, others, taken, reach)
            if spot is not None:
                break
        if spot is None:
            placed.append(None)
            continue
        x, y = spot
        placed.append((x, y, x + w - 1, y + h - 1))
        taken[max(0, y - _TAG_SPACING) : y + h + _TAG_SPACING, max(0, x - _TAG_SPACING) : x + w + _TAG_SPACING] = True
    return placed


def _best_spot(rect: Rect, w: int, h: int, boxes: list[Rect], taken: np.ndarray, reach: int) -> tuple[int, int] | None:
    """The top left corner of the best free w × h place within ``reach`` of ``rect``, or None."""
    height, width = taken.shape
    x0, y0, x1, y1 = rect
    left, top = max(0, x0 - reach - w), max(0, y0 - reach - h)
    right, bottom = min(width, x1 + 1 + reach + w), min(height, y1 + 1 + reach + h)
    if right - left < w or bottom - top < h:
        return None
    covered = np.zeros((bottom - top, right - left), dtype=bool)
    for bx0, by0, bx1, by1 in boxes:
        covered[max(0, by0 - top) : max(0, by1 + 1 - top), max(0, bx0 - left) : max(0, bx1 + 1 - left)] = True
    over_boxes = _window_sums(covered, w, h)
    over_tags = _window_sums(taken[top:bottom, left:right], w, h)
    xs = np.arange(left, right - w + 1)[np.newaxis, :]
    ys = np.arange(top, bottom - h + 1)[:, np.newaxis]
    dx = np.maximum(np.maximum(x0 - (xs + w), xs - (x1 + 1)), 0)
    dy = np.maximum(np.maximum(y0 - (ys + h), ys - (y1 + 1)), 0)
    preference = 0.001 * (np.abs(xs - x0) + np.abs(ys - (y0 - h)))
    cost = np.hypot(dx, dy) + _COVER_COST * over_boxes + preference
    cost[over_tags > 0] = np.inf
    row, column = np.unravel_index(int(np.argmin(cost)), cost.shape)
    if not np.isfinite(cost[row, column]):
        return None
    return left + int(column), top + int(row)


def _inside(rect: Rect, other: Rect) -> bool:
    return other[0] <= rect[0] and other[1] <= rect[1] and rect[2] <= other[2] and rect[3] <= other[3]


def _window_sums(mask: np.ndarray, w: int, h: int) -> np.ndarray:
    """How many of ``mask``'s pixels a w × h window covers, at each top left corner where it fits."""
    sums = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), dtype=np.int64)
    sums[1:, 1:] = mask.cumsum(axis=0).cumsum(axis=1)
    return sums[h:, w:] - sums[:-h, w:] - sums[h:, :-w] + sums[:-h, :-w]


def _gap(a: Rect, b: Rect) -> float:
    return math.hypot(max(b[0] - a[2], a[0] - b[2], 0), max(b[1] - a[3], a[1] - b[3], 0))


def _nearest(a: Rect, b: Rect) -> tuple[int, int]:
    """The point of ``a`` nearest to ``b``."""
    return min(max(a[0], b[0]), a[2]), min(max(a[1], b[1]), a[3])


def _legend(boxes: tuple[Box, ...], placed: list[Rect | None], width: int) -> Image.Image:
    """What each number means, in as few rows as fit ``width``, numbered down each column."""
    font, tag_font = ImageFont.load_default(size=15), ImageFont.load_default(size=14)
    if not boxes:
        legend = Image.new("RGB", (width, _LINE), _BACKGROUND)
        ImageDraw.Draw(legend).text((0, 2), "no region masked on this frame", fill=_WHITE, font=font)
        return legend
    tag_width = _tag_size(str(len(boxes)), tag_font)[0]
    texts = [
        _fitted(_label(box) + ("" if tag is not None else f" ({_NO_ROOM})"), font, width - tag_width - 6)
        for box, tag in zip(boxes, placed, strict=True)
    ]
    entry_widths = [tag_width + 6 + math.ceil(font.getlength(text)) for text in texts]
    rows, lefts = _columns(entry_widths, width)
    legend = Image.new("RGB", (width, (rows + 1) * _LINE), _BACKGROUND)
    draw = ImageDraw.Draw(legend)
    draw.text((0, 2), "masked regions: a rule's name, or text and the kind of value it read", fill=_WHITE, font=font)
    for index, text in enumerate(texts):
        left, top = lefts[index // rows], (index % rows + 1) * _LINE
        number = str(index + 1)
        w, h = _tag_size(number, tag_font)
        _draw_tag(draw, (left + tag_width - w, top + 2, left + tag_width - 1, top + 1 + h), number, tag_font)
        draw.text((left + tag_width + 6, top + 2), text, fill=_WHITE, font=font)
    return legend


def _columns(entry_widths: list[int], width: int) -> tuple[int, list[int]]:
    """The fewest rows whose columns (each as wide as its widest entry) fit ``width``, and where each column starts.

    Every entry fits ``width`` on its own, so one column always does.
    """
    count = len(entry_widths)
    for rows in range(1, count):
        columns = [entry_widths[start : start + rows] for start in range(0, count, rows)]
        lefts = list(itertools.accumulate((max(column) + _COLUMN_GAP for column in columns[:-1]), initial=0))
        if lefts[-1] + max(columns[-1]) <= width:
            return rows, lefts
    return count, [0]


def _label(box: Box) -> str:
    """The rule's name, or ``text`` and the kind of value OCR recognised: never the value itself."""
    return f"{box.label}\N{MIDDLE DOT}{box.kind}" if box.kind else box.label


def _fitted(text: str, font: Font, width: int) -> str:
    """``text`` cut short (with an ellipsis) to fit ``width`` screen pixels."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "\N{HORIZONTAL ELLIPSIS}") > width:
        text = text[:-1]
    return text + "\N{HORIZONTAL ELLIPSIS}"
