"""Source: read one input file into a dataset, or say clearly why it cannot be.

The file is read into memory once; the dataset's elements stay raw until an
action needs their value.  Reasons never quote a value or a path, so they can
go into logs and reports.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO

from pydicom import dcmread
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import FileDataset

from .. import vocabulary
from ..completeness import missing_pixels_reason
from ..errors import DeidentifyError
from ..limits import LimitError, Limits, over, size_text
from ..outcome import Status
from ..rawscan import ScanError, measure, read_group

DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
_DEFLATED = "1.2.840.10008.1.2.1.99"
_BIG_ENDIAN = "1.2.840.10008.1.2.2"


class SourceError(DeidentifyError, ValueError):
    """An input that is not a readable DICOM instance; the message is the reason."""

    def __init__(self, reason: str, status: Status = Status.ERROR) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Source:
    """One input: its bytes, their digest and the parsed dataset."""

    data: bytes
    digest: bytes
    dataset: FileDataset
    raw_elements: Mapping[int, RawDataElement | DataElement]
    """The top-level elements as read, before any stage decodes them (kept ones are copied from here)."""

    @property
    def transfer_syntax(self) -> str:
        meta = self.dataset.file_meta
        return str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""


def digest_of(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def parse_source(data: bytes, limits: Limits = Limits()) -> Source:
    if not data:
        raise SourceError("empty file", Status.NOT_DICOM)
    has_preamble = len(data) >= 132 and data[128:132] == b"DICM"
    if not has_preamble and not _looks_like_bare_dataset(data):
        raise SourceError("not DICOM (no DICM prefix and no dataset at the start)", Status.NOT_DICOM)
    # pydicom's reader recurses once per sequence level and inflates deflated data whole:
    # the file's structure is walked within the limits before it reads a byte.
    check_structure(data, limits, 132 if has_preamble else 0)
    try:
        ds = dcmread(BytesIO(data), force=True)
        return _checked(data, ds)
    except SourceError:
        raise
    except Exception as exc:  # pydicom's messages may quote bytes of the file
        raise SourceError(f"not readable as DICOM ({type(exc).__name__})") from exc


# What the stages read straight from the dataset to decide a file's fate (the gate, the scan,
# the verdict) rather than through the header walk, which turns a bad value into an error
# naming its tag: decoded here, so a mangled one (Hypothesis made SOPClassUID's VR "AI") is
# this file's error, not an exception out of a later stage.
_READ_DIRECTLY = ("SOPClassUID", "SOPInstanceUID", "Modality", "BurnedInAnnotation", "ImageType")


def _checked(data: bytes, ds: FileDataset) -> Source:
    """``ds`` as a source, or SourceError for what is not an instance that can be de-identified."""
    if len(ds) == 0:
        raise SourceError("no data elements after the file meta", Status.NOT_DICOM)
    _check_complete(ds)
    meta, media_class = ds.file_meta, ""
    if meta is not None:
        media_class = str(meta.get("MediaStorageSOPClassUID", ""))
        str(meta.get("TransferSyntaxUID", ""))  # decoded now, so a mangled one fails here, not in a later stage
    if media_class == DICOMDIR_CLASS or 0x00041220 in ds:
        raise SourceError("DICOMDIR is a file-set index, not an instance", Status.NOT_DICOM)
    if "SOPClassUID" not in ds or "SOPInstanceUID" not in ds:
        raise SourceError("no SOP Class UID or SOP Instance UID")
    for keyword in _READ_DIRECTLY:
        try:
            ds.get(keyword)
        except Exception as exc:  # pydicom's messages may quote bytes of the file
            raise SourceError(f"{keyword} cannot be read ({type(exc).__name__})") from exc
    missing = missing_pixels_reason(ds)
    if missing is not None:
        raise SourceError(missing)
    return Source(data, digest_of(data), ds, {tag: ds.get_item(tag) for tag in ds.keys()})  # noqa: SIM118 (iterating gives elements)


def check_structure(data: bytes, limits: Limits, start: int) -> None:
    """Raise :class:`SourceError` for a file over a bound, or whose structure cannot be walked to its end.

    ``start`` is where the file meta (or a bare dataset) begins.  The walk
    (:func:`~deidentify.rawscan.measure`) holds no recursion and reads every
    encoding pydicom reads; deflated data is inflated only up to its bound.
    """
    if len(data) > limits.max_file_bytes:
        raise SourceError(over(f"a file larger than {size_text(limits.max_file_bytes)}"))
    buf: bytes | bytearray | memoryview = memoryview(data)
    syntax = ""
    if data[start:start + 2] == b"\x02\x00":
        try:
            meta, start = read_group(buf, start, 0x0002)
        except ScanError:
            meta = {}  # a meta group that is not explicit VR: the walk below reads it as a dataset
        found = meta.get(0x00020010)
        if found is not None:
            syntax = bytes(buf[found.value:found.value_end]).decode("ascii", "replace").strip("\0 ")
    if syntax == _DEFLATED:
        buf, start = _inflated(buf[start:], limits), 0
    little = syntax != _BIG_ENDIAN if syntax else not (
        data[start:start + 1] == b"\0" and data[start + 1:start + 2] != b"\0")
    try:
        measure(buf, start, len(buf), little, limits)
    except LimitError as exc:
        raise SourceError(str(exc)) from exc
    except ScanError as exc:
        reason = str(exc)
        raise SourceError(reason if reason.startswith("truncated") else f"structure cannot be read ({reason})") from exc


def _inflated(deflated: bytes | bytearray | memoryview, limits: Limits) -> bytearray:
    """The deflated dataset inflated, streaming, never past ``limits.max_inflated_bytes`` (+1 to tell)."""
    bound = limits.max_inflated_bytes
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    inflated, pending = bytearray(), bytes(deflated)
    # In chunks into one growing buffer: one call with a large bound would hold twice the bound at once.
    while not inflater.eof:
        try:
            chunk = inflater.decompress(pending, 1 << 24)
        except zlib.error as exc:
            raise SourceError("deflated data cannot be inflated") from exc
        inflated += chunk
        if len(inflated) > bound:
            raise SourceError(over(f"deflated data inflating to more than {size_text(bound)}"))
        pending = inflater.unconsumed_tail
        if not chunk and not pending:
            break  # a stream cut short: pydicom's reader says what it makes of it
    return inflated


def _looks_like_bare_dataset(data: bytes) -> bool:
    """A file without preamble must begin with a group 0002 or 0008 element (little or big endian)."""
    if len(data) < 8:
        return False
    return data[0:2] in (b"\x02\x00", b"\x08\x00", b"\x00\x02", b"\x00\x08")


def _check_complete(ds: FileDataset) -> None:
    """pydicom reads a truncated file silently: compare the last element's bytes with its length."""
    try:
        last_tag = max(ds.keys())
    except ValueError:
        return
    elem = ds.get_item(last_tag)
    if (isinstance(elem, RawDataElement) and elem.length != 0xFFFFFFFF and elem.value is not None
            and len(elem.value) < elem.length):
        raise SourceError(f"truncated: {vocabulary.element(last_tag)} is shorter than its length")
