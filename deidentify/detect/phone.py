"""Telephone numbers in international (``+44 20 7946 0958``) and national formats.

Free text in imaging headers is full of digit groups that are not phone
numbers: dates, UIDs, decimals, matrix sizes, dose values.  A candidate is
therefore only accepted when its *shape* is typical of a phone number, not
merely when it has enough digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .base import Finding

_CANDIDATE = re.compile(
    r"""
    (?<![\w+])(?<!\d[./-])          # start of a token, not inside a UID or a range
    (?:
        (?P<intl>\+\d{1,3}(?:[ .-]?\(0\))?(?:[ .-]?(?:\(\d{1,5}\)|\d{1,5})){1,6})
      | (?P<paren>\(\d{2,5}\)[ .-]?\d{2,5}(?:[ .-]\d{2,5}){0,2})
      | (?P<plain>\d{2,6}(?P<sep>[ .-])\d{2,6}(?:(?P=sep)\d{2,6}){0,3})
    )
    (?!\w|[./-]\d)
    """,
    re.VERBOSE,
)

# Digit groups followed by a unit are a measurement ("512 512 1024 px" has the NANP layout).
_UNIT_AFTER = re.compile(
    r"\s*(?:mm|cm|km|um|µm|ml|cc|mg|kg|g|mgy|gy|msv|sv|hu|kv|kvp|ma|mas|ms|s|min|h|hrs?"
    r"|hz|mhz|t|px|pixels?|slices?|images?|frames?|bpm|mmhg|%)(?!\w)",
    re.IGNORECASE,
)

_MIN_DIGITS = 7
_MAX_DIGITS = 15  # E.164 maximum, country code included
_MIN_INTERNATIONAL_DIGITS = 8
_NANP_LAYOUT = (3, 3, 4)
_LOCAL_LAYOUT = (3, 4)
_SSN_LAYOUT = (3, 2, 4)


def _looks_like_date(groups: tuple[str, ...]) -> bool:
    """True for ``2024-01-31`` / ``31.01.2024`` shaped groups with plausible month and day."""
    layout = tuple(len(g) for g in groups)
    if layout == (4, 2, 2):
        month, day = int(groups[1]), int(groups[2])
        return 1 <= month <= 12 and 1 <= day <= 31
    if layout == (2, 2, 4):
        a, b = int(groups[0]), int(groups[1])
        return (1 <= a <= 31 and 1 <= b <= 12) or (1 <= a <= 12 and 1 <= b <= 31)
    return False


def _plain_is_phone(groups: tuple[str, ...], sep: str) -> bool:
    """Decide whether unprefixed digit groups joined by ``sep`` are a phone number."""
    if _looks_like_date(groups):
        return False
    layout = tuple(len(g) for g in groups)
    if sep == "-":
        if len(groups) == 2:
            # Two dashed groups are usually a range ("1000-2000"); keep only the
            # North American local number layout 555-0199.
            return layout == _LOCAL_LAYOUT
        # 123-45-6789 is the SSN layout, which no numbering plan writes this way.
        return layout != _SSN_LAYOUT
    # Space or dot separated number lists ("512 512 120", IP addresses) are common
    # in headers; accept only a trunk prefix (020 7946 0958) or the NANP 3-3-4 layout.
    return groups[0].startswith("0") or layout == _NANP_LAYOUT


class PhoneDetector:
    """Finds telephone numbers; reports them with kind ``"phone"``.

    Accepted shapes: ``+CC`` followed by digit groups (``+1 555 010 9999``,
    ``+44 (0)20 7946 0958``), a parenthesised area code (``(555) 010-9999``),
    dash-separated groups (``555-0199``, ``03-1234-5678``) and space- or
    dot-separated groups that start with a trunk ``0`` (``020 7946 0958``) or
    follow the North American 3-3-4 layout.  Unseparated digit runs are never reported: without
    formatting they are indistinguishable from dates, IDs and counters.
    """

    kind = "phone"

    def find(self, text: str) -> Iterator[Finding]:
        """Yield a finding for each phone number in ``text``."""
        for match in _CANDIDATE.finditer(text):
            if _UNIT_AFTER.match(text, match.end()):
                continue
            digits = sum(c.isdigit() for c in match.group())
            if match.group("intl"):
                # "(0)" is the optional trunk prefix, not part of the E.164 number.
                digits -= match.group("intl").count("(0)")
                ok = _MIN_INTERNATIONAL_DIGITS <= digits <= _MAX_DIGITS
            elif match.group("paren"):
                ok = _MIN_DIGITS <= digits <= _MAX_DIGITS
            else:
                sep = match.group("sep")
                ok = _MIN_DIGITS <= digits <= _MAX_DIGITS and _plain_is_phone(
                    tuple(match.group("plain").split(sep)), sep
                )
            if ok:
                yield Finding(match.start(), match.end(), self.kind)
