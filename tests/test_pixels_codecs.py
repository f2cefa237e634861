"""Masking in every encoding: synthetic images with text at known places, through the real stages.

Each image goes through the header stage, :func:`clean_pixels` and the writer,
and is read back from the written bytes.  Then: the boxes hold the darkest
displayable value, every pixel outside them is as the source decodes (no
encoding is ever lossy twice, so this holds for lossy sources too), the
transfer syntax is the expected one, and Lossy Image Compression is truthful.
"""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.pixels import pixel_array
from pydicom.pixels.processing import apply_color_lut
from pydicom.uid import UID, ExplicitVRLittleEndian

from deidentify.pixels import CleanSettings, RegionDecision
from deidentify.pixels.base import Box
from test_pixels_support import LOSSY, SYNTAXES, TEXT, FixedBoxes, OnFrames, decoded, inside, run_pixels, synthetic

# (encoding, photometric, bits stored, signed, frames, planar configuration)
NATIVE = [
    ("explicit", "MONOCHROME2", 8, False, 1, 0),
    ("explicit", "MONOCHROME2", 12, False, 3, 0),
    ("explicit", "MONOCHROME2", 16, True, 1, 0),
    ("explicit", "MONOCHROME1", 16, False, 2, 0),
    ("explicit", "MONOCHROME2", 32, False, 1, 0),
    ("explicit", "MONOCHROME2", 1, False, 3, 0),
    ("explicit", "MONOCHROME1", 1, False, 1, 0),
    ("explicit", "RGB", 8, False, 1, 0),
    ("explicit", "RGB", 8, False, 2, 1),
    ("explicit", "RGB", 16, False, 1, 1),
    ("explicit", "YBR_FULL", 8, False, 1, 0),
    ("explicit", "YBR_FULL_422", 8, False, 2, 0),
    ("explicit", "PALETTE COLOR", 8, False, 1, 0),
    ("explicit", "PALETTE COLOR", 16, False, 2, 0),
    ("implicit", "MONOCHROME2", 12, True, 2, 0),
    ("implicit", "RGB", 8, False, 1, 1),
    ("big", "MONOCHROME2", 16, True, 2, 0),
    ("big", "RGB", 8, False, 1, 1),
    ("big", "RGB", 16, False, 2, 0),
    ("big", "MONOCHROME2", 1, False, 2, 0),
    ("big", "PALETTE COLOR", 16, False, 1, 0),
    ("deflated", "MONOCHROME2", 8, False, 2, 0),
    ("deflated", "RGB", 8, False, 1, 1),
]
# Re-encoded in their own lossless syntax.
REENCODED = [
    ("rle", "MONOCHROME2", 8, False, 1, 0),
    ("rle", "MONOCHROME2", 16, True, 3, 0),
    ("rle", "MONOCHROME1", 12, False, 1, 0),
    ("rle", "RGB", 8, False, 2, 0),
    ("rle", "RGB", 16, False, 1, 0),
    ("rle", "YBR_FULL", 8, False, 1, 0),
    ("rle", "PALETTE COLOR", 8, False, 2, 0),
    ("jpeg-ls", "MONOCHROME2", 8, False, 1, 0),
    ("jpeg-ls", "MONOCHROME2", 12, False, 3, 0),
    ("jpeg-ls", "MONOCHROME2", 16, True, 1, 0),
    ("jpeg-ls", "MONOCHROME1", 16, False, 1, 0),
    ("jpeg-ls", "RGB", 8, False, 2, 0),
    ("jpeg-ls", "PALETTE COLOR", 8, False, 1, 0),
    ("j2k", "MONOCHROME2", 16, True, 1, 0),
    ("j2k", "MONOCHROME1", 12, False, 2, 0),
    ("j2k", "RGB", 8, False, 2, 0),
    ("j2k", "PALETTE COLOR", 8, False, 1, 0),
]
# Written native: lossy sources are never compressed again; RLE has no 32-bit profile.
TO_NATIVE = [
    ("jpeg-ls-near", "MONOCHROME2", 8, False, 1, 0),
    ("jpeg-ls-near", "MONOCHROME2", 16, False, 2, 0),
    ("jpeg-ls-near", "RGB", 8, False, 1, 0),
    ("j2k-lossy", "MONOCHROME2", 12, False, 2, 0),
    ("j2k-lossy", "RGB", 8, False, 1, 0),
    ("jpeg", "MONOCHROME2", 8, False, 2, 0),
    ("jpeg", "RGB", 8, False, 2, 0),
    ("rle", "MONOCHROME2", 32, False, 2, 0),
]


def darkest_expected(out: Dataset) -> np.ndarray:
    """The darkest displayable value of the output as PS3.3 defines its colour spaces, per decoded sample."""
    photometric, bits = str(out.PhotometricInterpretation), int(out.BitsStored)
    signed = int(out.PixelRepresentation) == 1
    if photometric == "MONOCHROME2":
        return np.array([-(1 << (bits - 1)) if signed else 0])
    if photometric == "MONOCHROME1":
        return np.array([(1 << (bits - 1)) - 1 if signed else (1 << bits) - 1])
    if photometric == "PALETTE COLOR":
        entries, first = out.RedPaletteColorLookupTableDescriptor[:2]
        stored = np.arange(first, first + (entries or 65536))
        brightness = apply_color_lut(stored, out)[..., :3].astype(float) @ [0.299, 0.587, 0.114]
        return np.array([stored[np.argmin(brightness)]])
    return np.zeros(3)  # RGB, and every YCbCr, which decodes to RGB


def check_masked(source: Dataset, out: Dataset, masked: np.ndarray) -> None:
    """``masked`` (rows x columns) pixels of every frame hold the darkest value, all others are unchanged."""
    check_masked_frames(source, out, dict.fromkeys(range(int(source.get("NumberOfFrames", 1) or 1)), masked))


def check_masked_frames(source: Dataset, out: Dataset, masked: dict[int, np.ndarray]) -> None:
    """Per frame: ``masked[i]`` pixels hold the darkest value; all others, of every frame, are unchanged."""
    before, after = decoded(source), decoded(out)
    assert after.shape == before.shape
    for index, frame in enumerate(after):
        where = masked.get(index, np.zeros(frame.shape[:2], dtype=bool))
        assert np.all(frame[where] == darkest_expected(out))
        assert np.array_equal(frame[~where], before[index][~where])


@pytest.mark.parametrize("case", NATIVE + REENCODED + TO_NATIVE, ids=lambda c: "-".join(map(str, c)))
def test_region_rule_boxes_are_masked_in_every_encoding(case: tuple) -> None:
    encoding, photometric, bits, signed, frames, planar = case
    source = synthetic(encoding, photometric, bits, signed, frames, planar)
    outcome, out = run_pixels(source, RegionDecision(boxes=TEXT, rules=("banner",)))
    assert outcome.status == "cleaned", outcome.reason
    assert outcome.clean_pixel_data
    assert outcome.boxes == (TEXT,) * frames
    check_masked(source, out, inside(TEXT))
    expected = SYNTAXES[encoding] if case in NATIVE + REENCODED else ExplicitVRLittleEndian
    assert outcome.transfer_syntax == expected
    assert out.file_meta.TransferSyntaxUID == expected
    assert out.get("NumberOfFrames", 1) == source.get("NumberOfFrames", 1)
    assert out.BurnedInAnnotation == "NO"
    lossy = SYNTAXES[encoding] in LOSSY
    assert out.get("LossyImageCompression") == ("01" if lossy else None)


def test_lossy_sources_written_native_name_their_compression_method() -> None:
    source = synthetic("j2k-lossy", "MONOCHROME2", 12)
    del source.LossyImageCompression
    _, out = run_pixels(source, RegionDecision(boxes=TEXT))
    assert out.LossyImageCompression == "01"
    assert out.LossyImageCompressionMethod == "ISO_15444_1"


def test_lossy_ycbcr_is_written_as_rgb() -> None:
    source = synthetic("jpeg", "RGB", 8)
    assert source.PhotometricInterpretation == "YBR_FULL_422"
    _, out = run_pixels(source, RegionDecision(boxes=TEXT))
    assert (out.PhotometricInterpretation, out.PlanarConfiguration) == ("RGB", 0)
    outside = ~inside(TEXT)
    assert np.array_equal(decoded(out)[0][outside], pixel_array(source)[outside])  # as a viewer shows the source
    assert np.all(pixel_array(out, raw=True)[inside(TEXT)] == 0)


def test_native_ycbcr_is_masked_black_in_its_own_colour_space() -> None:
    for photometric in ("YBR_FULL", "YBR_FULL_422"):
        _, out = run_pixels(synthetic("explicit", photometric, 8), RegionDecision(boxes=TEXT))
        assert out.PhotometricInterpretation == photometric
        stored = pixel_array(out, raw=True)  # YBR_FULL_422 comes back as full-resolution YBR_FULL
        assert np.all(stored[inside(TEXT)] == [0, 128, 128])


def test_unmasked_frames_keep_their_original_codestream() -> None:
    # A box over the noise, which differs from frame to frame: one over pixels the other frames
    # show unchanged would be masked there too (pixels.cine).
    source = synthetic("rle", "MONOCHROME2", 16, frames=3)
    noise = Box(4, 16, 30, 26, "text")
    outcome, out = run_pixels(source, RegionDecision(), OnFrames(noise, {1}), CleanSettings(padding=0))
    assert [bool(boxes) for boxes in outcome.boxes] == [False, True, False]
    before, after = _codestreams(source), _codestreams(out)
    assert after[0] == before[0] and after[2] == before[2]
    assert after[1] != before[1]
    check_masked_frames(source, out, {1: inside([noise])})


def _codestreams(ds: Dataset) -> list[bytes]:
    return list(generate_frames(ds.PixelData, number_of_frames=int(ds.NumberOfFrames)))


def test_ocr_findings_are_padded_and_masked_on_every_frame() -> None:
    source = synthetic("explicit", "MONOCHROME2", 12, frames=2)
    finding = TEXT[1]
    outcome, out = run_pixels(source, RegionDecision(), FixedBoxes(finding), CleanSettings(padding=2))
    padded = finding.padded(2)
    assert outcome.boxes == ((padded,), (padded,))
    check_masked(source, out, inside([padded]))


def test_ycbcr_422_pairs_cut_by_a_box_are_masked_whole() -> None:
    source = synthetic("explicit", "YBR_FULL_422", 8)
    odd = type(TEXT[0])(5, 3, 9, 6, "text")  # columns 5..8: pairs (4,5) to (8,9)
    _, out = run_pixels(source, RegionDecision(boxes=(odd,)))
    widened = type(odd)(4, 3, 10, 6, "text")
    check_masked(source, out, inside([widened]))


def test_a_box_beyond_the_image_is_clipped() -> None:
    source = synthetic("explicit", "MONOCHROME2", 8)
    far = type(TEXT[0])(50, 40, 500, 500, "rule")
    outcome, out = run_pixels(source, RegionDecision(boxes=(far,)))
    assert outcome.boxes == ((type(far)(50, 40, 64, 48, "rule"),),)
    check_masked(source, out, inside(outcome.boxes[0]))


@pytest.mark.parametrize("encoding", ["explicit", "big", "rle", "jpeg-ls", "j2k", "jpeg"])
def test_an_image_with_nothing_to_mask_keeps_its_pixel_data_bytes(encoding: str) -> None:
    source = synthetic(encoding, "MONOCHROME2", 8, frames=2, burned_in="NO")
    outcome, out = run_pixels(source, RegionDecision(), FixedBoxes())
    assert (outcome.status, outcome.clean_pixel_data) == ("unchanged", True)
    assert outcome.transfer_syntax == UID(source.file_meta.TransferSyntaxUID)
    assert out.PixelData == source.PixelData
    assert out.BurnedInAnnotation == "NO"
