"""Codestreams: what an encapsulated frame's own bytes say, read without decoding it.

The header of each JPEG, JPEG-LS, JPEG 2000 and RLE frame (its size, checked
against the DICOM header before a decoder allocates what the codestream claims),
where each codestream ends (nothing may hide after it), how many frames there
are, and the metadata a codestream carries beside its image (JPEG comments,
EXIF, XMP and thumbnails; JPEG 2000 comments and the boxes of a JP2 wrapper;
unused slots of an RLE header), which decoders skip and which go before
anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from struct import Struct
from typing import NamedTuple

from pydicom.encaps import generate_fragmented_frames

from ..errors import DeidentifyError

#: What a frame's codestream header says: rows, columns, components (None: it cannot be read).
Geometry = tuple[int, int, int]
_JPEG_SYNTAXES = frozenset("1.2.840.10008.1.2.4." + n for n in ("50", "51", "57", "70", "80", "81"))
_J2K_SYNTAXES = frozenset("1.2.840.10008.1.2.4." + n for n in ("90", "91", "92", "93", "201", "202", "203"))
_RLE = "1.2.840.10008.1.2.5"
_BE16, _BE32, _LE32 = Struct(">H"), Struct(">I"), Struct("<I")
# Start of frame markers of JPEG (SOF0-SOF15 but DHT, JPG and DAC) and JPEG-LS (SOF55).
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7})
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn have no length
DISAGREES = "a frame's codestream header disagrees with Rows, Columns or Samples per Pixel"
UNREADABLE = "a frame's codestream header cannot be read"
EXCESS = "pixel data holds more frames than Number of Frames"
TRAILING = "a frame holds data after its codestream ends"
_LS_SYNTAXES = frozenset({"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"})
# What encoders put after a codestream's end to make a fragment's length even.
_PADDING = frozenset({0x00, 0xFF})


def codestream_reason(pixel_data: bytes | memoryview, syntax: str, rows: int, columns: int, samples: int,
                      bits_allocated: int, frames: int, *, strict: bool) -> str | None:
    """Why the frames of encapsulated ``pixel_data`` cannot be trusted to decode to the image described, or None.

    A header that says another size is :data:`DISAGREES`; one that cannot be
    read is :data:`UNREADABLE` only when ``strict`` (before decoding: a decoder
    would read what this parser could not).  More frames than Number of Frames
    is :data:`EXCESS`: pydicom shows them, and no stage reads them.  Data after
    a JPEG, JPEG-LS or JPEG 2000 codestream's end marker, or after the run that
    completes an RLE segment (but padding), is :data:`TRAILING`: a decoder stops
    there, so nothing reads what follows (a second image, say), and it would
    leave as it came.  Syntaxes
    without a header to read (video, deflated frames) are not checked.  The check
    is shared by both header paths (an image that is not decoded and disagrees is
    an error) and the pixel stage.
    """
    check: Callable[[tuple[bytes, ...]], str | None]
    if syntax in _JPEG_SYNTAXES or syntax in _J2K_SYNTAXES:
        jpeg = syntax in _JPEG_SYNTAXES
        read = _jpeg_geometry if jpeg else _j2k_geometry

        def check(fragments: tuple[bytes, ...]) -> str | None:
            stream = b"".join(fragments)
            found = read(stream)
            if found is None:
                return UNREADABLE if strict else None
            if found != (rows, columns, samples):
                return DISAGREES
            end = _jpeg_end(stream, syntax in _LS_SYNTAXES) if jpeg else _j2k_end(stream)
            if end is None:
                return UNREADABLE if strict else None
            return TRAILING if not _PADDING.issuperset(stream[end:]) else None
    elif syntax == _RLE:
        def check(fragments: tuple[bytes, ...]) -> str | None:
            return _rle_reason(b"".join(fragments), samples * -(-bits_allocated // 8), rows * columns, strict)
    else:
        return None
    try:
        for count, fragments in enumerate(generate_fragmented_frames(bytes(pixel_data), number_of_frames=frames), 1):
            if count > frames:
                return EXCESS
            reason = check(fragments)
            if reason is not None:
                return reason
    except Exception:  # pydicom's fragment parser raises several types on broken items
        return UNREADABLE if strict else None
    return None


def _jpeg_markers(stream: bytes, ls: bool = False) -> Iterator[tuple[int, int]]:
    """(marker, position) of each marker of a JPEG (``ls``: JPEG-LS) codestream, from SOI's
    successor to EOI or to the first thing that is not where a marker should be.

    Marker segments are skipped by their lengths; scan data runs to the next
    marker: 0xFF followed by anything but a stuffed 0x00 or a restart marker
    (JPEG-LS stuffs a zero bit instead: a marker's second byte is 0x80 or more).
    """
    if stream[:2] != b"\xff\xd8":
        return
    position, size = 2, len(stream)
    while position + 2 <= size:
        if stream[position] != 0xFF:
            return
        marker = stream[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        yield marker, position
        if marker == 0xD9:
            return
        if marker in _STANDALONE:
            position += 2
            continue
        if position + 4 > size:
            return
        position += 2 + _BE16.unpack_from(stream, position + 2)[0]
        while marker == 0xDA:  # scan data
            position = stream.find(b"\xff", position)
            if position < 0 or position + 1 >= size:
                return
            after = stream[position + 1]
            if after == 0xFF or 0xD0 <= after <= 0xD7:
                position += 1 if after == 0xFF else 2
            elif (after >= 0x80) if ls else (after != 0x00):
                break
            else:
                position += 1


def _jpeg_geometry(stream: bytes) -> Geometry | None:
    """Height, width and components from the first SOFn (or JPEG-LS SOF55) frame header."""
    for marker, position in _jpeg_markers(stream):
        if marker in _SOF:
            if position + 10 > len(stream):
                return None
            height, width = _BE16.unpack_from(stream, position + 5)[0], _BE16.unpack_from(stream, position + 7)[0]
            return height, width, stream[position + 9]
        if marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
            return None
    return None


def _jpeg_end(stream: bytes, ls: bool) -> int | None:
    """Where a JPEG (``ls``: JPEG-LS) codestream's EOI marker ends, or None when it cannot be found."""
    return next((position + 2 for marker, position in _jpeg_markers(stream, ls) if marker == 0xD9), None)


def _j2k_end(stream: bytes) -> int | None:
    """Where a JPEG 2000 codestream's EOC marker ends, or None when it cannot be found.

    Main-header segments are skipped by their lengths and tile-parts by theirs
    (Psot); a last tile-part of length 0 runs to the stream's last EOC.
    """
    position = stream.find(b"\xff\x4f\xff\x51", 0, 4096)
    if position < 0:
        return None
    position, size = position + 2, len(stream)
    while position + 2 <= size:
        if stream[position] != 0xFF:
            return None
        marker = stream[position + 1]
        if marker == 0xD9:
            return position + 2
        if position + 4 > size:
            return None
        if marker != 0x90:  # a main-header segment
            position += 2 + _BE16.unpack_from(stream, position + 2)[0]
        elif position + 10 > size:
            return None
        elif (length := _BE32.unpack_from(stream, position + 6)[0]) == 0:
            last = stream.rfind(b"\xff\xd9")
            return last + 2 if last > position else None
        else:
            position += length
    return None


def _j2k_geometry(stream: bytes) -> Geometry | None:
    """Height, width and components from the SIZ segment (after a JP2 header, if any)."""
    start = stream.find(b"\xff\x4f\xff\x51", 0, 4096)
    if start < 0 or start + 42 > len(stream):
        return None
    siz = start + 4
    width = _BE32.unpack_from(stream, siz + 4)[0] - _BE32.unpack_from(stream, siz + 12)[0]
    height = _BE32.unpack_from(stream, siz + 8)[0] - _BE32.unpack_from(stream, siz + 16)[0]
    return height, width, _BE16.unpack_from(stream, siz + 36)[0]


def _rle_reason(frame: bytes, expected: int, pixels: int, strict: bool) -> str | None:
    """An RLE frame: one segment per sample and byte (PS3.5 G.2), each starting inside the frame,
    and nothing in a segment after the run that completes its ``pixels`` bytes (decoders stop
    there) but a pad byte or zeros."""
    if len(frame) < 64:
        return UNREADABLE if strict else None
    segments, *slots = _RLE_HEADER.unpack_from(frame)
    offsets = slots[:segments]
    if segments != expected:
        return DISAGREES
    if offsets[0] != 64 or offsets != sorted(offsets) or offsets[-1] > len(frame):
        return UNREADABLE if strict else None
    for start, end in zip(offsets, [*offsets[1:], len(frame)], strict=True):
        tail = frame[_packbits_end(frame, start, end, pixels) : end]
        if len(tail) > 1 and not _PADDING.issuperset(tail):
            return TRAILING
    return None


def _packbits_end(data: bytes, start: int, end: int, wanted: int) -> int:
    """Where the PackBits runs from ``start`` that give ``wanted`` bytes end (at most ``end``)."""
    position, produced = start, 0
    while produced < wanted and position < end:
        header = data[position]
        if header < 128:  # a literal run of header + 1 bytes
            position += header + 2
            produced += header + 1
        elif header > 128:  # one byte repeated 257 - header times
            position += 2
            produced += 257 - header
        else:  # -128: no operation
            position += 1
    return min(position, end)


#: Outcome count: metadata (comments, EXIF, XMP, thumbnails, JP2 boxes...) taken out of codestreams.
METADATA_DROPPED = "pixel-metadata-dropped"
_ITEM, _DELIMITER = 0xE000FFFE, 0xE0DDFFFE
_ITEM_HEADER = Struct("<II")
# JPEG-LS's frame header (SOF55) and its parameters (LSE), in the range T.81 reserves for extensions.
_JPEG_LS_MARKERS = frozenset({0xF7, 0xF8})
# JPEG 2000 encoders sign the main header with a comment, and nearly every file has one (GDCM,
# OpenJPEG, Kakadu and JasPer in pydicom's files): the signature alone stays, so that pixel data
# with nothing else in it stays byte-identical; any other comment goes.
_SIGNATURE = re.compile(
    rb"(?:Created by (?:GDCM/)?OpenJPEG version|Creator: JasPer Version|Created by Grok version|OpenJPH Ver"
    rb"|Kakadu-v?) ?\d+(?:\.\d+){0,3}"
)
_SOC, _SOT, _SOD, _COM = b"\xff\x4f", 0x90, 0x93, 0x64
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
# The boxes of a JP2 wrapper that say how to decode (the signature, the file type, the reader
# requirements, the header with its colour specification) and the codestream; any other (XML,
# UUID, UUID info, intellectual property, ...) is metadata.
_JP2_DECODING = frozenset({b"jP  ", b"ftyp", b"rreq", b"jp2h", b"jp2c"})
_JP2_CODESTREAM = b"jp2c"
_RLE_SLOTS = 15
# An RLE frame's header (PS3.5 G.5): the number of segments, then an offset slot for each of 15.
_RLE_HEADER = Struct(f"<{1 + _RLE_SLOTS}I")


class Stripped(NamedTuple):
    """Encapsulated pixel data without metadata, and how many pieces went."""

    value: bytes
    dropped: int


def without_metadata(pixel_data: bytes | memoryview, syntax: str) -> Stripped | None:
    """``pixel_data`` (encapsulated) with no metadata in its codestreams, or None when there is
    none to take out (the value then stays as it is, byte for byte).

    Decoders skip all of it, so no stage reads it, and a photograph's EXIF holds
    the day it was taken, the camera's owner and where it stood.

    * JPEG and JPEG-LS: comments, application segments and the reserved JPGn ones
      (which libjpeg refuses) go.  Kept: what says how to decode (JFIF without a
      thumbnail, Adobe's colour transform, ICC profiles, JPEG-LS's SPIFF header
      and its end entry).
    * JPEG 2000: comments in the main header go, but an encoder's signature; a
      JP2 wrapper (which PS3.5 does not allow, and decoders read) loses every box
      but those that say how to decode and the codestream.
    * RLE: the slots of the header's offset table that no segment uses (PS3.5
      G.5 has them zero) are zeroed.

    The Basic Offset Table follows the fragments it points at.  Raises
    :class:`MetadataError` for metadata that cannot be taken out safely, and
    ``ValueError`` for items it cannot follow, or an offset table entry that is
    no fragment's start.
    """
    strip: Callable[[memoryview], tuple[bytes | memoryview, int]]
    if syntax in _JPEG_SYNTAXES:
        strip = partial(_kept_segments, ls=syntax in _LS_SYNTAXES)
    elif syntax in _J2K_SYNTAXES:
        strip = _j2k_kept
    elif syntax == _RLE:
        strip = _rle_kept
    else:
        return None
    items = _items(pixel_data)
    fragments, dropped = [], 0
    for fragment in items[1:]:
        kept, count = strip(fragment)
        fragments.append(kept)
        dropped += count
    if not dropped:
        return None
    table: bytes | memoryview = items[0]
    if table:
        starts = _starts(items[1:])
        moved = dict(zip(starts, _starts(fragments), strict=True))
        offsets = [_LE32.unpack_from(table, i)[0] for i in range(0, len(table) - 3, 4)]
        if not set(offsets) <= moved.keys():
            raise ValueError("an offset table entry is not a fragment's start")
        table = b"".join(_LE32.pack(moved[offset]) for offset in offsets)
    return Stripped(b"".join(_item(data) for data in (table, *fragments)), dropped)


class MetadataError(DeidentifyError, ValueError):
    """Metadata a codestream holds where it cannot be taken out without rewriting the image."""


def _items(value: bytes | memoryview) -> list[memoryview]:
    """The items of encapsulated pixel data: the Basic Offset Table first, then the fragments."""
    view, position = memoryview(value), 0
    items: list[memoryview] = []
    while position + 8 <= len(view):
        tag, length = _ITEM_HEADER.unpack_from(view, position)
        if tag == _DELIMITER:
            break
        if tag != _ITEM or position + 8 + length > len(view):
            raise ValueError("not an item")
        items.append(view[position + 8 : position + 8 + length])
        position += 8 + length
    if not items:
        raise ValueError("no offset table")
    return items


def _starts(fragments: Sequence[bytes | memoryview]) -> list[int]:
    """Where each fragment's item starts, counted from the first fragment's (as offset tables count)."""
    starts, position = [], 0
    for fragment in fragments:
        starts.append(position)
        position += 8 + len(fragment) + len(fragment) % 2
    return starts


def _item(data: bytes | memoryview) -> bytes:
    return _ITEM_HEADER.pack(_ITEM, len(data) + len(data) % 2) + bytes(data) + b"\0" * (len(data) % 2)


def _kept_segments(fragment: bytes | memoryview, ls: bool) -> tuple[bytes | memoryview, int]:
    """``fragment`` without the metadata segments of the codestream that starts in it, and their count."""
    stream = bytes(fragment)
    # A segment running past its fragment (a header cut across fragments) is left whole.
    cuts = [(position, end) for marker, position in _jpeg_markers(stream, ls)
            if position + 4 <= len(stream) and _is_metadata(marker, stream[position + 4 : position + 20])
            and (end := position + 2 + _BE16.unpack_from(stream, position + 2)[0]) <= len(stream)]
    if not cuts:
        return fragment, 0
    pieces, start = [], 0
    for begin, end in cuts:
        pieces.append(stream[start:begin])
        start = end
    pieces.append(stream[start:])
    return b"".join(pieces), len(cuts)


def _is_metadata(marker: int, head: bytes) -> bool:
    """Whether a segment (its marker, the start of its payload) is a comment, an application
    segment that says nothing of how to decode, or one of the segments T.81 reserves for
    extensions (JPGn), which libjpeg refuses and no decoder reads."""
    if marker == 0xFE or (0xF0 <= marker <= 0xFD and marker not in _JPEG_LS_MARKERS):
        return True  # a comment, or a segment reserved for extensions: no decoder reads one
    if not 0xE0 <= marker <= 0xEF:
        return False
    if marker == 0xE0:  # JFIF: its thumbnail's width and height are bytes 12 and 13
        return not (head.startswith(b"JFIF\0") and head[12:14] == b"\0\0")
    if marker == 0xE2:
        return not head.startswith(b"ICC_PROFILE\0")
    if marker == 0xE8:  # SPIFF: the header, and the directory's end entry (tag 1) before the image
        return not (head.startswith(b"SPIFF\0") or head.startswith(b"\0\0\0\1"))
    return not (marker == 0xEE and head.startswith(b"Adobe"))


def _j2k_kept(fragment: bytes | memoryview) -> tuple[bytes | memoryview, int]:
    """``fragment`` without the metadata of the JPEG 2000 codestream (or JP2 file) that starts in it."""
    if bytes(fragment[:2]) == _SOC:
        return _j2k_codestream_kept(fragment)
    if bytes(fragment[:12]) != _JP2_SIGNATURE:
        return fragment, 0
    view, position, pieces, dropped = memoryview(fragment), 0, [], 0
    while position < len(view):
        if position + 8 > len(view):
            if _PADDING.issuperset(view[position:]):  # what makes a fragment's length even
                pieces.append(bytes(view[position:]))
                break
            raise MetadataError("a JP2 box header is cut short")
        length, kind = _BE32.unpack_from(view, position)[0], bytes(view[position + 4 : position + 8])
        header = 8
        if length == 1:  # a 64-bit length follows the type
            if position + 16 > len(view):
                raise MetadataError("a JP2 box header is cut short")
            length, header = int.from_bytes(view[position + 8 : position + 16], "big"), 16
        end = len(view) if length == 0 else position + length
        if length and (length < header or end > len(view)):
            raise MetadataError("a JP2 box runs past its frame")
        if kind not in _JP2_DECODING:
            dropped += 1
        elif kind == _JP2_CODESTREAM:
            stream, count = _j2k_codestream_kept(view[position + header : end])
            dropped += count
            box = _BE32.pack(8 + len(stream)) + kind if count else bytes(view[position:position + header])
            pieces.append(box + bytes(stream))
        else:
            pieces.append(bytes(view[position:end]))
        position = end
    return (b"".join(pieces), dropped) if dropped else (fragment, 0)


def _j2k_codestream_kept(stream: bytes | memoryview) -> tuple[bytes | memoryview, int]:
    """A JPEG 2000 codestream without the comments of its main header but an encoder's signature.

    A comment in a tile-part header would change the tile-part's length, which
    tile-length markers may repeat: :class:`MetadataError`.
    """
    view, cuts, header_end = memoryview(stream), [], 2
    for marker, position, end in _header_segments(view, 2, _SOT):
        if end > len(view):
            raise MetadataError("a JPEG 2000 main header segment runs past its frame")
        if _is_comment(view, marker, position, end):
            cuts.append((position, end))
        header_end = end
    if _tile_parts_comment(view, header_end):
        raise MetadataError("a JPEG 2000 tile-part header holds a comment")
    if not cuts:
        return stream, 0
    pieces, start = [], 0
    for begin, end in cuts:
        pieces.append(bytes(view[start:begin]))
        start = end
    pieces.append(bytes(view[start:]))
    return b"".join(pieces), len(cuts)


def _header_segments(view: memoryview, position: int, stop: int) -> Iterator[tuple[int, int, int]]:
    """(marker, position, end) of the marker segments of a JPEG 2000 header from ``position``, each
    skipped by its length, up to the marker ``stop`` (SOT ends the main header, SOD a tile-part's)
    or to what is not a marker."""
    while position + 4 <= len(view) and view[position] == 0xFF and view[position + 1] != stop:
        end = position + 2 + _BE16.unpack_from(view, position + 2)[0]
        yield view[position + 1], position, end
        position = end


def _is_comment(view: memoryview, marker: int, position: int, end: int) -> bool:
    """Whether a segment is a comment other than an encoder's signature (Rcom 1, Latin text)."""
    if marker != _COM:
        return False
    body = view[position + 4 : end]
    if len(body) < 2 or _BE16.unpack_from(body, 0)[0] != 1:
        return True
    return _SIGNATURE.fullmatch(bytes(body[2:]).rstrip(b"\0")) is None


def _tile_parts_comment(view: memoryview, position: int) -> bool:
    """Whether a tile-part header from ``position`` on (SOT, then the tile-parts by their
    lengths, Psot) holds a comment that is no encoder's signature."""
    while position + 12 <= len(view) and view[position] == 0xFF and view[position + 1] == _SOT:
        if any(_is_comment(view, *segment) for segment in _header_segments(view, position + 12, _SOD)):
            return True
        length = _BE32.unpack_from(view, position + 6)[0]
        if not length:
            return False
        position += length
    return False


def _rle_kept(fragment: bytes | memoryview) -> tuple[bytes | memoryview, int]:
    """An RLE frame whose header's unused offset slots are zero; only a fragment whose first
    bytes are an RLE header (segments, the first at 64, in order) is touched."""
    if len(fragment) < 64:
        return fragment, 0
    segments, *offsets = _RLE_HEADER.unpack_from(fragment)
    if not 1 <= segments <= _RLE_SLOTS:
        return fragment, 0
    used = offsets[:segments]
    if used[0] != 64 or used != sorted(used) or used[-1] >= len(fragment) or not any(offsets[segments:]):
        return fragment, 0
    return _RLE_HEADER.pack(segments, *used, *[0] * (_RLE_SLOTS - segments)) + bytes(fragment[64:]), 1
