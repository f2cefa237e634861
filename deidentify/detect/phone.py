"""Telephone numbers in international (``+44 20 7946 0958``) and national formats.

Whether digits are a telephone number is decided by the ``phonenumbers``
library (Google's libphonenumber metadata: every country's numbering plan, kept
up to date upstream): a number written with its country code must be a valid
number of that country; one written without must be valid in one of
:data:`REGIONS` where it is written that way (with or without a trunk 0).
A number right after a cue (``Tel``, ``phone``, ``fax``, ``call`` ...) needs
only the length of a phone number, as an internal, new or fictional number can
be a valid contact all the same.

Free text in imaging headers is full of digit groups that are not phone
numbers (dates, UIDs, decimals, matrix sizes, dose values) and some of those are
valid numbers somewhere, so the candidates are still cut by shape first:
a token of digit groups, not inside a UID or a range, not followed by a unit,
not a date, a range or an SSN, and an unbroken run of digits only after a cue.
The library is asked about each candidate (not ``PhoneNumberMatcher`` over
the whole text, which costs ~0.15 ms per text and region) and its answers are
cached, since a hospital's numbers recur in every file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

import phonenumbers

from .base import Finding
from .national_id import digit_count

#: Regions whose national formats (without ``+CC``) are recognised: those of the
#: national identifiers in :mod:`.national_id` and Japan, whose patients the sample has.
REGIONS = ("US", "CA", "GB", "FR", "DE", "IN", "ZA", "NL", "BE", "SE", "DK", "NO", "FI", "ES", "IT",
           "BR", "CN", "AU", "CH", "AT", "IE", "JP")


def _national_prefix(region: str) -> str | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return metadata.national_prefix if metadata is not None else None


# phonenumbers parses a national number with or without its trunk prefix, so
# "555 010 9999" is "valid" in Britain and Germany as 55 5010 9999; a number is
# therefore checked only against the regions where it is written that way: with
# a leading 0 where the trunk prefix is 0 (and Italy, whose numbers keep their 0),
# without one where there is no trunk 0, in Brazil, whose area codes are written
# without it, and for mobiles of India and China, which are written without it.
_REGIONS_WITH_0 = tuple(r for r in REGIONS if _national_prefix(r) == "0") + ("IT",)
_REGIONS_WITHOUT_0 = tuple(r for r in REGIONS if _national_prefix(r) not in ("0", "1")) + ("US", "CA", "BR")
_MOBILES_WITHOUT_0 = ("IN", "CN")
_MOBILE = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)

_CANDIDATE = re.compile(
    r"""
    (?<![\w+])(?<!\d[./-])          # start of a token, not inside a UID or a range
    (?:
        (?P<intl>\+\d{1,3}(?:[ .-]?\(0\))?(?:[ .-]?(?:\(\d{1,5}\)|\d{1,5})){1,6})
      | (?P<paren>\(\d{2,5}\)[ .-]?\d{2,5}(?:[ .-]\d{2,5}){0,2})
      | (?P<plain>\d{2,6}(?P<sep>[ .-])\d{2,8}(?:(?P=sep)\d{2,8}){0,3})
      | (?P<bare>\d{7,15})
    )
    (?!\w|[./-]\d)
    """,
    re.VERBOSE,
)

# A phone cue right before a number: "Tel.", "phone:", "Fax no.", "call", "mobile #".
_CUE_BEFORE = re.compile(
    r"(?i:\b(?:tel(?:ephone)?|phone|ph|fax|mob(?:ile)?|cell(?:phone)?|call(?:ed|s)?|contact|pager|bleep))"
    r"\.?\s*(?i:no\.?|nr\.?|number|#)?\s*[:.]?\s*$"
    r"|(?i:\b[tfm])\s*:\s*$"  # "T: 020 ...", "M: 07700 ..." in a signature
)
_CUE_WINDOW = 24  # characters before a candidate searched for a cue

# Digit groups followed by a unit are a measurement ("512 512 1024 px" has the NANP layout).
_UNIT_AFTER = re.compile(
    r"\s*(?:mm|cm|km|um|µm|ml|cc|mg|kg|g|mgy|gy|msv|sv|hu|kv|kvp|ma|mas|ms|s|min|h|hrs?"
    r"|hz|mhz|t|px|pixels?|slices?|images?|frames?|bpm|mmhg|%)(?!\w)",
    re.IGNORECASE,
)

_MIN_DIGITS = 7
_MAX_DIGITS = 15  # E.164 maximum, country code included
_MIN_INTERNATIONAL_DIGITS = 8
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


def _plain_may_be_phone(groups: tuple[str, ...], sep: str) -> bool:
    """False for unprefixed digit groups that are something else: a date, a range, an SSN, an address."""
    if _looks_like_date(groups):
        return False
    layout = tuple(len(g) for g in groups)
    if sep == "-" and len(groups) == 2:
        # Two dashed groups are usually a range ("1000-2000"); keep the North American
        # local number layout 555-0199 and area codes with a trunk 0 (010-12345678).
        return layout == (3, 4) or groups[0].startswith("0")
    if sep == "." and len(groups) == 4 and max(layout) <= 3:
        return False  # an IPv4 address
    # 123-45-6789 is the SSN layout, which no numbering plan writes this way.
    return layout != _SSN_LAYOUT


@lru_cache(maxsize=4096)
def _is_valid_number(candidate: str, international: bool) -> bool:
    """Whether phonenumbers calls ``candidate`` a valid number (of any country, or of one of REGIONS)."""
    try:
        if international:
            return phonenumbers.is_valid_number(phonenumbers.parse(candidate, None))
        if candidate.lstrip("(").startswith("0"):
            return any(phonenumbers.is_valid_number(phonenumbers.parse(candidate, r)) for r in _REGIONS_WITH_0)
        if any(phonenumbers.is_valid_number(phonenumbers.parse(candidate, r)) for r in _REGIONS_WITHOUT_0):
            return True
        for region in _MOBILES_WITHOUT_0:
            number = phonenumbers.parse(candidate, region)
            if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in _MOBILE:
                return True
    except phonenumbers.NumberParseException:
        pass
    return False


class PhoneDetector:
    """Finds telephone numbers; reports them with kind ``"phone"``.

    Reported: ``+CC`` numbers valid in their country (``+44 20 7946 0958``,
    ``+44 (0)20 7946 0958``, ``+4420 7946 0958``); grouped national numbers
    valid in one of :data:`REGIONS` (``(212) 555-0123``, ``020 7946 0958``,
    ``01 23 45 67 89``, ``0511 5550123``); and, right after a cue such as
    ``Tel``, any of these shapes or an unbroken run with 7-15 digits
    (``Tel 555-0199``, ``phone: 02079460958``).  Unbroken digit runs without a
    cue are never reported: without formatting they are indistinguishable from
    dates, IDs and counters.
    """

    kind = "phone"

    def find(self, text: str) -> Iterator[Finding]:
        """Yield a finding for each phone number in ``text``."""
        if digit_count(text) < _MIN_DIGITS:
            return
        for match in _CANDIDATE.finditer(text):
            if _UNIT_AFTER.match(text, match.end()):
                continue
            candidate = match.group()
            digits = sum(c.isdigit() for c in candidate)
            cued = _CUE_BEFORE.search(text, max(0, match.start() - _CUE_WINDOW), match.start()) is not None
            if match.group("intl"):
                # "(0)" is the optional trunk prefix, not part of the E.164 number.
                digits -= candidate.count("(0)")
                if not _MIN_INTERNATIONAL_DIGITS <= digits <= _MAX_DIGITS:
                    continue
                ok = cued or _is_valid_number(candidate, True)
            elif not _MIN_DIGITS <= digits <= _MAX_DIGITS:
                continue
            elif match.group("bare"):
                ok = cued
            elif match.group("plain"):
                groups = tuple(candidate.split(match.group("sep")))
                if not _plain_may_be_phone(groups, match.group("sep")):
                    ok = False
                elif len(groups) == 2 and not candidate.startswith("0") and (digits < 10 or match.group("sep") == "."):
                    # "1234 5678", "1234.5678": valid in some eight-digit plan, but as often
                    # two values or a decimal; and "555-0199" has no area code to check.
                    ok = cued
                else:
                    ok = cued or _is_valid_number(candidate, False)
            else:
                ok = cued or _is_valid_number(candidate, False)
            if ok:
                yield Finding(match.start(), match.end(), self.kind)
