"""The interface between the header walk and what it reads: one dataset or item of a file.

:func:`~deidentify.header.walk.clean_header` is the only traversal of a
header.  It asks an :class:`ElementSource` for the elements of one dataset
(or sequence item) and for the few decoded values its decisions need, and
leaves :class:`Written` pieces that :mod:`deidentify.writer` encodes.  Two
sources implement it, one module each: :mod:`.raw` reads element headers
straight from the file's bytes (kept elements are slices of the input),
:mod:`.dataset` reads a pydicom :class:`~pydicom.dataset.Dataset` (any
encoding pydicom reads).  Both must give the same bytes; a differential test
holds them to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from pydicom.dataelem import DataElement, RawDataElement

from ...errors import DeidentifyError


class HeaderError(DeidentifyError, ValueError):
    """An element could not be decoded; the message names the tag, never a value."""


class Declined(DeidentifyError):
    """The raw source does not read this file (an encoding or structure pydicom must decode).

    Not an error: the pipeline reads the file again with the dataset source,
    which owns every per-file error message.
    """


class NewValue(NamedTuple):
    """A value an action wrote: the writer encodes it in the file's encoding."""

    vr: str
    value: Any


class Constant(NamedTuple):
    """An element the same in every file (the stamp's), encoded once per run in both VR forms."""

    element: DataElement
    explicit: bytes
    implicit: bytes


@dataclass
class Items:
    """A sequence the walk went into: its items as written."""

    items: list[Written]


#: One element of the output: bytes already encoded as the output is (explicit VR little
#: endian slices of the input), a pydicom element as read, a new value, or a sequence's items.
Piece = bytes | memoryview | RawDataElement | DataElement | NewValue | Constant | Items


@dataclass
class Written:
    """One dataset or item as the walk leaves it: ``(tag, piece)`` in tag order.

    ``charset`` is what new text values are encoded in (the dataset's
    SpecificCharacterSet, else its parent's); ``implicit``, ``little`` and
    ``character_set`` say how its raw pieces were read, so the writer can tell
    whether they can be copied into the output's encoding.
    """

    pieces: list[tuple[int, Piece]]
    charset: Any
    implicit: bool = False
    little: bool = True
    character_set: Any = field(default=None)


#: One element as a source lists it: its tag, its VR as read ("" for implicit VR) and a handle.
#: A plain tuple: the raw source makes one per element of every file, and a NamedTuple's
#: constructor is several times slower.
Entry = tuple[int, str, Any]


class ElementSource(Protocol):
    """One dataset or sequence item, as the header walk reads it."""

    charset: Any
    """What its text values are encoded in (its SpecificCharacterSet, else its parent's)."""

    def entries(self) -> Sequence[Entry]:
        """Its elements in ascending tag order."""

    def has(self, tag: int) -> bool:
        """Whether it holds ``tag``."""

    def text(self, tag: int) -> str | None:
        """``str()`` of the value of ``tag`` as pydicom decodes it; None when absent."""

    def creator(self, block: int, named: bool) -> str | None:
        """The private creator of ``block`` (group << 16 | block number): its normalised name
        when ``named``, else "" when present; None when absent, empty or undecodable."""

    def kept(self, handle: Any) -> Piece:
        """The element as read, to be copied into the output."""

    def read(self, handle: Any, vr: str) -> tuple[str, Any]:
        """The VR to write and the value an action reads; :class:`HeaderError` when undecodable."""

    def items(self, handle: Any) -> Sequence[ElementSource]:
        """A sequence element's items."""

    def sequence(self, tag: int) -> Sequence[ElementSource] | None:
        """The items of sequence ``tag``; None when absent."""

    def is_sequence(self, handle: Any) -> bool:
        """Whether an element read without its VR (implicit VR, or UN) is a sequence, whose items
        the walk must go into rather than copy."""

    def value_free(self, handle: Any) -> bool:
        """Whether an action that never reads the value may skip decoding it (it would decode)."""

    def written(self, pieces: list[tuple[int, Piece]]) -> Written:
        """``pieces`` as this dataset's output, with its encoding."""
