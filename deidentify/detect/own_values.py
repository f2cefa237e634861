"""A dataset's own identifying values, found again in its free text.

Pattern detectors cannot know that "Müller" is a name; the dataset can.  The
values a dataset carries in structured elements (names, IDs, dates, address,
telephone) are the most likely identifiers to leak into comments, protocol
names and burned-in descriptions, so this detector looks for exactly those.

Text and values are compared after *folding*: case, compatibility forms
(full-width letters) and diacritics are erased, so ``MUELLER``, ``Muller`` and
``Müller`` all match the value ``Müller^Jürgen``, and ``Jose`` matches
``José``.  Spans are reported in the original text.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache

from pydicom import Dataset
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement, convert_raw_data_element
from pydicom.multival import MultiValue

from .base import Finding
from .dates import iter_dates

KINDS: tuple[str, ...] = ("name", "id", "date", "address", "phone", "institution")
"""The kinds an :class:`OwnValuesDetector` accepts and reports."""

_ID_KEYWORDS = frozenset(
    {
        "PatientID",
        "OtherPatientIDs",
        "AccessionNumber",
        "IssuerOfPatientID",
        "MedicalRecordLocator",
        "StudyID",
        "AdmissionID",
        "PlacerOrderNumberImagingServiceRequest",
        "FillerOrderNumberImagingServiceRequest",
        "PlacerOrderNumberProcedure",
        "FillerOrderNumberProcedure",
        "RequestedProcedureID",
        "ScheduledProcedureStepID",
        "PerformedProcedureStepID",
        "ServiceEpisodeID",
    }
)
_ADDRESS_KEYWORDS = frozenset(
    {"PatientAddress", "PersonAddress", "InstitutionAddress", "ReferringPhysicianAddress"}
)
# Where a patient was seen narrows down who they are as much as an address does.
_INSTITUTION_KEYWORDS = frozenset({"InstitutionName", "InstitutionalDepartmentName"})
_PHONE_KEYWORDS = frozenset({"PatientTelephoneNumbers", "PersonTelephoneNumbers"})

_TITLES = frozenset(
    "dr mr mrs ms miss mx prof md jr sr phd ii iii iv rev sir dame".split()
)
# Particles of compound family names ("van der Berg") match everyday words on their own.
_NAME_PARTICLES = frozenset(
    "van von der den de del della di da das dos du la le el al bin ben ter ten".split()
)
_ADDRESS_STOP_WORDS = frozenset(
    """the and of street st road rd avenue ave lane ln drive court ct place pl way
    flat apt apartment suite unit floor house building block po box north south east
    west city county state province district town village united kingdom states
    america usa uk""".split()
)

_MIN_NAME_CHARS = 2
_MIN_ADDRESS_PART_CHARS = 4
# Shorter IDs (StudyID "1") and phone fragments would match ordinary numbers.
_MIN_ID_CHARS = 4
_MIN_PHONE_DIGITS = 7

# Letters with no Unicode decomposition that are still commonly written without the mark.
_EXTRA_FOLDS = {
    "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i",
    "’": "'", "‘": "'",
}
# German umlauts are transliterated with an "e" (Müller -> MUELLER) in ASCII-only systems.
_UMLAUTS = frozenset("äöü")
_CJK = re.compile(
    r"[\u1100-\u11ff\u2e80-\u2fdf\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf"
    r"\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)
_WORD = re.compile(r"[\w'’]+")
_ADDRESS_SPLIT = re.compile(r"[,;\n\r^]+")
_NAME_WORD_SPLIT = re.compile(r"[\s-]+")


@lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char.casefold())
    return "".join(_EXTRA_FOLDS.get(c, c) for c in decomposed if not unicodedata.combining(c))


def _fold(text: str) -> tuple[str, list[int]]:
    """Folded ``text`` and, for each folded character, its index in ``text``."""
    pieces: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = _fold_char(char)
        pieces.append(folded)
        origin.extend([index] * len(folded))
    return "".join(pieces), origin


def _word_pattern(word: str) -> str:
    return "".join(
        re.escape(_fold_char(c)) + ("e?" if c.casefold() in _UMLAUTS else "") for c in word
    )


def _text_pattern(value: str, min_chars: int) -> str | None:
    """Regex for the words of ``value`` in order, whatever separates them."""
    words = _WORD.findall(unicodedata.normalize("NFC", value))
    if sum(len(_fold_char(c)) for w in words for c in w) < min_chars:
        return None
    body = [_word_pattern(w) for w in words]
    if _CJK.search(value):
        # CJK text has no spaces between words, so a name is any substring.
        return r"[\W_]{0,3}".join(body)
    return r"(?<!\w)" + r"[\W_]{1,3}".join(body) + r"(?!\w)"


def _id_pattern(value: str) -> str | None:
    """Regex for the letters and digits of ``value``, optionally separated."""
    chars = [c for c in _fold(value)[0] if c.isalnum()]
    if len(chars) < _MIN_ID_CHARS or len(set(chars)) == 1:
        # One character repeated ("00000", a station named "000000000") is a placeholder: it names
        # no one, and its pattern would find every run of zeros in a number ("1.00000").
        return None
    return r"(?<![^\W_])" + r"[\s./_-]?".join(map(re.escape, chars)) + r"(?![^\W_])"


def _phone_pattern(value: str) -> str | None:
    """Regex for the digits of ``value`` with any punctuation between them.

    An international value (``+44 20 7946 0958``) also matches its national
    form (``020 7946 0958``); the country code is 1-3 digits, so every split is
    tried -- a wrong split only yields a shorter, still specific digit run.
    """
    folded = _fold(value)[0].strip()
    digits = "".join(c for c in folded if c.isdigit())
    numbers = {digits}
    if folded.startswith(("+", "00")):
        international = digits[2:] if folded.startswith("00") else digits
        numbers |= {international[k:] for k in (1, 2, 3)}
    alternatives = [
        r"[\s().+/-]{0,3}".join(n) for n in sorted(numbers) if len(n) >= _MIN_PHONE_DIGITS
    ]
    if not alternatives:
        return None
    return r"(?<!\d)(?:\+|0{1,2})?(?:" + "|".join(alternatives) + r")(?!\d)"


def _parse_date(value: str) -> frozenset[datetime.date]:
    """The dates ``value`` denotes when the whole of it is one date, else empty."""
    text = value.strip()
    for span in iter_dates(text):
        if span.start == 0 and span.end == len(text):
            return span.dates
    return frozenset()


def _is_name_word(word: str) -> bool:
    folded = _fold(word)[0].strip(".")
    return (
        len(folded) >= _MIN_NAME_CHARS
        and folded not in _TITLES
        and folded not in _NAME_PARTICLES
    )


def _name_values(person_name: str) -> Iterator[str]:
    """The whole name and each name part of a PN value, for every ``=`` group."""
    for component in person_name.split("="):
        # family^given^middle^prefix^suffix: prefix and suffix are titles, not identity.
        family, given, middle = (g.strip() for g in (component.split("^") + ["", ""])[:3])
        present = [g for g in (family, given, middle) if g]
        if len(present) > 1:
            for order in (
                (family, given, middle),
                (given, middle, family),
                (family, given),
                (given, family),
            ):
                yield " ".join(g for g in order if g)
        for group in present:
            if _is_name_word(group):
                yield group
            yield from (w for w in _NAME_WORD_SPLIT.split(group) if _is_name_word(w))


def _address_values(address: str) -> Iterator[str]:
    """The whole address, its comma/line separated parts, and each part without its
    street-type words ("12 Baker" from "12 Baker Street", which the text may abbreviate)."""
    yield address
    for part in _ADDRESS_SPLIT.split(address):
        words = _WORD.findall(part)
        core = [w for w in words if _fold(w)[0] not in _ADDRESS_STOP_WORDS]
        if any(not w.isdigit() for w in core):
            for value in {part.strip(), " ".join(core)}:
                if len(value) >= _MIN_ADDRESS_PART_CHARS:
                    yield value


def _as_is(value: str) -> Iterator[str]:
    yield value


def _readable_date(value: str) -> Iterator[str]:
    if _parse_date(value):
        yield value


def _element_strings(element: DataElement) -> list[str]:
    value = element.value
    items = value if isinstance(value, (MultiValue, list, tuple)) else [value]
    return [text for item in items if item is not None and (text := str(item).strip())]


_WANTED_KEYWORDS = _ID_KEYWORDS | _ADDRESS_KEYWORDS | _PHONE_KEYWORDS | _INSTITUTION_KEYWORDS


def _wanted_elements(ds: Dataset) -> Iterator[DataElement]:
    """The elements :meth:`OwnValuesDetector.from_dataset` reads, at every depth.

    Values are decoded into new objects and never stored back, so the dataset's
    raw elements stay raw: the header stage copies kept elements byte for byte.
    An element that cannot be decoded is skipped here; if an action needs it, the
    header stage reports it.
    """
    for tag in ds.keys():  # noqa: SIM118 - iterating a Dataset yields its elements, not tags
        raw = ds.get_item(tag)
        vr = raw.VR if raw.VR and raw.VR != "UN" else _dictionary_vr(tag)
        if vr not in ("PN", "DA", "SQ") and keyword_for_tag(tag) not in _WANTED_KEYWORDS:
            continue
        try:
            element = raw if isinstance(raw, DataElement) else convert_raw_data_element(
                raw, encoding=ds._character_set, ds=ds
            )
        except Exception:
            continue
        if element.VR == "SQ":
            for item in element.value or ():
                yield from _wanted_elements(item)
        else:
            yield element


def _dictionary_vr(tag: int) -> str:
    try:
        return dictionary_VR(tag)[:2]
    except KeyError:
        return "UN"


class OwnValuesDetector:
    """Finds a dataset's own identifying values in free text.

    Build it from a dataset with :meth:`from_dataset`, or directly from
    ``{kind: values}`` where kind is one of :data:`KINDS`:

    * ``name``, ``address``: the words of each value in order, separated by
      anything (``Müller^Jürgen`` matches ``MUELLER, Jurgen``), on word
      boundaries; values containing CJK characters match as substrings.
    * ``id``, ``phone``: the letters/digits of each value with or without
      spaces, dashes or other punctuation between them.
    * ``date``: each value must be one date in a format
      :func:`~deidentify.detect.dates.iter_dates` reads (``20240131``,
      ``31/01/2024`` ...); it is found in the text in any of those formats.

    Values too short to be told apart from ordinary text (IDs under four
    characters, phone numbers under seven digits, names under two letters)
    are skipped.  Raises ``ValueError`` for an unknown kind or an unreadable
    date.
    """

    def __init__(self, values: Mapping[str, Iterable[str]]) -> None:
        unknown = set(values) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown kinds {sorted(unknown)}; expected some of {KINDS}")
        builders = {
            "name": lambda v: _text_pattern(v, _MIN_NAME_CHARS),
            "address": lambda v: _text_pattern(v, _MIN_ADDRESS_PART_CHARS),
            "institution": lambda v: _text_pattern(v, _MIN_ADDRESS_PART_CHARS),
            "id": _id_pattern,
            "phone": _phone_pattern,
        }
        self._patterns: dict[str, re.Pattern[str]] = {}
        for kind, build in builders.items():
            alternatives = {
                (len(value), pattern)
                for value in values.get(kind, ())
                if (pattern := build(value)) is not None
            }
            if alternatives:
                # Longest value first, so a whole name wins over its parts at the same place.
                ordered = sorted(alternatives, key=lambda a: (-a[0], a[1]))
                self._patterns[kind] = re.compile("|".join(p for _, p in ordered))
        self._dates: set[datetime.date] = set()
        for value in values.get("date", ()):
            dates = _parse_date(value)
            if not dates:
                raise ValueError(f"not a date: {value!r}")
            self._dates |= dates

    @classmethod
    def from_dataset(cls, ds: Dataset) -> OwnValuesDetector:
        """Collect the identifying values of ``ds`` and its nested sequences.

        * name: every PN element -- each ``=`` group's whole name (family
          first and given first) and its family, given and middle parts of at
          least two letters; prefixes, suffixes and titles are left out.
        * id: PatientID (also inside OtherPatientIDsSequence), OtherPatientIDs,
          AccessionNumber, IssuerOfPatientID, MedicalRecordLocator, StudyID,
          admission, order, procedure and procedure step IDs.
        * date: every DA element, PatientBirthDate included; values that are
          not a readable date are skipped.
        * address: patient, person, institution and referring physician
          addresses, whole and split at commas,
          semicolons and line breaks into parts of at least four characters
          that are not only street-type words or numbers.
        * phone: PatientTelephoneNumbers and PersonTelephoneNumbers.
        * institution: InstitutionName and InstitutionalDepartmentName, whole.
        """
        values: dict[str, list[str]] = {kind: [] for kind in KINDS}
        expand: Callable[[str], Iterator[str]]
        for element in _wanted_elements(ds):
            if element.VR == "PN":
                kind, expand = "name", _name_values
            elif element.VR == "DA":
                kind, expand = "date", _readable_date
            elif element.keyword in _ID_KEYWORDS:
                kind, expand = "id", _as_is
            elif element.keyword in _ADDRESS_KEYWORDS:
                kind, expand = "address", _address_values
            elif element.keyword in _PHONE_KEYWORDS:
                kind, expand = "phone", _as_is
            elif element.keyword in _INSTITUTION_KEYWORDS:
                kind, expand = "institution", _as_is
            else:
                continue
            values[kind].extend(v for s in _element_strings(element) for v in expand(s))
        return cls(values)

    def find(self, text: str) -> Iterator[Finding]:
        """Yield a finding for each occurrence of one of the values in ``text``."""
        if self._patterns:
            folded, origin = _fold(text)
            for kind, pattern in self._patterns.items():
                for match in pattern.finditer(folded):
                    start = origin[match.start()]
                    end = origin[match.end() - 1] + 1
                    # Keep combining marks that belong to the last matched letter.
                    while end < len(text) and not _fold_char(text[end]):
                        end += 1
                    yield Finding(start, end, kind)
        if self._dates:
            for span in iter_dates(text):
                if span.dates & self._dates:
                    yield Finding(span.start, span.end, "date")
