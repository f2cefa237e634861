"""The pixel stage's rules: which images are read, masked, passed or withheld, and the marks around the pixels."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

from deidentify.pixels import Box, CleanSettings, RegionDecision, clean_pixels
from test_pixels_codecs import check_masked, darkest_expected
from test_pixels_support import (
    COLUMNS,
    ROWS,
    TEXT,
    BrightestArea,
    BrokenEngine,
    FixedBoxes,
    decoded,
    header_stage,
    inside,
    run_pixels,
    synthetic,
)

ICON = 0x00880200
NOT_CLEANED = "burnt-in text not cleaned"


def ct(**kw: object) -> Dataset:
    """An image that may not carry burnt-in text."""
    return synthetic("explicit", "MONOCHROME2", 12, modality="CT", burned_in="NO", **kw)  # type: ignore[arg-type]


def capture(encoding: str = "explicit", **kw: object) -> Dataset:
    """A secondary capture: may carry burnt-in text whatever its flag says."""
    return synthetic(encoding, "MONOCHROME2", 8, burned_in="NO", **kw)  # type: ignore[arg-type]


def test_an_image_that_may_not_carry_text_passes_unread() -> None:
    detector = FixedBoxes(TEXT[0])
    outcome, out = run_pixels(ct(), RegionDecision(), detector)
    assert (outcome.status, outcome.reason) == ("unchanged", "may not carry burnt-in text")
    assert detector.seen == []
    assert not outcome.clean_pixel_data
    assert out.BurnedInAnnotation == "NO"


def test_a_scan_reads_an_image_the_gate_lets_pass_but_does_not_require_it() -> None:
    source = ct()
    outcome, out = run_pixels(source, RegionDecision(), FixedBoxes(TEXT[0]), CleanSettings(padding=0), scan=True)
    assert outcome.status == "cleaned"
    check_masked(source, out, inside([TEXT[0]]))
    outcome, _ = run_pixels(source, RegionDecision(), None, scan=True)
    assert (outcome.status, outcome.reason) == ("unchanged", "no region to mask")


def test_region_rule_boxes_apply_to_any_image_they_match_without_ocr() -> None:
    detector = FixedBoxes(TEXT[1])
    source = ct()
    outcome, out = run_pixels(source, RegionDecision(boxes=(TEXT[0],), rules=("CT dose banner",)), detector)
    assert outcome.status == "cleaned"
    assert detector.seen == []
    check_masked(source, out, inside([TEXT[0]]))


@pytest.mark.parametrize(
    "decision, settings, detail",
    [
        (RegionDecision(), CleanSettings(), "no text detector"),
        (RegionDecision(), CleanSettings(ocr="never"), "no region rule covers it and OCR is off"),
        (RegionDecision(boxes=TEXT), CleanSettings(ocr="always"), "no text detector"),
        (RegionDecision(clean=True, flags=("deid blacklist",)), CleanSettings(), "no text detector"),
        (RegionDecision(boxes=TEXT, flags=("deid graylist",)), CleanSettings(), "no text detector"),
    ],
)
def test_an_image_that_needs_ocr_without_a_detector_is_withheld(
    decision: RegionDecision, settings: CleanSettings, detail: str
) -> None:
    source = capture()
    out = header_stage(source)
    before = out.get_item(0x7FE00010)
    outcome = clean_pixels(source, out, decision, None, (), settings)
    assert (outcome.status, outcome.reason) == ("withheld", f"{NOT_CLEANED} ({detail})")
    assert out.get_item(0x7FE00010) is before


def test_a_rule_flag_makes_any_image_need_ocr() -> None:
    outcome, _ = run_pixels(ct(), RegionDecision(flags=("ACME dose screen",)))
    assert outcome.reason == f"{NOT_CLEANED} (no text detector)"


def test_a_failing_detector_withholds_the_image() -> None:
    outcome, _ = run_pixels(capture(), RegionDecision(boxes=TEXT), BrokenEngine())
    assert (outcome.status, outcome.reason) == ("withheld", f"{NOT_CLEANED} (OCR failed: RuntimeError)")


def test_rule_boxes_suffice_where_there_is_no_detector() -> None:
    source = capture()
    outcome, out = run_pixels(source, RegionDecision(boxes=TEXT, rules=("ACME banner",)))
    assert outcome.status == "cleaned"
    check_masked(source, out, inside(TEXT))


def test_a_rule_that_declares_the_image_clean_passes_it_unchanged_and_marked_clean() -> None:
    source = capture()
    outcome, out = run_pixels(source, RegionDecision(clean=True, rules=("ACME: no text",)))
    assert (outcome.status, outcome.reason) == ("unchanged", "declared clean by a region rule")
    assert outcome.clean_pixel_data  # assessed and found clean: Clean Pixel Data applies
    assert out.PixelData == source.PixelData
    assert out.BurnedInAnnotation == "NO"


def test_ocr_findings_win_over_a_rule_that_declares_the_image_clean() -> None:
    source = synthetic("explicit", "MONOCHROME2", 8, burned_in="YES")
    outcome, out = run_pixels(source, RegionDecision(clean=True), FixedBoxes(TEXT[0]), CleanSettings(padding=0))
    assert outcome.status == "cleaned"
    assert out.BurnedInAnnotation == "NO"
    check_masked(source, out, inside([TEXT[0]]))


def test_ocr_that_finds_nothing_where_the_header_says_yes_withholds_the_image() -> None:
    source = synthetic("rle", "MONOCHROME2", 8, burned_in="YES")
    outcome, out = run_pixels(source, RegionDecision(), FixedBoxes())
    assert outcome.status == "withheld"
    assert outcome.reason.startswith("burnt-in text not cleaned") and "BurnedInAnnotation is YES" in outcome.reason


def test_ocr_that_finds_nothing_on_a_capture_image_marks_it_clean_with_its_pixels_unchanged() -> None:
    source = capture()
    outcome, out = run_pixels(source, RegionDecision(), FixedBoxes())
    assert (outcome.status, outcome.reason, outcome.clean_pixel_data) == ("unchanged", "no burnt-in text found", True)
    assert out.PixelData == source.PixelData
    assert out.BurnedInAnnotation == "NO"


def test_whole_blanks_every_frame_without_reading_it() -> None:
    source = capture("jpeg-ls", frames=3)
    detector = FixedBoxes(TEXT[0])
    outcome, out = run_pixels(source, RegionDecision(whole=True, rules=("screen capture",)), detector)
    assert detector.seen == []
    assert outcome.boxes == ((Box(0, 0, COLUMNS, ROWS, "screen capture"),),) * 3
    assert np.all(decoded(out) == 0)


def test_whole_spares_the_kept_areas_but_not_the_text_found_in_them() -> None:
    source = capture()
    keep = Box(10, 10, 50, 40, "ultrasound region")
    finding = Box(36, 30, 48, 36, "text")  # inside the kept area
    decision = RegionDecision(whole=True, keep=(keep,))
    outcome, out = run_pixels(source, decision, FixedBoxes(finding), CleanSettings(padding=0))
    masked = ~inside([keep]) | inside([finding])
    check_masked(source, out, masked)
    assert outcome.status == "cleaned"


def test_kept_areas_do_not_spare_rule_boxes() -> None:
    source = capture()
    keep = Box(0, 0, COLUMNS, ROWS, "ultrasound region")
    _, out = run_pixels(source, RegionDecision(boxes=(TEXT[0],), keep=(keep,)))
    check_masked(source, out, inside([TEXT[0]]))


def test_the_detector_reads_the_rendered_frame_and_the_own_values() -> None:
    class Recorder(FixedBoxes):
        def find(self, image: np.ndarray, own_values: Iterable[object] = ()) -> list[Box]:
            self.values = own_values
            return super().find(image, own_values)

    source = synthetic("explicit", "MONOCHROME1", 16)
    detector = Recorder()
    clean_pixels(source, header_stage(source), RegionDecision(), detector, iter(["detector-a", "detector-b"]))
    assert detector.values == ("detector-a", "detector-b")
    (image,) = detector.seen
    assert image.dtype == np.uint8 and image.shape == (ROWS, COLUMNS)
    # MONOCHROME1: the text, stored at the lowest value, is shown white.
    assert np.all(image[inside(TEXT)] == 255)


@pytest.mark.parametrize(
    "encoding, photometric, bits",
    [("explicit", "MONOCHROME1", 16), ("rle", "MONOCHROME2", 12), ("explicit", "RGB", 8), ("jpeg-ls", "RGB", 16),
     ("explicit", "YBR_FULL", 8), ("explicit", "YBR_FULL_422", 8), ("explicit", "MONOCHROME2", 1)],
)
def test_text_is_found_where_it_shows_in_every_colour_space(encoding: str, photometric: str, bits: int) -> None:
    source = synthetic(encoding, photometric, bits)
    outcome, out = run_pixels(source, RegionDecision(), BrightestArea(), CleanSettings(padding=0))
    union = Box(TEXT[0].x0, TEXT[0].y0, TEXT[1].x1, TEXT[1].y1, "text", "name")
    assert outcome.boxes == ((union,),)
    assert np.all(decoded(out)[0][inside([union])] == darkest_expected(out))


def test_no_pixel_data_is_nothing_to_clean() -> None:
    source = capture()
    out = header_stage(source)
    del out.PixelData
    outcome = clean_pixels(source, out, RegionDecision(), None)
    assert (outcome.status, outcome.reason) == ("unchanged", "no pixel data")


def test_an_unreadable_image_description_is_withheld() -> None:
    source = capture()
    del source.BitsAllocated
    outcome, _ = run_pixels(source, RegionDecision(boxes=TEXT))
    assert outcome.status == "withheld"
    assert outcome.reason == f"{NOT_CLEANED} (image pixel description is incomplete: no BitsAllocated)"


def test_float_pixel_data_that_needs_cleaning_is_withheld() -> None:
    source = capture()
    source.FloatPixelData = np.zeros(ROWS * COLUMNS, dtype="<f4").tobytes()
    del source.PixelData
    outcome, _ = run_pixels(source, RegionDecision(boxes=TEXT))
    assert outcome.reason == f"{NOT_CLEANED} (float pixel data cannot be cleaned)"


def _with_icon(out: Dataset) -> None:
    icon = Dataset()
    icon.Rows, icon.Columns, icon.SamplesPerPixel, icon.PhotometricInterpretation = 4, 4, 1, "MONOCHROME2"
    icon.BitsAllocated, icon.BitsStored, icon.HighBit, icon.PixelRepresentation = 8, 8, 7, 0
    icon.PixelData = bytes(range(16))
    out[ICON] = DataElement(ICON, "SQ", Sequence([icon]))


def test_the_icon_is_regenerated_from_the_cleaned_image() -> None:
    source = capture(frames=2)
    out = header_stage(source)
    _with_icon(out)
    outcome = clean_pixels(source, out, RegionDecision(whole=True), None, (), CleanSettings(icon_size=16))
    assert outcome.status == "cleaned"
    (icon,) = out.IconImageSequence
    assert (icon.Columns, icon.Rows, icon.BitsAllocated, icon.PhotometricInterpretation) == (16, 12, 8, "MONOCHROME2")
    assert icon.PixelData == bytes(16 * 12)  # from the blanked first frame


def test_the_icon_of_a_compressed_output_is_removed() -> None:
    source = capture("rle")
    out = header_stage(source)
    _with_icon(out)
    outcome = clean_pixels(source, out, RegionDecision(boxes=TEXT), None)
    assert outcome.status == "cleaned"
    assert ICON not in out


def test_the_icon_of_an_image_that_may_carry_text_is_regenerated_even_when_nothing_was_masked() -> None:
    source = capture()
    out = header_stage(source)
    _with_icon(out)
    outcome = clean_pixels(source, out, RegionDecision(), FixedBoxes())
    assert outcome.status == "unchanged"
    (icon,) = out.IconImageSequence
    assert (icon.Columns, icon.Rows) == (64, 48)


def test_a_lossy_output_written_native_says_so() -> None:
    source = synthetic("jpeg", "RGB", 8)
    outcome, out = run_pixels(source, RegionDecision(boxes=TEXT))
    assert outcome.transfer_syntax == ExplicitVRLittleEndian
    assert (out.LossyImageCompression, out.LossyImageCompressionMethod) == ("01", "ISO_10918_1")


@pytest.mark.parametrize("encoding", ["explicit", "jpeg"])
def test_the_input_dataset_is_never_changed(encoding: str) -> None:
    source = synthetic(encoding, "RGB", 8, burned_in="YES")
    source.LossyImageCompression = "00"
    before = {elem.tag: elem.value for elem in source}
    outcome, _ = run_pixels(source, RegionDecision(boxes=TEXT))
    assert outcome.status == "cleaned"
    assert {elem.tag: elem.value for elem in source} == before


def test_a_frame_read_exactly_as_the_one_before_it_is_not_read_again() -> None:
    source = synthetic("explicit", "MONOCHROME2", 8, frames=4)
    frames = decoded(source)
    # A paused cine: frame 1 repeats frame 0 and frame 3 repeats frame 2; frame 2 differs.
    source.PixelData = np.stack([frames[0], frames[0], frames[2], frames[2]]).astype(np.uint8).tobytes()
    detector = FixedBoxes(TEXT[0])
    outcome, _ = run_pixels(source, RegionDecision(), detector, CleanSettings(padding=0))
    assert len(detector.seen) == 2
    assert not np.array_equal(detector.seen[0], detector.seen[1])
    assert outcome.boxes == ((TEXT[0],),) * 4


def test_an_image_description_that_is_not_a_number_names_its_element() -> None:
    """pydicom's badVR.dcm says Number of Frames "1A": the reason names the element, not its value."""
    outcome, _ = run_pixels(dcmread(get_testdata_file("badVR.dcm")), RegionDecision(boxes=TEXT))
    assert outcome.status == "withheld"
    assert outcome.reason == f"{NOT_CLEANED} (image pixel description is malformed: NumberOfFrames is not a number)"
