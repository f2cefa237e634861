"""The preview PNG: the original with every masked region outlined and numbered, beside the cleaned frame,
and a legend saying what each number is."""

from __future__ import annotations

import itertools
from io import BytesIO

import numpy as np
import pytest
from PIL import Image
from pydicom.dataset import Dataset

from deidentify.pixels import (
    Box,
    CleanSettings,
    PixelError,
    PixelOutcome,
    RegionDecision,
    clean_pixels,
    render_preview,
)
from deidentify.pixels.preview import _TAG_SPACING, _place
from test_pixels_support import (
    TEXT,
    FixedBoxes,
    bundled,
    drawn_over,
    header_stage,
    on_screen,
    preview_panels,
    run_pixels,
    synthetic,
)

RED = np.array([255, 48, 48])


def _png(
    source: Dataset, outcome: PixelOutcome, cleaned: Dataset | None = None, frame: int | None = None
) -> Image.Image:
    picture = BytesIO()
    render_preview(source, outcome, picture, cleaned, frame)
    return Image.open(BytesIO(picture.getvalue()))


def test_the_preview_outlines_each_region_beside_the_cleaned_frame() -> None:
    source = bundled("US1_J2KR.dcm")  # 640 x 480, shown at 768 x 576
    out = header_stage(source)
    banner, finding = Box(0, 0, 640, 40, "ACME banner"), Box(400, 420, 600, 450, "text", "name")
    decision, detector = RegionDecision(boxes=(banner,)), FixedBoxes(finding)
    outcome = clean_pixels(source, out, decision, detector, (), CleanSettings(padding=0))
    original, cleaned, scale = preview_panels(_png(source, outcome, cleaned=out), 480, 640)

    assert original.shape == cleaned.shape == (576, 768, 3)
    y0, x0, x1 = round(420 * scale), round(400 * scale), round(600 * scale) - 1
    # The finding's top edge is drawn in red on the original; on the cleaned frame the area is black.
    assert np.all(np.abs(original[y0, x0:x1] - RED) <= 1)
    inner = cleaned[y0 + 3 : round(450 * scale) - 3, x0 + 3 : x1 - 3]
    assert inner.max() == 0
    # The banner: text on the original, nothing on the cleaned frame.
    assert original[5:45, 20:700].max() > 200
    assert cleaned[: round(40 * scale) - 1].max() == 0


def test_the_cleaned_frame_is_shown_as_the_original_is_wherever_nothing_was_masked() -> None:
    # 16-bit, no window: shown by min/max, which masking (to 0, and the white text gone) changes.
    source = synthetic(bits=16)
    outcome, written = run_pixels(source, RegionDecision(boxes=TEXT))
    assert outcome.status == "cleaned"
    original, cleaned, scale = preview_panels(_png(source, outcome, cleaned=written), 48, 64)

    outside = ~on_screen(TEXT, scale, original.shape) & ~drawn_over(original)
    assert outside.mean() > 0.5
    assert np.array_equal(original[outside], cleaned[outside])
    # Masked areas read as black, as the darkest pixel of the original does.
    masked = on_screen(TEXT, scale, cleaned.shape)
    assert cleaned[masked].max() == 0


def test_numbers_never_overlap_however_many_and_dense_the_boxes() -> None:
    rng = np.random.default_rng(7)
    rects = []
    for _ in range(300):  # lines of text, nested and overlapping boxes, some at the panel's edges
        x0, y0 = int(rng.integers(0, 740)), int(rng.integers(0, 560))
        rects.append((x0, y0, min(767, x0 + int(rng.integers(4, 120))), min(575, y0 + int(rng.integers(4, 30)))))
    rects.append((0, 0, 767, 575))
    sizes = [(8 + 8 * len(str(number)), 18) for number in range(1, len(rects) + 1)]
    placed = _place(rects, sizes, 768, 576)

    assert all(tag is not None for tag in placed)
    tags = [tag for tag in placed if tag is not None]
    for (x0, y0, x1, y1), (w, h) in zip(tags, sizes, strict=True):
        assert (x1 - x0 + 1, y1 - y0 + 1) == (w, h)
        assert min(x0, y0) >= 0 and x1 < 768 and y1 < 576
    for a, b in itertools.combinations(tags, 2):
        apart_x = a[2] + _TAG_SPACING < b[0] or b[2] + _TAG_SPACING < a[0]
        apart_y = a[3] + _TAG_SPACING < b[1] or b[3] + _TAG_SPACING < a[1]
        assert apart_x or apart_y, (a, b)


def test_a_number_without_room_is_left_off_the_image_not_drawn_over_another() -> None:
    rects = [(x, 0, x + 3, 3) for x in range(0, 60, 4)]
    placed = _place(rects, [(18, 18)] * len(rects), 60, 40)
    assert placed.count(None) > 0
    tags = [tag for tag in placed if tag is not None]
    assert len(tags) >= 2
    for a, b in itertools.combinations(tags, 2):
        assert a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]


def test_a_long_legend_wraps_into_columns() -> None:
    source = bundled("US1_UNCI.dcm")  # 640 x 480
    out = header_stage(source)
    kinds = ("date", "name", "id", "institution", "")
    boxes = [Box(10 + (i % 10) * 62, 50 + (i // 10) * 20, 66 + (i % 10) * 62, 66 + (i // 10) * 20, "text", kinds[i % 5])
             for i in range(80)]
    outcome = clean_pixels(source, out, RegionDecision(boxes=(Box(0, 0, 640, 40, "ACME banner"),)),
                           FixedBoxes(*boxes), (), CleanSettings(padding=0))
    assert len(outcome.boxes[0]) == 81
    picture = _png(source, outcome, cleaned=out)
    legend_height = picture.height - (8 + 28 + 576 + 8 + 8)
    assert picture.width == 8 + 768 + 16 + 768 + 8
    # A heading and 81 entries: one column would take 82 lines of 22 pixels; several columns take a few.
    assert legend_height <= 22 * 12


def test_a_withheld_image_is_previewed_alone() -> None:
    source = bundled("emri_small.dcm")  # 64 x 64, 10 frames
    source.BurnedInAnnotation = "YES"
    outcome = clean_pixels(source, header_stage(source), RegionDecision(), None)
    assert outcome.status == "withheld"
    picture = _png(source, outcome, frame=4)
    assert picture.size == (8 + 768 + 8, 8 + 28 + 768 + 8 + 22 + 8)


@pytest.mark.parametrize("frame", [-1, 10])
def test_a_frame_out_of_range_is_an_error_counting_from_1(frame: int) -> None:
    source = bundled("emri_small.dcm")
    source.BurnedInAnnotation = "YES"
    outcome = clean_pixels(source, header_stage(source), RegionDecision(), None)
    with pytest.raises(PixelError, match=f"frame {frame + 1} is out of range: the image has 10 frames"):
        _png(source, outcome, frame=frame)
