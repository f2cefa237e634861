"""A small scanner of data elements: the fast path's slices, and every file's bounds.

pydicom's reader builds a Python object per element and costs more than the
whole de-identification of a small file should (see docs/benchmarks.md); this
scanner only finds where each element's header and value lie, so kept elements
can be copied as slices.  It knows nothing about values.  Whatever it does not
expect (implicit VR, a UN of undefined length, a length running past the end)
raises :class:`ScanError`, and the caller falls back to pydicom's full parse.
It is checked against pydicom on every test file and fuzzed in the tests.

The same walk (:func:`_walk`, a loop over a stack of what is open, never a
recursion) bounds every file before anything recursive reads it: the fast
path's top-level :func:`scan` walks each sequence to its depth, the full path
calls :func:`measure` before pydicom's reader, in any encoding.  Depth, items
per sequence and elements per file are counted on the way and checked against
:class:`~deidentify.limits.Limits`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from struct import Struct
from typing import NamedTuple, TypeAlias

from pydicom.datadict import dictionary_VR

from . import vocabulary
from .errors import DeidentifyError
from .limits import LimitError, Limits, over

#: What the scanner reads: a file's bytes, a view of them, or a dataset inflated into a bytearray.
Buffer: TypeAlias = bytes | bytearray | memoryview

_TAG_VR = Struct("<HH2s")
_SHORT_FORM = Struct("<HH2sH")
_LONG_FORM = Struct("<HH2sHI")
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


class ScanError(DeidentifyError, ValueError):
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


def scan(buf: Buffer, start: int, stop: int, limits: Limits | None = None) -> list[RawElement]:
    """The elements of one dataset (or item) held in ``buf[start:stop]``, in file order.

    With ``limits`` (the top-level dataset), every sequence is walked to its
    depth and the file's elements and items are counted on the way:
    :class:`~deidentify.limits.LimitError` when one is over its bound.
    """
    elements: list[RawElement] = []
    append = elements.append
    header = _SHORT_FORM.unpack_from
    forms = _VR_FORMS
    position = start
    inside = 0  # elements inside sequences, counted only with limits
    element: RawElement | None
    # Definite lengths inline, one unpack per short header: this loop runs for every element
    # of every file.  Long and undefined lengths, delimiters and errors go through _one.
    while position + 8 <= stop:
        group, number, vr, length = header(buf, position)
        form = forms.get(vr)
        if form is None or form[1] or group == _DELIMITER_GROUP:
            if limits is not None and vr == b"SQ" and group != _DELIMITER_GROUP:
                element, inside = _walked_sequence(buf, position, stop, limits, len(elements) + inside)
                inside -= len(elements) + 1
            else:
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
    if position > stop:
        raise ScanError("elements run past the end of their dataset")
    if position < stop:
        raise Truncated("an element header runs past the end")
    if limits is not None and len(elements) + inside > limits.max_elements:
        raise LimitError(_too_many_elements(limits))
    return elements


def _walked_sequence(buf: Buffer, position: int, stop: int, limits: Limits,
                     counted: int) -> tuple[RawElement, int]:
    """A top-level SQ element walked to every depth, and the file's elements counted so far (it included)."""
    if position + 12 > stop:
        raise Truncated("an element header runs past the end")
    group, number, _, _, length = _LONG_FORM.unpack_from(buf, position)
    value = position + 12
    counted += 1
    if length == UNDEFINED:
        value_end, counted = _walk(buf, value, stop, _SEQ_UNDEFINED, True, False, limits, 1, counted)
        end = value_end + 8
    else:
        value_end = end = value + length
        if end > stop:
            raise Truncated("a value runs past the end")
        counted = _walk(buf, value, end, _SEQ_DEFINED, True, False, limits, 1, counted)[1]
    return RawElement((group << 16) | number, "SQ", position, value, value_end, end, length == UNDEFINED), counted


def measure(buf: Buffer, start: int, stop: int, little: bool, limits: Limits) -> int:
    """Walk the dataset in ``buf[start:stop]`` to every depth without recursion; return its element count.

    Any encoding: implicit or explicit VR (decided per dataset and item from its
    first element, as pydicom's reader does), little or big endian, UN
    sequences in implicit VR little endian.  :class:`~deidentify.limits.LimitError`
    for a file over a bound, :class:`ScanError` for a structure that cannot be
    walked; both before anything recursive reads the file.
    """
    return _walk(buf, start, stop, _DATASET, little, None, limits, 0, 0)[1]


def read_group(buf: Buffer, start: int, group: int) -> tuple[dict[int, RawElement], int]:
    """The elements of ``group`` from ``start`` on (e.g. the file meta), and where they end."""
    found: dict[int, RawElement] = {}
    position = start
    while position + 2 <= len(buf) and _U16.unpack_from(buf, position)[0] == group:
        element = _one(buf, position, len(buf))
        if element is None or element.tag >> 16 != group:
            break
        found[element.tag] = element
        position = element.end
    return found, position


def _one(buf: Buffer, position: int, stop: int) -> RawElement | None:
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
        value_end = _walk(buf, value, stop, _SEQ_UNDEFINED, True, False, None, 1, 0)[0]
    elif vr in (b"OB", b"OW") and tag == 0x7FE00010:
        value_end = _fragments_end(buf, value, stop, True)
    else:
        raise ScanError("undefined length outside a sequence or encapsulated pixel data")
    return RawElement(tag, name, position, value, value_end, value_end + 8, True)


# What is open on the walk's stack: a dataset or item (elements), a sequence (items).
_DATASET, _ITEM_DEFINED, _ITEM_UNDEFINED, _SEQ_DEFINED, _SEQ_UNDEFINED = range(5)


@dataclass(slots=True)
class _Open:
    """One entry of the walk's stack."""

    kind: int
    end: int  # where it ends; an undefined length: the enclosing end
    little: bool
    implicit: bool
    items: int = 0  # a sequence's items so far

_HEADERS = {little: (Struct(order + "HH2s"), Struct(order + "H"), Struct(order + "I"), Struct(order + "HHI"))
            for little, order in ((True, "<"), (False, ">"))}
_PIXEL_DATA = 0x7FE00010


def _walk(buf: Buffer, position: int, stop: int, kind: int, little: bool, implicit: bool | None,
          limits: Limits | None, depth: int, counted: int) -> tuple[int, int]:
    """Walk a dataset or a sequence's items from ``position`` to its end, on a stack of what is open.

    Returns where it ends (for an undefined-length sequence, where its delimiter
    starts) and ``counted`` plus the elements met.  ``implicit`` None: decide
    from the dataset's first element.  ``limits`` None: walk without counting.
    """
    if implicit is None or kind == _DATASET:
        implicit = _implicit_at(buf, position, stop, bool(implicit))
    stack = [_Open(kind, stop, little, implicit)]
    while True:
        frame = stack[-1]
        kind, end, little, implicit = frame.kind, frame.end, frame.little, frame.implicit
        tags, u16, u32, item_header = _HEADERS[little]
        if kind >= _SEQ_DEFINED:
            if kind == _SEQ_DEFINED and position >= end:
                if position > end:
                    raise ScanError("items run past the end of their sequence")
                stack.pop()
                depth -= 1
                if not stack:
                    return position, counted
                continue
            if position + 8 > end:
                raise Truncated("an item header runs past the end")
            group, number, length = item_header.unpack_from(buf, position)
            if group == _DELIMITER_GROUP and number == _SEQUENCE_END and kind == _SEQ_UNDEFINED:
                stack.pop()
                depth -= 1
                if not stack:
                    return position, counted
                position += 8
                continue
            if group != _DELIMITER_GROUP or number != _ITEM:
                raise ScanError("a sequence holds something other than items")
            frame.items += 1
            counted += 1  # an item costs a reader what an element does: a dataset of its own
            if limits is not None:
                if frame.items > limits.max_items:
                    raise LimitError(over(f"a sequence holds more than {limits.max_items:,} items"))
                if counted > limits.max_elements:
                    raise LimitError(_too_many_elements(limits))
            position += 8
            if length == UNDEFINED:
                stack.append(_Open(_ITEM_UNDEFINED, end, little, _implicit_at(buf, position, end, implicit)))
            else:
                if position + length > end:
                    raise Truncated("an item runs past the end of its sequence")
                stack.append(_Open(_ITEM_DEFINED, position + length, little,
                                   _implicit_at(buf, position, position + length, implicit)))
            continue
        if kind != _ITEM_UNDEFINED and position >= end:
            if position > end:
                raise ScanError("elements run past the end of their item")
            stack.pop()
            if not stack:
                return position, counted
            continue
        if position + 8 > end:
            raise Truncated("an element header runs past the end")
        group, number, vr = tags.unpack_from(buf, position)  # one unpack: tag and (explicit) VR
        if group == _DELIMITER_GROUP:
            if number == _ITEM_END and kind == _ITEM_UNDEFINED:
                stack.pop()
                position += 8
                continue
            raise ScanError("unexpected delimiter")
        counted += 1
        if limits is not None and counted > limits.max_elements:
            raise LimitError(_too_many_elements(limits))
        tag = (group << 16) | number
        if implicit:
            vr = b""
            length, value = u32.unpack_from(buf, position + 4)[0], position + 8
        else:
            if vr in LONG_VRS:
                if position + 12 > end:
                    raise Truncated("an element header runs past the end")
                length, value = u32.unpack_from(buf, position + 8)[0], position + 12
            else:
                length, value = u16.unpack_from(buf, position + 6)[0], position + 8
        if length == UNDEFINED:
            if tag == _PIXEL_DATA:
                position = _fragments_end(buf, value, end, little) + 8
                continue
            kind, value_end = _SEQ_UNDEFINED, end  # undefined length is a sequence's (PS3.5 7.5.1)
        else:
            value_end = value + length
            if value_end > end:
                raise (Truncated if end == stop else ScanError)(_past_end(tag, end == stop))
            if not (vr == b"SQ" or ((implicit or vr == b"UN") and length and _dictionary_vr(tag) == "SQ")):
                position = value_end
                continue
            kind = _SEQ_DEFINED
        depth += 1
        if limits is not None and depth > limits.max_depth:
            raise LimitError(over(f"sequences nested deeper than {limits.max_depth}"))
        # A UN sequence's items are implicit VR little endian (PS3.5 6.2.2).
        un = vr == b"UN"
        stack.append(_Open(kind, value_end, little or un, implicit or un))
        position = value


def _implicit_at(buf: Buffer, position: int, stop: int, default: bool) -> bool:
    """Whether the dataset at ``position`` is implicit VR, judged by its first element's VR bytes."""
    if position + 8 > stop or buf[position:position + 2] in (b"\xfe\xff", b"\xff\xfe"):
        return default
    return bytes(buf[position + 4:position + 6]) not in _VALID_VRS


def _past_end(tag: int, outermost: bool) -> str:
    where = vocabulary.element(tag)
    return f"truncated: {where} is shorter than its length" if outermost else f"{where} runs past the end of its item"


def _too_many_elements(limits: Limits) -> str:
    return over(f"more than {limits.max_elements:,} data elements and items")


@lru_cache(maxsize=4096)
def _dictionary_vr(tag: int) -> str:
    try:
        return dictionary_VR(tag)
    except KeyError:
        return ""


def _fragments_end(buf: Buffer, position: int, stop: int, little: bool) -> int:
    item_header = _HEADERS[little][3]
    while True:
        group, element, length = _header(buf, position, stop, item_header)
        if (group, element) == (_DELIMITER_GROUP, _SEQUENCE_END):
            return position
        if (group, element) != (_DELIMITER_GROUP, _ITEM) or length == UNDEFINED:
            raise ScanError("encapsulated pixel data holds something other than fragments")
        position += 8 + length
        if position > stop:
            raise Truncated("a fragment runs past the end")


def _header(buf: Buffer, position: int, stop: int, item_header: Struct = _ITEM_HEADER
            ) -> tuple[int, int, int]:
    if position + 8 > stop:
        raise Truncated("an item header runs past the end")
    return item_header.unpack_from(buf, position)


def items(buf: Buffer, sequence: RawElement) -> list[tuple[int, int]]:
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
