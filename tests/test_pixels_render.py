"""Rendering for OCR: windowing, min/max, MONOCHROME1, palette and colour, in 8 bits."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset

from deidentify.pixels import PixelError
from deidentify.pixels.frames import Frame, decode_frame
from deidentify.pixels.layout import SampleFormat, read_layout, transfer_syntax_of
from deidentify.pixels.render import luminance, to_display, to_gray
from test_pixels_support import TEXT, bundled, inside, synthetic


def frame(values: list, photometric: str = "MONOCHROME2", bits: int = 16, signed: bool = False) -> Frame:
    pixels = np.asarray(values)
    pixels = pixels[..., None] if pixels.ndim == 2 else pixels
    return Frame(0, pixels, SampleFormat(photometric, bits, signed, pixels.shape[-1]))


def test_the_first_window_maps_linearly_after_the_rescale() -> None:
    ds = Dataset()
    ds.WindowCenter, ds.WindowWidth = ["40", "400"], ["401", "2000"]
    ds.RescaleSlope, ds.RescaleIntercept = "1", "-1024"
    # Stored values are HU + 1024: -1024 and -200 HU lie below the window, 40 is its centre, 240 its top.
    gray = to_gray(frame([[0, 824, 1064, 1264, 4000]]), ds)
    assert gray.tolist() == [[0, 0, 128, 255, 255]]


def test_without_a_window_the_frame_s_own_range_is_stretched() -> None:
    assert to_gray(frame([[100, 150, 200]]), Dataset()).tolist() == [[0, 128, 255]]
    assert to_gray(frame([[7, 7]]), Dataset()).tolist() == [[0, 0]]


def test_monochrome1_is_inverted() -> None:
    assert to_gray(frame([[100, 150, 200]], "MONOCHROME1"), Dataset()).tolist() == [[255, 127, 0]]


def test_signed_values_render_by_their_value() -> None:
    assert to_gray(frame([[-1000, 0, 1000]], signed=True), Dataset()).tolist() == [[0, 128, 255]]


def test_colour_is_shown_as_rgb_and_read_as_luminance() -> None:
    rgb = frame([[[65535, 0, 0], [0, 0, 0], [65535, 65535, 65535]]], "RGB", 16)
    assert to_display(rgb, Dataset()).tolist() == [[[255, 0, 0], [0, 0, 0], [255, 255, 255]]]
    assert to_gray(rgb, Dataset()).tolist() == [[76, 0, 255]]


def test_ycbcr_is_converted_to_rgb() -> None:
    ybr = frame([[[255, 128, 128], [76, 85, 255]]], "YBR_FULL", 8)
    shown = to_display(ybr, Dataset()).astype(int)
    assert np.abs(shown - [[[255, 255, 255], [255, 0, 0]]]).max() <= 2


def test_ycbcr_is_read_as_the_luminance_of_what_is_shown() -> None:
    # pydicom's JPEG baseline YCbCr ultrasound cine: its Y is read without the round trip to RGB.
    ds = bundled("examples_ybr_color.dcm")
    decoded = decode_frame(ds, read_layout(ds, transfer_syntax_of(ds)), 0)
    assert decoded.format.photometric == "YBR_FULL"
    gray = to_gray(decoded, ds).astype(int)
    shown = luminance(to_display(decoded, ds)).astype(int)
    assert gray.shape == shown.shape
    # Rounding differs by one at most, and saturated colours, clipped when shown, by a little more.
    assert np.abs(gray - shown).max() <= 8
    assert np.mean(np.abs(gray - shown)) < 0.5


def test_palette_colour_goes_through_the_image_s_palette() -> None:
    ds = bundled("OBXXXX1A.dcm")
    layout = read_layout(ds, transfer_syntax_of(ds))
    shown = to_display(decode_frame(ds, layout, 0), ds)
    assert shown.shape == (ds.Rows, ds.Columns, 3) and shown.dtype == np.uint8
    stored = ds.pixel_array
    index = int(stored[300, 400])
    lut = np.frombuffer(ds.RedPaletteColorLookupTableData, dtype="<u2")
    assert shown[300, 400, 0] == round(int(lut[index]) * 255 / 65535)


def test_a_palette_image_with_white_text_shows_it_white() -> None:
    ds = synthetic("explicit", "PALETTE COLOR", 8)
    # The test palette runs from white (index 0) to black: text stored at the top index is black.
    gray = to_gray(decode_frame(ds, read_layout(ds, transfer_syntax_of(ds)), 0), ds)
    assert np.all(gray[inside(TEXT)] == 0)


def test_a_frame_that_cannot_be_rendered_says_so() -> None:
    with pytest.raises(PixelError, match=r"frame cannot be rendered \(ValueError\)"):
        to_gray(frame([[1, 2]], "PALETTE COLOR", 8), Dataset())


def test_luminance_leaves_gray_images_alone() -> None:
    gray = np.array([[1, 2]], dtype=np.uint8)
    assert luminance(gray) is gray
