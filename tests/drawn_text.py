"""Frames with known text drawn by Pillow, and what every text engine must do with them.

The tests of each engine (test_pixels_ocr.py for Tesseract, test_pixels_text_detector.py
for the text detector) draw the same frames and hold them to the same checks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset

from deidentify.pixels.base import Box, PixelDetector
from deidentify.pixels.scan import text_detectors

Area = tuple[int, int, int, int]

#: (font size, text grey, background grey) of the synthetic frames every engine reads.
STYLES = [
    (11, 255, 0),  # small white text on black, as on most scanners
    (11, 0, 255),  # small black text on white
    (40, 255, 0),  # large
    (40, 0, 255),
    (14, 210, 45),  # grey text on a grey banner
]


def mask(boxes: Sequence[Box], shape: tuple[int, ...]) -> np.ndarray:
    covered = np.zeros(shape[:2], dtype=bool)
    for box in boxes:
        covered[box.y0 : box.y1, box.x0 : box.x1] = True
    return covered


def kinds_over(boxes: Sequence[Box], area: Area) -> set[str]:
    x0, y0, x1, y1 = area
    return {b.kind for b in boxes if b.x0 < x1 and x0 < b.x1 and b.y0 < y1 and y0 < b.y1}


def patient() -> Dataset:
    ds = Dataset()
    ds.PatientName = "Kowalczyk^Marta"
    ds.PatientID = "48213377"
    ds.PatientBirthDate = "19620317"
    ds.Modality = "US"
    return ds


def draw(
    lines: list[tuple[int, int, str]], size: int, foreground: int, background: int, shape: tuple[int, int] = (480, 640)
) -> tuple[np.ndarray, list[Area]]:
    picture = Image.new("L", (shape[1], shape[0]), background)
    pen = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=size)
    areas: list[Area] = []
    for x, y, text in lines:
        x0, y0, x1, y1 = pen.textbbox((x, y), text, font=font)
        areas.append((int(x0), int(y0), int(x1), int(y1)))
    for x, y, text in lines:
        pen.text((x, y), text, fill=foreground, font=font)
    return np.array(picture), areas


def check_words_are_covered_and_classified(
    detector: PixelDetector, size: int, foreground: int, background: int, every: bool = True
) -> None:
    """Every word drawn is masked, the patient's own name and the ID and date (``every``) or one
    of them are labelled by class, plain words are masked unlabelled, and nothing else of the
    frame is."""
    gap = 2 * size
    frame, (name, numbers, plain) = draw(
        [(12, 10, "KOWALCZYK, MARTA"), (12, 10 + gap, "ID 48213377 DOB 17/03/1962"), (300, 300, "LIVER SAG")],
        size,
        foreground,
        background,
    )
    boxes = detector.find(frame, text_detectors(patient()))
    covered = mask(boxes, frame.shape)
    assert covered[frame != background].mean() >= 0.99  # every word is masked, identifying or not
    assert "name" in kinds_over(boxes, name)  # the dataset's own name, labelled by class
    found = kinds_over(boxes, numbers) & {"id", "date"}
    assert found == {"id", "date"} if every else found
    assert kinds_over(boxes, plain) == {""}  # masked all the same: burnt-in text is annotation
    assert all(b.label == "text" for b in boxes)
    assert covered.mean() < 0.25  # the rest of the frame stays
    assert not covered[plain[3] + 40 :, :].any()  # nothing where nothing is written
