"""The profile data model: what a loaded, validated profile holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .selectors import Selector

#: PS3.15 Annex E options selectable by name, with their CID 7050 method codes.
OPTIONS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "clean-graphics": ("113103", "Clean Graphics Option"),
        "clean-structured-content": ("113104", "Clean Structured Content Option"),
        "clean-descriptors": ("113105", "Clean Descriptors Option"),
        "retain-long-full-dates": ("113106", "Retain Longitudinal Temporal Information Full Dates Option"),
        "retain-long-modified-dates": ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
        "retain-patient-characteristics": ("113108", "Retain Patient Characteristics Option"),
        "retain-device-identity": ("113109", "Retain Device Identity Option"),
        "retain-uids": ("113110", "Retain UIDs Option"),
        "retain-safe-private": ("113111", "Retain Safe Private Option"),
        "retain-institution-identity": ("113112", "Retain Institution Identity Option"),
    }
)

BASIC_PROFILE_CODE = ("113100", "Basic Application Confidentiality Profile")
CLEAN_PIXEL_DATA_CODE = ("113101", "Clean Pixel Data Option")

#: Options that cannot be selected together (PS3.15 E.3.6).
EXCLUSIVE_OPTIONS = (frozenset({"retain-long-full-dates", "retain-long-modified-dates"}),)

#: The action codes of PS3.15 Table E.1-1a.
CODES = frozenset({"X", "Z", "D", "K", "C", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"})


@dataclass(frozen=True)
class Rule:
    """One rule: the elements it selects and what to do with them.

    ``action`` is a PS3.15 code or the name of an action; ``options`` maps an option
    to the code that replaces ``action`` when that option is selected; a rule with
    ``when`` applies only when that option is selected.
    """

    selector: Selector
    action: str
    origin: str
    args: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)
    when: str | None = None
    name: str = ""


@dataclass(frozen=True)
class ContentItemRule:
    """A PS3.15 Table E.3.4-1 row: an SR content item by concept name, under clean-structured-content."""

    concept: str
    scheme: str
    action: str
    origin: str
    value_type: str = ""
    meaning: str = ""
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    """Tunable values of a profile.

    ``date_shift_days`` bounds the keyed per-patient date offset (inclusive);
    ``clean_pixel_data`` is PS3.15's Clean Pixel Data option, on in every built-in
    profile; with it off, images that may carry burnt-in text are withheld.
    """

    date_shift_days: tuple[int, int] = (-3650, -1)
    age_cap_years: int = 89
    clean_pixel_data: bool = True


@dataclass(frozen=True)
class OcrSettings:
    """How burnt-in text is read (``pixels.ocr``).

    ``enabled``: read images at all.  ``engines``: which detectors read them
    (``text-detector``, PP-OCR's neural detector; ``tesseract``; several mask
    the union of their boxes).  ``recognition``: the text detector recognises
    what it found, to label boxes by class and decide doubtful ones.  ``scan``: which images --
    ``auto`` (those :func:`deidentify.pixels.gate.may_carry_burnt_in_text` flags,
    plus the listed ``modalities`` and ``sop_classes``), ``all``, or ``listed``
    (only the listed ones; a SOP class ending in ``*`` is a prefix).
    ``confidence`` (0-100): from which Tesseract's confidence any word is masked (words
    recognised as identifying are masked at any confidence).  ``padding``: pixels
    added around each word.  ``language``: Tesseract's (``eng``, ``eng+deu``).
    ``upscale``: 0 picks the factor from the image size.  ``timeout``: seconds
    one Tesseract run may take.
    """

    enabled: bool = True
    engines: tuple[str, ...] = ("text-detector",)
    recognition: bool = True
    scan: str = "auto"
    modalities: tuple[str, ...] = ()
    sop_classes: tuple[str, ...] = ()
    confidence: float = 60.0
    padding: int = 3
    language: str = "eng"
    upscale: int = 0
    timeout: int = 60


@dataclass(frozen=True)
class PixelSettings:
    """The ``pixels`` section: where region rules come from, and OCR.

    ``sources``: :class:`deidentify.pixels.rules.PixelSource` s in order (deid
    recipes, CTP scripts); ``regions``: the profile's own
    :class:`deidentify.pixels.rules.RegionRule` s; ``ocr``: :class:`OcrSettings`.
    Compile them with :func:`deidentify.pixels.rules.compile_rules`.
    """

    sources: tuple[Any, ...] = ()
    regions: tuple[Any, ...] = ()
    ocr: OcrSettings = field(default_factory=OcrSettings)


@dataclass(frozen=True)
class LookupTable:
    """A table of values for the ``lookup`` action, read from a CSV file when the profile loads.

    Each row maps one value of the ``key`` element (the file's own, top-level,
    as read) to values for other elements, one per column.  The report names the
    table by ``name`` and ``digest`` only: its rows are the linkage itself.
    """

    name: str
    """The file's name, as the report shows it."""
    digest: str
    """SHA-256 of the file (hex)."""
    key: str
    """The keyword (or tag text) of the element whose original value selects the row."""
    tag: int
    columns: tuple[str, ...]
    rows: dict[str, dict[str, str]] = field(hash=False, compare=False, repr=False)


@dataclass(frozen=True)
class FileFilter:
    """One entry of a profile's ``filter`` section: files it rejects are reported ``filtered``, never written.

    A ``reject`` filter rejects the files its condition matches; when a profile has
    ``accept`` filters, a file none of them matches is rejected.
    """

    name: str
    accept: bool
    condition: Any
    """A :mod:`deidentify.pixels.rules.conditions` condition on the top-level elements."""
    origin: str


@dataclass(frozen=True)
class Profile:
    """A resolved profile: its own rules after those of the profiles it extends."""

    name: str
    description: str
    options: frozenset[str]
    settings: Settings
    rules: tuple[Rule, ...]
    content_items: tuple[ContentItemRule, ...]
    files: tuple[str, ...]
    pixels: PixelSettings = field(default_factory=PixelSettings)
    lookup: LookupTable | None = None
    filters: tuple[FileFilter, ...] = ()

    @property
    def method_codes(self) -> list[tuple[str, str]]:
        """CID 7050 codes for the profile and each option it uses (pixel cleaning is stamped per image)."""
        return [BASIC_PROFILE_CODE] + [OPTIONS[o] for o in sorted(self.options)]
