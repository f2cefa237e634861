"""The preview PNG: the original with every masked region outlined, beside the cleaned frame."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image

from deidentify.pixels import Box, CleanSettings, RegionDecision, clean_pixels, render_preview
from test_pixels_support import TEXT, FixedBoxes, bundled, drawn_over, header_stage, on_screen, run_pixels, synthetic

RED = np.array([255, 48, 48])


def test_the_preview_outlines_each_region_beside_the_cleaned_frame(tmp_path: Path) -> None:
    source = bundled("US1_J2KR.dcm")  # 640 x 480, shown at 768 x 576
    out = header_stage(source)
    banner, finding = Box(0, 0, 640, 40, "ACME banner"), Box(400, 420, 600, 450, "text", "name")
    decision, detector = RegionDecision(boxes=(banner,)), FixedBoxes(finding)
    outcome = clean_pixels(source, out, decision, detector, (), CleanSettings(padding=0))
    path = tmp_path / "previews" / "us.png"
    render_preview(source, outcome, path, out)

    sheet = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert sheet.shape == (28 + 576, 768 * 2 + 16, 3)
    original, cleaned = sheet[28:, :768], sheet[28:, 768 + 16 :]
    scale = 768 / 640
    y0, x0, x1 = round(420 * scale), round(400 * scale), round(600 * scale) - 1
    # The finding's top edge is drawn in red on the original; on the cleaned frame the area is black.
    assert np.all(np.abs(original[y0, x0:x1] - RED) <= 1)
    inner = cleaned[y0 + 3 : round(450 * scale) - 3, x0 + 3 : x1 - 3]
    assert inner.max() == 0
    # The banner: text on the original, nothing on the cleaned frame.
    assert original[5:45, 20:700].max() > 200
    assert cleaned[:round(40 * scale) - 1].max() == 0


def test_the_cleaned_frame_is_shown_as_the_original_is_wherever_nothing_was_masked() -> None:
    # 16-bit, no window: shown by min/max, which masking (to 0, and the white text gone) changes.
    source = synthetic(bits=16)
    outcome, written = run_pixels(source, RegionDecision(boxes=TEXT))
    assert outcome.status == "cleaned"
    png = BytesIO()
    render_preview(source, outcome, png, written)
    sheet = np.asarray(Image.open(BytesIO(png.getvalue())).convert("RGB")).astype(int)
    original, cleaned, scale = sheet[28:, :768], sheet[28:, 768 + 16 :], 768 / 64

    outside = ~on_screen(TEXT, scale, original.shape) & ~drawn_over(original)
    assert outside.mean() > 0.5
    assert np.array_equal(original[outside], cleaned[outside])
    # Masked areas read as black, as the darkest pixel of the original does.
    assert cleaned[on_screen(TEXT, scale, cleaned.shape)].max() == 0


def test_a_withheld_image_is_previewed_alone(tmp_path: Path) -> None:
    source = bundled("emri_small.dcm")  # 64 x 64, 10 frames
    source.BurnedInAnnotation = "YES"
    outcome = clean_pixels(source, header_stage(source), RegionDecision(), None)
    assert outcome.status == "withheld"
    png = BytesIO()
    render_preview(source, outcome, png, frame=4)
    assert Image.open(BytesIO(png.getvalue())).size == (768, 28 + 768)
