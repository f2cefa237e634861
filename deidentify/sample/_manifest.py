"""The list of identifying values planted in a sample, and its ``planted.json`` form."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

MANIFEST_NAME = "planted.json"


@dataclass(frozen=True)
class PlantedValue:
    """One identifying value written somewhere in the sample.

    ``kind`` is one of ``name``, ``name-part``, ``id``, ``national-id``, ``date``,
    ``phone``, ``email``, ``address``, ``uid``, ``institution``, ``device`` or
    ``pixel-text`` (text drawn into pixel data or an overlay, so found only by
    looking at the image).  A value is listed in every form it was written in:
    a name as PN and as free text, a date as ``YYYYMMDD`` and as the hospital
    writes it, a national number bare and formatted.

    ``patient`` is the patient's index, or ``None`` for values of the site
    (staff, institution, devices).  ``where`` names one place the value was put:
    an element keyword, a private creator, ``path``, ``pixels`` or ``OverlayData``.
    """

    value: str
    kind: str
    patient: int | None
    where: str


@dataclass(frozen=True)
class SampleManifest:
    """Everything identifying that :func:`write_sample` planted, one entry per value."""

    planted: tuple[PlantedValue, ...]

    @classmethod
    def load(cls, path: Path) -> SampleManifest:
        """Read a ``planted.json`` file, or the one inside a sample directory."""
        path = Path(path)
        if path.is_dir():
            path = path / MANIFEST_NAME
        entries = json.loads(path.read_text(encoding="utf-8"))
        return cls(tuple(PlantedValue(**entry) for entry in entries))

    def to_json(self) -> str:
        """The ``planted.json`` text: a JSON list of objects, UTF-8, one entry per line."""
        lines = [json.dumps(asdict(p), ensure_ascii=False, sort_keys=True) for p in self.planted]
        return "[\n" + ",\n".join(lines) + "\n]\n"

    def values(self, *kinds: str) -> list[str]:
        """The planted values, restricted to ``kinds`` when any are given."""
        return [p.value for p in self.planted if not kinds or p.kind in kinds]

    def for_patient(self, patient: int) -> list[PlantedValue]:
        """The entries that identify patient ``patient``."""
        return [p for p in self.planted if p.patient == patient]


@dataclass
class Planter:
    """Collects planted values while the sample is built; the first ``where`` wins."""

    _entries: dict[tuple[str, str, int | None], str] = field(default_factory=dict)

    def add(self, value: str, kind: str, patient: int | None, where: str) -> str:
        """Record ``value`` and return it, so a builder can plant and record in one step."""
        if value:
            self._entries.setdefault((value, kind, patient), where)
        return value

    def add_all(self, values: Iterable[str], kind: str, patient: int | None, where: str) -> None:
        for value in values:
            self.add(value, kind, patient, where)

    def manifest(self) -> SampleManifest:
        entries = (PlantedValue(v, k, p, w) for (v, k, p), w in self._entries.items())
        # Patients in order, then the site's values; within each, by kind and value.
        order = sorted(entries, key=lambda e: (e.patient is None, e.patient or 0, e.kind, e.value))
        return SampleManifest(tuple(order))
