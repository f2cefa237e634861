"""The raw element source: element headers read straight from the file's bytes.

Most files are explicit VR little endian, native or encapsulated.  For those
the header walk needs no pydicom parse: :mod:`deidentify.rawscan` finds where
each element lies, kept elements are copied as slices of the input, and only
the values an action or a decision reads are decoded (by pydicom's element
converter, with the dataset's character set).  What this source does not read
— another transfer syntax, no preamble, unsorted or duplicate tags, a
sequence hidden behind UN, a value pydicom cannot decode — raises
:class:`~.base.Declined`, and the dataset source reads the file instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property, lru_cache
from typing import Any

from pydicom.charset import convert_encodings, default_encoding
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag
from pydicom.uid import UID

from ...completeness import missing_pixels_reason
from ...limits import LimitError, Limits
from ...pixels.native import FORMAT_TAGS, NativeFormat, format_of
from ...plan import PATIENT_ID, RuleBook, Verdict, verdict_of
from ...profile import normalise_creator
from ...rawscan import RawElement, ScanError, items, read_group, scan
from ...source import DICOMDIR_CLASS, Source, SourceError, parse_source
from .base import Declined, Entry, Piece, Written

_ENCAPSULATED_PREFIX = "1.2.840.10008.1.2.4."
_READ_SYNTAXES = frozenset({"1.2.840.10008.1.2.1", "1.2.840.10008.1.2.5"})
_CHARSET = 0x00080005
_PATIENT_NAME = 0x00100010
_ENCAPSULATED_DOCUMENT = 0x00420011


class RawSource:
    """One dataset or item of an explicit VR little endian file, read from its bytes."""

    def __init__(self, buf: memoryview, elements: Sequence[RawElement], charset: Any, memo: Any) -> None:
        self._buf = buf
        self._elements = elements
        self._index = _index(elements)
        self._memo = memo
        self.charset = _charset(buf, self._index.get(_CHARSET), charset, memo)

    def entries(self) -> Sequence[Entry]:
        return [(e.tag, e.vr, e) for e in self._elements]

    def has(self, tag: int) -> bool:
        return tag in self._index

    def text(self, tag: int) -> str | None:
        element = self._index.get(tag)
        return None if element is None else _string(self._buf, element, self.charset)

    def creator(self, block: int, named: bool) -> str | None:
        element = self._index.get(block)
        if element is None:
            return None
        if not named:
            return "" if bytes(self._buf[element.value:element.value_end]).strip(b"\0 ") else None
        try:
            value = convert_raw_data_element(_raw(self._buf, element), encoding=self.charset).value
        except Exception:
            return None
        return normalise_creator(str(value)) if value else None

    def kept(self, handle: RawElement) -> Piece:
        if handle.vr == "UN" and not (handle.tag >> 16) & 1 and _dictionary_vr(handle.tag) not in ("", "UN"):
            # pydicom reads (and writes) a public element sent as UN in its dictionary VR; copied
            # here it would stay UN, and the two sources would write different bytes.
            raise Declined
        return self._buf[handle.start:handle.end]

    def read(self, handle: RawElement, vr: str) -> tuple[str, Any]:
        buf = self._buf
        if handle.vr == "UI" and _dictionary_vr(handle.tag) == "UI":
            try:
                text = bytes(buf[handle.value:handle.value_end]).decode("ascii").rstrip("\0 ")
            except UnicodeDecodeError:
                pass
            else:
                # Multi-valued UIDs reach actions as a list, as pydicom's MultiValue would.
                return "UI", (text.split("\\") if "\\" in text else text)
        plain = _plain_text(buf, handle)
        if plain is not None:
            return handle.vr, plain
        decoded = _decode(buf, handle, self.charset)
        return (decoded.VR if len(decoded.VR) == 2 else vr), decoded.value

    def items(self, handle: RawElement) -> Sequence[RawSource]:
        if handle.vr != "SQ":
            raise Declined  # a sequence hidden behind UN: pydicom knows how to read it
        return [RawSource(self._buf, scan(self._buf, start, stop), self.charset, self._memo)
                for start, stop in items(self._buf, handle)]

    def sequence(self, tag: int) -> Sequence[RawSource] | None:
        element = self._index.get(tag)
        return None if element is None else self.items(element)

    def is_sequence(self, handle: RawElement) -> bool:
        if handle.vr == "UN" and handle.undefined:
            raise Declined  # a sequence hidden behind UN: pydicom knows how to read it
        return False  # explicit VR: a sequence says SQ

    def value_free(self, handle: RawElement) -> bool:
        # A VR other than the dictionary's may hide a value pydicom cannot decode, which the
        # dataset source reports as an error: those are decoded like any other.
        return handle.vr == _dictionary_vr(handle.tag) and _well_sized(handle)

    def written(self, pieces: list[tuple[int, Piece]]) -> Written:
        return Written(pieces, self.charset, False, True, self.charset)


class RawFile:
    """A file the raw source reads: its top-level dataset and what the pipeline decides from it."""

    def __init__(self, data: bytes, rules: RuleBook, limits: Limits) -> None:
        if len(data) < 144 or data[128:132] != b"DICM" or len(data) > limits.max_file_bytes:
            raise Declined
        self.data = data
        self._rules = rules
        self._limits = limits
        buf = self._buf = memoryview(data)
        try:
            meta, meta_end = read_group(buf, 132, 0x0002)
            self.transfer_syntax = _text(buf, meta.get(0x00020010))
            if not (self.transfer_syntax in _READ_SYNTAXES or self.transfer_syntax.startswith(_ENCAPSULATED_PREFIX)):
                raise Declined
            if _text(buf, meta.get(0x00020002)) == DICOMDIR_CLASS:
                raise Declined
            elements = scan(buf, meta_end, len(buf), limits)  # walks every depth, within the limits
        except (ScanError, LimitError) as exc:
            raise Declined from exc  # the dataset source says what is wrong with the file
        top = RawSource(buf, elements, default_encoding, rules.memo)
        index = top._index
        if 0x00080016 not in index or 0x00080018 not in index or 0x00041220 in index:
            raise Declined
        if missing_pixels_reason(index) is not None or _ENCAPSULATED_DOCUMENT in index:
            raise Declined
        self.top = top
        self._index = index

    @cached_property
    def dataset(self) -> Source:
        """The file parsed by pydicom, for the stages that read a whole dataset (pixels, free-text detectors)."""
        try:
            return parse_source(self.data, self._limits)
        except SourceError as exc:
            raise Declined from exc

    def verdict(self) -> Verdict:
        """What the gate and the pixel stage decide, remembered by the raw bytes of the elements they read."""
        rules = self._rules
        pixels = any(tag in self._index for tag in _PIXEL_TAGS)
        tools = rules.pixel_tools if pixels else None
        tags = tools.ordered_tags if tools is not None else _GATE_ORDER
        if rules.filter_tags:
            tags = tuple(sorted(set(tags) | rules.filter_tags))
        key = ("verdict", pixels, str(self.top.charset), *(self._raw_key(tag) for tag in tags))
        return rules.memo.get(key, lambda: verdict_of(self.decoded(tags, with_pixels=pixels), rules))

    def decoded(self, tags: Iterable[int], with_pixels: bool = False) -> Dataset:
        """A dataset of the top-level elements ``tags`` (present ones), decoded."""
        found = Dataset()
        for tag in tags:
            if tag in self._index:
                found.add(_decode(self._buf, self._index[tag], self.top.charset))
        if with_pixels:
            found.add(DataElement(0x7FE00010, "OB", b""))  # present; its bytes are not read here
        return found

    def native_format(self, tag: int, vr: str | None, syntax: UID) -> NativeFormat:
        """The native format of pixel element ``tag``, remembered by the Image Pixel elements' raw bytes."""
        key = ("format", tag, vr, *(self._raw_key(t) for t in FORMAT_TAGS))
        return self._rules.memo.get(key, lambda: format_of(self.decoded(FORMAT_TAGS), tag, syntax, vr))

    def patient_key(self) -> str:
        for tag in (PATIENT_ID, _PATIENT_NAME):
            value = self.top.text(tag)
            if value and value.strip():
                return value.strip()
        return ""

    def originals(self, tags: Iterable[int]) -> dict[int, str]:
        return {tag: self.top.text(tag) or "" for tag in tags if tag in self._index}

    def _raw_key(self, tag: int) -> tuple[str, bytes] | None:
        element = self._index.get(tag)
        return None if element is None else (element.vr, bytes(self._buf[element.value:element.value_end]))


_PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)
_GATE_ORDER = tuple(sorted({0x00080016, 0x00080060, 0x00280301}))


def _index(elements: Sequence[RawElement]) -> dict[int, RawElement]:
    index = {e.tag: e for e in elements}
    tags = list(index)
    if len(index) != len(elements) or tags != sorted(tags):
        raise Declined  # duplicate or unsorted tags: let pydicom decide what they mean
    return index


def _text(buf: memoryview, element: RawElement | None) -> str:
    if element is None:
        return ""
    return bytes(buf[element.value:element.value_end]).decode("ascii", "replace").strip("\0 ")


def _raw(buf: memoryview, element: RawElement) -> RawDataElement:
    return RawDataElement(BaseTag(element.tag), element.vr, element.value_end - element.value,
                          bytes(buf[element.value:element.value_end]), element.value, False, True)


def _decode(buf: memoryview, element: RawElement, charset: Any) -> DataElement:
    try:
        return convert_raw_data_element(_raw(buf, element), encoding=charset)
    except Exception as exc:
        raise Declined from exc  # the dataset source reports which element cannot be decoded


def _charset(buf: memoryview, element: RawElement | None, default: Any, memo: Any) -> Any:
    """SpecificCharacterSet as Python codecs (``default`` when absent or empty), decoded once per spelling."""
    if element is None:
        return default
    if element.vr != "CS":
        # pydicom decodes it while it reads (as CS): only the dataset source writes what pydicom read.
        raise Declined

    def decoded() -> Any:
        found = _decode(buf, element, default).value or default
        try:
            # Python's codec names, as pydicom's reader holds them: values are decoded with these
            # (a DICOM term there is an unknown codec, and the text silently becomes Latin-1).
            return convert_encodings(found)
        except Exception as exc:  # a spelling pydicom's reader refuses goes the dataset source's way
            raise Declined from exc

    return memo.get(("charset", element.vr, bytes(buf[element.value:element.value_end]), str(default)), decoded)


# Text VRs whose values pydicom splits on backslashes (multi-valued) or not.  pydicom gives a
# PN a PersonName, but its str() is this text, and actions read values only as text.
_SPLIT_TEXT_VRS = frozenset({"LO", "SH", "UC", "PN"})
_WHOLE_TEXT_VRS = frozenset({"LT", "ST", "UT"})


def _plain_text(buf: memoryview, element: RawElement) -> str | None:
    """The text of a single-valued LO, SH, UC, PN, LT, ST or UT in ASCII, without pydicom; else None.

    ASCII without ESC reads the same in every character set DICOM allows.
    """
    vr = element.vr
    if vr not in _SPLIT_TEXT_VRS and vr not in _WHOLE_TEXT_VRS:
        return None
    raw = bytes(buf[element.value:element.value_end])
    if not raw.isascii() or b"\x1b" in raw or (vr in _SPLIT_TEXT_VRS and b"\\" in raw):
        return None
    return raw.decode("ascii").rstrip("\0 ")


def _string(buf: memoryview, element: RawElement, charset: Any) -> str:
    """``str()`` of the element's value as pydicom decodes it."""
    text = _plain_text(buf, element)
    return text if text is not None else str(_decode(buf, element, charset).value or "")


_FIXED_SIZES = {"US": 2, "SS": 2, "UL": 4, "SL": 4, "FL": 4, "AT": 4, "FD": 8, "SV": 8, "UV": 8}


def _well_sized(element: RawElement) -> bool:
    size = _FIXED_SIZES.get(element.vr)
    return size is None or (element.value_end - element.value) % size == 0


@lru_cache(maxsize=8192)
def _dictionary_vr(tag: int) -> str:
    try:
        return dictionary_VR(tag)
    except KeyError:
        return ""

