"""Rewriting: masked Pixel Data into the output dataset, in the best encoding that loses nothing more.

* Native data is masked in place on a copy of its bytes, frame by frame through
  views (see :func:`~.layout.native_frame`); nothing is decoded.
* Encapsulated data of a lossless syntax with an installed encoder (RLE
  Lossless; JPEG-LS Lossless with pyjpegls; JPEG 2000 Lossless with
  pylibjpeg-openjpeg) stays in that syntax: masked frames are decoded, masked
  and encoded again, the others keep their original codestream byte for byte.
* Any other encapsulated data (every lossy syntax, which is never compressed
  again, and lossless ones without an encoder) is decoded frame by frame into
  Explicit VR Little Endian native data, in the colour space it decodes to;
  lossy YCbCr is converted to RGB.

Lossy history stays truthful: output from a lossy source keeps Lossy Image
Compression "01" and names its method, whatever the output syntax.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.pixels.encoders import JPEG2000LosslessEncoder, JPEGLSLosslessEncoder, RLELosslessEncoder
from pydicom.pixels.encoders.base import ENCODING_PROFILES, Encoder
from pydicom.pixels.processing import convert_color_space
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    JPEG2000MC,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEG2000MCLossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from .base import Box, PixelError
from .frames import decode_frames
from .layout import PIXEL_DATA, ImageLayout, SampleFormat, native_frame
from .mask import darkest, mask_frame
from .native import canonical_samples

#: Syntaxes whose pixel data is exactly what was acquired (or what an earlier lossy step left).
LOSSLESS_SYNTAXES = frozenset({
    ImplicitVRLittleEndian, ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian,
    UID("1.2.840.10008.1.2.1.98"),  # Encapsulated Uncompressed Explicit VR Little Endian
    RLELossless, JPEGLossless, JPEGLosslessSV1, JPEGLSLossless, JPEG2000Lossless, JPEG2000MCLossless,
    HTJ2KLossless, HTJ2KLosslessRPCL,
})

#: Lossless syntaxes that can be encoded again, each by its own encoder.
_ENCODERS: Mapping[UID, Encoder] = {
    RLELossless: RLELosslessEncoder,
    JPEGLSLossless: JPEGLSLosslessEncoder,
    JPEG2000Lossless: JPEG2000LosslessEncoder,
}

#: Lossy Image Compression Method (0028,2114) defined terms per lossy syntax.
_LOSSY_METHODS: Mapping[UID, str] = {
    JPEGBaseline8Bit: "ISO_10918_1",
    JPEGExtended12Bit: "ISO_10918_1",
    JPEGLSNearLossless: "ISO_14495_1",
    JPEG2000: "ISO_15444_1",
    JPEG2000MC: "ISO_15444_2",
    HTJ2K: "ISO_15444_15",
}

_EXTENDED_OFFSET_TAGS = (0x7FE00001, 0x7FE00002)

Regions = Sequence[Sequence[Box]]


def write_masked(source: Dataset, out: Dataset, layout: ImageLayout, regions: Regions) -> UID:
    """Write ``source``'s pixel data with ``regions[i]`` masked on frame i into ``out``.

    Returns the transfer syntax ``out`` must now be written in.  Raises
    :class:`PixelError` when the data cannot be decoded or written.
    """
    if not layout.encapsulated:
        _mask_native(source, out, layout, regions)
        return layout.transfer_syntax
    encoder = _lossless_encoder(layout)
    if encoder is not None:
        _reencode(source, out, layout, regions, encoder)
        syntax = layout.transfer_syntax
    else:
        _decode_to_native(source, out, layout, regions)
        syntax = ExplicitVRLittleEndian
    for tag in _EXTENDED_OFFSET_TAGS:  # offsets of the old fragments
        out.pop(tag, None)
    _keep_lossy_history(source, out, layout)
    return syntax


def is_lossy(source: Dataset, layout: ImageLayout) -> bool:
    """Whether the pixel data has been through lossy compression, now or before."""
    flagged = str(source.get("LossyImageCompression", "")).strip() == "01"
    return flagged or layout.transfer_syntax not in LOSSLESS_SYNTAXES


def _mask_native(source: Dataset, out: Dataset, layout: ImageLayout, regions: Regions) -> None:
    raw = source[PIXEL_DATA].value
    if len(raw) < layout.data_bytes:
        raise PixelError("pixel data is shorter than its rows, columns and frames need")
    buffer = bytearray(raw)
    value = darkest(layout.format, source)
    if layout.pair_swapped:
        _swap_pairs(buffer)
    for index, boxes in enumerate(regions):
        if boxes:
            with native_frame(buffer, layout, index) as view:
                mask_frame(view, boxes, value, layout.unit_width)
    if layout.pair_swapped:
        _swap_pairs(buffer)
    out[PIXEL_DATA] = DataElement(PIXEL_DATA, layout.pixel_vr, bytes(buffer))


def _swap_pairs(buffer: bytearray) -> None:
    np.frombuffer(buffer, np.uint16, len(buffer) // 2).byteswap(inplace=True)


def _lossless_encoder(layout: ImageLayout) -> Encoder | None:
    """The encoder that writes ``layout``'s syntax again, if installed and PS3.5 allows this image in it."""
    encoder = _ENCODERS.get(layout.transfer_syntax)
    if encoder is None or not encoder.is_available:
        return None
    allowed = any(
        layout.photometric == photometric and layout.samples == samples and int(layout.signed) in representations
        and layout.bits_allocated in allocated and layout.bits_stored in stored
        for photometric, samples, representations, allocated, stored in ENCODING_PROFILES[layout.transfer_syntax]
    )
    return encoder if allowed else None


def _reencode(source: Dataset, out: Dataset, layout: ImageLayout, regions: Regions, encoder: Encoder) -> None:
    masked = decode_frames(source, layout, [index for index, boxes in enumerate(regions) if boxes])
    options: dict[str, Any] = {
        "rows": layout.rows,
        "columns": layout.columns,
        "number_of_frames": 1,
        "samples_per_pixel": layout.samples,
        "bits_allocated": layout.bits_allocated,
        "bits_stored": layout.bits_stored,
        "pixel_representation": int(layout.signed),
        # The stored colour space: a YBR_RCT frame decodes to RGB and is transformed back on encoding.
        "photometric_interpretation": layout.photometric,
        "planar_configuration": 0,
    }
    codestreams = []
    for index, original in enumerate(_original_frames(source, layout)):
        if not regions[index]:
            codestreams.append(original)
            continue
        frame = next(masked)
        mask_frame(frame.pixels, regions[index], darkest(frame.format, source))
        pixels = _without_unused_bits(frame.pixels, frame.format)
        pixels = pixels[..., 0] if layout.samples == 1 else pixels
        try:
            codestreams.append(encoder.encode(pixels, **options))
        except Exception as exc:  # plugin errors of any type
            detail = f"{layout.transfer_syntax.keyword}, {type(exc).__name__}"
            raise PixelError(f"masked frame cannot be encoded: {detail}") from exc
    out[PIXEL_DATA] = DataElement(PIXEL_DATA, "OB", encapsulate(codestreams), is_undefined_length=True)


def _without_unused_bits(pixels: np.ndarray, sample_format: SampleFormat) -> np.ndarray:
    """A decoded frame with no bit set outside BitsStored, as native output is written
    (decoders give the value in the low bits; a codestream may still carry more)."""
    if pixels.dtype.kind not in "iu":
        return pixels
    bits = sample_format.bits_stored
    fixed, _ = canonical_samples(pixels, bits, bits - 1, sample_format.signed)
    return pixels if fixed is None else fixed


def _original_frames(source: Dataset, layout: ImageLayout) -> list[bytes]:
    extended = None
    if all(tag in source for tag in _EXTENDED_OFFSET_TAGS):
        extended = (source[_EXTENDED_OFFSET_TAGS[0]].value, source[_EXTENDED_OFFSET_TAGS[1]].value)
    try:
        data = source[PIXEL_DATA].value
        frames = list(generate_frames(data, number_of_frames=layout.frames, extended_offsets=extended))
    except Exception as exc:
        raise PixelError(f"encapsulated pixel data cannot be parsed ({type(exc).__name__})") from exc
    if len(frames) < layout.frames:
        raise PixelError("pixel data holds fewer frames than Number of Frames")
    return frames[: layout.frames]


def _decode_to_native(source: Dataset, out: Dataset, layout: ImageLayout, regions: Regions) -> None:
    # Lossy YCbCr is shown as RGB, the one colour space every IOD allows in native form (the
    # ultrasound IODs, say, have no native YBR_FULL); lossless YCbCr stays exact.
    to_rgb = is_lossy(source, layout)
    chunks = []
    for frame in decode_frames(source, layout):
        if regions[frame.index]:
            mask_frame(frame.pixels, regions[frame.index], darkest(frame.format, source))
        pixels, photometric = frame.pixels, frame.format.photometric
        if to_rgb and photometric == "YBR_FULL" and pixels.dtype == np.uint8:
            pixels, photometric = convert_color_space(pixels, "YBR_FULL", "RGB"), "RGB"
        chunks.append(pixels.astype(pixels.dtype.newbyteorder("<"), copy=False).tobytes())
    # Every frame of an image decodes alike; the last one describes them all.
    bits = 8 * pixels.dtype.itemsize
    out[PIXEL_DATA] = DataElement(PIXEL_DATA, "OB" if bits == 8 else "OW", b"".join(chunks))
    set_element(out, "PhotometricInterpretation", photometric)
    set_element(out, "BitsAllocated", bits)
    if layout.samples > 1:
        set_element(out, "PlanarConfiguration", 0)


def _keep_lossy_history(source: Dataset, out: Dataset, layout: ImageLayout) -> None:
    if not is_lossy(source, layout):
        return
    set_element(out, "LossyImageCompression", "01")
    method = _LOSSY_METHODS.get(layout.transfer_syntax)
    if method and "LossyImageCompressionMethod" not in out:
        set_element(out, "LossyImageCompressionMethod", method)


def set_element(out: Dataset, keyword: str, value: object) -> None:
    """Give ``out`` a new element: the header stage shares its kept elements with the
    input, and setting a value through ``out.Keyword`` would change the input too."""
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    out[tag] = DataElement(tag, dictionary_VR(tag), value)
