"""The dataset source: a file pydicom has parsed, in any encoding it reads.

It serves what the raw source declines (implicit VR, big endian, deflated,
files without preamble, structures only pydicom's reader untangles).  Kept
top-level elements are the ones pydicom read, raw, before any stage decoded
them, so they are written back as the file held them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydicom.charset import default_encoding
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.uid import UID

from ... import vocabulary
from ...pixels.native import NativeFormat, format_of
from ...plan import RuleBook, Verdict, originals_of, patient_key, verdict_of
from ...profile import normalise_creator
from ...source import Source
from .base import Entry, HeaderError, Piece, Written

_CHARSET = 0x00080005


class DatasetSource:
    """One pydicom dataset or sequence item."""

    def __init__(self, ds: Dataset, parent_charset: Any = default_encoding,
                 as_read: Mapping[int, RawDataElement | DataElement] | None = None) -> None:
        self._ds = ds
        self._as_read = as_read or {}
        # What pydicom's writer encodes this dataset's new text in.
        self.charset = _value(ds, _CHARSET) or parent_charset if _CHARSET in ds else parent_charset

    def entries(self) -> Sequence[Entry]:
        found = []
        for tag in sorted(self._ds.keys()):
            element = self._as_read.get(tag) or self._ds.get_item(tag)
            found.append((int(tag), element.VR or "", element))
        return found

    def has(self, tag: int) -> bool:
        return tag in self._ds

    def text(self, tag: int) -> str | None:
        if tag not in self._ds:
            return None
        try:
            return str(self._ds[tag].value or "")
        except Exception as exc:
            raise HeaderError(f"{vocabulary.element(tag)} cannot be decoded") from exc

    def creator(self, block: int, named: bool) -> str | None:
        try:
            value = self._ds[block].value if block in self._ds else None
        except Exception:
            return None
        if not value:
            return None
        return normalise_creator(str(value)) if named else ""

    def kept(self, handle: RawDataElement | DataElement) -> Piece:
        return handle

    def read(self, handle: RawDataElement | DataElement, vr: str) -> tuple[str, Any]:
        element = _decoded(self._ds, handle.tag)
        return (element.VR if len(element.VR) == 2 else vr), element.value

    def items(self, handle: RawDataElement | DataElement) -> Sequence[DatasetSource]:
        return [DatasetSource(item, self.charset) for item in _decoded(self._ds, handle.tag).value]

    def sequence(self, tag: int) -> Sequence[DatasetSource] | None:
        if tag not in self._ds:
            return None
        try:
            return [DatasetSource(item, self.charset) for item in self._ds[tag].value]
        except Exception as exc:
            raise HeaderError(f"{vocabulary.element(tag)} cannot be decoded") from exc

    def is_sequence(self, handle: RawDataElement | DataElement) -> bool:
        try:  # pydicom reads a private sequence by its creator's dictionary, or a UN of undefined length
            return _decoded(self._ds, handle.tag).VR == "SQ"
        except HeaderError:
            return False  # copied as read; an action that must read it reports it

    def value_free(self, handle: RawDataElement | DataElement) -> bool:
        return False  # decoded like any other, so an undecodable value is reported

    def written(self, pieces: list[tuple[int, Piece]]) -> Written:
        ds = self._ds
        implicit, little = bool(ds._read_implicit), bool(ds._read_little)
        # pydicom reads a data set in the VR form it finds there and says the transfer syntax's
        # (pydicom's SC_rgb_jpeg: implicit VR under JPEG Baseline); its raw elements say the truth.
        raw = next((piece for _, piece in pieces if isinstance(piece, RawDataElement)), None)
        if raw is not None:
            implicit, little = raw.is_implicit_VR, raw.is_little_endian
        return Written(pieces, self.charset, implicit, little, ds.original_character_set)


class DatasetFile:
    """A file pydicom parsed: its top-level dataset and what the pipeline decides from it."""

    def __init__(self, source: Source, rules: RuleBook) -> None:
        self.data = source.data
        self.dataset = source
        self.transfer_syntax = source.transfer_syntax
        self.top = DatasetSource(source.dataset, as_read=source.raw_elements)
        self._rules = rules

    def verdict(self) -> Verdict:
        return verdict_of(self.dataset.dataset, self._rules)

    def decoded(self, tags: Iterable[int], with_pixels: bool = False) -> Dataset:
        return self.dataset.dataset

    def native_format(self, tag: int, vr: str | None, syntax: UID) -> NativeFormat:
        return format_of(self.dataset.dataset, tag, syntax, vr)

    def patient_key(self) -> str:
        return patient_key(self.dataset.dataset)

    def originals(self, tags: Iterable[int]) -> dict[int, str]:
        return originals_of(self.dataset.dataset, tags)


def _value(ds: Dataset, tag: int) -> Any:
    try:
        return ds[tag].value
    except Exception:
        return None


def _decoded(ds: Dataset, tag: int) -> DataElement:
    try:
        return ds[tag]
    except Exception as exc:  # pydicom raises many types; the value must not reach the message
        raise HeaderError(f"{vocabulary.element(tag)} cannot be decoded") from exc

