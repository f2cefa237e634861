"""Burnt-in text found by OCR: Tesseract, run as a program.

Burnt-in annotation is usually small, light text on a dark image, sometimes
dark text on a light one, and the image itself (ultrasound speckle, colour
flow) makes noise that an OCR engine reads as gibberish.  So each frame is read
several times and the words of all readings are kept:

* upscaled (small text is read far better at 2-3x);
* as it is and inverted (both polarities);
* binarised at a high level, which keeps flat bright text and drops most of
  the image (and, on a light image, at a low level for dark text).

Which words are masked (burnt-in text on a medical image is presumed identifying):

* a word a text detector recognises as one of the dataset's own values (name,
  ID, date, address, institution...), whatever the OCR confidence;
* a word a pattern detector recognises (phone, e-mail, national ID, date,
  person name, address), whatever the confidence, if its box has the shape of
  its letters (not a long smear of the image read as a few letters);
* any other word with a letter or digit, shaped like text, read with the
  confidence threshold, or with half of it by two different kinds of reading
  (grayscale and binarised) at the same place;
* a doubtful word of the same height beside such a word on its line, or just
  above or below it in a column: text comes in lines and columns.

A box found by a detector is labelled with the class found (``kind``), never
the value; every OCR box has the label ``text``.

Tesseract missing, its language data missing, or Tesseract failing on a frame
raises :class:`~deidentify.pixels.detectors.base.DetectorError` -- never an
empty result.

The image never touches a disk: it is piped to Tesseract's standard input and
the words come back on its standard output (a copy in a temporary file would
outlive a killed run, readable by anyone).  Tesseract reading from stdin opens
no file for writing (checked with strace on Debian's 5.3); it still runs with a
private, empty TMPDIR of its own, removed when it ends.
"""

from __future__ import annotations

import io
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from ..base import TEXT_LABEL as LABEL
from ..base import Box
from .base import DetectorError, DetectorUnavailable, Word, boxes_to_mask, check_frame, classify, overlap

if TYPE_CHECKING:
    from deidentify.detect.base import Detector

__all__ = ["TesseractDetector", "tesseract_version"]


_ALNUM = re.compile(r"[^\W_]")
_LANGUAGE = re.compile(r"^[A-Za-z_]+(\+[A-Za-z_]+)*$")
# Tesseract reads scattered text best as "sparse text": no assumption of columns or paragraphs.
_PAGE_SEGMENTATION = "11"
_TSV_COLUMNS = ("level", "page_num", "block_num", "par_num", "line_num", "word_num",
                "left", "top", "width", "height", "conf", "text")
# Larger frames are read at their own size (their text is rarely tiny), and no
# reading is made of more than this many pixels, to bound time and memory.
_MAX_PIXELS = 12_000_000
_LIGHT_TEXT_LEVEL = 160
_DARK_TEXT_LEVEL = 96


@lru_cache(maxsize=8)
def _probe(command: str) -> tuple[str, frozenset[str]]:
    """Tesseract's version and installed languages, or DetectorUnavailable."""
    install = "Debian: apt-get install tesseract-ocr tesseract-ocr-eng"
    try:
        version = subprocess.run([command, "--version"], capture_output=True, timeout=30, check=True)
        listing = subprocess.run([command, "--list-langs"], capture_output=True, timeout=30, check=True)
    except FileNotFoundError:
        raise DetectorUnavailable(
            f"OCR unavailable: the tesseract program ({command}) is not installed ({install})"
        ) from None
    except subprocess.CalledProcessError as exc:
        raise DetectorUnavailable(
            f"OCR unavailable: tesseract ({command}) does not run (exit status {exc.returncode})"
        ) from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DetectorUnavailable(
            f"OCR unavailable: tesseract ({command}) does not run: {type(exc).__name__}"
        ) from None
    text = (version.stdout + version.stderr).decode("utf-8", "replace").split()
    number = text[1] if len(text) > 1 and text[0].lower() == "tesseract" else ""
    major = re.match(r"^(\d+)\.", number)
    if not major or int(major.group(1)) < 4:
        raise DetectorUnavailable(f"OCR unavailable: {command} is not Tesseract 4 or later ({number or 'no version'})")
    output = (listing.stdout + listing.stderr).decode("utf-8", "replace").splitlines()
    languages = frozenset(line.strip() for line in output[1:] if re.fullmatch(r"[\w+-]+", line.strip()))
    return number, languages


def tesseract_version(command: str = "tesseract") -> str:
    """The version of the Tesseract program, or DetectorUnavailable."""
    return _probe(_command(command))[0]


def _command(command: str | None) -> str:
    command = command or "tesseract"
    return shutil.which(command) or command


@dataclass(frozen=True)
class _Reading:
    """One way of presenting the frame to Tesseract."""

    name: str
    kind: str  # "gray" or "binary": two readings of different kinds can confirm each other
    image: np.ndarray


class TesseractDetector:
    """Finds words of burnt-in text with Tesseract.

    ``confidence`` (0-100) is the OCR confidence from which any word is masked;
    ``padding`` pixels are added around each word's box; ``language`` is
    Tesseract's (``eng``, ``eng+deu``); ``upscale`` 0 chooses the factor from the
    frame size (3 under 400 pixels, 2 up to 1400, else 1); ``timeout`` bounds
    one Tesseract run, in seconds.  Raises DetectorUnavailable at once when
    Tesseract or the language is missing.
    """

    name = "ocr"

    def __init__(
        self,
        *,
        confidence: float = 60.0,
        padding: int = 3,
        language: str = "eng",
        upscale: int = 0,
        timeout: int = 60,
        tesseract_cmd: str | None = None,
    ) -> None:
        if not 0 <= confidence <= 100:
            raise ValueError("confidence is between 0 and 100")
        if padding < 0 or upscale < 0 or timeout < 0:
            raise ValueError("padding, upscale and timeout are not negative")
        if not _LANGUAGE.match(language):
            raise ValueError(f"not a Tesseract language: {language!r}")
        self.confidence = float(confidence)
        self.padding = int(padding)
        self.language = language
        self.upscale = int(upscale)
        self.timeout = int(timeout)
        self.command = _command(tesseract_cmd)
        _, installed = _probe(self.command)
        missing = [lang for lang in language.split("+") if lang not in installed]
        if missing:
            raise DetectorUnavailable(
                f"OCR unavailable: tesseract has no data for language {', '.join(missing)} "
                f"(installed: {', '.join(sorted(installed)) or 'none'}; Debian: tesseract-ocr-{missing[0]})"
            )
        # One thread per Tesseract run: on small images, OpenMP's threads cost far more than they give.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")

    @classmethod
    def from_settings(cls, settings: Any, tesseract_cmd: str | None = None) -> TesseractDetector:
        """A detector with a profile's ``pixels.ocr`` settings."""
        return cls(
            confidence=settings.confidence,
            padding=settings.padding,
            language=settings.language,
            upscale=settings.upscale,
            timeout=settings.timeout,
            tesseract_cmd=tesseract_cmd,
        )

    # -- the PixelDetector interface -------------------------------------------------

    def find(self, image: np.ndarray, own_values: Iterable[Detector] = ()) -> list[Box]:
        """Boxes (padded, inside the frame) of the words to mask in ``image``.

        ``own_values`` are text detectors (see :func:`text_detectors`); a word
        they recognise is masked whatever its confidence and its box's ``kind``
        says what it is.
        """
        return boxes_to_mask(self.words(image, own_values), self.padding, check_frame(image).shape)

    # -- the readings ------------------------------------------------------------------

    def words(self, image: np.ndarray, own_values: Iterable[Detector] = ()) -> list[Word]:
        """The words to mask, unpadded, with what OCR read (PHI: never log ``text``)."""
        detectors = list(own_values)
        read = self.read(image, detectors)
        accepted: list[Word] = []
        pending: list[Word] = []
        low = self.confidence / 2
        for word in read:
            if word.own:
                accepted.append(word)  # the dataset's own value: whatever OCR thinks of it
            elif not _text_shaped(word):
                continue  # a box far wider or thinner than its letters: the image, misread
            elif word.kind:
                accepted.append(word)
            elif not _ALNUM.search(word.text):
                continue
            elif word.confidence >= self.confidence or (
                word.confidence >= low
                and any(
                    other.source.split(":")[0] != word.source.split(":")[0]
                    and other.confidence >= low
                    and _ALNUM.search(other.text)
                    and overlap(word.box, other.box) >= 0.5
                    for other in read
                )
            ):
                accepted.append(word)
            else:
                pending.append(word)
        # Text comes in lines and columns: a word OCR doubts, of the same height as
        # accepted text and beside it or just above or below it, is text too.
        # Only words read with some confidence lead to their neighbours (a name
        # pattern found in gibberish from the image must not spread over it); a
        # doubtful word so found leads on along its line only.
        seeds = [(w.box, True) for w in accepted if w.confidence >= low]
        grown = True
        while grown and pending:
            grown = False
            for word in list(pending):
                if any(_neighbours(word.box, box, columns=strong) for box, strong in seeds):
                    accepted.append(word)
                    pending.remove(word)
                    seeds.append((word.box, word.confidence >= low))
                    grown = True
        return accepted

    def read(self, image: np.ndarray, detectors: Sequence[Detector] = ()) -> list[Word]:
        """Every word of every reading, with its confidence and the kind detectors gave it."""
        frame = check_frame(image)
        scale = self._scale(frame)
        words: list[Word] = []
        for reading in self._readings(frame):
            words.extend(self._ocr(reading, scale, frame.shape, detectors))
        return words

    def _scale(self, frame: np.ndarray) -> int:
        rows, columns = frame.shape
        if self.upscale:
            scale = self.upscale
        else:
            side = max(rows, columns)
            scale = 3 if side < 400 else 2 if side <= 1400 else 1
        while scale > 1 and rows * columns * scale * scale > _MAX_PIXELS:
            scale -= 1
        return scale

    def _readings(self, frame: np.ndarray) -> list[_Reading]:
        readings = [
            _Reading("gray:inverted", "gray", 255 - frame),
            _Reading("gray:as-is", "gray", frame),
        ]
        if (frame >= _LIGHT_TEXT_LEVEL).any():
            light = np.where(frame >= _LIGHT_TEXT_LEVEL, 0, 255).astype(np.uint8)
            readings.append(_Reading("binary:light", "binary", light))
        if np.median(frame) >= 128 and (frame <= _DARK_TEXT_LEVEL).any():
            dark = np.where(frame <= _DARK_TEXT_LEVEL, 0, 255).astype(np.uint8)
            readings.append(_Reading("binary:dark", "binary", dark))
        return readings

    def _ocr(self, reading: _Reading, scale: int, shape: tuple[int, int], detectors: Sequence[Detector]) -> list[Word]:
        from PIL import Image

        picture = Image.fromarray(reading.image)
        if scale > 1:
            resample = Image.Resampling.NEAREST if reading.kind == "binary" else Image.Resampling.LANCZOS
            picture = picture.resize((picture.width * scale, picture.height * scale), resample)
        # A binarised reading gets a white border, for text that touches the edge of the
        # frame (Tesseract misses it); a grayscale reading is read as it is, so the two
        # kinds of reading differ in layout too, and miss different words.
        border = 10 if reading.kind == "binary" else 0
        framed = Image.new("L", (picture.width + 2 * border, picture.height + 2 * border), 255)
        framed.paste(picture, (border, border))
        png = io.BytesIO()
        framed.save(png, format="PNG", compress_level=1)  # lossless whatever the level; 1 is the quickest
        rows, columns = shape
        lines: dict[tuple[int, int, int], list[Word]] = {}
        for cells in _words_read(self._tesseract(png.getvalue())):
            text = cells["text"].strip()
            confidence = float(cells["conf"])
            if not text or confidence < 0:
                continue
            left, top = cells["left"] - border, cells["top"] - border
            width, height = cells["width"], cells["height"]
            box = Box(
                max(0, math.floor(left / scale)),
                max(0, math.floor(top / scale)),
                min(columns, math.ceil((left + width) / scale)),
                min(rows, math.ceil((top + height) / scale)),
                LABEL,
            )
            if box.x0 >= box.x1 or box.y0 >= box.y1:
                continue
            key = (cells["block_num"], cells["par_num"], cells["line_num"])
            lines.setdefault(key, []).append(Word(box, text, confidence, "", reading.name))
        words: list[Word] = []
        for line in lines.values():
            words.extend(classify(line, detectors, LABEL))
        return words

    def _tesseract(self, image: bytes) -> str:
        """Tesseract's TSV of the words of ``image`` (PNG bytes), read through pipes only."""
        command = [self.command, "stdin", "stdout", "-l", self.language,
                   "-c", "tessedit_create_tsv=1", "--psm", _PAGE_SEGMENTATION]
        with tempfile.TemporaryDirectory(prefix="deidentify-ocr-") as scratch:  # mode 0700, empty
            environment = {**os.environ, "TMPDIR": scratch, "TMP": scratch, "TEMP": scratch}
            try:
                done = subprocess.run(command, input=image, capture_output=True, env=environment,
                                      timeout=self.timeout or None, check=False)
            except FileNotFoundError:
                raise DetectorUnavailable(
                    f"OCR unavailable: the tesseract program ({self.command}) is not installed"
                ) from None
            except subprocess.TimeoutExpired:
                raise DetectorError(f"OCR failed: tesseract took longer than {self.timeout} s") from None
            except OSError as exc:
                raise DetectorError(f"OCR failed: tesseract does not run ({type(exc).__name__})") from None
        if done.returncode != 0:
            raise DetectorError(f"OCR failed: tesseract exited with status {done.returncode}")
        return done.stdout.decode("utf-8", "replace")


def _words_read(tsv: str) -> list[dict[str, Any]]:
    """The rows of Tesseract's TSV, numbers as whole numbers (as the confidence
    thresholds were tuned with), the text as it is."""
    lines = tsv.strip("\n").split("\n")
    if not lines or lines[0].split("\t") != list(_TSV_COLUMNS):
        raise DetectorError("OCR failed: tesseract did not write the expected TSV")
    rows = []
    for line in lines[1:]:
        cells = line.split("\t")
        if len(cells) < len(_TSV_COLUMNS) - 1:
            raise DetectorError("OCR failed: tesseract wrote an incomplete TSV row")
        # The numeric columns; the cells after them are the text, which may hold tabs.
        numbers = zip(_TSV_COLUMNS[:-1], cells, strict=False)
        row: dict[str, Any] = {name: int(float(cell)) for name, cell in numbers}
        row["text"] = "\t".join(cells[len(_TSV_COLUMNS) - 1:])
        rows.append(row)
    return rows


def _text_shaped(word: Word) -> bool:
    """Whether a word's box could hold its letters: at least 4 pixels high, and no
    wider than 1.6 heights a letter (the widest letters are about one height)."""
    height = word.box.y1 - word.box.y0
    width = word.box.x1 - word.box.x0
    return height >= 4 and width <= height * (1.6 * len(word.text) + 1)


def _neighbours(word: Box, text: Box, columns: bool = True) -> bool:
    """Whether ``word`` has the height of ``text`` and continues its line (or, with
    ``columns``, its column)."""
    height = text.y1 - text.y0
    if abs((word.y1 - word.y0) - height) > 0.35 * height:
        return False
    same_line = abs(word.y0 - text.y0) <= 0.35 * height and abs(word.y1 - text.y1) <= 0.35 * height
    if same_line:
        gap = max(word.x0 - text.x1, text.x0 - word.x1)
        return gap <= 2 * height
    if not columns:
        return False
    vertical_gap = max(word.y0 - text.y1, text.y0 - word.y1)
    aligned = (
        abs(word.x0 - text.x0) <= height  # a left-aligned column
        or abs(word.x1 - text.x1) <= height  # a right-aligned column
    )
    return aligned and vertical_gap <= height
