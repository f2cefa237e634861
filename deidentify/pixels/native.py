"""Native pixel data in its one canonical form: the frames and nothing else.

Native Pixel Data can hide what no header rule sees: bytes after the last frame
(an element longer than Rows x Columns x samples x Bits Allocated x frames need),
and bits of each sample outside [HighBit - BitsStored + 1 .. HighBit] (a name drawn
in bit 15 of 12-bit data is an overlay no viewer shows and every copy keeps).
:func:`canonical` drops both; it returns the very object it was given when there
was nothing to drop, so pixels that hold nothing else stay byte-identical.  Both
header engines, the pixel stage and ``check`` call it: the rule is written once.

Signed data (PixelRepresentation 1): the bits above HighBit of a negative sample
are written either as copies of its sign bit (sign extension, what nearly every
device writes) or as zeros, and readers ignore them either way.  Either form is
canonical when the whole element uses it: one writer's choice per image carries
at most one bit, and nothing about a patient.  Mixing the forms would let every
negative sample carry a bit, so an element that mixes them is rewritten whole in
the form most of its samples already have (sign extension on a tie), which
changes the fewest bytes and leaves at most that one bit per image.

Float and double pixel data have no unused bits; only their length is checked.
Encapsulated pixel data is not native and is not read here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import UID

from .base import PixelError
from .layout import FLOAT_PIXEL_TAGS, PIXEL_DATA, element_number, element_value

#: Where an image's pixel values may be: integer, float and double float pixel data.
PIXEL_TAGS = (PIXEL_DATA, *FLOAT_PIXEL_TAGS)
#: The Image Pixel elements :func:`format_of` reads (the fast path remembers formats by their bytes).
FORMAT_TAGS = (0x00280002, 0x00280004, 0x00280008, 0x00280010, 0x00280011, 0x00280100, 0x00280101,
               0x00280102, 0x00280103)
#: Outcome counts: bytes after the last frame dropped (or zeroed), samples whose unused bits were cleared.
TRAILING_DROPPED = "pixel-trailing-dropped"
HIGH_BITS_CLEARED = "pixel-high-bits-cleared"

_FLOAT_BITS = {0x7FE00008: 32, 0x7FE00009: 64}
_UNDEFINED = 0xFFFFFFFF


@dataclass(frozen=True)
class NativeFormat:
    """What native pixel data must hold: ``samples`` stored samples (all frames) of
    ``bits_allocated`` bits, of which [high_bit - bits_stored + 1 .. high_bit] are the value."""

    samples: int
    bits_allocated: int
    bits_stored: int
    high_bit: int
    signed: bool
    little_endian: bool = True
    pair_swapped: bool = False  # big endian 8-bit OW: each pair of bytes is swapped (PS3.5 A.2)

    @property
    def length(self) -> int:
        """Bytes the frames fill (1-bit frames follow each other without padding)."""
        return -(-self.samples * self.bits_allocated // 8)


@dataclass(frozen=True)
class Canonical:
    """The canonical value, and what was taken out to make it (counts, never values).

    ``value`` is the object :func:`canonical` was given when nothing changed.
    ``trailing`` counts bytes after the last frame that were dropped or zeroed
    (a non-zero pad byte, the unused bits of a 1-bit image's last byte), ``hidden``
    says whether any of them held anything but zeros, and ``cleared`` counts the
    samples whose bits outside BitsStored were cleared.
    """

    value: bytes | memoryview
    trailing: int = 0
    hidden: bool = False
    cleared: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.trailing or self.cleared)

    def counts(self) -> Counter[str]:
        return Counter({name: n for name, n in ((TRAILING_DROPPED, self.trailing),
                                                (HIGH_BITS_CLEARED, self.cleared)) if n})


def canonical(value: bytes | memoryview, fmt: NativeFormat) -> Canonical:
    """``value`` with nothing after its frames and no bit set outside BitsStored.

    Raises :class:`PixelError` when ``value`` is shorter than its frames need.
    """
    if fmt.pair_swapped and len(value) % 2 == 0:
        return _pair_swapped(value, fmt)
    length = fmt.length
    if len(value) < length:
        raise PixelError("pixel data is shorter than its rows, columns and frames need")
    view = memoryview(value)
    # Beyond the frames only a zero pad byte to even length may stay.
    extra = len(value) - length - length % 2
    dirty_pad = length % 2 == 1 and len(value) > length and view[length] != 0
    trailing = max(0, extra) + dirty_pad
    frames, cleared = _clear_unused_bits(view[:length], fmt)
    padding = fmt.bits_allocated == 1 and _dirty_padding(view, fmt)
    if not (trailing or cleared or padding):
        return Canonical(value)
    out = bytearray(frames.tobytes() if frames is not None else view[:length])
    if padding:
        out[-1] &= (1 << fmt.samples % 8) - 1
    out += b"\0" * (len(out) % 2)  # even, as pydicom writes OB and OW
    hidden = padding or bool(np.frombuffer(view[length:], np.uint8).any())
    return Canonical(bytes(out), trailing + padding, hidden, cleared)


def _pair_swapped(value: bytes | memoryview, fmt: NativeFormat) -> Canonical:
    """Big endian 8-bit OW: canonical in byte order, then swapped back."""
    found = canonical(_swapped(value), NativeFormat(fmt.samples, 8, fmt.bits_stored, fmt.high_bit, fmt.signed))
    if not found.changed:
        return Canonical(value)
    return Canonical(_swapped(found.value), found.trailing, found.hidden, found.cleared)


def _swapped(value: bytes | memoryview) -> bytes:
    return np.frombuffer(value, np.uint16).byteswap().tobytes()


def _dirty_padding(view: memoryview, fmt: NativeFormat) -> bool:
    """Whether a 1-bit image's last byte has bits set after its last pixel."""
    used = fmt.samples % 8
    return used != 0 and bool(view[fmt.length - 1] >> used)


def _clear_unused_bits(frames: memoryview, fmt: NativeFormat) -> tuple[np.ndarray | None, int]:
    if fmt.bits_allocated == 1:
        return None, 0
    order = "<" if fmt.little_endian else ">"
    samples = np.frombuffer(frames, np.dtype(f"{order}u{fmt.bits_allocated // 8}"))
    return canonical_samples(samples, fmt.bits_stored, fmt.high_bit, fmt.signed)


def canonical_samples(samples: np.ndarray, bits_stored: int, high_bit: int,
                      signed: bool) -> tuple[np.ndarray | None, int]:
    """``samples`` (an integer array) with no bit set outside BitsStored, and how many changed.

    Returns (None, 0) when they are canonical already, without copying them;
    else a new array of the same type and shape.  A couple of vectorised passes
    (a 512 x 512 16-bit frame takes about a millisecond).
    """
    width = samples.dtype.itemsize * 8
    if bits_stored >= width and high_bit == width - 1:
        return None, 0
    stored_type = np.dtype(samples.dtype.str.replace("i", "u"))
    words = samples.view(stored_type)
    if not stored_type.isnative:  # big endian data: the arithmetic below wants the machine's order
        words = words.astype(stored_type.newbyteorder("="))
    everything = (1 << width) - 1
    value_bits = ((1 << bits_stored) - 1) << (high_bit - bits_stored + 1)
    above = everything & ~((1 << (high_bit + 1)) - 1)
    shift = width - 1 - high_bit
    if value_bits & 1:
        # The value in the low bits (as PS3.5 now requires): canonical exactly when every
        # sample is in range, which reductions tell without a temporary array.
        if signed and above:
            as_signed = words.view(words.dtype.str.replace("u", "i"))
            if as_signed.min() >= -(1 << high_bit) and as_signed.max() < 1 << high_bit:
                return None, 0  # sign extension
        if words.max() <= value_bits:
            return None, 0  # unsigned, or signed with zeros above HighBit
    elif not np.bitwise_and(words, everything & ~value_bits).any():
        return None, 0
    fixed = np.bitwise_and(words, value_bits)
    cleared = int(np.count_nonzero(fixed != words))
    if signed and above:
        extended = _sign_extended(fixed, shift)
        changes = int(np.count_nonzero(extended != words))
        if changes <= cleared:  # the form fewer samples already have; sign extension on a tie
            fixed, cleared = extended, changes
    return fixed.astype(stored_type).view(samples.dtype), cleared


def _sign_extended(words: np.ndarray, shift: int) -> np.ndarray:
    """Each (native, unsigned) word with the bits above HighBit copies of HighBit (arithmetic shifts)."""
    signed = words.view(words.dtype.str.replace("u", "i"))
    return (np.left_shift(signed, shift) >> shift).view(words.dtype)


# --- the Image Pixel values -----------------------------------------------------------------------


def format_of(ds: Dataset, tag: int, syntax: UID, pixel_vr: str | None = None) -> NativeFormat:
    """The native format of ``ds``'s pixel element ``tag``, or :class:`PixelError` saying why it has none.

    ``ds`` is read without being changed: raw elements stay raw, so an engine that
    copies them as read still does.
    """
    try:
        rows, columns = element_number(ds, 0x00280010), element_number(ds, 0x00280011)
        samples = element_number(ds, 0x00280002, 1) or 1
        frames = element_number(ds, 0x00280008, 1) or 1
        photometric = str(element_value(ds, 0x00280004) or "").strip().upper()
        if tag in _FLOAT_BITS:
            allocated = _FLOAT_BITS[tag]
            stored, high, signed = allocated, allocated - 1, False
        else:
            allocated = element_number(ds, 0x00280100)
            stored = element_number(ds, 0x00280101, allocated) or allocated
            high = element_number(ds, 0x00280102, stored - 1)
            signed = element_number(ds, 0x00280103, 0) == 1
    except PixelError:
        raise
    except Exception as exc:  # malformed beyond a number; pydicom's messages may quote values
        raise PixelError(f"image pixel description is incomplete ({type(exc).__name__})") from exc
    if min(rows, columns, frames, samples) < 1:
        raise PixelError("image has no rows, columns, samples or frames")
    if allocated not in (1, 8, 16, 32, 64) or (allocated == 64 and tag == PIXEL_DATA):
        raise PixelError(f"native pixel data with {allocated} bits allocated cannot be checked")
    if not 1 <= stored <= allocated or not stored - 1 <= high < allocated:
        raise PixelError("bits stored and high bit do not fit bits allocated")
    # Native YBR_FULL_422 stores two pixels as Y Y Cb Cr: two samples per pixel.
    per_pixel = 2 if photometric == "YBR_FULL_422" and samples == 3 else samples
    little = syntax.is_little_endian
    swapped = not little and allocated == 8 and pixel_vr == "OW"
    return NativeFormat(rows * columns * per_pixel * frames, allocated, stored, high, signed, little, swapped)


# --- a dataset's pixel elements -------------------------------------------------------------------


def written_vr(tag: int, vr: str | None, fmt: NativeFormat) -> str:
    """The VR to write native pixel element ``tag`` in: its own; for implicit VR data, the one its
    bits allocated imply."""
    if vr in ("OB", "OW", "OF", "OD"):
        return vr
    return {0x7FE00008: "OF", 0x7FE00009: "OD"}.get(tag, "OW" if fmt.bits_allocated > 8 else "OB")
