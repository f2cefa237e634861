"""A small scanner of explicit VR little endian data elements, for the fast path.

pydicom's reader builds a Python object per element and costs more than the
whole de-identification of a small file should (see docs/benchmarks.md); this
scanner only finds where each element's header and value lie, so kept elements
can be copied as slices.  It knows nothing about values.  Whatever it does not
expect (implicit VR, a UN of undefined length, a length running past the end)
raises :class:`ScanError`, and the caller falls back to pydicom's full parse.
It is checked against pydicom on every test file and fuzzed in the tests.
"""

from __future__ import annotations

from struct import Struct
from typing import NamedTuple

_TAG_VR = Struct("<HH2s")
_SHORT_FORM = Struct("<HH2sH")
_U16 = Struct("<H")
_U32 = Struct("<I")
_ITEM_HEADER = Struct("<HHI")

UNDEFINED = 0xFFFFFFFF
LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
_VALID_VRS = LONG_VRS | frozenset(
    {b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT", b"PN", b"SH",
     b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"}
)
# Each valid VR's name and whether its header is the long (12-byte) form.
_VR_FORMS = {vr: (vr.decode(), vr in LONG_VRS) for vr in _VALID_VRS}
_ITEM = 0xE000
_ITEM_END = 0xE00D
_SEQUENCE_END = 0xE0DD
_DELIMITER_GROUP = 0xFFFE


class ScanError(ValueError):
    """The bytes are not what this scanner handles; use the full parse instead."""


class Truncated(ScanError):
    """An element, item or fragment runs past ``stop``; where ``stop`` is the end of the file, the file is cut short."""


class RawElement(NamedTuple):
    """Where one element lies: ``buf[start:end]`` is all of it, ``buf[value:value_end]`` its value.

    For an undefined length, ``value_end`` excludes the closing delimiter and
    ``end`` includes it.
    """

    tag: int
    vr: str
    start: int
    value: int
    value_end: int
    end: int
    undefined: bool


def scan(buf: bytes | memoryview, start: int, stop: int) -> list[RawElement]:
    """The elements of one dataset (or item) held in ``buf[start:stop]``, in file order."""
    elements = []
    append = elements.append
    header = _SHORT_FORM.unpack_from
    forms = _VR_FORMS
    position = start
    # Definite lengths inline, one unpack per short header: this loop runs for every element
    # of every file.  Long and undefined lengths, delimiters and errors go through _one.
    while position + 8 <= stop:
        group, number, vr, length = header(buf, position)
        form = forms.get(vr)
        if form is None or form[1] or group == _DELIMITER_GROUP:
            element = _one(buf, position, stop)
            if element is None:  # an item delimiter: the caller asked for an undefined-length item
                raise ScanError("unexpected delimiter")
        else:
            end = position + 8 + length
            if end > stop:
                raise Truncated("a value runs past the end")
            element = RawElement((group << 16) | number, form[0], position, position + 8, end, end, False)
        append(element)
        position = element.end
    if position != stop:
        if position > stop:
            raise ScanError("elements run past the end of their dataset")
        raise Truncated("an element header runs past the end")
    return elements


def read_group(buf: bytes | memoryview, start: int, group: int) -> tuple[dict[int, RawElement], int]:
    """The elements of ``group`` from ``start`` on (e.g. the file meta), and where they end."""
    found: dict[int, RawElement] = {}
    position = start
    while position < len(buf):
        element = _one(buf, position, len(buf))
        if element is None or element.tag >> 16 != group:
            break
        found[element.tag] = element
        position = element.end
    return found, position


def _one(buf: bytes | memoryview, position: int, stop: int) -> RawElement | None:
    if position + 8 > stop:
        raise Truncated("an element header runs past the end")
    group, element, vr = _TAG_VR.unpack_from(buf, position)
    if group == _DELIMITER_GROUP:
        return None
    form = _VR_FORMS.get(vr)
    if form is None:
        raise ScanError("not explicit VR")
    name, long = form
    tag = (group << 16) | element
    if long:
        if position + 12 > stop:
            raise Truncated("an element header runs past the end")
        length = _U32.unpack_from(buf, position + 8)[0]
        value = position + 12
    else:
        length = _U16.unpack_from(buf, position + 6)[0]
        value = position + 8
    if length != UNDEFINED:
        end = value + length
        if end > stop:
            raise Truncated("a value runs past the end")
        return RawElement(tag, name, position, value, end, end, False)
    if vr == b"SQ":
        value_end = _sequence_end(buf, value, stop)
    elif vr in (b"OB", b"OW") and tag == 0x7FE00010:
        value_end = _fragments_end(buf, value, stop)
    else:
        raise ScanError("undefined length outside a sequence or encapsulated pixel data")
    return RawElement(tag, name, position, value, value_end, value_end + 8, True)


def _sequence_end(buf: bytes | memoryview, position: int, stop: int) -> int:
    """Offset of the sequence delimiter that closes an undefined-length sequence."""
    while True:
        group, element, length = _header(buf, position, stop)
        if (group, element) == (_DELIMITER_GROUP, _SEQUENCE_END):
            return position
        if (group, element) != (_DELIMITER_GROUP, _ITEM):
            raise ScanError("a sequence holds something other than items")
        position += 8
        if length != UNDEFINED:
            position += length
            if position > stop:
                raise Truncated("an item runs past the end")
            continue
        while True:  # an undefined-length item: elements up to its delimiter
            element_at = _one(buf, position, stop)
            if element_at is None:
                group, element, _ = _header(buf, position, stop)
                if element != _ITEM_END:
                    raise ScanError("unexpected delimiter in an item")
                position += 8
                break
            position = element_at.end


def _fragments_end(buf: bytes | memoryview, position: int, stop: int) -> int:
    while True:
        group, element, length = _header(buf, position, stop)
        if (group, element) == (_DELIMITER_GROUP, _SEQUENCE_END):
            return position
        if (group, element) != (_DELIMITER_GROUP, _ITEM) or length == UNDEFINED:
            raise ScanError("encapsulated pixel data holds something other than fragments")
        position += 8 + length
        if position > stop:
            raise Truncated("a fragment runs past the end")


def _header(buf: bytes | memoryview, position: int, stop: int) -> tuple[int, int, int]:
    if position + 8 > stop:
        raise Truncated("an item header runs past the end")
    return _ITEM_HEADER.unpack_from(buf, position)


def items(buf: bytes | memoryview, sequence: RawElement) -> list[tuple[int, int]]:
    """(start, stop) of each item's dataset inside a sequence element."""
    found = []
    position, stop = sequence.value, sequence.value_end
    while position < stop:
        group, element, length = _header(buf, position, stop)
        if (group, element) != (_DELIMITER_GROUP, _ITEM):
            raise ScanError("a sequence holds something other than items")
        position += 8
        if length != UNDEFINED:
            found.append((position, position + length))
            position += length
            continue
        begin = position
        while True:
            element_at = _one(buf, position, stop)
            if element_at is None:
                found.append((begin, position))
                position += 8
                break
            position = element_at.end
    if position != stop:
        raise ScanError("items run past the end of their sequence")
    return found
