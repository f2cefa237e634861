"""The neural text detector (PP-OCR's models from the rapidocr wheel, run by OpenVINO and ONNX Runtime):
synthetic frames with known text drawn by Pillow, how it fails, and how it runs in
worker processes.  The real burnt-in files with hand-labelled boxes are in
test_pixels_burnt_in_truth.py.  Real models, no mocks; no timed assertions."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pydicom
import pytest

from burnt_in.locate import boxes_for_frame, truth_files
from deidentify.pixels.base import Box
from deidentify.pixels.detectors import (
    CombinedDetector,
    DetectorError,
    TextDetector,
    build_detector,
    ppocr,
)
from deidentify.pixels.frames import decode_frames
from deidentify.pixels.layout import read_layout, transfer_syntax_of
from deidentify.pixels.render import to_gray
from deidentify.pixels.scan import text_detectors
from deidentify.profile import load_profile
from deidentify.profile.model import OcrSettings
from drawn_text import STYLES, check_words_are_covered_and_classified, draw, mask, patient

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def detector() -> TextDetector:
    return TextDetector.from_settings(load_profile("basic").pixels.ocr)


# -- what it finds ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size, foreground, background", STYLES)
def test_words_of_a_synthetic_frame_are_covered_and_classified(
    detector: TextDetector, size: int, foreground: int, background: int
) -> None:
    # A line holding the ID and the birth date is one box, labelled with the first class found.
    check_words_are_covered_and_classified(detector, size, foreground, background, every=False)


def test_words_come_back_with_what_was_read(detector: TextDetector) -> None:
    frame, _ = draw([(20, 20, "KOWALCZYK MARTA")], 24, 255, 0)
    words = detector.words(frame, text_detectors(patient()))
    assert any("KOWALCZYK" in word.text.upper() for word in words)
    assert {word.source for word in words} == {"text-detector"}


def test_a_line_seen_again_reads_the_same_without_running_the_recogniser(detector: TextDetector) -> None:
    # A cine's overlay is the same pixels in every frame: the second frame's lines are read from memory.
    frame, _ = draw([(20, 20, "KOWALCZYK MARTA"), (20, 80, "ID 4471-2290")], 24, 255, 0)
    first = detector.words(frame, text_detectors(patient()))
    remembered = len(detector._readings)
    again = detector.words(frame.copy(), text_detectors(patient()))
    assert again == first
    assert len(detector._readings) == remembered
    # A changed pixel inside a line is another crop: read anew.
    frame[30, 40] ^= 0xFF
    detector.words(frame, text_detectors(patient()))
    assert len(detector._readings) > remembered


def test_blank_and_noise_frames_have_no_text(detector: TextDetector) -> None:
    assert detector.find(np.zeros((200, 300), dtype=np.uint8)) == []
    assert detector.find(np.full((200, 300), 255, dtype=np.uint8)) == []
    speckle = np.random.default_rng(7).gamma(2.0, 40.0, (480, 640)).clip(0, 255).astype(np.uint8)
    assert mask(detector.find(speckle), speckle.shape).mean() < 0.005


def test_the_body_of_a_small_ct_is_not_taken_for_a_line(detector: TextDetector) -> None:
    # The sample's 64 x 64 CTs (doubled to be read): the detector half-believes the body is a line
    # and the recogniser reads "00" in it; a candidate a third of the frame thick is not annotation.
    ct = [p for p in sorted((ROOT / "sample_synthetic" / "studies").rglob("*.dcm"))
          if pydicom.dcmread(p, stop_before_pixels=True).Modality == "CT"]
    assert ct
    for path in ct:
        ds = pydicom.dcmread(path)
        gray = to_gray(next(iter(decode_frames(ds, read_layout(ds, transfer_syntax_of(ds))))), ds)
        assert detector.find(gray) == [], path.name


def test_small_frames_are_read(detector: TextDetector) -> None:
    frame, (area,) = draw([(4, 4, "ID 48213377")], 11, 255, 0, shape=(96, 128))
    covered = mask(detector.find(frame), frame.shape)
    x0, y0, x1, y1 = area
    assert covered[y0:y1, x0:x1][frame[y0:y1, x0:x1] > 0].all()


def test_without_recognition_every_line_is_still_masked_unlabelled() -> None:
    blind = TextDetector(recognition=False)
    frame, areas = draw([(12, 10, "KOWALCZYK, MARTA"), (300, 300, "LIVER SAG")], 14, 255, 0)
    boxes = blind.find(frame, text_detectors(patient()))
    assert mask(boxes, frame.shape)[frame > 0].mean() >= 0.99
    assert {b.kind for b in boxes} == {""}
    assert all(word.text == "" for word in blind.words(frame))


def test_the_detector_runs_in_32_bit_floats_on_unpinned_threads(detector: TextDetector) -> None:
    """Pinned, every worker's threads sat on the same first core (two workers detecting at once
    took twice as long each); bfloat16, where a CPU has it, would give other boxes there."""
    detector.find(np.zeros((64, 64), np.uint8))
    compiled = detector.models._detector.get_compiled_model()
    assert compiled.get_property("ENABLE_CPU_PINNING") is False
    assert str(compiled.get_property("INFERENCE_PRECISION_HINT")) in ("<Type: 'float32'>", "f32")
    assert compiled.get_property("INFERENCE_NUM_THREADS") == min(2, len(os.sched_getaffinity(0)))


def test_frames_must_be_8_bit_grayscale(detector: TextDetector) -> None:
    with pytest.raises(ValueError, match="2-D grayscale"):
        detector.find(np.zeros((20, 20, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="8-bit"):
        detector.find(np.zeros((20, 20), dtype=np.uint16))


# -- engines, settings and failing clearly ---------------------------------------------------------


def test_every_built_in_profile_uses_the_text_detector() -> None:
    for name in ("basic", "research"):
        ocr = load_profile(name).pixels.ocr
        assert ocr.enabled and ocr.engines == ("text-detector",) and ocr.recognition
        assert isinstance(build_detector(ocr), TextDetector)


def test_two_engines_mask_the_union_of_their_boxes() -> None:
    class Fixed:
        """A second engine that always finds one box (a stand-in for a site's own engine)."""

        def find(self, image: np.ndarray, own_values: object = ()) -> list[Box]:
            return [Box(600, 400, 630, 420, "text")]

    frame, _ = draw([(12, 10, "KOWALCZYK, MARTA")], 14, 255, 0)
    text = TextDetector()
    both = CombinedDetector([text, Fixed()]).find(frame)
    assert set(text.find(frame)) <= set(both) and Box(600, 400, 630, 420, "text") in both


def test_a_profile_naming_an_unknown_engine_is_refused(tmp_path: Path) -> None:
    from deidentify.profile import ProfileError

    path = tmp_path / "p.yaml"
    path.write_text("name: p\nextends: basic\npixels:\n  ocr:\n    engines: [text-detector, easyocr]\n")
    with pytest.raises(ProfileError, match=r"p.yaml:5: .*'easyocr' is not an engine"):
        load_profile(str(path))
    path.write_text("name: p\nextends: basic\npixels:\n  ocr:\n    engines: []\n")
    with pytest.raises(ProfileError, match="engines is a list of one or more"):
        load_profile(str(path))


def test_the_models_missing_is_reported_not_silent(tmp_path: Path) -> None:
    # A real interpreter in which the rapidocr package cannot be found.
    hide = tmp_path / "sitecustomize.py"
    hide.write_text(
        "import importlib.abc, sys\n"
        "class Hide(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'rapidocr':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Hide())\n"
    )
    code = (
        "from deidentify.pixels.detectors import TextDetector, DetectorUnavailable\n"
        "try:\n    TextDetector()\nexcept DetectorUnavailable as exc:\n    print(exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert "text detector unavailable" in done.stdout and "pip install" in done.stdout


def test_a_failure_inside_the_runtime_is_a_detector_error(detector: TextDetector) -> None:
    models = detector.models
    detector.find(np.zeros((320, 320), dtype=np.uint8))  # the detector is compiled for 320 x 320 input
    try:
        models._shape = (1, 3, 352, 352)  # a larger input given to the detector compiled for 320 x 320
        with pytest.raises(DetectorError, match="text detector failed"):
            detector.find(np.zeros((352, 352), dtype=np.uint8))
    finally:
        models._shape = ()


def _boxes_in_child(detector: TextDetector, frame: np.ndarray, queue: multiprocessing.Queue) -> None:
    queue.put((os.getpid(), detector.models.pid, detector.find(frame)))


def test_a_forked_worker_opens_its_own_sessions(detector: TextDetector) -> None:
    frame, _ = draw([(12, 10, "CINE 0118")], 14, 255, 0)
    expected = detector.find(frame)  # the parent's sessions exist before the fork
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue = context.Queue()
    child = context.Process(target=_boxes_in_child, args=(detector, frame, queue))
    child.start()
    pid, session_pid, boxes = queue.get(timeout=120)
    child.join(timeout=60)
    assert session_pid == pid != os.getpid()
    assert boxes == expected


def test_the_settings_carry_the_engines() -> None:
    settings = OcrSettings(engines=("text-detector",), recognition=False, padding=5)
    made = TextDetector.from_settings(settings)
    assert (made.recognition, made.padding) == (False, 5)


def test_neither_runtime_calls_home_or_keeps_an_id(tmp_path: Path) -> None:
    # ONNX Runtime's Linux builds keep ~/.cache/Microsoft/DeveloperTools/.onnxruntime/{deviceid,
    # onnxruntime.db} and send usage events unless ORT_DISABLE_TELEMETRY is set before it starts;
    # importing openvino with its converter sends an event to Google Analytics from a child
    # process and keeps ~/intel/openvino_ga_cid.  Every connection, name lookup, process or
    # program the detector would open is recorded by an audit hook in a child run.
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "import sys\n"
        "opened = []\n"
        "watched = ('socket.connect', 'socket.getaddrinfo', 'socket.gethostbyname', 'socket.sendto',\n"
        "           'socket.sendmsg', 'subprocess.', 'os.exec', 'os.posix_spawn', 'os.fork', 'os.system')\n"
        "sys.addaudithook(lambda event, args: opened.append(event) if event.startswith(watched) else None)\n"
        "import numpy as np\n"
        "from deidentify.pixels.detectors import TextDetector\n"
        "frame = np.zeros((64, 320), dtype=np.uint8)\n"
        "frame[20:40, 20:300:6] = 255\n"
        "TextDetector().words(frame)\n"
        "print(sorted(set(opened)))\n"
    )
    env = {key: value for key, value in os.environ.items() if key not in ("XDG_CACHE_HOME", "ORT_DISABLE_TELEMETRY")}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, timeout=300, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
    assert list(home.rglob("*")) == []


def test_a_long_line_is_read_whole_in_pieces(detector: TextDetector) -> None:
    # At the recogniser's height this 12-pixel line is over 2,000 columns: read whole it would
    # take 100 MB more of the worker; it is read in pieces cut between words.
    text = "WESTWAY MEDICAL CENTER 2023-04-17 14:32:05 PROBE C5-1 DEPTH 16 CM GAIN 54 FR 19 HZ"
    frame, [area] = draw([(6, 8, text)], 12, 255, 0, shape=(32, 640))
    line = np.ascontiguousarray(frame[2:30, : area[2] + 4]).repeat(2, axis=0).repeat(2, axis=1)
    pieces = ppocr._pieces(line)
    assert len(pieces) > 1 and all(piece.shape[1] <= ppocr._RECOGNITION_WIDTH for piece, _ in pieces)
    assert np.array_equal(np.hstack([piece for piece, _ in pieces]), line)
    [(read, confidence)] = detector.recognise(frame, [Box(0, 2, area[2] + 4, 30, "text")])
    # The pieces are cut between words, and a date stays one word, as the classes need it.
    assert "".join(read.split()) == "".join(text.split()) and confidence > 0.9
    assert "2023-04-17" in read.split()


def test_threads_sharing_a_detector_get_what_each_alone_gets(detector: TextDetector) -> None:
    # The Python API's callers may share one detector between threads; frames of two sizes
    # make the threads recompile the detector under each other.
    small, _ = draw([(12, 10, "CINE 0118")], 14, 255, 0, shape=(240, 320))
    large, _ = draw([(40, 30, "GAIN 54 DEPTH 16")], 16, 255, 0)
    expected = [detector.find(small), detector.find(large)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(detector.find, [small, large] * 8))
    assert results == expected * 8


@pytest.mark.parametrize("name, text", [("ultrasound-multiframe.dcm", "X2"), ("gdcm-US-ALOKA-16.dcm", "Y")])
def test_a_line_at_an_angle_and_a_letter_on_the_edge_are_masked(detector: TextDetector, name: str, text: str) -> None:
    # deid-data's "X2" is set at 45 degrees: scored over its box, its core scored as low as the
    # box's empty corners.  ALOKA's "Y" stands on the frame's first rows: its box ends on the
    # glyph, and the recogniser reads it only with a margin around it.
    found = [(path, entry) for path, entry in truth_files() if path.name == name]
    if not found:
        pytest.skip(f"{name}'s corpus is not installed")
    path, entry = found[0]
    ds = pydicom.dcmread(path)
    gray = to_gray(next(iter(decode_frames(ds, read_layout(ds, transfer_syntax_of(ds))))), ds)
    (x0, y0, x1, y1), = [label["box"] for label in boxes_for_frame(entry, 0) if label["text"] == text]
    assert mask(detector.find(gray), gray.shape)[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1].all()
