"""How many images a second the pixel stage masks, per encoding: measured and printed, never asserted.

Run ``pytest tests/test_pixels_throughput.py -s`` to see the table.  Each case
masks a banner with a region rule (no OCR: what is measured is decoding,
masking and encoding, not the OCR engine), and one case adds the rendering that
feeds OCR.
"""

from __future__ import annotations

import time

import pytest

from deidentify.pixels import Box, CleanSettings, RegionDecision, clean_pixels
from test_pixels_support import FixedBoxes, bundled, header_stage

BANNER = RegionDecision(boxes=(Box(0, 0, 400, 40, "banner"),))

CASES = [
    ("native 1024x1024 16-bit (MR2_UNCR)", "MR2_UNCR.dcm", None),
    ("native 640x480 RGB (US1_UNCR)", "US1_UNCR.dcm", None),
    ("native 10 frames 64x64 (emri_small)", "emri_small.dcm", None),
    ("RLE 600x800 palette (OBXXXX1A_rle)", "OBXXXX1A_rle.dcm", None),
    ("JPEG-LS lossless 10 frames 64x64 (emri_small_jpeg_ls_lossless)", "emri_small_jpeg_ls_lossless.dcm", None),
    ("JPEG 2000 lossless 640x480 RGB (US1_J2KR)", "US1_J2KR.dcm", None),
    ("JPEG 2000 lossless 1024x1024 (MR2_J2KR)", "MR2_J2KR.dcm", None),
    ("JPEG 2000 lossy -> native 640x480 (US1_J2KI)", "US1_J2KI.dcm", None),
    ("JPEG baseline -> native 30 frames (examples_ybr_color)", "examples_ybr_color.dcm", None),
    ("native 640x480 RGB + render for OCR", "US1_UNCR.dcm", FixedBoxes()),
]


@pytest.mark.parametrize("label, name, detector", CASES, ids=[case[1] for case in CASES])
def test_images_per_second(
    label: str, name: str, detector: FixedBoxes | None, capsys: pytest.CaptureFixture[str]
) -> None:
    source = bundled(name)
    out = header_stage(source)
    settings = CleanSettings()
    runs, started = 0, time.perf_counter()
    while runs < 3 or time.perf_counter() - started < 0.3:
        outcome = clean_pixels(source, out, BANNER, detector, (), settings)
        runs += 1
    elapsed = time.perf_counter() - started
    assert outcome.status == "cleaned", outcome.reason
    with capsys.disabled():
        print(f"\n  {label}: {runs / elapsed:.1f} images/s")
