"""OCR of burnt-in text with Debian's Tesseract: synthetic frames with known text drawn by
Pillow, and real ultrasound images that ship in pip packages (pydicom's test data,
deid-data).  Real parts, no mocks; no timed assertions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from deidentify.detect import OwnValuesDetector
from deidentify.pixels.detectors import (
    DetectorError,
    DetectorUnavailable,
    TesseractDetector,
)
from deidentify.pixels.scan import should_scan, text_detectors
from deidentify.profile import load_profile
from deidentify.profile.model import OcrSettings
from drawn_text import STYLES, check_words_are_covered_and_classified, draw, kinds_over, mask, patient


def _require_tesseract() -> None:
    if shutil.which("tesseract") is None:
        if os.environ.get("DEIDENTIFY_REQUIRE_TOOLS"):
            pytest.fail("tesseract is required (DEIDENTIFY_REQUIRE_TOOLS is set)")
        pytest.skip("Debian's tesseract-ocr is not installed (apt-get install tesseract-ocr tesseract-ocr-eng)")


@pytest.fixture
def tesseract() -> None:
    _require_tesseract()


needs_tesseract = pytest.mark.usefixtures("tesseract")


@pytest.fixture(scope="module")
def detector() -> TesseractDetector:
    _require_tesseract()
    return TesseractDetector.from_settings(load_profile("basic").pixels.ocr)


def _gray(ds: Dataset, frame: int = 0) -> np.ndarray:
    """Render a decoded 8-bit image to grayscale (luminance), simply."""
    pixels = ds.pixel_array
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        pixels = pixels[frame]
    if pixels.ndim == 3:
        pixels = np.clip(np.rint(pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)), 0, 255)
    return pixels.astype(np.uint8)


def _deid_data(name: str) -> Path:
    deid_data = pytest.importorskip("deid_data", reason="the deid-data package holds the ultrasound samples")
    return Path(deid_data.__file__).parent / "data" / "ultrasounds" / name


# -- failing clearly --------------------------------------------------------------------------


def test_a_missing_tesseract_is_reported_not_silent(tmp_path: Path) -> None:
    with pytest.raises(DetectorUnavailable, match="not installed"):
        TesseractDetector(tesseract_cmd=str(tmp_path / "no-such-tesseract"))
    assert issubclass(DetectorUnavailable, DetectorError)


def test_a_tesseract_that_does_not_run_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "tesseract"
    broken.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    broken.chmod(0o755)
    with pytest.raises(DetectorUnavailable, match="OCR unavailable"):
        TesseractDetector(tesseract_cmd=str(broken))


@needs_tesseract
def test_a_missing_language_is_reported() -> None:
    with pytest.raises(DetectorUnavailable, match="no data for language zzz"):
        TesseractDetector(language="eng+zzz")


@needs_tesseract
def test_frames_must_be_8_bit_grayscale(detector: TesseractDetector) -> None:
    with pytest.raises(ValueError, match="2-D grayscale"):
        detector.find(np.zeros((20, 20, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="8-bit"):
        detector.find(np.zeros((20, 20), dtype=np.uint16))


@needs_tesseract
def test_a_blank_frame_has_no_text(detector: TesseractDetector) -> None:
    assert detector.find(np.zeros((200, 300), dtype=np.uint8)) == []
    assert detector.find(np.full((200, 300), 255, dtype=np.uint8)) == []


# -- synthetic frames -----------------------------------------------------------------------------


@needs_tesseract
@pytest.mark.parametrize("size, foreground, background", STYLES)
def test_words_of_a_synthetic_frame_are_covered_and_classified(
    detector: TesseractDetector, size: int, foreground: int, background: int
) -> None:
    check_words_are_covered_and_classified(detector, size, foreground, background)


@needs_tesseract
def test_an_own_value_is_masked_below_the_confidence_threshold() -> None:
    ds = patient()
    frame, (area,) = draw([(20, 20, "Marta Kowalczyk")], 16, 255, 0, shape=(80, 300))
    strict = TesseractDetector(confidence=100, padding=0)
    detectors = [OwnValuesDetector.from_dataset(ds)]
    boxes = strict.find(frame, detectors)
    assert boxes and kinds_over(boxes, area) == {"name"}
    assert mask(boxes, frame.shape)[frame != 0].mean() >= 0.99
    names = [w for w in strict.words(frame, detectors) if w.kind == "name"]
    assert names and all(w.own and w.confidence < 100 for w in names)  # masked for what they are
    assert all(b.kind == "" for b in strict.find(frame))  # without the dataset, no class


@needs_tesseract
def test_words_come_back_with_what_was_read(detector: TesseractDetector) -> None:
    frame, _ = draw([(10, 10, "LYMPH NODE")], 20, 255, 0, shape=(60, 300))
    words = detector.words(frame)
    assert {"LYMPH", "NODE"} <= {w.text for w in words}
    assert {w.source.split(":")[0] for w in words} <= {"gray", "binary"}


# -- real images from pip packages ------------------------------------------------------------

# Areas of US1 (GE LOGIQ 700, 640 x 480) that hold only burnt-in text.
US1_TEXT = {
    "institution and IDs": (18, 25, 170, 104),
    "probe and preset": (495, 25, 624, 104),
    "clock": (278, 40, 360, 56),
    "annotation": (245, 360, 360, 376),
    "acoustic output": (395, 455, 622, 474),
}


@needs_tesseract
@pytest.mark.parametrize("name", ["US1_UNCR.dcm", "US1_J2KR.dcm"])
def test_pydicoms_ultrasound_text_is_found(detector: TesseractDetector, name: str) -> None:
    ds = pydicom.dcmread(get_testdata_file(name))
    frame = _gray(ds)
    assert frame.shape == (480, 640)
    boxes = detector.find(frame, text_detectors(ds))
    covered = mask(boxes, frame.shape)
    for area, (x0, y0, x1, y1) in US1_TEXT.items():
        ink = frame[y0:y1, x0:x1] >= 150
        assert covered[y0:y1, x0:x1][ink].mean() >= 0.97, area
    assert ds.InstitutionName == "BAPTIST MED CTR"
    assert "institution" in kinds_over(boxes, (18, 25, 170, 40))
    assert covered.mean() < 0.3


@needs_tesseract
def test_deid_data_siemens_ultrasound(detector: TesseractDetector) -> None:
    ds = pydicom.dcmread(_deid_data("RGB_IMAGE.dcm"))
    frame = _gray(ds)
    boxes = detector.find(frame, text_detectors(ds))
    covered = mask(boxes, frame.shape)
    areas = [(0, 0, 240, 30), (0, 32, 140, 56), (500, 0, 890, 56), (920, 60, 1024, 355), (515, 738, 700, 768)]
    for x0, y0, x1, y1 in areas:
        ink = frame[y0:y1, x0:x1] >= 150
        assert covered[y0:y1, x0:x1][ink].mean() >= 0.97, (x0, y0)
    assert str(ds.PatientName) == "ZZZDOWNTIME^MARY^^"
    assert "name" in kinds_over(boxes, (0, 0, 240, 30))  # "ZZZDOWNTIME,MARY"
    assert "date" in kinds_over(boxes, (610, 0, 720, 30))  # 4/14/2020, the study date
    assert "institution" in kinds_over(boxes, (500, 32, 770, 56))  # CCHS CLEVELAND CLINIC
    assert covered.mean() < 0.15


@needs_tesseract
def test_deid_data_philips_ultrasound(detector: TesseractDetector) -> None:
    ds = pydicom.dcmread(_deid_data("GREYSCALE_IMAGE.dcm"))
    frame = _gray(ds)
    boxes = detector.find(frame, text_detectors(ds))
    covered = mask(boxes, frame.shape)
    for x0, y0, x1, y1 in [(0, 0, 1024, 24), (10, 26, 140, 48), (10, 50, 105, 120), (10, 138, 100, 260)]:
        ink = frame[y0:y1, x0:x1] >= 150
        assert covered[y0:y1, x0:x1][ink].mean() >= 0.97, (x0, y0)
    assert ds.PatientBirthDate == "19510829"
    assert "date" in kinds_over(boxes, (430, 0, 520, 24))  # DOB: 08/29/1951
    assert "name" in kinds_over(boxes, (0, 0, 120, 24))  # ZZZ TEST PATIENTFI...
    assert covered.mean() < 0.15


@needs_tesseract
@pytest.mark.filterwarnings("ignore:The value length")  # the sample has an over-long SH value
def test_deid_data_multiframe_echo(detector: TesseractDetector) -> None:
    ds = pydicom.dcmread(_deid_data("ultrasound-multiframe.dcm"))
    assert int(ds.NumberOfFrames) == 30
    frame = _gray(ds, frame=0)
    boxes = detector.find(frame, text_detectors(ds))
    covered = mask(boxes, frame.shape)
    for x0, y0, x1, y1 in [(5, 55, 75, 280), (745, 58, 800, 92), (730, 560, 800, 585)]:
        ink = frame[y0:y1, x0:x1] >= 150
        assert covered[y0:y1, x0:x1][ink].mean() >= 0.97, (x0, y0)
    assert covered.mean() < 0.15


# -- what is read, and how --------------------------------------------------------------------


def test_which_images_are_scanned() -> None:
    us, ct, sr = Dataset(), Dataset(), Dataset()
    us.Modality, ct.Modality, sr.Modality = "US", "CT", "SR"
    ct.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    sr.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.22"
    auto = load_profile("basic").pixels.ocr
    assert should_scan(us, auto) and not should_scan(ct, auto)
    flagged = Dataset()
    flagged.Modality, flagged.BurnedInAnnotation = "CT", "YES"
    assert should_scan(flagged, auto)
    assert should_scan(ct, OcrSettings(scan="all"))
    more = OcrSettings(scan="auto", modalities=("CT",))
    assert should_scan(ct, more) and should_scan(us, more)
    only = OcrSettings(scan="listed", sop_classes=("1.2.840.10008.5.1.4.1.1.88.*",))
    assert should_scan(sr, only) and not should_scan(us, only) and not should_scan(ct, only)
    assert not should_scan(us, OcrSettings(enabled=False))


def test_text_detectors_put_the_datasets_own_values_first() -> None:
    detectors = text_detectors(patient())
    assert isinstance(detectors[0], OwnValuesDetector)
    kinds = {kind for d in detectors[1:] for kind in getattr(d, "kinds", (getattr(d, "kind", ""),))}
    assert kinds >= {"phone", "email", "date", "uk-nhs", "us-ssn"}  # one detector may cover several kinds


@needs_tesseract
def test_the_detector_takes_the_profiles_settings() -> None:
    ocr = OcrSettings(confidence=75, padding=5, language="eng", upscale=2, timeout=30)
    detector = TesseractDetector.from_settings(ocr)
    settings = (detector.confidence, detector.padding, detector.language, detector.upscale, detector.timeout)
    assert settings == (75.0, 5, "eng", 2, 30)
    frame, (area,) = draw([(30, 20, "SAMPLE")], 20, 255, 0, shape=(80, 200))
    (box,) = detector.find(frame)
    x0, y0, x1, y1 = area
    assert box.x0 <= x0 - 4 and box.y0 <= y0 - 4 and box.x1 >= x1 + 4 and box.y1 >= y1 + 4  # padded


@needs_tesseract
def test_reading_an_image_does_not_load_pandas() -> None:
    # pandas (70 MB) has no place in a process that only reads images.
    script = (
        "import sys, numpy as np\n"
        "from deidentify.pixels.detectors import TesseractDetector\n"
        "frame = np.full((60, 200), 255, np.uint8); frame[20:40, 20:180] = 0\n"
        "TesseractDetector().find(frame)\n"
        "print('pandas' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"
