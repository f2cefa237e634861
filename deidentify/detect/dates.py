"""Calendar dates written inside free text.

Recognised forms: ``20240131`` (also a DICOM DT such as ``20240131083015.5``),
``2024-01-31`` / ``2024/01/31`` / ``2024.01.31``, ``31/01/2024``,
``01/31/2024``, ``31.01.2024``, ``31-01-2024``, ``31 Jan 2024``,
``31st January 2024``, ``31-JAN-2024``, ``31-JAN-24``, ``31JAN2024``,
``January 31, 2024``, ``Jan. 31 2024``.  Every candidate is checked against
the calendar, so ``2024-02-30`` or ``13/13/2024`` are not dates.

Numeric day/month forms are ambiguous (``01/02/2024``); such a span is still a
single date finding, and :func:`iter_dates` reports every reading that is a
real date so a caller can compare against known values.  Two-digit years are
only accepted next to a month name: ``3/6/12`` in a report is far more often a
follow-up schedule than a date.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .base import Finding

_MIN_YEAR = 1800
_MAX_YEAR = 2199

_MONTH_NUMBERS = {
    name: number
    for number, name in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)
}
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ORDINAL = r"(?:st|nd|rd|th)?"
# Numbers must stand alone: not glued to other digits nor the tail of a dotted UID.
_BEFORE = r"(?<![\w.])(?<!\d[./-])"
_AFTER = r"(?!\d|[./-]\d)"
_TIME = r"(?:(?:[01]\d|2[0-3])(?:[0-5]\d(?:[0-5]\d(?:\.\d{1,6})?)?)?)?"

_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE | re.VERBOSE)
    for p in (
        # 20240131, 20240131083015.123
        _BEFORE + r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})" + _TIME + _AFTER,
        # 2024-01-31, 2024/1/31, 2024.01.31
        _BEFORE + r"(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})" + _AFTER,
        # 31/01/2024 or 01/31/2024, 31.01.2024, 31-01-2024
        _BEFORE + r"(?P<a>\d{1,2})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})" + _AFTER,
        # 31 Jan 2024, 31st January, 2024, 31-JAN-2024, 31JAN2024
        r"(?<!\w)(?P<d>\d{1,2})" + _ORDINAL + r"(?:\s+of\s+|[\s/-])?"
        r"(?P<mon>" + _MONTH + r")\.?,?[\s/-]?(?P<y>\d{4})" + _AFTER,
        # 31-JAN-24
        r"(?<!\w)(?P<d>\d{1,2})-(?P<mon>" + _MONTH + r")-(?P<yy>\d{2})" + _AFTER,
        # January 31, 2024, Jan. 31 2024
        r"(?<!\w)(?P<mon>" + _MONTH + r")\.?\s*(?P<d>\d{1,2})" + _ORDINAL + r",?\s+(?P<y>\d{4})"
        + _AFTER,
    )
)


@dataclass(frozen=True)
class DateSpan:
    """A date found in a text: ``text[start:end]`` denotes one of ``dates``."""

    start: int
    end: int
    dates: frozenset[datetime.date]


def _date(year: int, month: int, day: int) -> datetime.date | None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _readings(groups: dict[str, str]) -> set[datetime.date]:
    """All calendar dates the matched groups can denote (a group that did not take part is ``""``)."""
    if groups.get("mon"):
        month = _MONTH_NUMBERS[groups["mon"][:3].lower()]
        day = int(groups["d"])
        # A two-digit year is either century; keep both so a birth date in the
        # 1900s and a study date in the 2000s both compare equal.
        years = [century + int(groups["yy"]) for century in (1900, 2000)] if groups.get("yy") else [int(groups["y"])]
        candidates = [_date(year, month, day) for year in years]
    elif groups.get("a"):
        year, a, b = int(groups["y"]), int(groups["a"]), int(groups["b"])
        candidates = [_date(year, b, a), _date(year, a, b)]
    else:
        candidates = [_date(int(groups["y"]), int(groups["m"]), int(groups["d"]))]
    return {c for c in candidates if c is not None}


def iter_dates(text: str) -> Iterator[DateSpan]:
    """Yield every date in ``text`` with all the calendar dates it can denote.

    Spans are yielded per format, not in text order, and never overlap within
    one format.
    """
    for pattern in _PATTERNS:
        for match in pattern.finditer(text):
            readings = _readings(match.groupdict(""))
            if readings:
                yield DateSpan(match.start(), match.end(), frozenset(readings))


class DateDetector:
    """Finds calendar dates in free text; reports them with kind ``"date"``."""

    kind = "date"

    def find(self, text: str) -> Iterator[Finding]:
        """Yield a finding for each valid date in ``text``."""
        for span in iter_dates(text):
            yield Finding(span.start, span.end, self.kind)
