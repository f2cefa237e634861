"""Lone glyphs (deidentify.pixels.glyphs) on images of one or two frames, on real files no one
here made: the probe icons of deid-data's GREYSCALE_IMAGE and pydicom-data's OBXXXX1A*, and
what must not read as a letter: pydicom's and pydicom-data's CTs, whose saturated bone is one
grey, and Debian octave-dicom's echo, whose colour Doppler is specks of a palette.  Real
models, no mocks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from burnt_in.locate import boxes_for_frame, negative_files, truth_files
from deidentify.pixels import glyphs
from deidentify.pixels.base import Box
from deidentify.pixels.clean import find_text
from deidentify.pixels.detectors import TextDetector
from deidentify.pixels.detectors.base import merge_boxes
from deidentify.pixels.frames import decode_frames
from deidentify.pixels.glyphs import drawn, drawn_glyph_reader, find_glyphs, read_drawn_glyphs
from deidentify.pixels.layout import read_layout, transfer_syntax_of
from deidentify.pixels.render import readings
from deidentify.profile import load_profile
from test_pixels_cine import _monochrome_cine

# The probe icon's "P", as labelled in tests/burnt_in.
PROBE_P = {"GREYSCALE_IMAGE.dcm": (109, 99, 118, 110), "OBXXXX1A.dcm": (319, 68, 325, 77)}
# pydicom-data's OBXXXX1A's "P", 6 x 9 pixels, strokes two pixels wide.
P = np.array([[1, 1, 1, 1, 1, 0], [1, 1, 0, 0, 1, 1], [1, 1, 0, 0, 1, 1], [1, 1, 0, 0, 1, 1], [1, 1, 0, 0, 1, 1],
              [1, 1, 1, 1, 1, 0], [1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0]], dtype=bool)


@pytest.fixture(scope="module")
def detector() -> TextDetector:
    return TextDetector.from_settings(load_profile("basic").pixels.ocr)


def _labelled(name: str) -> Path:
    found = [path for path, _ in truth_files() if path.name == name]
    if not found:
        pytest.skip(f"{name} is not installed")
    return found[0]


def _glyphs_alone(ds: Dataset, detector: TextDetector) -> list[list[Box]]:
    """What the glyph search reads on each frame of an image, as if nothing else were found there."""
    frames = decode_frames(ds, read_layout(ds, transfer_syntax_of(ds)), for_reading=True)
    return [read_drawn_glyphs(readings(frame, ds), (), detector) for frame in frames]


def _text(ds: Dataset, detector: TextDetector) -> list[tuple[Box, ...]]:
    """What the pixel stage finds on each frame of an image."""
    layout = read_layout(ds, transfer_syntax_of(ds))
    return find_text(ds, layout, range(layout.frames), detector, ())


def _covers(boxes: tuple[Box, ...], x0: int, y0: int, x1: int, y1: int) -> bool:
    # Labelled edges may be a pixel off, as in the truth test.
    return any(b.x0 <= x0 + 1 and b.y0 <= y0 + 1 and x1 - 1 <= b.x1 and y1 - 1 <= b.y1 for b in boxes)


def _inside_labels(box: Box, labels: list[list[int]]) -> bool:
    return any(x0 - 3 <= box.x0 and box.x1 <= x1 + 3 and y0 - 3 <= box.y0 and box.y1 <= y1 + 3
               for x0, y0, x1, y1 in labels)


@pytest.mark.parametrize("name", sorted(PROBE_P))
def test_the_letter_of_a_probe_icon_on_a_single_frame_is_read(name: str, detector: TextDetector) -> None:
    # The text detector finds no line over it; the glyph search beside it finds it, and adds
    # nothing outside the labelled text.
    path = _labelled(name)
    ds = pydicom.dcmread(path)
    (frame,) = decode_frames(ds, read_layout(ds, transfer_syntax_of(ds)), for_reading=True)
    found = tuple(merge_boxes([box for gray in readings(frame, ds) for box in detector.find(gray)]))
    assert not _covers(found, *PROBE_P[name])
    (boxes,) = _text(ds, detector)
    assert _covers(boxes, *PROBE_P[name])
    labels = [label["box"] for label in boxes_for_frame(next(e for p, e in truth_files() if p == path), 0)]
    assert not [box for box in boxes if box not in found and not _inside_labels(box, labels)]


def test_a_letter_found_on_one_frame_of_a_pair_is_masked_on_both(detector: TextDetector) -> None:
    # OBXXXX1A_2frame's second frame inverts every palette index: there the "P" is 4 grey levels
    # from its ball as shown, 12 as stored, and not read as drawn.
    ds = pydicom.dcmread(_labelled("OBXXXX1A_2frame.dcm"))
    layout = read_layout(ds, transfer_syntax_of(ds))
    second = list(decode_frames(ds, layout, [1], for_reading=True))[0]
    none = np.zeros((0, 4), dtype=np.intp)
    assert not any(_covers(tuple(find_glyphs(gray, None, none, detector, drawn)), *PROBE_P["OBXXXX1A.dcm"])
                   for gray in readings(second, ds))
    assert all(_covers(boxes, *PROBE_P["OBXXXX1A.dcm"]) for boxes in _text(ds, detector))


def _cts() -> list[Path]:
    negative = [path for path, _ in negative_files() if path.name in {"693_UNCI.dcm", "eCT_Supplemental.dcm"}]
    return [*negative, Path(get_testdata_file("J2K_pixelrep_mismatch.dcm"))]


@pytest.mark.parametrize("path", _cts(), ids=lambda path: path.name)
def test_what_a_ct_saturates_is_not_read_as_a_letter(path: Path, detector: TextDetector) -> None:
    # Bone windowed to white is one grey, far from the grey around it, and two pixels wide or more:
    # it reads as "1", "十" or "中", or, once, as a "4" (0.58), never as a letter with confidence.
    assert _glyphs_alone(pydicom.dcmread(path), detector) == [[]] * int(pydicom.dcmread(path).get("NumberOfFrames", 1))


def test_an_echos_colour_speckle_is_not_read_as_a_letter(detector: TextDetector) -> None:
    # Each frame of the echo as an image of its own: its colour Doppler reads as "4" and "5"
    # (0.93-0.96), specks of one palette colour only 40-43 grey levels from the colours around them.
    found = [path for path, entry in truth_files() if path.name == "US-PAL-8-10x-echo.dcm"]
    if not found:
        pytest.skip("Debian's octave-dicom samples are not in .corpora")
    ds = pydicom.dcmread(found[0])
    labelled = next(entry for path, entry in truth_files() if path == found[0])
    none = np.zeros((0, 4), dtype=np.intp)
    for index, frame in enumerate(decode_frames(ds, read_layout(ds, transfer_syntax_of(ds)), for_reading=True)):
        boxes = [box for gray in readings(frame, ds) for box in find_glyphs(gray, None, none, detector, drawn)]
        labels = [label["box"] for label in boxes_for_frame(labelled, index)]
        assert not [box for box in boxes if not _inside_labels(box, labels)], index


def test_a_drawn_glyph_is_one_grey_with_strokes_two_pixels_wide_far_from_its_ground() -> None:
    image = np.full((40, 80), 40, dtype=np.uint8)
    image[15:24, 7:13][P] = 254  # drawn
    image[15:24, 27:33][P] = 100  # 60 grey levels from its ground
    image[15:24, 47:53][P] = 254
    image[15:24, 47:53][P & (np.indices(P.shape).sum(axis=0) % 2 == 0)] = 200  # two greys, as a picture's blob has
    line = np.array([(67 + k // 2, 15 + k) for k in range(10)])
    image[line[:, 1], line[:, 0]] = 254  # one pixel wide: a trace or a sector's edge
    points = [np.argwhere(image[:, left : left + 10] > 40)[:, ::-1] + (left, 0) for left in (7, 27, 47, 67)]
    boxes = np.array([(7, 15, 13, 24), (27, 15, 33, 24), (47, 15, 53, 24), (67, 15, 72, 25)])
    assert drawn(image, points, boxes).tolist() == [True, False, False, False]


class _Counting:
    """The real recogniser, counting what it is given to read."""

    def __init__(self, reader: TextDetector) -> None:
        self.reader, self.read = reader, 0

    def reads_glyph(self, glyph: np.ndarray) -> bool:
        self.read += 1
        return self.reader.reads_glyph(glyph)


def test_a_frame_full_of_glyphs_costs_a_bounded_number_of_readings(detector: TextDetector) -> None:
    # 18,000 drawn letters in a 2048 x 2048 frame (the text detector would read them as lines).
    image = np.full((2048, 2048), 40, dtype=np.uint8)
    for y in range(4, 2030, 16):
        for x in range(4, 2030, 14):
            image[y : y + 9, x : x + 6][P] = 254
    counting = _Counting(detector)
    found = find_glyphs(image, None, np.zeros((0, 4), dtype=np.intp), counting, drawn)
    assert counting.read == glyphs._MOST_GLYPHS
    assert len(found) == glyphs._MOST_GLYPHS  # each is a "P" and is read as one


def test_the_bound_holds_for_a_frame_whatever_the_places_its_glyphs_lie_in(detector: TextDetector) -> None:
    # 81 clusters of 16 drawn letters, far enough apart for each to be a place of its own, and
    # covering less than half the frame: each place is searched alone, and the frame's bound holds.
    image = np.full((2048, 2048), 40, dtype=np.uint8)
    for top in range(20, 2000, 225):
        for left in range(20, 2000, 225):
            for y in range(top, top + 64, 16):
                for x in range(left, left + 56, 14):
                    image[y : y + 9, x : x + 6][P] = 254
    assert len(glyphs._places_to_search(image, np.zeros((0, 4), dtype=np.intp))) == 81
    counting = _Counting(detector)
    found = read_drawn_glyphs([image, 255 - image], [], counting)
    assert counting.read == len(found) == glyphs._MOST_GLYPHS


def test_only_images_of_one_or_two_frames_up_to_the_largest_read_unscaled_are_searched(detector: TextDetector) -> None:
    frame = np.full((64, 64), 40, dtype=np.uint8)
    frame[20:29, 30:36][P] = 254
    for frames in (1, 2):
        assert _text(_monochrome_cine(np.repeat(frame[None], frames, axis=0)), detector) == [
            (Box(30, 20, 36, 29, "text"),)] * frames
    # Three frames are a cine: its glyphs are read in its overlay (pixels.cine), not here.
    cine = _monochrome_cine(np.repeat(frame[None], 3, axis=0))
    assert drawn_glyph_reader(read_layout(cine, transfer_syntax_of(cine)), detector) is None
    assert _text(cine, detector) == [()] * 3
    large = np.full((1, 2049, 2048), 40, dtype=np.uint8)
    large[0, 20:29, 30:36][P] = 254
    ds = _monochrome_cine(large)
    # (The text detector, reading this frame scaled down, may find the letter on its own.)
    assert drawn_glyph_reader(read_layout(ds, transfer_syntax_of(ds)), detector) is None


def test_a_glyph_reading_is_only_added_to_what_was_found(detector: TextDetector) -> None:
    # What the detector found stays; a glyph inside a line already found is not read again.
    frame = np.full((64, 64), 40, dtype=np.uint8)
    frame[20:29, 30:36][P] = 254
    line = Box(25, 15, 60, 35, "text")
    counting = _Counting(detector)
    assert read_drawn_glyphs([frame], [line], counting) == []
    assert counting.read == 0
    assert read_drawn_glyphs([frame], [], counting) == [Box(30, 20, 36, 29, "text")]



def _one_or_two_frames() -> list[Path]:
    files = [path for path, _ in (*truth_files(), *negative_files())]
    frames = {path: int(pydicom.dcmread(path, stop_before_pixels=True).get("NumberOfFrames", 1) or 1) for path in files}
    return [path for path in files if frames[path] < glyphs.OVERLAY_FRAMES]


@pytest.mark.parametrize("path", _one_or_two_frames(), ids=lambda path: path.name)
def test_searching_only_near_blocks_of_one_grey_finds_what_the_whole_frame_gives(
    path: Path, detector: TextDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = pydicom.dcmread(path)
    near = _text(ds, detector)
    monkeypatch.setattr(glyphs, "_places_to_search", lambda gray, corners: [(0, 0, gray.shape[1], gray.shape[0])])
    assert _text(ds, detector) == near
