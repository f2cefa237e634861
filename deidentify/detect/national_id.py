"""National identifiers recognised by their structure and check digits.

Each identifier comes with three public pieces:

* ``is_valid_<id>(digits)`` -- the pure rule check on the compact form (no
  spaces or dashes); it never raises.
* ``make_<id>(rng)`` -- a random *valid* number in compact form, for tests and
  synthetic sample data.
* a detector class that finds the number in free text, written compact or in
  its usual grouped layout, and reports only candidates that pass the rules.

A random digit string passes a check digit scheme with probability ~1/10
(1/11 for NHS, 1/100 for NIR); the structural rules (valid dates, excluded
prefixes) lower that further.  The US SSN has no check digit, so a bare nine
digit run is only reported when the text says it is an SSN.
"""

from __future__ import annotations

import calendar
import random
import re
from collections.abc import Iterator
from datetime import date
from typing import ClassVar

from .base import Finding

# A number must stand alone: not be glued to letters, nor be a fragment of a
# longer dotted/dashed number such as a UID or a range.
_BEFORE = r"(?<![\w.])(?<!\d[./-])"
_AFTER = r"(?!\w|[./-]\d)"


def _is_digits(value: str, length: int) -> bool:
    return len(value) == length and value.isascii() and value.isdigit()


def _luhn_sum(digits: str) -> int:
    """Luhn sum of ``digits`` whose last digit is the check digit (0 when valid)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10


def _luhn_complete(payload: str) -> str:
    """``payload`` followed by the Luhn check digit that makes it valid."""
    return payload + str((10 - _luhn_sum(payload + "0")) % 10)


_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_VERHOEFF_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def _verhoeff_state(digits: str, offset: int) -> int:
    state = 0
    for position, char in enumerate(reversed(digits)):
        state = _VERHOEFF_D[state][_VERHOEFF_P[(position + offset) % 8][int(char)]]
    return state


def _verhoeff_complete(payload: str) -> str:
    """``payload`` followed by the Verhoeff check digit that makes it valid."""
    # offset 1: the payload digits sit one place further left once the check digit is appended.
    return payload + str(_VERHOEFF_INV[_verhoeff_state(payload, 1)])


def _random_digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


# --- US Social Security Number ------------------------------------------------


def is_valid_ssn(digits: str) -> bool:
    """True if ``digits`` (9 digits) is an assignable US SSN.

    Rejects area 000, 666 and 900-999, group 00 and serial 0000 (never issued).
    There is no check digit, so most 9-digit strings pass.
    """
    if not _is_digits(digits, 9):
        return False
    area, group, serial = int(digits[:3]), digits[3:5], digits[5:]
    return 0 < area < 900 and area != 666 and group != "00" and serial != "0000"


def make_ssn(rng: random.Random) -> str:
    """A random valid SSN, 9 digits without separators."""
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"


# --- UK NHS number -------------------------------------------------------------


def _nhs_check_digit(payload: str) -> int | None:
    """Mod 11 check digit of the first nine digits; None when no valid one exists."""
    remainder = sum(int(c) * w for c, w in zip(payload, range(10, 1, -1), strict=True)) % 11
    check = (11 - remainder) % 11
    return None if check == 10 else check


def is_valid_nhs(digits: str) -> bool:
    """True if ``digits`` (10 digits) is an NHS number with a correct mod 11 check digit."""
    return _is_digits(digits, 10) and _nhs_check_digit(digits[:9]) == int(digits[9])


def make_nhs(rng: random.Random) -> str:
    """A random valid NHS number, 10 digits without separators."""
    while True:
        payload = _random_digits(rng, 9)
        check = _nhs_check_digit(payload)
        if check is not None:
            return f"{payload}{check}"


# --- India Aadhaar ---------------------------------------------------------------


def is_valid_aadhaar(digits: str) -> bool:
    """True if ``digits`` (12 digits) is an Aadhaar number.

    The first digit is 2-9 and the last is a Verhoeff check digit.
    """
    return _is_digits(digits, 12) and digits[0] not in "01" and _verhoeff_state(digits, 0) == 0


def make_aadhaar(rng: random.Random) -> str:
    """A random valid Aadhaar number, 12 digits without separators."""
    return _verhoeff_complete(rng.choice("23456789") + _random_digits(rng, 10))


# --- South Africa identity number ----------------------------------------------------


def _is_yymmdd(value: str) -> bool:
    """True if ``value`` is a calendar date in the 1900s or the 2000s."""
    year, month, day = int(value[:2]), int(value[2:4]), int(value[4:6])
    if not 1 <= month <= 12:
        return False
    longest = max(calendar.monthrange(century + year, month)[1] for century in (1900, 2000))
    return 1 <= day <= longest


def is_valid_za_id(digits: str) -> bool:
    """True if ``digits`` (13 digits, ``YYMMDD SSSS C A Z``) is a South African ID number.

    ``YYMMDD`` must be a real date (in either century), the citizenship digit
    ``C`` 0 (citizen), 1 (permanent resident) or 2 (refugee), and ``Z`` a Luhn
    check digit over the whole number.
    """
    return (
        _is_digits(digits, 13)
        and _is_yymmdd(digits[:6])
        and digits[10] in "012"
        and _luhn_sum(digits) == 0
    )


def make_za_id(
    rng: random.Random, *, birth_date: date | None = None, sex: str | None = None
) -> str:
    """A random valid South African ID number, 13 digits without separators.

    ``birth_date`` fixes the ``YYMMDD`` part (otherwise a random date in
    1920-2019), and ``sex`` (``"F"`` or ``"M"``) the gender sequence ``SSSS``:
    0000-4999 for women, 5000-9999 for men (otherwise any four digits).
    """
    if sex not in (None, "F", "M"):
        raise ValueError(f"sex must be 'F' or 'M', not {sex!r}")
    if birth_date is None:
        year = rng.randint(1920, 2019)
        month = rng.randint(1, 12)
        birth_date = date(year, month, rng.randint(1, calendar.monthrange(year, month)[1]))
    if sex is None:
        sequence = _random_digits(rng, 4)
    else:
        sequence = f"{rng.randint(0, 4999) if sex == 'F' else rng.randint(5000, 9999):04d}"
    payload = f"{birth_date:%y%m%d}{sequence}{rng.choice('01')}8"
    return _luhn_complete(payload)


# --- French NIR (numéro de sécurité sociale) -------------------------------------------

# Corsica's departments 2A and 2B are replaced by 19 and 18 to compute the key.
_CORSICA = {"2A": "19", "2B": "18"}


def _nir_key(first13: str) -> int:
    numeric = first13[:5] + _CORSICA.get(first13[5:7], first13[5:7]) + first13[7:]
    return 97 - int(numeric) % 97


def is_valid_nir(digits: str) -> bool:
    """True if ``digits`` (15 characters) is a French NIR.

    Layout ``S YY MM DD CCC OOO KK``: sex digit 1, 2 (or 3, 4, 7, 8 for
    provisional numbers), month 01-12 (20-42 and 50-99 are used when the month
    is unknown), department two digits or ``2A``/``2B`` (Corsica, either case),
    and key ``KK = 97 - (first 13 digits mod 97)``.
    """
    value = digits.upper()
    if len(value) != 15 or not value.isascii():
        return False
    department = value[5:7]
    if not (department.isdigit() or department in _CORSICA):
        return False
    if not (value[:5] + value[7:]).isdigit():
        return False
    month = int(value[3:5])
    if value[0] not in "123478" or not (1 <= month <= 12 or 20 <= month <= 42 or month >= 50):
        return False
    return _nir_key(value[:13]) == int(value[13:])


def make_nir(rng: random.Random) -> str:
    """A random valid NIR, 15 characters without separators (Corsica included)."""
    department = rng.choice([f"{d:02d}" for d in range(1, 96) if d != 20] + list(_CORSICA))
    first13 = (
        f"{rng.choice('12')}{rng.randint(0, 99):02d}{rng.randint(1, 12):02d}"
        f"{department}{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
    )
    return f"{first13}{_nir_key(first13):02d}"


# --- Canadian Social Insurance Number --------------------------------------------------


def is_valid_sin(digits: str) -> bool:
    """True if ``digits`` (9 digits) is a Canadian SIN: Luhn valid, first digit not 0 or 8."""
    return _is_digits(digits, 9) and digits[0] not in "08" and _luhn_sum(digits) == 0


def make_sin(rng: random.Random) -> str:
    """A random valid SIN, 9 digits without separators."""
    return _luhn_complete(rng.choice("12345679") + _random_digits(rng, 7))


# --- Detectors ------------------------------------------------------------------------


def _compact(number: str) -> str:
    return re.sub(r"[\s.-]", "", number)


class _PatternDetector:
    """Reports every ``number`` group of ``_pattern`` whose compact form passes ``_validate``."""

    kind: ClassVar[str]
    _pattern: ClassVar[re.Pattern[str]]

    @staticmethod
    def _validate(digits: str) -> bool:
        """Whether ``digits`` (separators removed) is a valid number; each subclass names its check."""
        raise NotImplementedError

    def find(self, text: str) -> Iterator[Finding]:
        """Yield a finding for each valid identifier in ``text``."""
        for match in self._pattern.finditer(text):
            if self._validate(_compact(match.group("number"))):
                yield Finding(match.start("number"), match.end("number"), self.kind)


class SsnDetector:
    """US Social Security Numbers, kind ``"us-ssn"``.

    ``123-45-6789`` and ``123 45 6789`` are reported on their own; a bare
    ``123456789`` only right after a label such as ``SSN``, ``SS#`` or
    ``social security number``, since any nine digit count or ID would pass.
    """

    kind = "us-ssn"
    _patterns = (
        re.compile(_BEFORE + r"(?P<number>\d{3}(?P<sep>[ -])\d{2}(?P=sep)\d{4})" + _AFTER),
        re.compile(
            r"(?i:\b(?:ssn|ss\s?\#|ss\s?no\.?|social\s+security(?:\s+(?:number|no\.?|\#))?))"
            r"\s*[:#]?\s*(?P<number>\d{9})" + _AFTER
        ),
    )

    def find(self, text: str) -> Iterator[Finding]:
        """Yield a finding for each valid SSN in ``text``."""
        for pattern in self._patterns:
            for match in pattern.finditer(text):
                if is_valid_ssn(_compact(match.group("number"))):
                    yield Finding(match.start("number"), match.end("number"), self.kind)


class NhsDetector(_PatternDetector):
    """UK NHS numbers, kind ``"uk-nhs"``: ``943 476 5919``, ``943-476-5919`` or ``9434765919``."""

    kind = "uk-nhs"
    _pattern = re.compile(_BEFORE + r"(?P<number>\d{3}(?P<sep>[ -]?)\d{3}(?P=sep)\d{4})" + _AFTER)
    _validate = staticmethod(is_valid_nhs)


class AadhaarDetector(_PatternDetector):
    """India Aadhaar numbers, kind ``"in-aadhaar"``: ``2345 6789 0124`` or unbroken."""

    kind = "in-aadhaar"
    _pattern = re.compile(
        _BEFORE + r"(?P<number>[2-9]\d{3}(?P<sep>[ -]?)\d{4}(?P=sep)\d{4})" + _AFTER
    )
    _validate = staticmethod(is_valid_aadhaar)


class ZaIdDetector(_PatternDetector):
    """South African ID numbers, kind ``"za-id"``: ``8001015009087`` or ``800101 5009 087``."""

    kind = "za-id"
    _pattern = re.compile(_BEFORE + r"(?P<number>\d{6}(?P<sep>[ -]?)\d{4}(?P=sep)\d{3})" + _AFTER)
    _validate = staticmethod(is_valid_za_id)


class NirDetector(_PatternDetector):
    """French NIR, kind ``"fr-nir"``.

    ``2 95 10 99 126 111 93``, ``295109912611193`` and Corsican numbers such as
    ``2 53 07 2B 073 004 70``.
    """

    kind = "fr-nir"
    _pattern = re.compile(
        _BEFORE
        + r"(?P<number>[1-478](?P<sep>[ .]?)\d{2}(?P=sep)\d{2}(?P=sep)(?:\d{2}|2[ABab])"
        r"(?P=sep)\d{3}(?P=sep)\d{3}(?P=sep)?\d{2})"
        + _AFTER
    )
    _validate = staticmethod(is_valid_nir)


class SinDetector(_PatternDetector):
    """Canadian Social Insurance Numbers, kind ``"ca-sin"``: ``130 692 544`` or unbroken."""

    kind = "ca-sin"
    _pattern = re.compile(
        _BEFORE + r"(?P<number>[1-79]\d{2}(?P<sep>[ -]?)\d{3}(?P=sep)\d{3})" + _AFTER
    )
    _validate = staticmethod(is_valid_sin)
