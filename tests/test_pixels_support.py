"""What the pixel tests share: synthetic images in every encoding, real detectors, a round trip.

Synthetic images are built with numpy and encoded with the real codecs (pydicom's
encoders with the pylibjpeg plugins and pyjpegls, Pillow for JPEG baseline).
Every image carries bright "text" bars at :data:`TEXT`.  The tests at the end
check the factory itself: each encoding decodes to the pixels it was built from.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from io import BytesIO
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFilter
from pydicom import dcmread, dcmwrite
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels import pixel_array
from pydicom.pixels.encoders import (
    JPEG2000Encoder,
    JPEG2000LosslessEncoder,
    JPEGLSLosslessEncoder,
    JPEGLSNearLosslessEncoder,
    RLELosslessEncoder,
)
from pydicom.pixels.encoders.base import Encoder
from pydicom.uid import (
    JPEG2000,
    UID,
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from deidentify.header import clean_header
from deidentify.header.sources.dataset import DatasetSource
from deidentify.keys import Keyring
from deidentify.pixels import Box, CleanSettings, PixelOutcome, RegionDecision, clean_pixels
from deidentify.plan import RuleBook, make_plan
from deidentify.profile import load_profile
from deidentify.writer import as_dataset, encode_file

ROWS, COLUMNS = 48, 64
#: Where every synthetic image shows its "text"; x0 and x1 even, so YBR_FULL_422 pairs are whole.
TEXT = (Box(4, 3, 30, 11, "text"), Box(36, 30, 60, 38, "text"))
PIXEL_DATA = 0x7FE00010

#: Encoding name -> transfer syntax.
SYNTAXES = {
    "explicit": ExplicitVRLittleEndian,
    "implicit": ImplicitVRLittleEndian,
    "big": ExplicitVRBigEndian,
    "deflated": DeflatedExplicitVRLittleEndian,
    "rle": RLELossless,
    "jpeg-ls": JPEGLSLossless,
    "jpeg-ls-near": JPEGLSNearLossless,
    "j2k": JPEG2000Lossless,
    "j2k-lossy": JPEG2000,
    "jpeg": JPEGBaseline8Bit,
}
_ENCODERS: dict[UID, tuple[Encoder, dict[str, Any]]] = {
    # PS3.5 lists RLE up to 16 bits, but devices write 32 (pydicom's SC_rgb_rle_32bit.dcm).
    RLELossless: (RLELosslessEncoder, {"validate": False}),
    JPEGLSLossless: (JPEGLSLosslessEncoder, {}),
    JPEGLSNearLossless: (JPEGLSNearLosslessEncoder, {"jls_error": 3}),
    JPEG2000Lossless: (JPEG2000LosslessEncoder, {}),
    JPEG2000: (JPEG2000Encoder, {"j2k_cr": [4]}),
}
LOSSY = {JPEGLSNearLossless, JPEG2000, JPEGBaseline8Bit}


class FixedBoxes:
    """A detector that reports the same boxes on every frame, and keeps what it was shown."""

    def __init__(self, *boxes: Box) -> None:
        self.boxes = list(boxes)
        self.seen: list[np.ndarray] = []

    def find(self, image: np.ndarray, own_values: Iterable[object] = ()) -> list[Box]:
        self.seen.append(image)
        return list(self.boxes)


class OnFrames:
    """A detector that finds ``box`` on the frames numbered in ``frames`` (from 0) only."""

    def __init__(self, box: Box, frames: set[int]) -> None:
        self.box, self.frames, self.calls = box, frames, 0

    def find(self, image: np.ndarray, own_values: Iterable[object] = ()) -> list[Box]:
        self.calls += 1
        return [self.box] if self.calls - 1 in self.frames else []


class BrightestArea:
    """A detector that reports the bounding box of the displayed-white pixels as text."""

    def find(self, image: np.ndarray, own_values: Iterable[object] = ()) -> list[Box]:
        ys, xs = np.nonzero(image >= 250)
        if len(xs) == 0:
            return []
        return [Box(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1, "text", "name")]


class BrokenEngine:
    """A detector whose engine fails, as a missing OCR program would."""

    def find(self, image: np.ndarray, own_values: Iterable[object] = ()) -> list[Box]:
        raise RuntimeError("engine crashed")


def planted(photometric: str, bits: int, signed: bool, frames: int, seed: int = 0) -> np.ndarray:
    """(frames, rows, columns, samples) pixels: a noisy ramp, the text bars in white."""
    samples = 1 if photometric in ("MONOCHROME1", "MONOCHROME2", "PALETTE COLOR") else 3
    rng = np.random.default_rng(seed)
    low = -(1 << (bits - 1)) if signed else 0
    high = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    span = high - low
    ramp = np.linspace(0.1, 0.7, COLUMNS)[None, :, None] * np.ones((ROWS, 1, samples))
    noise = rng.uniform(-0.05, 0.05, (frames, ROWS, COLUMNS, samples))
    # One bit has no room for a ramp: a black page.
    values = np.rint(low + (ramp + noise) * span) if bits > 1 else np.zeros(noise.shape)
    # White text: MONOCHROME1 shows its lowest value as white, YCbCr white has neutral chroma.
    text: int | list[int] = low if photometric == "MONOCHROME1" else high
    if photometric.startswith("YBR"):
        text = [high, 1 << (bits - 1), 1 << (bits - 1)]
    for box in TEXT:
        values[:, box.y0 : box.y1, box.x0 : box.x1] = text
    dtype = np.dtype(f"{'i' if signed else 'u'}{_itemsize(bits)}")
    return values.astype(dtype)


def _itemsize(bits: int) -> int:
    return 1 if bits <= 8 else 2 if bits <= 16 else 4


def synthetic(
    encoding: str = "explicit",
    photometric: str = "MONOCHROME2",
    bits: int = 8,
    signed: bool = False,
    frames: int = 1,
    planar: int = 0,
    modality: str = "OT",
    burned_in: str = "YES",
) -> Dataset:
    """A secondary capture in ``encoding`` (see :data:`SYNTAXES`), read back from its bytes."""
    syntax = SYNTAXES[encoding]
    pixels = planted(photometric, bits, signed, frames)
    ds = _image_module(photometric, bits, signed, frames, planar, pixels.shape[-1])
    ds.Modality = modality
    ds.BurnedInAnnotation = burned_in
    ds.SOPClassUID = SecondaryCaptureImageStorage if modality in ("OT", "SC", "US") else CTImageStorage
    if photometric == "PALETTE COLOR":
        _add_palette(ds)
    allocated = ds.BitsAllocated
    if syntax in _ENCODERS:
        encoder, options = _ENCODERS[syntax]
        stored = "YBR_ICT" if syntax == JPEG2000 and pixels.shape[-1] == 3 else photometric
        codestreams = [
            encoder.encode(_shaped(frame), **_encoding_options(ds, stored), **options) for frame in pixels
        ]
        ds.PixelData = encapsulate(codestreams)
        ds["PixelData"].is_undefined_length = True
        ds["PixelData"].VR = "OB"
        ds.PhotometricInterpretation = stored
        ds.PlanarConfiguration = 0 if pixels.shape[-1] == 3 else None
    elif syntax == JPEGBaseline8Bit:
        ds.PixelData = encapsulate([_jpeg(frame) for frame in pixels])
        ds["PixelData"].is_undefined_length = True
        ds["PixelData"].VR = "OB"
        if pixels.shape[-1] == 3:
            ds.PhotometricInterpretation = "YBR_FULL_422"
    else:
        ds.PixelData = _native(pixels, photometric, planar, allocated, syntax)
        ds["PixelData"].VR = "OB" if allocated <= 8 else "OW"
    if ds.get("PlanarConfiguration", 0) is None:
        del ds.PlanarConfiguration
    if syntax in LOSSY:
        ds.LossyImageCompression = "01"
    return read_back(ds, syntax)


def _image_module(photometric: str, bits: int, signed: bool, frames: int, planar: int, samples: int) -> Dataset:
    ds = Dataset()
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientID = "MRN-PIXELS"
    ds.PatientName = "Pixel^Test"
    ds.Rows, ds.Columns = ROWS, COLUMNS
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 1 if bits == 1 else 8 * _itemsize(bits)
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = int(signed)
    if samples == 3:
        ds.PlanarConfiguration = planar
    if frames > 1:
        ds.NumberOfFrames = frames
    return ds


def _add_palette(ds: Dataset) -> None:
    """A palette whose darkest entry is the highest index, so index 0 would be the wrong mask."""
    entries = 1 << ds.BitsStored
    ramp = np.linspace(65535, 0, entries).astype("<u2").tobytes()
    for colour in ("Red", "Green", "Blue"):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [entries % 65536, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData", ramp)


def _shaped(frame: np.ndarray) -> np.ndarray:
    return frame[..., 0] if frame.shape[-1] == 1 else frame


def _encoding_options(ds: Dataset, photometric: str) -> dict[str, Any]:
    return {
        "rows": ds.Rows,
        "columns": ds.Columns,
        "number_of_frames": 1,
        "samples_per_pixel": ds.SamplesPerPixel,
        "bits_allocated": ds.BitsAllocated,
        "bits_stored": ds.BitsStored,
        "pixel_representation": ds.PixelRepresentation,
        "photometric_interpretation": photometric,
        "planar_configuration": 0,
    }


def _jpeg(frame: np.ndarray) -> bytes:
    buffer = BytesIO()
    # subsampling=1 is 4:2:2: the YBR_FULL_422 of PS3.5 8.2.1.
    Image.fromarray(_shaped(frame)).save(buffer, format="JPEG", quality=92, subsampling=1)
    return buffer.getvalue()


def _native(pixels: np.ndarray, photometric: str, planar: int, allocated: int, syntax: UID) -> bytes:
    if allocated == 1:
        return np.packbits(pixels.ravel(), bitorder="little").tobytes()
    if photometric == "YBR_FULL_422":
        # Two pixels share one chroma pair: Y0 Y1 Cb Cr.
        pairs = pixels.reshape(pixels.shape[0], ROWS, COLUMNS // 2, 2, 3).astype(np.float64)
        chroma = np.rint(pairs[..., 1:].mean(axis=-2))
        return np.concatenate([pairs[..., 0], chroma], axis=-1).astype(pixels.dtype).tobytes()
    if planar == 1:
        pixels = pixels.transpose(0, 3, 1, 2)
    order = pixels.dtype.newbyteorder("<" if syntax.is_little_endian else ">")
    return np.ascontiguousarray(pixels).astype(order).tobytes()


def bundled(name: str) -> Dataset:
    """One of pydicom's test files (pydicom-data holds the larger ones)."""
    path = get_testdata_file(name)
    assert isinstance(path, str), name
    return dcmread(path)


def read_back(ds: Dataset, syntax: UID) -> Dataset:
    """``ds`` written as a file in ``syntax`` and read again, as the pipeline reads inputs."""
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    buffer = BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return dcmread(BytesIO(buffer.getvalue()))


@cache
def _rules() -> RuleBook:
    return RuleBook(load_profile("basic"))


def header_stage(source: Dataset) -> Dataset:
    """The header stage's output for ``source``: pixel data and Image Pixel elements copied raw."""
    out, _ = clean_header(DatasetSource(source), make_plan(source, _rules(), Keyring(bytes(range(32)))))
    return as_dataset(out)


def run_pixels(
    source: Dataset,
    decision: RegionDecision = RegionDecision(),
    detector: object | None = None,
    settings: CleanSettings = CleanSettings(),
    scan: bool = False,
) -> tuple[PixelOutcome, Dataset]:
    """Header stage, pixel stage, then the written bytes read back (the output as a receiver sees it)."""
    out = header_stage(source)
    outcome = clean_pixels(source, out, decision, detector, (), settings, scan=scan)  # type: ignore[arg-type]
    if outcome.status == "withheld":
        return outcome, out
    pieces = DatasetSource(out)
    written = pieces.written([(tag, pieces.kept(handle)) for tag, _, handle in pieces.entries()])
    return outcome, dcmread(BytesIO(encode_file(written, outcome.transfer_syntax)))


def decoded(ds: Dataset) -> np.ndarray:
    """(frames, rows, columns, samples) as a viewer gets them: YCbCr converted to RGB."""
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    arr = pixel_array(ds)
    return arr.reshape(frames, ds.Rows, ds.Columns, -1)


def inside(boxes: Iterable[Box]) -> np.ndarray:
    """A (rows, columns) mask of the pixels under ``boxes``."""
    where = np.zeros((ROWS, COLUMNS), dtype=bool)
    for box in boxes:
        where[box.y0 : box.y1, box.x0 : box.x1] = True
    return where


def preview_panels(picture: Image.Image, rows: int, columns: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The original and cleaned panels of a preview of a rows × columns image (int RGB), and their scale."""
    from deidentify.pixels.preview import _CAPTION, _GAP, _MARGIN, _PANEL

    scale = _PANEL / max(rows, columns)
    height, width = round(rows * scale), round(columns * scale)
    sheet = np.asarray(picture.convert("RGB")).astype(int)
    top, right = _MARGIN + _CAPTION, _MARGIN + width + _GAP
    return sheet[top : top + height, _MARGIN : _MARGIN + width], sheet[top : top + height, right : right + width], scale


def on_screen(boxes: Iterable[Box], scale: float, shape: tuple[int, ...], grow: int = 0) -> np.ndarray:
    """A mask of a panel's pixels under ``boxes`` (scaled as the preview draws them), widened by ``grow``."""
    where = np.zeros(shape[:2], dtype=bool)
    for box in boxes:
        x0, y0 = max(0, round(box.x0 * scale) - grow), max(0, round(box.y0 * scale) - grow)
        where[y0 : round(box.y1 * scale) + grow, x0 : round(box.x1 * scale) + grow] = True
    return where


def drawn_over(gray_panel: np.ndarray) -> np.ndarray:
    """Where a panel of a grey image has something drawn on it: its coloured pixels and their surroundings
    (the white digits inside a red number, the black border around it)."""
    coloured = (gray_panel[..., 0] != gray_panel[..., 1]) | (gray_panel[..., 1] != gray_panel[..., 2])
    widened = Image.fromarray(coloured.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(21))
    return np.asarray(widened) > 0


# --- the factory itself --------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["explicit", "implicit", "big", "deflated", "rle", "jpeg-ls", "j2k"])
def test_lossless_encodings_decode_to_the_planted_pixels(encoding: str) -> None:
    ds = synthetic(encoding, "MONOCHROME2", 12, frames=2)
    assert np.array_equal(decoded(ds), planted("MONOCHROME2", 12, False, 2))


@pytest.mark.parametrize("encoding", ["jpeg-ls-near", "j2k-lossy", "jpeg"])
def test_lossy_encodings_decode_close_to_the_planted_pixels(encoding: str) -> None:
    ds = synthetic(encoding, "MONOCHROME2", 8)
    difference = np.abs(decoded(ds).astype(int) - planted("MONOCHROME2", 8, False, 1).astype(int))
    assert difference.mean() < 8


def test_native_layouts_decode_to_the_planted_pixels() -> None:
    assert np.array_equal(decoded(synthetic("explicit", "RGB", 8, planar=1)), planted("RGB", 8, False, 1))
    one_bit = synthetic("explicit", "MONOCHROME2", 1, frames=3)
    assert np.array_equal(decoded(one_bit), planted("MONOCHROME2", 1, False, 3))
    big_signed = synthetic("big", "MONOCHROME2", 16, signed=True)
    assert np.array_equal(decoded(big_signed), planted("MONOCHROME2", 16, True, 1))
