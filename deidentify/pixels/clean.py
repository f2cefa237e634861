"""Pixel cleaning of one image: find what to mask, mask it, or say why the image is withheld.

An image that may carry burnt-in text (:func:`~.gate.may_carry_burnt_in_text`)
must be covered by a region rule or read by OCR, and so must one a rule flags as
carrying text at places it does not know; when OCR is required and there
is no detector, or it fails, or the pixel data cannot be decoded, the image is
withheld (fail closed).  OCR findings are masked even where a rule declares the
image clean.  Region rules that name boxes are applied to any image they match;
an image that may not carry burnt-in text is read by OCR only when the profile
asks for it (``scan``).  An image with nothing to mask is left exactly as the
header stage copied it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import UID

from ..limits import Limits
from ..textenum import TextEnum
from .base import READ_HERE, Box, CleanSettings, FrameSharing, PixelDetector, PixelError, RegionDecision
from .cine import read_across_frames
from .detectors.base import merge_boxes
from .frames import check_decodable, decode_frames
from .gate import BURNT_IN_NOT_CLEANED, may_carry_burnt_in_text
from .glyphs import drawn_glyph_reader, read_drawn_glyphs
from .icon import replace_icon
from .layout import ImageLayout, has_pixel_data, read_layout, transfer_syntax_of
from .regions import frame_regions, rule_regions
from .render import readings
from .rewrite import set_element, write_masked

if TYPE_CHECKING:
    from ..detect.base import Detector


#: The reason of an image the pixel stage had nothing to do with.
NO_PIXEL_DATA = "no pixel data"


class PixelStatus(TextEnum):
    """What the pixel stage did to one image."""

    UNCHANGED = "unchanged"
    """Its pixel data is as the header stage copied it (it may still be marked as assessed clean)."""
    CLEANED = "cleaned"
    """Text was masked: new pixel data."""
    WITHHELD = "withheld"
    """It may carry burnt-in text that could not be cleaned: it must not be shared."""


@dataclass(frozen=True)
class PixelOutcome:
    """What the pixel stage did to one image.

    ``boxes[i]`` are the regions masked on frame i (labels and kinds, never
    text); ``transfer_syntax`` is the syntax the output must be written in;
    ``clean_pixel_data`` says whether the Clean Pixel Data Option (113101) applies.
    """

    status: PixelStatus
    reason: str
    boxes: tuple[tuple[Box, ...], ...] = ()
    transfer_syntax: str = ""
    clean_pixel_data: bool = False


def clean_pixels(
    source_ds: Dataset,
    out_ds: Dataset,
    decision: RegionDecision,
    detector: PixelDetector | None,
    own_values: Iterable[Detector] = (),
    settings: CleanSettings = CleanSettings(),
    *,
    scan: bool = False,
    limits: Limits = Limits(),
    unavailable: str = "",
    sharing: FrameSharing = READ_HERE,
) -> PixelOutcome:
    """Clean ``out_ds``'s pixel data (the header stage's output) from ``source_ds``'s.

    ``decision`` is what the region rules say about the image, ``detector`` the
    OCR (or None where there is none), ``own_values`` what the detector needs to
    tell identifying words from others.  ``scan`` has the detector read an
    image the gate lets pass (a profile that OCRs every image, or listed
    modalities); only the gate's images are withheld for want of OCR.

    A ``cleaned`` outcome changes ``out_ds``: new Pixel Data (and Image Pixel
    elements where the encoding changed), BurnedInAnnotation NO.  An image that
    may carry text but holds none to mask keeps its pixels and is marked the same
    way (BurnedInAnnotation NO, Clean Pixel Data applies).  The icon of
    an image that may carry burnt-in text is regenerated from the output or
    removed.  Nothing else is changed, and ``source_ds`` never is.  An image
    over ``limits.max_pixel_bytes``, or whose frames' codestream headers do not
    describe it, is withheld before anything is decoded.  ``unavailable`` says why
    there is no detector, for the reason of an image withheld for want of one.
    ``sharing`` says who reads the frames (:func:`find_text` on each, in any case).
    """
    syntax = transfer_syntax_of(source_ds)
    # A rule's flag says there is burnt-in text at places the rule does not know.
    gated = may_carry_burnt_in_text(source_ds) or bool(decision.flags)
    if not has_pixel_data(out_ds):
        return PixelOutcome(PixelStatus.UNCHANGED, NO_PIXEL_DATA, transfer_syntax=syntax)
    if not (gated or scan or decision.whole or decision.boxes):
        return PixelOutcome(PixelStatus.UNCHANGED, "may not carry burnt-in text", transfer_syntax=syntax)
    # Whole frames blanked with nothing kept leave no text to read.
    readable = (gated or scan) and not (decision.whole and not decision.keep)
    covered = not decision.flags and (decision.whole or bool(decision.boxes) or decision.clean)
    run_ocr = readable and settings.ocr != "never" and detector is not None
    if gated and readable and (settings.ocr == "always" or not covered) and not run_ocr:
        detail = (
            "no region rule covers it and OCR is off" if settings.ocr == "never"
            else f"no text detector: {unavailable}" if unavailable
            else "no text detector"
        )
        return _withheld(detail, syntax)
    try:
        layout = read_layout(source_ds, syntax)
        check_decodable(source_ds, layout, limits)
        rules = rule_regions(decision, layout.columns, layout.rows)
        ocr = detector if run_ocr else None
        regions = _regions(source_ds, layout, rules, ocr, tuple(own_values), settings.padding, sharing)
        if not any(regions):
            reason = (
                "no burnt-in text found" if ocr is not None
                else "declared clean by a region rule" if decision.clean
                else "no region to mask"
            )
            if not gated:
                return PixelOutcome(PixelStatus.UNCHANGED, reason, regions, syntax)
            if str(source_ds.get("BurnedInAnnotation", "")).strip().upper() == "YES":
                # The header says there is text; finding none means it was not found: fail closed.
                return _withheld("BurnedInAnnotation is YES but no text was found to mask", syntax)
            # The image was assessed (read by OCR, or vouched for by a rule) and holds no text
            # to mask: it is as clean as a masked one, and says so; its pixels stay as they were.
            replace_icon(out_ds, syntax, settings.icon_size)
            set_element(out_ds, "BurnedInAnnotation", "NO")
            return PixelOutcome(PixelStatus.UNCHANGED, reason, regions, syntax, clean_pixel_data=True)
        out_syntax = write_masked(source_ds, out_ds, layout, regions)
    except PixelError as exc:
        return _withheld(str(exc), syntax)
    set_element(out_ds, "BurnedInAnnotation", "NO")
    replace_icon(out_ds, out_syntax, settings.icon_size)
    masked, frames = sum(len(boxes) for boxes in regions), sum(1 for boxes in regions if boxes)
    reason = f"masked {_count(masked, 'region')} on {frames} of {_count(layout.frames, 'frame')}"
    return PixelOutcome(PixelStatus.CLEANED, reason, regions, out_syntax, clean_pixel_data=True)


def _regions(
    source_ds: Dataset,
    layout: ImageLayout,
    rules: tuple[Box, ...],
    detector: PixelDetector | None,
    own_values: tuple[Detector, ...],
    padding: int,
    sharing: FrameSharing,
) -> tuple[tuple[Box, ...], ...]:
    """The regions to mask on each frame: the rules', and what OCR finds on the rendered frame."""
    if detector is None:
        return (rules,) * layout.frames
    found = sharing.read(layout.frames, lambda frames: find_text(source_ds, layout, frames, detector, own_values))
    if len(found) != layout.frames:
        raise PixelError("OCR failed: frames were left unread")
    found = read_across_frames(source_ds, layout, found, detector)
    return tuple(frame_regions(rules, boxes, padding, layout.columns, layout.rows) for boxes in found)


def find_text(
    source_ds: Dataset,
    layout: ImageLayout,
    frames: range,
    detector: PixelDetector,
    own_values: Iterable[Detector],
) -> list[tuple[Box, ...]]:
    """What ``detector`` finds on each of ``frames`` (consecutive indices) of the rendered image, merged
    per frame, with the lone glyphs that look drawn in an image of one or two frames (:mod:`.glyphs`)."""
    own = tuple(own_values)
    glyph_reader = drawn_glyph_reader(layout, detector)
    found, glyphs = [], []
    # A frame read exactly as the one before it (a cine paused, a series of copies) holds the
    # same text, and the detectors are deterministic: what was found is reused, not re-read.
    previous: list[tuple[np.ndarray, list[Box]]] = []
    indices = None if len(frames) == layout.frames else list(frames)
    for frame in decode_frames(source_ds, layout, indices, for_reading=True):
        current = []
        try:
            for index, gray in enumerate(readings(frame, source_ds)):
                same = index < len(previous) and np.array_equal(previous[index][0], gray)
                current.append((gray, previous[index][1] if same else detector.find(gray, own)))
        except Exception as exc:  # any failure of the OCR engine leaves the text unread
            raise PixelError(f"OCR failed: {type(exc).__name__}") from exc
        previous = current
        frame_boxes = merge_boxes([box for _, boxes in current for box in boxes])
        found.append(tuple(frame_boxes))
        if glyph_reader is not None:
            glyphs += read_drawn_glyphs([gray for gray, _ in current], frame_boxes, glyph_reader)
    # A device draws its icons at the same places on both frames of a pair, where one frame may
    # hide what the other shows (pydicom-data's OBXXXX1A_2frame inverts every palette index on
    # its second frame, where the probe icon's "P" is 4 grey levels from its ball).  Such short
    # images are read in one call: a pool shares out the frames of long images only.
    if glyphs:
        found = [tuple(merge_boxes([*boxes, *glyphs])) for boxes in found]
    return found


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"


def _withheld(detail: str, syntax: UID) -> PixelOutcome:
    return PixelOutcome(PixelStatus.WITHHELD, f"{BURNT_IN_NOT_CLEANED} ({detail})", transfer_syntax=syntax)
