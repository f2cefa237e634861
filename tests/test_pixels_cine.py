"""A cine's frames read together (deidentify.pixels.cine), on real cines no one here made:
pydicom's 30-frame examples_ybr_color, deid-data's 30-frame ultrasound-multiframe, and
pydicom-data's MR2_UNCI repeated as a picture that does not move.  Real models, no mocks."""

from __future__ import annotations

import shutil
from pathlib import Path

import deid_data
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from burnt_in.locate import truth_files
from deidentify.pixels import CleanSettings, RegionDecision, cine
from deidentify.pixels.base import Box, GlyphReader
from deidentify.pixels.cine import _carried, read_across_frames
from deidentify.pixels.clean import find_text
from deidentify.pixels.detectors import CombinedDetector, TesseractDetector, TextDetector
from deidentify.pixels.frames import decode_frames
from deidentify.pixels.layout import read_layout, transfer_syntax_of
from deidentify.pixels.render import to_gray
from deidentify.profile import load_profile
from drawn_text import draw
from test_pixels_codecs import check_masked_frames
from test_pixels_support import TEXT, OnFrames, inside, run_pixels, synthetic


@pytest.fixture(scope="module")
def detector() -> TextDetector:
    return TextDetector.from_settings(load_profile("basic").pixels.ocr)


def _read(ds: Dataset, detector: TextDetector) -> tuple[list[tuple[Box, ...]], list[tuple[Box, ...]]]:
    """Each frame's findings read one by one, and read together."""
    layout = read_layout(ds, transfer_syntax_of(ds))
    found = find_text(ds, layout, range(layout.frames), detector, ())
    return found, read_across_frames(ds, layout, found, detector)


def _frames_covering(found: list[tuple[Box, ...]], x0: int, y0: int, x1: int, y1: int) -> int:
    return sum(any(b.x0 <= x0 and b.y0 <= y0 and x1 <= b.x1 and y1 <= b.y1 for b in boxes) for boxes in found)


def test_a_faint_letter_found_on_one_frame_is_masked_on_every_frame_it_stays_on(detector: TextDetector) -> None:
    # The caliper legend's "B", 5 x 6 pixels, grey 28-68 on black: its pixels never change.
    ds = pydicom.dcmread(get_testdata_file("examples_ybr_color.dcm"))
    found, together = _read(ds, detector)
    alone = _frames_covering(found, 301, 133, 305, 139)
    assert 0 < alone < 30
    assert _frames_covering(together, 301, 133, 305, 139) == 30
    # Only added: every frame keeps what was found on it.
    for before, after in zip(found, together, strict=True):
        assert all(_frames_covering([after], b.x0, b.y0, b.x1, b.y1) for b in before)


def test_a_lone_letter_of_the_overlay_is_masked_on_every_frame(detector: TextDetector) -> None:
    # The "P" of a probe icon, 7 x 10 pixels, that the detector sees on no frame.
    ds = pydicom.dcmread(Path(deid_data.__file__).parent / "data" / "ultrasounds" / "ultrasound-multiframe.dcm")
    found, together = _read(ds, detector)
    assert _frames_covering(found, 466, 73, 472, 81) == 0
    assert _frames_covering(together, 466, 73, 472, 81) == 30
    # Nothing is added over the middle of the picture, where the heart moves.
    assert _added_over_the_middle(found, together, (int(ds.Rows), int(ds.Columns))) == []


def _added_over_the_middle(found: list[tuple[Box, ...]], together: list[tuple[Box, ...]],
                           shape: tuple[int, ...]) -> list[Box]:
    rows, columns = shape[:2]
    return [b for before, after in zip(found, together, strict=True) for b in set(after) - set(before)
            if b.x0 < 3 * columns // 4 and columns // 4 < b.x1 and b.y0 < 3 * rows // 4 and rows // 4 < b.y1]


def test_a_picture_that_does_not_move_has_no_overlay_to_read(detector: TextDetector) -> None:
    # One frame of an MR, three times: everything stays, so nothing can be told apart as drawn
    # over the picture.
    mr = pydicom.dcmread(get_testdata_file("MR2_UNCI.dcm"))
    ds = mr.copy()
    ds.NumberOfFrames = 3
    ds.PixelData = mr.PixelData * 3
    found, together = _read(ds, detector)
    assert together == found == [(), (), ()]


def test_a_still_picture_beside_a_moving_one_is_not_read_as_overlay(detector: TextDetector) -> None:
    # Debian's octave-dicom echo, its first frame standing still while a band at the left moves
    # (as the frozen half of a dual display does): the still anatomy is no overlay, though specks
    # of it read as "4" and "5" (0.96, 0.98) when cut out.
    found_files = [(path, entry) for path, entry in truth_files() if path.name == "US-PAL-8-10x-echo.dcm"]
    if not found_files:
        pytest.skip("Debian's octave-dicom samples are not in .corpora")
    echo = pydicom.dcmread(found_files[0][0])
    gray = to_gray(next(decode_frames(echo, read_layout(echo, transfer_syntax_of(echo)))), echo)
    frames = np.repeat(gray[None], 3, axis=0)
    band = (3, gray.shape[0], gray.shape[1] // 4)
    frames[:, :, : band[2]] = np.random.default_rng(0).integers(0, 256, band)
    found, together = _read(_monochrome_cine(frames), detector)
    assert _added_over_the_middle(found, together, gray.shape) == []


def _monochrome_cine(frames: np.ndarray) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.Modality = "US"
    ds.NumberOfFrames, ds.Rows, ds.Columns = frames.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = frames.astype(np.uint8).tobytes()
    return ds


def test_text_found_on_one_frame_is_masked_on_the_frames_that_show_it_unchanged() -> None:
    # Three frames of noise with the same white bar on each; the bar is found on the middle one.
    source = synthetic("rle", "MONOCHROME2", 16, frames=3)
    outcome, out = run_pixels(source, RegionDecision(), OnFrames(TEXT[0], {1}), CleanSettings(padding=0))
    assert outcome.status == "cleaned"
    assert [boxes for boxes in outcome.boxes] == [(TEXT[0],)] * 3
    check_masked_frames(source, out, dict.fromkeys(range(3), inside([TEXT[0]])))


def test_large_frames_sum_the_change_under_their_boxes_as_the_integral_image_does(
    detector: TextDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Frames too large for 32-bit integral sums sum over each box instead: the same boxes carried.
    ds = pydicom.dcmread(get_testdata_file("examples_ybr_color.dcm"))
    layout = read_layout(ds, transfer_syntax_of(ds))
    found = find_text(ds, layout, range(layout.frames), detector, ())
    by_integral = read_across_frames(ds, layout, found, detector)
    monkeypatch.setattr(cine, "_INTEGRAL_PIXELS", 0)
    assert read_across_frames(ds, layout, found, detector) == by_integral


def test_a_box_is_carried_over_the_frames_its_pixels_stay_on_and_no_further() -> None:
    # One box, 6 frames, found on frame 2; its pixels change between frames 3 and 4 (still[4]).
    present = np.array([[False], [False], [True], [False], [False], [False]])
    still = np.array([[False], [True], [True], [True], [False], [True]])
    assert _carried(present, still)[:, 0].tolist() == [True, True, True, True, False, False]


def test_the_text_detector_reads_a_lone_glyph_and_so_does_a_combination_holding_it(detector: TextDetector) -> None:
    glyph, _ = draw([(12, 8, "P")], 14, 255, 0, shape=(36, 32))
    speck = np.zeros((36, 32), dtype=np.uint8)
    speck[16:19, 14:17] = 255
    assert isinstance(detector, GlyphReader)
    assert detector.reads_glyph(glyph)
    assert not detector.reads_glyph(speck)
    if shutil.which("tesseract"):
        assert not isinstance(TesseractDetector(), GlyphReader)  # the cine's overlay is read by recognisers only
        assert CombinedDetector([TesseractDetector(), detector]).reads_glyph(glyph)
