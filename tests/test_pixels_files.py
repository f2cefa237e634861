"""Real files: pydicom's bundled test images in every encoding they come in, masked and read back.

Each file's every frame is decoded and rendered for OCR, a box is masked, and the
written output is decoded again: the box is dark, the rest as the source decodes.
Files that cannot be decoded are withheld with the reason, never passed on.
"""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.uid import UID, ExplicitVRLittleEndian

from deidentify.pixels import Box, CleanSettings, RegionDecision
from test_pixels_codecs import darkest_expected
from test_pixels_support import FixedBoxes, bundled, decoded, run_pixels

BOX = Box(2, 1, 40, 12, "banner")

# file -> the transfer syntax its masked output is written in ("same": its own).
FILES = {
    "US1_UNCR.dcm": "same",
    "US1_J2KR.dcm": "same",  # JPEG 2000 lossless, YBR_RCT: re-encoded with the same transform
    "US1_J2KI.dcm": ExplicitVRLittleEndian,  # lossy YBR_ICT
    "SC_rgb_2frame.dcm": "same",
    "SC_rgb_16bit_2frame.dcm": "same",
    "SC_rgb_32bit_2frame.dcm": "same",
    "SC_rgb_expb_2frame.dcm": "same",
    "SC_rgb_expb_32bit.dcm": "same",
    "SC_rgb_small_odd_big_endian.dcm": "same",  # 8-bit OW big endian: bytes swapped in pairs
    "SC_rgb_rle_2frame.dcm": "same",
    "SC_rgb_rle_16bit_2frame.dcm": "same",
    "SC_rgb_rle_32bit_2frame.dcm": ExplicitVRLittleEndian,
    "SC_rgb_jpeg_dcmtk.dcm": ExplicitVRLittleEndian,  # JPEG baseline YBR_FULL
    "SC_rgb_dcmtk_+eb+cy+np.dcm": ExplicitVRLittleEndian,  # JPEG baseline YBR_FULL_422
    "SC_jpeg_no_color_transform.dcm": ExplicitVRLittleEndian,
    "SC_rgb_jpeg_gdcm.dcm": ExplicitVRLittleEndian,  # JPEG lossless: no encoder
    "SC_rgb_jls_lossy_line.dcm": ExplicitVRLittleEndian,
    "SC_ybr_full_422_uncompressed.dcm": "same",
    "SC_ybr_full_uncompressed.dcm": "same",
    "color-pl.dcm": "same",
    "OBXXXX1A.dcm": "same",
    "OBXXXX1A_expb_2frame.dcm": "same",  # palette, 8-bit OW big endian
    "OBXXXX1A_rle_2frame.dcm": "same",
    "gdcm-US-ALOKA-16.dcm": "same",  # 16-bit palette
    "gdcm-US-ALOKA-16_big.dcm": "same",
    "MR_small_RLE.dcm": "same",
    "MR_small_jpeg_ls_lossless.dcm": "same",
    "MR_small_jp2klossless.dcm": "same",
    "MR_small_bigendian.dcm": "same",
    "emri_small.dcm": "same",
    "emri_small_RLE.dcm": "same",
    "emri_small_jpeg_2k_lossless.dcm": "same",
    "emri_small_jpeg_ls_lossless.dcm": "same",
    "emri_small_big_endian.dcm": "same",
    "JPEG-LL.dcm": ExplicitVRLittleEndian,
    "JPGLosslessP14SV1_1s_1f_8b.dcm": ExplicitVRLittleEndian,
    "JPGExtended.dcm": ExplicitVRLittleEndian,
    "JPEG2000.dcm": ExplicitVRLittleEndian,
    "JPEGLSNearLossless_16.dcm": ExplicitVRLittleEndian,
    "RG3_UNCR.dcm": "same",  # MONOCHROME1
    "RG3_J2KR.dcm": "same",
    "liver.dcm": "same",  # 1 bit, 3 frames
    "liver_expb.dcm": "same",
    "rtdose.dcm": "same",  # 32 bits, 15 frames
    "rtdose_rle.dcm": ExplicitVRLittleEndian,
    "rtdose_expb.dcm": "same",
    "image_dfl.dcm": "same",  # deflated
    "examples_ybr_color.dcm": ExplicitVRLittleEndian,  # JPEG baseline, 30 frames
    "CT_small.dcm": "same",
    "vlut_04.dcm": "same",
    "mlut_18.dcm": "same",
}
#: Files whose transfer syntax is lossy.
LOSSY_SOURCES = {
    "US1_J2KI.dcm", "SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_dcmtk_+eb+cy+np.dcm", "SC_jpeg_no_color_transform.dcm",
    "SC_rgb_jls_lossy_line.dcm", "JPGExtended.dcm", "JPEG2000.dcm", "JPEGLSNearLossless_16.dcm",
    "examples_ybr_color.dcm",
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_frame_is_rendered_masked_and_written(name: str) -> None:
    source = bundled(name)
    detector = FixedBoxes(BOX)
    outcome, out = run_pixels(source, RegionDecision(flags=("unknown text",)), detector, CleanSettings(padding=0))
    assert outcome.status == "cleaned", outcome.reason
    # Every frame is read, but one stored exactly as the frame before it (examples_ybr_color
    # repeats two) reuses what was found there; a palette frame is read as shown and as its
    # stored indices (render.readings).
    stored = decoded(source)
    frames = 1 + sum(not np.array_equal(a, b) for a, b in zip(stored[1:], stored[:-1], strict=True))
    readings = 2 if str(source.PhotometricInterpretation).strip() == "PALETTE COLOR" else 1
    assert len(detector.seen) == frames * readings
    assert all(seen.dtype == np.uint8 and seen.shape == (source.Rows, source.Columns) for seen in detector.seen)
    expected = UID(source.file_meta.TransferSyntaxUID) if FILES[name] == "same" else FILES[name]
    assert out.file_meta.TransferSyntaxUID == expected
    clipped = BOX.clipped(source.Columns, source.Rows)
    assert clipped is not None
    masked = np.zeros((source.Rows, source.Columns), dtype=bool)
    masked[clipped.y0 : clipped.y1, clipped.x0 : clipped.x1] = True
    before, after = decoded(source), decoded(out)
    assert np.all(after[:, masked] == darkest_expected(out))
    assert np.array_equal(after[:, ~masked], before[:, ~masked])
    lossy = name in LOSSY_SOURCES or source.get("LossyImageCompression") == "01"
    assert out.get("LossyImageCompression") == ("01" if lossy else source.get("LossyImageCompression"))


@pytest.mark.parametrize(
    "name, detail",
    [
        ("JPEG-lossy.dcm", "pixel data cannot be decoded: JPEGExtended12Bit"),
        # Its SIZ segment holds the embedded delimiter's bytes: a width of 3.7 billion, checked before decoding.
        ("JPEG2000-embedded-sequence-delimiter.dcm", "a frame's codestream header disagrees with Rows"),
        ("MR_truncated.dcm", "pixel data cannot be decoded"),
    ],
)
def test_pixel_data_that_cannot_be_decoded_is_withheld(name: str, detail: str) -> None:
    outcome, _ = run_pixels(bundled(name), RegionDecision(flags=("unknown text",)), FixedBoxes(BOX))
    assert outcome.status == "withheld"
    assert outcome.reason.startswith(f"burnt-in text not cleaned ({detail}")


def test_native_pixel_data_shorter_than_its_image_is_withheld_without_decoding() -> None:
    outcome, _ = run_pixels(bundled("MR_truncated.dcm"), RegionDecision(boxes=(BOX,)))
    assert outcome.status == "withheld"
    assert outcome.reason == "burnt-in text not cleaned (pixel data is shorter than its rows, columns and frames need)"
