"""Issue 20, items 2, 3 and 5: what native pixel data can hide, and what `check` must see.

A name planted after the last frame, or drawn in the unused high bits of 12-bit
data, must not reach any output; pixel data that holds only its frames must stay
byte-identical; both header engines must give the same bytes; and `check` must
report each case (and a source surname in a CS element) without quoting it.
"""

from __future__ import annotations

import csv
import os
import struct
import subprocess
import sys
import warnings
from dataclasses import dataclass, replace
from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image, ImageDraw
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels.encoders import RLELosslessEncoder
from pydicom.uid import (
    UID,
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    RLELossless,
    SecondaryCaptureImageStorage,
)

from deidentify.checker import check_folder
from deidentify.keys import Keyring
from deidentify.pipeline import Reader, deidentify_bytes
from deidentify.pixels.codestream import without_metadata
from deidentify.pixels.native import HIGH_BITS_CLEARED, TRAILING_DROPPED, NativeFormat, canonical
from deidentify.plan import RuleBook
from deidentify.profile import load_profile

KEYRING = Keyring(bytes(range(32)))
SURNAME = "MUELLER"
PLANTED = b"MUELLER^HANS 19830307 PID4711"  # odd length on purpose: 29 bytes
PIXEL_DATA, FLOAT_PIXEL_DATA = 0x7FE00010, 0x7FE00008
ROWS, COLUMNS = 24, 40


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore")


@pytest.fixture(scope="module")
def basic() -> RuleBook:
    return RuleBook(load_profile("basic"))


# --- building real files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """An image's Image Pixel values, and how to plant something in it."""

    name: str
    bits_allocated: int = 16
    bits_stored: int = 12
    high_bit: int | None = None
    signed: bool = False
    samples: int = 1
    planar: int = 0
    frames: int = 1
    photometric: str = "MONOCHROME2"
    rows: int = ROWS
    columns: int = COLUMNS
    syntax: UID = ExplicitVRLittleEndian
    tag: int = PIXEL_DATA

    @property
    def high(self) -> int:
        return self.bits_stored - 1 if self.high_bit is None else self.high_bit

    @property
    def sample_count(self) -> int:
        per_pixel = 2 if self.photometric == "YBR_FULL_422" else self.samples
        return self.frames * self.rows * self.columns * per_pixel


def _text_mask(count: int) -> np.ndarray:
    """The surname drawn in black and white, tiled over ``count`` samples."""
    image = Image.new("1", (COLUMNS, ROWS))
    ImageDraw.Draw(image).text((1, 5), SURNAME, fill=1)
    return np.resize(np.asarray(image, dtype=bool).ravel(), count)


def canonical_pixels(layout: Layout) -> bytes:
    """Pixel data that holds only its frames, in the canonical form."""
    rng = np.random.default_rng(7)
    count = layout.sample_count
    if layout.tag == FLOAT_PIXEL_DATA:
        return rng.normal(0, 100, count).astype("<f4").tobytes()
    if layout.bits_allocated == 1:
        bits = rng.integers(0, 2, count, dtype=np.uint8)
        return np.packbits(bits, bitorder="little").tobytes()
    low = layout.high - layout.bits_stored + 1
    if layout.signed:
        values = rng.integers(-(1 << (layout.bits_stored - 1)), 1 << (layout.bits_stored - 1), count)
        dtype = f"i{layout.bits_allocated // 8}"
    else:
        values = rng.integers(0, 1 << layout.bits_stored, count)
        dtype = f"u{layout.bits_allocated // 8}"
    order = "<" if layout.syntax.is_little_endian else ">"
    return (values << low).astype(order + dtype).tobytes()


def planted_pixels(layout: Layout, good: bytes) -> bytes:
    """``good`` with the surname drawn in the unused bits and a name, date and ID after the last frame."""
    if layout.tag == FLOAT_PIXEL_DATA:
        return good + PLANTED + b"\0"
    if layout.bits_allocated == 1:
        planted = bytearray(good)
        planted[-1] |= 0x80  # after the last pixel, in the last byte
        return bytes(planted) + PLANTED
    order = "<" if layout.syntax.is_little_endian else ">"
    dtype = np.dtype(f"{order}u{layout.bits_allocated // 8}")
    words = np.frombuffer(good, dtype).copy()
    text = _text_mask(words.size)
    if layout.high < layout.bits_allocated - 1:
        words[text] |= np.array(1 << (layout.bits_allocated - 1), dtype=dtype)  # above HighBit
    else:
        words[text] |= np.array(1, dtype=dtype)  # below the stored bits (high-aligned data)
    return words.tobytes() + PLANTED


def dicom_file(layout: Layout, pixels: bytes, *, modality: str = "CT", sop_class: UID = CTImageStorage,
               **extra: object) -> bytes:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = layout.syntax
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = pydicom.uid.generate_uid(entropy_srcs=[layout.name, str(len(pixels))])
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.2"
    ds.PatientName = f"{SURNAME}^HANS"
    ds.PatientID = "PID4711"
    ds.Modality = modality
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]  # deid's device list flags images without one
    for keyword, value in extra.items():
        setattr(ds, keyword, value)
    ds.Rows, ds.Columns = layout.rows, layout.columns
    ds.SamplesPerPixel = layout.samples
    ds.PhotometricInterpretation = layout.photometric
    if layout.samples > 1:
        ds.PlanarConfiguration = layout.planar
    if layout.frames > 1:
        ds.NumberOfFrames = layout.frames
    ds.BitsAllocated = layout.bits_allocated
    if layout.tag == PIXEL_DATA:
        ds.BitsStored, ds.HighBit = layout.bits_stored, layout.high
        ds.PixelRepresentation = int(layout.signed)
        vr = "OB" if layout.bits_allocated <= 8 else "OW"
    else:
        vr = "OF"
    ds[layout.tag] = pydicom.DataElement(layout.tag, vr, pixels)
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True, little_endian=layout.syntax.is_little_endian,
               implicit_vr=layout.syntax.is_implicit_VR)
    return buffer.getvalue()


def _read(data: bytes) -> Dataset:
    return pydicom.dcmread(BytesIO(data))


LAYOUTS = [
    Layout("ct-12-unsigned"),
    Layout("ct-12-high-aligned", high_bit=15),
    Layout("ct-12-signed", signed=True),
    Layout("rgb-8-planar0-odd", bits_allocated=8, bits_stored=8, samples=3, photometric="RGB", rows=5, columns=3),
    Layout("rgb-7-planar1-frames", bits_allocated=8, bits_stored=7, samples=3, planar=1, photometric="RGB", frames=2),
    Layout("mono-24-of-32-frames", bits_allocated=32, bits_stored=24, frames=3),
    Layout("mono-1-bit-frames", bits_allocated=1, bits_stored=1, rows=5, columns=10, frames=3),
    Layout("ybr-422", bits_allocated=8, bits_stored=7, samples=3, photometric="YBR_FULL_422"),
    Layout("float", bits_allocated=32, bits_stored=32, tag=FLOAT_PIXEL_DATA),
    Layout("implicit", syntax=ImplicitVRLittleEndian),
    Layout("big-endian", signed=True, syntax=ExplicitVRBigEndian),
    Layout("deflated", syntax=DeflatedExplicitVRLittleEndian),
]


def _pixels_out(outcome_data: bytes, tag: int) -> bytes:
    return _read(outcome_data)[tag].value


def _samples_drawn_on(layout: Layout, good: bytes, planted: bytes) -> int:
    """How many samples the planted text changed (on a sign-extended negative, bit 15 is set already)."""
    if layout.tag != PIXEL_DATA or layout.bits_allocated == 1:
        return 0
    dtype = f"u{layout.bits_allocated // 8}"
    return int(np.count_nonzero(np.frombuffer(good, dtype) != np.frombuffer(planted[:len(good)], dtype)))


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (len(data) % 2)


# --- the run drops what the pixel data hid ------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.name)
def test_planted_pixel_data_is_written_as_its_frames_alone(layout: Layout, basic: RuleBook) -> None:
    good = canonical_pixels(layout)
    planted = planted_pixels(layout, good)
    outcome = deidentify_bytes(dicom_file(layout, planted), basic, KEYRING)
    assert outcome.status == "written", outcome.reason
    assert _pixels_out(outcome.data, layout.tag) == _padded(good)
    assert b"MUELLER" not in outcome.data and b"PID4711" not in outcome.data
    assert outcome.counts[TRAILING_DROPPED] >= len(PLANTED)
    assert outcome.counts[HIGH_BITS_CLEARED] == _samples_drawn_on(layout, good, planted)


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.name)
def test_canonical_pixel_data_stays_byte_identical(layout: Layout, basic: RuleBook) -> None:
    good = canonical_pixels(layout)
    outcome = deidentify_bytes(dicom_file(layout, good), basic, KEYRING)
    assert outcome.status == "written", outcome.reason
    assert _pixels_out(outcome.data, layout.tag) == _padded(good)
    assert outcome.counts[TRAILING_DROPPED] == outcome.counts[HIGH_BITS_CLEARED] == 0


def test_a_real_ct_keeps_its_pixel_bytes(basic: RuleBook) -> None:
    source = Path(pydicom.data.get_testdata_file("CT_small.dcm")).read_bytes()
    outcome = deidentify_bytes(source, basic, KEYRING)
    assert outcome.status == "written"
    assert _read(outcome.data).PixelData == _read(source).PixelData
    assert not {TRAILING_DROPPED, HIGH_BITS_CLEARED} & set(outcome.counts)


def test_bit_15_text_is_cleared_and_the_values_pydicom_reads_are_unchanged(basic: RuleBook) -> None:
    layout = Layout("ct-12-unsigned")
    source = dicom_file(layout, planted_pixels(layout, canonical_pixels(layout))[:-len(PLANTED)])
    assert (np.frombuffer(_read(source).PixelData, "<u2") >> 15).any()  # the text is there
    output = _read(deidentify_bytes(source, basic, KEYRING).data)
    assert not (np.frombuffer(output.PixelData, "<u2") >> 12).any()
    assert np.array_equal(output.pixel_array, _read(source).pixel_array)


@pytest.mark.parametrize("form", ["sign-extended", "zero-filled"])
def test_either_form_of_signed_data_is_canonical_and_a_mix_is_not(form: str) -> None:
    values = np.array([-5, 3, -2048, 2047, -1, 0], dtype="<i2")
    words = values.view("<u2") if form == "sign-extended" else values.view("<u2") & 0x0FFF
    fmt = NativeFormat(values.size, 16, 12, 11, True)
    whole = words.astype("<u2").tobytes()
    assert canonical(whole, fmt).value is whole
    mixed = words.astype("<u2").copy()
    mixed[0] ^= 0xF000  # the one sample in the other form: a bit a writer could choose per pixel
    found = canonical(mixed.tobytes(), fmt)
    assert found.cleared == 1 and found.value == whole  # back to the form the others have


# --- both readers, one rule --------------------------------------------------------------------------


@pytest.mark.parametrize("layout", [x for x in LAYOUTS if x.syntax == ExplicitVRLittleEndian],
                         ids=lambda layout: layout.name)
def test_both_readers_give_the_same_bytes(layout: Layout, basic: RuleBook) -> None:
    good = canonical_pixels(layout)
    for pixels in (good, planted_pixels(layout, good)):
        data = dicom_file(layout, pixels)
        raw = deidentify_bytes(data, basic, KEYRING, reader=Reader.RAW)
        dataset = deidentify_bytes(data, basic, KEYRING, reader=Reader.DATASET)
        assert raw.data == dataset.data
        assert raw.counts == dataset.counts


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian], ids=["explicit", "implicit"])
def test_pixel_data_shorter_than_its_frames_is_an_error(syntax: UID, basic: RuleBook) -> None:
    layout = Layout("short", syntax=syntax)
    outcome = deidentify_bytes(dicom_file(layout, canonical_pixels(layout)[:-2]), basic, KEYRING)
    assert (outcome.status, outcome.data) == ("error", None)
    assert outcome.reason == "pixel data is shorter than its rows, columns and frames need"


def _jpeg_frames(count: int, text_from: int) -> list[bytes]:
    """``count`` 8-bit JPEG frames of ROWS x COLUMNS; those from ``text_from`` on carry the surname."""
    frames = []
    for index in range(count):
        image = Image.new("L", (COLUMNS, ROWS), 40)
        if index >= text_from:
            ImageDraw.Draw(image).text((1, 5), SURNAME, fill=255)
        buffer = BytesIO()
        image.save(buffer, "JPEG", quality=95)
        frames.append(buffer.getvalue())
    return frames


@pytest.mark.parametrize(("modality", "status"), [("US", "withheld"), ("CT", "error")])
def test_frames_past_number_of_frames_never_leave(modality: str, status: str, basic: RuleBook) -> None:
    """Two frames said, five held (no offset table): pydicom shows all five, the name is on the last
    three.  Read (US) or passed on unread (CT), the image is not written."""
    layout = Layout("excess", bits_allocated=8, bits_stored=8, frames=2, syntax=JPEGBaseline8Bit)
    pixels = encapsulate(_jpeg_frames(5, text_from=2), has_bot=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(pydicom.pixels.pixel_array(_read(dicom_file(layout, pixels, modality=modality)))) == 5
    outcome = deidentify_bytes(dicom_file(layout, pixels, modality=modality), basic, KEYRING)
    assert (outcome.status, outcome.data) == (status, None)
    assert "pixel data holds more frames than Number of Frames" in outcome.reason
    honest = encapsulate(_jpeg_frames(2, text_from=2), has_bot=False)
    assert deidentify_bytes(dicom_file(layout, honest, modality=modality), basic, KEYRING).status == "written"


@pytest.mark.parametrize(("syntax", "form"), [(JPEGBaseline8Bit, "JPEG"), (JPEG2000Lossless, "JPEG2000")],
                         ids=["jpeg", "j2k"])
@pytest.mark.parametrize(("modality", "status"), [("US", "withheld"), ("CT", "error")])
def test_an_image_hidden_after_a_codestream_never_leaves(syntax: UID, form: str, modality: str, status: str,
                                                         basic: RuleBook) -> None:
    """A frame whose codestream is followed by a second image carrying the name: a JPEG decoder stops
    at the end marker (pydicom shows a blank frame), and an image not read is passed on as it came."""
    layout = Layout("hidden", bits_allocated=8, bits_stored=8, syntax=syntax)
    blank, named = (_encoded(form, text) for text in (False, True))
    hidden = dicom_file(layout, encapsulate([blank + named]), modality=modality)
    if form == "JPEG":
        assert pydicom.pixels.pixel_array(_read(hidden)).max() < 128  # the name is not shown
    outcome = deidentify_bytes(hidden, basic, KEYRING)
    assert (outcome.status, outcome.data) == (status, None)
    assert "a frame holds data after its codestream ends" in outcome.reason
    padded = dicom_file(layout, encapsulate([blank + b"\xff" * (len(blank) % 2 + 2)]), modality=modality)
    assert deidentify_bytes(padded, basic, KEYRING).status == "written"


@pytest.mark.parametrize(("modality", "status"), [("US", "withheld"), ("CT", "error")])
def test_an_image_hidden_after_an_rle_segment_never_leaves(modality: str, status: str, basic: RuleBook) -> None:
    """RLE: the runs that complete a segment's bytes end it for a decoder; a second image's runs
    after them are read by nothing."""
    layout = Layout("rle", bits_allocated=8, bits_stored=8, syntax=RLELossless)
    blank, named = (_rle_frame(text) for text in (False, True))
    hidden = dicom_file(layout, encapsulate([blank + named[64:]]), modality=modality)
    outcome = deidentify_bytes(hidden, basic, KEYRING)
    assert (outcome.status, outcome.data) == (status, None)
    assert "a frame holds data after its codestream ends" in outcome.reason
    assert deidentify_bytes(dicom_file(layout, encapsulate([blank]), modality=modality), basic, KEYRING).status \
        == "written"


def _rle_frame(text: bool) -> bytes:
    image = Image.new("L", (COLUMNS, ROWS), 40)
    if text:
        ImageDraw.Draw(image).text((1, 5), SURNAME, fill=255)
    return RLELosslessEncoder.encode(np.asarray(image), rows=ROWS, columns=COLUMNS, samples_per_pixel=1,
                                     bits_allocated=8, bits_stored=8, pixel_representation=0,
                                     photometric_interpretation="MONOCHROME2", number_of_frames=1)


def _encoded(form: str, text: bool) -> bytes:
    image = Image.new("L", (COLUMNS, ROWS), 40)
    if text:
        ImageDraw.Draw(image).text((1, 5), SURNAME, fill=255)
    buffer = BytesIO()
    image.save(buffer, form, **({"quality": 95} if form == "JPEG" else {"irreversible": False}))
    return buffer.getvalue()


def _photograph(frames: int) -> bytes:
    """A colour JPEG as a camera writes it: EXIF (the day, the owner, a description) and a comment."""
    exif = Image.Exif()
    exif[0x9003], exif[0x013B], exif[0x010E] = "2023:07:27 10:11:12", f"{SURNAME} HANS", "Patient PID4711"
    buffer = BytesIO()
    Image.new("RGB", (COLUMNS, ROWS), (40, 60, 80)).save(buffer, "JPEG", quality=95, exif=exif.tobytes(),
                                                         comment=f"{SURNAME}^HANS PID4711".encode())
    return buffer.getvalue()


@pytest.mark.parametrize("modality", ["XC", "CT"])  # read for text (a photograph), passed on unread
@pytest.mark.parametrize("frames", [1, 3])
def test_a_photographs_exif_and_comments_never_leave(modality: str, frames: int, basic: RuleBook) -> None:
    layout = Layout("photo", bits_allocated=8, bits_stored=8, samples=3, photometric="YBR_FULL_422",
                    frames=frames, syntax=JPEGBaseline8Bit)
    source = dicom_file(layout, encapsulate([_photograph(frames)] * frames, has_bot=True), modality=modality)
    assert SURNAME.encode() in source and b"Exif" in source
    outcome = deidentify_bytes(source, basic, KEYRING)
    assert (outcome.status, outcome.reason) == ("written", "")
    assert outcome.counts["pixel-metadata-dropped"] == 2 * frames
    for planted in (SURNAME.encode(), b"PID4711", b"2023:07:27", b"Exif"):
        assert planted not in outcome.data
    # The image is the same, frame by frame through the rewritten offset table.
    assert np.array_equal(pydicom.pixels.pixel_array(_read(outcome.data)), pydicom.pixels.pixel_array(_read(source)))
    assert deidentify_bytes(source, basic, KEYRING, reader=Reader.DATASET).data == outcome.data


def test_a_segment_reserved_for_extensions_never_leaves(basic: RuleBook) -> None:
    """A JPG0 segment (0xFFF0) holding the name: libjpeg refuses it, so an image read for text is
    withheld as undecodable; passed on unread (CT), the segment goes and the image stays."""
    layout = Layout("jpg0", bits_allocated=8, bits_stored=8, syntax=JPEGBaseline8Bit)
    blank = _encoded("JPEG", text=False)
    payload = f"{SURNAME}^HANS PID4711".encode()
    reserved = encapsulate([blank[:2] + b"\xff\xf0" + struct.pack(">H", len(payload) + 2) + payload + blank[2:]])
    read = deidentify_bytes(dicom_file(layout, reserved, modality="US"), basic, KEYRING)
    assert (read.status, read.data) == ("withheld", None) and "cannot be decoded" in read.reason
    passed = deidentify_bytes(dicom_file(layout, reserved, modality="CT"), basic, KEYRING)
    assert (passed.status, passed.reason) == ("written", "")
    assert passed.counts["pixel-metadata-dropped"] == 1 and SURNAME.encode() not in passed.data
    assert _read(passed.data).PixelData == _read(dicom_file(layout, encapsulate([blank]))).PixelData


@pytest.mark.parametrize("name", ["SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_jpeg_app14_dcmd.dcm", "SC_rgb_jpeg_gdcm.dcm"])
def test_segments_that_say_how_to_decode_stay(name: str, basic: RuleBook) -> None:
    """JFIF without a thumbnail and Adobe's colour transform: pixel data stays byte-identical."""
    path = Path(pydicom.__file__).parent / "data" / "test_files" / name
    outcome = deidentify_bytes(path.read_bytes(), basic, KEYRING)
    assert outcome.status == "written" and not outcome.counts["pixel-metadata-dropped"]
    assert _read(outcome.data).PixelData == _read(path.read_bytes()).PixelData


def _j2k_codestream() -> bytes:
    """A JPEG 2000 codestream as OpenJPEG writes it: the main header signed with a comment."""
    buffer = BytesIO()
    Image.new("L", (COLUMNS, ROWS), 40).save(buffer, "JPEG2000", irreversible=False, no_jp2=True)
    return buffer.getvalue()


def _comment(text: bytes) -> bytes:
    return b"\xff\x64" + struct.pack(">HH", len(text) + 4, 1) + text


COMMENT = f"{SURNAME}^HANS PID4711".encode()


def _with_j2k_metadata(where: str) -> bytes:
    stream = _j2k_codestream()
    tile = stream.index(b"\xff\x90")
    if where == "main header":
        return stream[:tile] + _comment(COMMENT) + stream[tile:]
    if where == "jp2 box":
        buffer = BytesIO()
        Image.new("L", (COLUMNS, ROWS), 40).save(buffer, "JPEG2000", irreversible=False)
        wrapped = buffer.getvalue()
        codestream = wrapped.index(b"jp2c") - 4
        xml = b"<x>" + COMMENT + b"</x>"
        return wrapped[:codestream] + struct.pack(">I", 8 + len(xml)) + b"xml " + xml + wrapped[codestream:]
    # In the tile-part header, after SOT; the tile-part's length (Psot) grows with it.
    comment = _comment(COMMENT)
    length = struct.unpack_from(">I", stream, tile + 6)[0]
    sot = stream[tile : tile + 6] + struct.pack(">I", length + len(comment)) + stream[tile + 10 : tile + 12]
    return stream[:tile] + sot + comment + stream[tile + 12 :]


@pytest.mark.parametrize("modality", ["US", "CT"])  # read for text, passed on unread
@pytest.mark.parametrize("where", ["main header", "jp2 box"])
def test_jpeg_2000_comments_and_jp2_boxes_never_leave(where: str, modality: str, basic: RuleBook) -> None:
    """A comment in the main header, an XML box in a JP2 wrapper: both go, the encoder's signed
    comment stays, and the image is the same."""
    layout = Layout("j2k-metadata", bits_allocated=8, bits_stored=8, syntax=JPEG2000Lossless)
    source = dicom_file(layout, encapsulate([_with_j2k_metadata(where)]), modality=modality)
    outcome = deidentify_bytes(source, basic, KEYRING)
    assert (outcome.status, outcome.reason) == ("written", "")
    assert outcome.counts["pixel-metadata-dropped"] == 1
    assert b"PID4711" not in outcome.data and SURNAME.encode() not in outcome.data
    assert b"Created by OpenJPEG version" in outcome.data
    assert np.array_equal(pydicom.pixels.pixel_array(_read(outcome.data)), pydicom.pixels.pixel_array(_read(source)))


@pytest.mark.parametrize("modality", ["US", "CT"])
def test_a_comment_in_a_jpeg_2000_tile_part_is_refused(modality: str, basic: RuleBook) -> None:
    """Taking it out would change the tile-part's length, which tile-length markers may repeat."""
    layout = Layout("j2k-tile-comment", bits_allocated=8, bits_stored=8, syntax=JPEG2000Lossless)
    source = dicom_file(layout, encapsulate([_with_j2k_metadata("tile part")]), modality=modality)
    assert np.array_equal(pydicom.pixels.pixel_array(_read(source)),
                          pydicom.pixels.pixel_array(_read(dicom_file(layout, encapsulate([_j2k_codestream()])))))
    outcome = deidentify_bytes(source, basic, KEYRING)
    assert outcome.data is None and outcome.status in ("withheld", "error")
    assert "a JPEG 2000 tile-part header holds a comment" in outcome.reason


def test_unused_rle_header_slots_are_zeroed(basic: RuleBook) -> None:
    """PS3.5 G.5 has the offsets of segments that do not exist zero; decoders never read them."""
    layout = Layout("rle-slots", bits_allocated=8, bits_stored=8, syntax=RLELossless)
    blank = _rle_frame(False)
    planted = blank[:40] + COMMENT[:16] + blank[56:]
    source = dicom_file(layout, encapsulate([planted]), modality="CT")
    outcome = deidentify_bytes(source, basic, KEYRING)
    assert (outcome.status, outcome.reason) == ("written", "")
    assert outcome.counts["pixel-metadata-dropped"] == 1 and SURNAME.encode() not in outcome.data
    assert _read(outcome.data).PixelData == _read(dicom_file(layout, encapsulate([blank]))).PixelData


def test_real_jpeg_2000_files_lose_their_jp2_boxes_and_keep_their_signatures(basic: RuleBook) -> None:
    """GDCMJ2K_TextGBR wraps its codestream in JP2 with four UUID boxes (macOS's); the others are
    bare codestreams signed by their encoder (GDCM/OpenJPEG, Kakadu, JasPer) and stay byte-identical."""
    folder = Path(pydicom.__file__).parent / "data" / "test_files"
    wrapped = (folder / "GDCMJ2K_TextGBR.dcm").read_bytes()
    outcome = deidentify_bytes(wrapped, basic, KEYRING)
    assert outcome.status == "written" and outcome.counts["pixel-metadata-dropped"] == 4
    assert b"uuid" not in _read(outcome.data).PixelData  # the image is read and its text masked
    stripped, source = without_metadata(_read(wrapped).PixelData, JPEG2000Lossless), _read(wrapped)
    assert stripped is not None and stripped.dropped == 4
    before = pydicom.pixels.pixel_array(source)
    source.PixelData = stripped.value
    assert np.array_equal(pydicom.pixels.pixel_array(source), before)
    for name in ("MR_small_jp2klossless.dcm", "J2K_pixelrep_mismatch.dcm", "JPEG2000.dcm"):
        source = (folder / name).read_bytes()
        outcome = deidentify_bytes(source, basic, KEYRING)
        assert not outcome.counts["pixel-metadata-dropped"], name
        if outcome.status == "written":
            assert _read(outcome.data).PixelData == _read(source).PixelData, name


MASKING_PROFILE = """
name: mask-banner
extends: basic
pixels:
  sources: []
  ocr: {enabled: false}
  regions:
    - {name: banner, when: {Modality: OT}, blank: [[0, 0, 12, 6]]}
"""


def test_masked_native_images_are_written_canonical_too(tmp_path: Path) -> None:
    (tmp_path / "mask.yaml").write_text(MASKING_PROFILE)
    rules = RuleBook(load_profile(tmp_path / "mask.yaml"))
    layout = Layout("ot-12")
    good = canonical_pixels(layout)
    source = dicom_file(layout, planted_pixels(layout, good), modality="OT", sop_class=SecondaryCaptureImageStorage)
    outcome = deidentify_bytes(source, rules, KEYRING)
    assert outcome.status == "written", outcome.reason
    assert sum(len(boxes) for boxes in outcome.pixels.boxes) == 1
    written = _read(outcome.data)
    assert len(written.PixelData) == len(good) and b"MUELLER" not in outcome.data
    assert not (np.frombuffer(written.PixelData, "<u2") >> 12).any()
    expected = _read(source).pixel_array.copy()
    expected[0:6, 0:12] = 0
    assert np.array_equal(written.pixel_array, expected)


# --- the real command line, the report and check ----------------------------------------------------


def test_cli_run_drops_planted_pixels_and_reports_it_and_check_sees_it(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    fast, full = Layout("fast"), Layout("full", syntax=ImplicitVRLittleEndian)
    (src / "trailing.dcm").write_bytes(dicom_file(fast, canonical_pixels(fast) + PLANTED + b"\0"))
    (src / "bits.dcm").write_bytes(dicom_file(full, planted_pixels(full, canonical_pixels(full))[:-len(PLANTED)]))
    (src / "clean.dcm").write_bytes(dicom_file(Layout("clean"), canonical_pixels(Layout("clean"))))
    (src / "short.dcm").write_bytes(dicom_file(Layout("short"), canonical_pixels(Layout("short"))[:100]))
    photo = Layout("photo", bits_allocated=8, bits_stored=8, samples=3, photometric="YBR_FULL_422",
                   syntax=JPEGBaseline8Bit)
    (src / "photo.dcm").write_bytes(dicom_file(photo, encapsulate([_photograph(1)]), modality="XC"))
    jpeg = Layout("frames", bits_allocated=8, bits_stored=8, frames=2, syntax=JPEGBaseline8Bit)
    (src / "frames.dcm").write_bytes(dicom_file(jpeg, encapsulate(_jpeg_frames(3, 2), has_bot=False), modality="CT"))
    blank, named = (_encoded("JPEG", text) for text in (False, True))
    (src / "after.dcm").write_bytes(dicom_file(replace(jpeg, frames=1), encapsulate([blank + named]), modality="CT"))

    report = check_folder(src, load_profile("basic"), skip=["validity"])
    pixel = {(f.file, f.detector, f.severity) for f in report.findings if f.scanner == "pixels"}
    assert pixel == {("trailing.dcm", "pixel-trailing-bytes", "high"),
                     ("bits.dcm", "pixel-bits-outside-stored", "high"),
                     ("short.dcm", "pixel-data-unchecked", "medium"),
                     ("photo.dcm", "pixel-codestream-metadata", "high"),
                     ("frames.dcm", "pixel-hidden-frames", "high"),
                     ("after.dcm", "pixel-codestream-trailing", "high")}
    assert not any(SURNAME.casefold() in str(f).casefold() for f in report.findings if f.scanner == "pixels")

    env = dict(os.environ, DEIDENTIFY_KEY_FILE=str(tmp_path / "key"))
    done = subprocess.run([sys.executable, "-m", "deidentify.cli", "run", str(src), str(dst), "--quiet"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 1, done.stderr  # the short one, hidden frames and the hidden image are not written
    outputs = sorted(dst.rglob("*.dcm"))
    assert len(outputs) == 4
    assert not any(b"MUELLER" in path.read_bytes() or b"PID4711" in path.read_bytes() for path in outputs)
    with open(dst.with_name("out.state") / "report.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    dropped = sorted(int(r["pixel_trailing_dropped"] or 0) for r in rows)
    cleared = sorted(int(r["pixel_high_bits_cleared"] or 0) for r in rows)
    metadata = sorted(int(r["pixel_metadata_dropped"] or 0) for r in rows)
    assert dropped == [0] * 6 + [len(PLANTED) + 1]
    assert cleared == [0] * 6 + [int(_text_mask(full.sample_count).sum())]
    assert metadata == [0] * 6 + [2]
    assert sorted(r["reason"] for r in rows if r["status"] == "error") == [
        "a frame holds data after its codestream ends", "pixel data holds more frames than Number of Frames",
        "pixel data is shorter than its rows, columns and frames need"]

    after = check_folder(dst, load_profile("basic"), skip=["validity"])
    assert not [f for f in after.findings if f.scanner == "pixels"]


# --- check --against: a source surname in a coded string --------------------------------------------


def test_check_against_finds_a_source_surname_in_coded_strings_but_not_defined_terms(
        tmp_path: Path, basic: RuleBook) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir(), out.mkdir()
    layout = Layout("cs")
    # A name part "CT" and an ID "HEAD" are the source's too: Modality CT and BodyPartExamined HEAD
    # in another file are defined terms, not leaks.
    planted = dicom_file(layout, canonical_pixels(layout), BodyPartExamined=SURNAME, PatientPosition="HFS")
    terms = dicom_file(Layout("terms"), canonical_pixels(layout), BodyPartExamined="HEAD",
                       PerformingPhysicianName="Ng^CT", RequestedProcedureID="HEAD")
    for name, data in (("planted.dcm", planted), ("terms.dcm", terms)):
        (src / name).write_bytes(data)
        outcome = deidentify_bytes(data, basic, KEYRING)
        assert outcome.status == "written"
        (out / name).write_bytes(outcome.data)
    report = check_folder(out, load_profile("basic"), against=src, skip=["validity"])
    against = [f for f in report.findings if f.scanner == "against"]
    assert [(f.element, f.detector) for f in against] == [("BodyPartExamined", "source-name")]
    assert SURNAME not in str(against[0])
