"""What a check compares against: the identifying values and UIDs of the source.

Built once from the source folder (``--against SRC``) or from one source file
(:func:`deidentify.checker.verify_output`).  Every readable file of the source
contributes; its values are merged into one
:class:`~deidentify.detect.OwnValuesDetector`, so each output is searched for
every source patient's names and their parts, IDs, dates in common formats,
addresses, phone numbers and institutions -- a leak of another patient's name
is a leak too.  Device identifiers (station names, serial numbers) and every
instance UID of the source are collected as well.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from ..actions import is_well_known
from ..detect import Detector, Finding, OwnValuesDetector
from ..plan import element_vr
from ..source import SourceError, parse_source, walk
from .elements import STRING_VRS

# Identifiers of the equipment: with the site, they narrow down who was scanned.
DEVICE_KEYWORDS = frozenset(
    {
        "StationName", "StationAETitle", "DeviceSerialNumber", "DeviceID", "DeviceLabel", "DetectorID",
        "SourceSerialNumber", "LensSerialNumber", "GantryID", "PlateID", "CassetteID",
        "PerformedStationName", "PerformedStationAETitle", "ScheduledStationName", "ScheduledStationAETitle",
    }
)
_DEVICE_TAGS = frozenset(tag_for_keyword(k) for k in DEVICE_KEYWORDS)
# Where a container dataset holds the sources' datasets, so that one OwnValuesDetector
# collects from all of them (it walks nested sequences).  Any sequence tag would do.
_CONTAINER_TAG = 0x00081115
_BULK_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_BULK_BYTES = 1024


class _Relabel:
    """A detector whose findings get another kind (``id`` -> ``device``)."""

    def __init__(self, detector: Detector, kind: str) -> None:
        self.detector, self.kind = detector, kind

    def find(self, text: str) -> Iterable[Finding]:
        return (Finding(f.start, f.end, self.kind) for f in self.detector.find(text))


@dataclass
class SourceIndex:
    """The source's identifying values (as detectors), its UIDs and its files by SOP class."""

    detectors: list[Detector]
    uids: frozenset[str]
    files_by_class: dict[str, list[Path | bytes]] = field(default_factory=dict)
    files: int = 0

    @classmethod
    def from_folder(cls, folder: Path) -> SourceIndex:
        """Index every readable DICOM file under ``folder`` (others are skipped)."""
        return cls.from_sources((path, path.read_bytes()) for path in walk(folder) if isinstance(path, Path))

    @classmethod
    def from_bytes(cls, data: bytes) -> SourceIndex:
        """Index one source file given as bytes."""
        return cls.from_sources([(data, data)])

    @classmethod
    def from_sources(cls, sources: Iterable[tuple[Path | bytes, bytes]]) -> SourceIndex:
        datasets: list[Dataset] = []
        uids: set[str] = set()
        devices: list[str] = []
        by_class: dict[str, list[Path | bytes]] = defaultdict(list)
        for origin, data in sources:
            try:
                ds = parse_source(data).dataset
            except SourceError:
                continue
            _drop_bulk(ds)
            uids |= _uids(ds)
            devices += _device_values(ds)
            by_class[str(ds.get("SOPClassUID", ""))].append(origin)
            datasets.append(ds)
        container = Dataset()
        container[_CONTAINER_TAG] = _container_element(datasets)
        detectors: list[Detector] = [OwnValuesDetector.from_dataset(container)]
        if devices:
            detectors.append(_Relabel(OwnValuesDetector({"id": devices}), "device"))
        return cls(detectors, frozenset(uids), dict(by_class), len(datasets))


def _container_element(datasets: list[Dataset]) -> DataElement:
    return DataElement(_CONTAINER_TAG, "SQ", Sequence(datasets))


def _drop_bulk(ds: Dataset) -> None:
    """Pixels and other large binary values are never identifying text; free their memory."""
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        if raw.VR in _BULK_VRS and raw.value is not None and len(raw.value) > _BULK_BYTES:
            del ds[tag]


def _strings(ds: Dataset, wanted: Callable[[int, str], bool]) -> Iterator[tuple[int, str]]:
    """(tag, value) of each wanted string element at any depth.

    Only wanted elements and sequences are decoded, which keeps indexing a
    large source quick; an element that cannot be decoded has nothing to give.
    """
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        vr = element_vr(tag, raw.VR)
        if vr != "SQ" and not wanted(tag, vr):
            continue
        try:
            elem = ds[tag]
        except Exception:
            continue
        if elem.VR == "SQ":
            for item in elem.value or ():
                yield from _strings(item, wanted)
        elif elem.VR in STRING_VRS and elem.value is not None:
            values = elem.value if isinstance(elem.value, (MultiValue, list, tuple)) else [elem.value]
            yield from ((tag, text) for v in values if (text := str(v).strip("\0 ")))


def _uids(ds: Dataset) -> set[str]:
    found = {v for _, v in _strings(ds, lambda tag, vr: vr == "UI") if not is_well_known(v)}
    meta = getattr(ds, "file_meta", None)
    if meta is not None and meta.get("MediaStorageSOPInstanceUID"):
        found.add(str(meta.MediaStorageSOPInstanceUID).strip("\0 "))
    return found


def _device_values(ds: Dataset) -> list[str]:
    return [v for _, v in _strings(ds, lambda tag, vr: tag in _DEVICE_TAGS)]
