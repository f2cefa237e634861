"""The Icon Image Sequence: a thumbnail shows whatever text the image showed.

An icon kept by the profile is replaced by one made from the output's first
frame: 8-bit MONOCHROME2, at most ``size`` pixels on its longer side (PS3.3
F.7).  It is removed instead when the output is encapsulated (its pixel data
would need the same encoding) or its first frame cannot be rendered.
"""

from __future__ import annotations

from PIL import Image
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID

from .base import PixelError
from .frames import decode_frame
from .layout import PIXEL_DATA, read_layout
from .render import to_gray

ICON_IMAGE_SEQUENCE = 0x00880200


def replace_icon(out: Dataset, transfer_syntax: UID, size: int) -> None:
    """Regenerate ``out``'s icon from its own pixel data, or remove it."""
    if ICON_IMAGE_SEQUENCE not in out:
        return
    del out[ICON_IMAGE_SEQUENCE]
    if transfer_syntax.is_encapsulated:
        return
    try:
        gray = to_gray(decode_frame(out, read_layout(out, transfer_syntax), 0), out)
    except PixelError:
        return
    thumbnail = Image.fromarray(gray)
    thumbnail.thumbnail((size, size), Image.Resampling.BOX)
    item = Dataset()
    item.SamplesPerPixel = 1
    item.PhotometricInterpretation = "MONOCHROME2"
    item.Rows, item.Columns = thumbnail.height, thumbnail.width
    item.BitsAllocated, item.BitsStored, item.HighBit = 8, 8, 7
    item.PixelRepresentation = 0
    item[PIXEL_DATA] = DataElement(PIXEL_DATA, "OB", thumbnail.tobytes())
    out[ICON_IMAGE_SEQUENCE] = DataElement(ICON_IMAGE_SEQUENCE, "SQ", Sequence([item]))
