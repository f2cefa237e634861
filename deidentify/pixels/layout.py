"""How an image's pixels are stored, and writable views onto native pixel data.

:class:`ImageLayout` is read once from the Image Pixel module and the transfer
syntax.  For native (uncompressed) data, :func:`native_frame` gives a numpy view
of one frame *inside the byte buffer*: its offset and strides are the byte
offsets of every row, pixel and sample, so masking through the view writes the
buffer in place without decoding the image.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import RawDataElement, convert_raw_data_element
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import UID, ImplicitVRLittleEndian

from .base import PixelError

PIXEL_DATA = 0x7FE00010
FLOAT_PIXEL_TAGS = (0x7FE00008, 0x7FE00009)

#: Samples per pixel each photometric interpretation requires.
_SAMPLES = {
    "MONOCHROME1": 1,
    "MONOCHROME2": 1,
    "PALETTE COLOR": 1,
    "RGB": 3,
    "YBR_FULL": 3,
    "YBR_FULL_422": 3,
    "YBR_ICT": 3,
    "YBR_RCT": 3,
    "YBR_PARTIAL_420": 3,
}


@dataclass(frozen=True)
class SampleFormat:
    """What one pixel's samples mean: enough to choose a mask value and to render."""

    photometric: str
    bits_stored: int
    signed: bool
    samples: int


@dataclass(frozen=True)
class ImageLayout:
    """The stored form of an image's Pixel Data."""

    rows: int
    columns: int
    samples: int
    bits_allocated: int
    bits_stored: int
    signed: bool
    planar: int
    photometric: str
    frames: int
    transfer_syntax: UID
    pixel_vr: str

    @property
    def encapsulated(self) -> bool:
        return bool(self.transfer_syntax.is_encapsulated)

    @property
    def format(self) -> SampleFormat:
        return SampleFormat(self.photometric, self.bits_stored, self.signed, self.samples)

    @property
    def unit_width(self) -> int:
        """Pixels per stored unit: native YBR_FULL_422 stores two pixels as Y Y Cb Cr."""
        return 2 if self.photometric == "YBR_FULL_422" and not self.encapsulated else 1

    @property
    def frame_bytes(self) -> int:
        """Bytes of one native frame (BitsAllocated 8 and up; 1-bit frames are not byte aligned)."""
        per_pixel = self.samples if self.unit_width == 1 else 2  # 422: 4 samples per 2 pixels
        return self.rows * self.columns * per_pixel * self.bits_allocated // 8

    @property
    def data_bytes(self) -> int:
        """Bytes of all native frames (1-bit frames follow each other without padding)."""
        if self.bits_allocated == 1:
            return -(-self.frames * self.rows * self.columns // 8)
        return self.frames * self.frame_bytes

    @property
    def dtype(self) -> np.dtype:
        """The numpy type of one stored native sample."""
        if self.bits_allocated == 1:
            return np.dtype(np.uint8)
        order = "<" if self.transfer_syntax.is_little_endian else ">"
        return np.dtype(f"{order}{'i' if self.signed else 'u'}{self.bits_allocated // 8}")

    @property
    def pair_swapped(self) -> bool:
        """Big endian 8-bit data written as OW has each pair of bytes swapped (PS3.5 A.2)."""
        return not self.transfer_syntax.is_little_endian and self.bits_allocated == 8 and self.pixel_vr == "OW"


def transfer_syntax_of(ds: Dataset) -> UID:
    """The dataset's transfer syntax, Implicit VR Little Endian when the file meta names none."""
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    return UID(str(uid)) if uid else ImplicitVRLittleEndian


def has_pixel_data(ds: Dataset) -> bool:
    return PIXEL_DATA in ds or any(tag in ds for tag in FLOAT_PIXEL_TAGS)


def read_layout(ds: Dataset, transfer_syntax: UID) -> ImageLayout:
    """The layout of ``ds``'s Pixel Data, or :class:`PixelError` saying what makes it unreadable."""
    if any(tag in ds for tag in FLOAT_PIXEL_TAGS):
        raise PixelError("float pixel data cannot be cleaned")
    try:
        allocated = element_number(ds, 0x00280100)
        layout = ImageLayout(
            rows=element_number(ds, 0x00280010),
            columns=element_number(ds, 0x00280011),
            samples=element_number(ds, 0x00280002, 1) or 1,
            bits_allocated=allocated,
            bits_stored=element_number(ds, 0x00280101, allocated) or allocated,
            signed=element_number(ds, 0x00280103, 0) == 1,
            planar=element_number(ds, 0x00280006, 0),
            photometric=str(element_value(ds, 0x00280004) or "").strip().upper(),
            frames=element_number(ds, 0x00280008, 1) or 1,
            transfer_syntax=transfer_syntax,
            pixel_vr=_pixel_vr(ds),
        )
    except PixelError:
        raise
    except Exception as exc:  # malformed beyond a number (pydicom's messages may quote values)
        raise PixelError(f"image pixel description is incomplete ({type(exc).__name__})") from exc
    _check(layout)
    return layout


def element_value(ds: Dataset, tag: int) -> Any:
    """The (first) value of ``ds``'s element ``tag``, None when absent; a raw element is decoded
    without being replaced, so an engine that copies it as read still can."""
    if tag not in ds:
        return None
    element = ds.get_item(tag)
    if isinstance(element, RawDataElement):
        element = convert_raw_data_element(element, encoding=ds._character_set, ds=ds)
    value = element.value
    return value[0] if isinstance(value, (list, tuple, MultiValue)) and value else value


def element_number(ds: Dataset, tag: int, default: int | None = None) -> int:
    """An Image Pixel number of ``ds``, ``default`` when absent or empty; :class:`PixelError`
    naming the element (never its value) when it is required and absent, or not a number."""
    name = keyword_for_tag(tag)  # every Image Pixel element is in the dictionary
    try:
        value = element_value(ds, tag)
        if value is None or value == "":
            if default is None:
                raise PixelError(f"image pixel description is incomplete: no {name}")
            return default
        return int(value)
    except PixelError:
        raise
    except Exception as exc:
        raise PixelError(f"image pixel description is malformed: {name} is not a number") from exc


def _pixel_vr(ds: Dataset) -> str:
    vr = ds.get_item(PIXEL_DATA).VR if PIXEL_DATA in ds else None
    return vr if vr in ("OB", "OW") else ("OB" if int(ds.get("BitsAllocated", 8) or 8) <= 8 else "OW")


def _check(layout: ImageLayout) -> None:
    if not layout.transfer_syntax.is_transfer_syntax:
        raise PixelError("unknown transfer syntax")
    if min(layout.rows, layout.columns, layout.frames) < 1:
        raise PixelError("image has no rows, columns or frames")
    if _SAMPLES.get(layout.photometric) != layout.samples:
        raise PixelError("photometric interpretation does not match samples per pixel")
    if layout.bits_allocated not in (1, 8, 16, 32) and not layout.encapsulated:
        raise PixelError(f"native pixel data with {layout.bits_allocated} bits allocated cannot be cleaned")
    if not 1 <= layout.bits_stored <= layout.bits_allocated:
        raise PixelError("bits stored does not fit bits allocated")
    if layout.unit_width == 2 and (layout.columns % 2 or layout.planar):
        raise PixelError("YBR_FULL_422 needs an even number of columns and planar configuration 0")


@contextmanager
def native_frame(buffer: bytearray, layout: ImageLayout, index: int) -> Iterator[np.ndarray]:
    """A writable (rows, units, samples per unit) view of native frame ``index`` in ``buffer``.

    Writes through the view land in ``buffer``.  1-bit frames need not start on a
    byte boundary, so they are unpacked to one byte per pixel and packed back on
    exit, together with the neighbouring frames' bits that share their end bytes.
    """
    rows, columns = layout.rows, layout.columns
    if layout.bits_allocated == 1:
        first_bit = index * rows * columns
        start, end = first_bit // 8, -(-(first_bit + rows * columns) // 8)
        bits = np.unpackbits(np.frombuffer(buffer, np.uint8, end - start, start), bitorder="little")
        skip = first_bit - start * 8
        yield bits[skip : skip + rows * columns].reshape(rows, columns, 1)
        buffer[start:end] = np.packbits(bits, bitorder="little").tobytes()
        return
    size = layout.dtype.itemsize
    offset = index * layout.frame_bytes
    if layout.planar == 1:
        # Planar: all of sample 0's rows, then sample 1's, then sample 2's.
        shape = (rows, columns, layout.samples)
        strides = (columns * size, size, rows * columns * size)
    else:
        unit = layout.unit_width
        per_unit = layout.samples if unit == 1 else 4
        shape = (rows, columns // unit, per_unit)
        strides = (columns // unit * per_unit * size, per_unit * size, size)
    yield np.ndarray(shape, layout.dtype, buffer=buffer, offset=offset, strides=strides)
