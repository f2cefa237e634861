"""National identifiers recognised by their structure and check digits.

The rules come from python-stdnum (``stdnum.<country>.<id>.is_valid``), which
follows each issuing authority's current rules and is kept up to date; this
module adds what a detector in free text needs on top of them: the layouts
people write the numbers in, the cues that must precede numbers with too weak a
check to stand alone, and a few rules stdnum leaves out (noted where used).

Each identifier comes with three public pieces:

* ``is_valid_<id>(value)`` -- the rule check on the compact form (no spaces or
  dashes, ASCII only); it never raises.
* ``make_<id>(rng)`` -- a random *valid* number in compact form, for tests and
  synthetic sample data (check digits from stdnum's own helpers).
* a detector class that finds the number in free text, written compact or in
  its usual grouped layout, and reports only candidates that pass the rules.

A random digit string passes a check digit scheme with probability ~1/10
(1/11 for NHS and BSN, 1/23 for DNI/NIE, 1/26 for the codice fiscale, 1/31 for
HETU, ~1/100 for NIR, the Belgian number, the fødselsnummer and the CPF); the
structural rules (valid dates, excluded prefixes) lower that further.  The US
SSN and the Danish CPR have no check digit, and the Dutch BSN's is weak and
shares its nine digits with the SSN and SIN: those are reported bare only when
the text names them (``SSN``, ``CPR``, ``BSN`` ...).
"""

from __future__ import annotations

import calendar
import random
import re
from collections.abc import Iterator
from datetime import date
from functools import lru_cache
from typing import ClassVar

from stdnum import luhn, verhoeff
from stdnum.be import nn as be_nn
from stdnum.br import cpf as br_cpf
from stdnum.ca import sin as ca_sin
from stdnum.cn import ric as cn_ric
from stdnum.de import idnr as de_idnr
from stdnum.dk import cpr as dk_cpr
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.fi import hetu as fi_hetu
from stdnum.fr import nir as fr_nir
from stdnum.gb import nhs as gb_nhs
from stdnum.in_ import aadhaar as in_aadhaar
from stdnum.iso7064 import mod_11_10
from stdnum.it import codicefiscale as it_codicefiscale
from stdnum.nl import bsn as nl_bsn
from stdnum.no import fodselsnummer as no_fodselsnummer
from stdnum.se import personnummer as se_personnummer
from stdnum.us import ssn as us_ssn
from stdnum.za import idnr as za_idnr

from .base import Finding

# A number must stand alone: not be glued to letters, nor be a fragment of a
# longer dotted/dashed number such as a UID or a range.
_BEFORE = r"(?<![\w.])(?<!\d[./-])"
_AFTER = r"(?!\w|[./-]\d)"


def _is_ascii_alnum(value: str, length: int, digits_only: bool = True) -> bool:
    """``value`` is ``length`` ASCII characters (digits only unless told otherwise).

    stdnum's own clean-up maps full-width digits and odd dashes to ASCII; the
    validators here take the compact form exactly as the detectors cut it.
    """
    if len(value) != length or not value.isascii():
        return False
    return value.isdigit() if digits_only else value.isalnum()


def _random_digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _random_birth_date(rng: random.Random, first: int = 1920, last: int = 1999) -> date:
    year = rng.randint(first, last)
    month = rng.randint(1, 12)
    return date(year, month, rng.randint(1, calendar.monthrange(year, month)[1]))


# --- US Social Security Number ------------------------------------------------


def is_valid_ssn(digits: str) -> bool:
    """True if ``digits`` (9 digits) is an assignable US SSN (``stdnum.us.ssn``).

    Rejects area 000, 666 and 900-999, group 00 and serial 0000 (never issued),
    and the three numbers stdnum lists as published in advertising (078-05-1120 ...).
    There is no check digit, so most 9-digit strings pass.
    """
    return _is_ascii_alnum(digits, 9) and us_ssn.is_valid(digits)


def make_ssn(rng: random.Random) -> str:
    """A random valid SSN, 9 digits without separators."""
    while True:
        area = rng.choice([a for a in range(1, 900) if a != 666])
        number = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
        if is_valid_ssn(number):  # skips stdnum's three advertising numbers
            return number


# --- UK NHS number -------------------------------------------------------------


def is_valid_nhs(digits: str) -> bool:
    """True if ``digits`` (10 digits) is an NHS number with a correct mod 11 check digit (``stdnum.gb.nhs``)."""
    return _is_ascii_alnum(digits, 10) and gb_nhs.is_valid(digits)


def make_nhs(rng: random.Random) -> str:
    """A random valid NHS number, 10 digits without separators."""
    while True:
        payload = _random_digits(rng, 9)
        # The weighted sum of all ten digits is 0 mod 11; no digit makes it so when the payload's is 1.
        check = -gb_nhs.checksum(payload + "0") % 11
        if check < 10:
            return f"{payload}{check}"


# --- India Aadhaar ---------------------------------------------------------------


def is_valid_aadhaar(digits: str) -> bool:
    """True if ``digits`` (12 digits) is an Aadhaar number (``stdnum.in_.aadhaar``).

    The first digit is 2-9, the number is no palindrome and the last digit is a
    Verhoeff check digit.
    """
    return _is_ascii_alnum(digits, 12) and in_aadhaar.is_valid(digits)


def make_aadhaar(rng: random.Random) -> str:
    """A random valid Aadhaar number, 12 digits without separators."""
    payload = rng.choice("23456789") + _random_digits(rng, 10)
    number = payload + verhoeff.calc_check_digit(payload)
    if number == number[::-1]:  # never issued: change the last payload digit (one in a million)
        payload = payload[:-1] + str((int(payload[-1]) + 1) % 10)
        number = payload + verhoeff.calc_check_digit(payload)
    return number


# --- South Africa identity number ----------------------------------------------------


def is_valid_za_id(digits: str) -> bool:
    """True if ``digits`` (13 digits, ``YYMMDD SSSS C A Z``) is a South African ID number.

    ``YYMMDD`` must be a real date, the citizenship digit ``C`` 0 (citizen),
    1 (permanent resident) or 2 (refugee), and ``Z`` a Luhn check digit over
    the whole number.  ``stdnum.za.idnr`` knows only 0 and 1, so the refugee
    numbers are checked with its date rule and ``stdnum.luhn``.
    """
    if not _is_ascii_alnum(digits, 13) or digits[10] not in "012":
        return False
    if digits[10] != "2":
        return za_idnr.is_valid(digits)
    try:
        za_idnr.get_birth_date(digits)
    except ValueError:  # stdnum's InvalidComponent is a ValueError
        return False
    return luhn.is_valid(digits)


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
        birth_date = _random_birth_date(rng, 1920, 2019)
    if sex is None:
        sequence = _random_digits(rng, 4)
    else:
        sequence = f"{rng.randint(0, 4999) if sex == 'F' else rng.randint(5000, 9999):04d}"
    payload = f"{birth_date:%y%m%d}{sequence}{rng.choice('01')}8"
    return payload + luhn.calc_check_digit(payload)


# --- French NIR (numéro de sécurité sociale) -------------------------------------------

_CORSICA = ("2A", "2B")


def is_valid_nir(digits: str) -> bool:
    """True if ``digits`` (15 characters) is a French NIR.

    Layout ``S YY MM DD CCC OOO KK``; ``stdnum.fr.nir`` checks the characters,
    the Corsican departments ``2A``/``2B`` (either case) and the key
    ``KK = 97 - (first 13 digits mod 97)``.  It does not check the sex digit
    and the month, which are checked here: sex 1, 2 (or 3, 4, 7, 8 for
    provisional numbers), month 01-12 (20-42 and 50-99 are used when the month
    is unknown).
    """
    value = digits.upper()
    if not _is_ascii_alnum(value, 15, digits_only=False) or not value[1:5].isdigit():
        return False
    month = int(value[3:5])
    if value[0] not in "123478" or not (1 <= month <= 12 or 20 <= month <= 42 or month >= 50):
        return False
    return fr_nir.is_valid(value)


def make_nir(rng: random.Random) -> str:
    """A random valid NIR, 15 characters without separators (Corsica included)."""
    department = rng.choice([f"{d:02d}" for d in range(1, 96) if d != 20] + list(_CORSICA))
    first13 = (
        f"{rng.choice('12')}{rng.randint(0, 99):02d}{rng.randint(1, 12):02d}"
        f"{department}{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
    )
    return first13 + fr_nir.calc_check_digits(first13)


# --- Canadian Social Insurance Number --------------------------------------------------


def is_valid_sin(digits: str) -> bool:
    """True if ``digits`` (9 digits) is a Canadian SIN: Luhn valid, first digit not 0 or 8 (``stdnum.ca.sin``)."""
    return _is_ascii_alnum(digits, 9) and ca_sin.is_valid(digits)


def make_sin(rng: random.Random) -> str:
    """A random valid SIN, 9 digits without separators."""
    payload = rng.choice("12345679") + _random_digits(rng, 7)
    return payload + luhn.calc_check_digit(payload)


# --- German tax identification number (Steuer-ID) ------------------------------------------


def is_valid_de_idnr(digits: str) -> bool:
    """True if ``digits`` (11 digits) is a German Steuer-ID (``stdnum.de.idnr``).

    First digit not 0; in the first ten digits exactly one digit appears twice
    or three times and no other repeats; ISO 7064 mod 11,10 check digit.  About
    3 in 1,000 random eleven-digit strings pass.
    """
    return _is_ascii_alnum(digits, 11) and de_idnr.is_valid(digits)


def make_de_idnr(rng: random.Random) -> str:
    """A random valid Steuer-ID, 11 digits without separators."""
    digits = rng.sample("0123456789", 9)
    digits.insert(rng.randrange(10), rng.choice(digits))
    if digits[0] == "0":  # the first digit is never 0: swap it with the first that is not
        other = next(i for i, d in enumerate(digits) if d != "0")
        digits[0], digits[other] = digits[other], digits[0]
    payload = "".join(digits)
    return payload + mod_11_10.calc_check_digit(payload)


# --- Dutch citizen service number (BSN) -----------------------------------------------------


def is_valid_nl_bsn(digits: str) -> bool:
    """True if ``digits`` (9 digits) passes the BSN 11-test (``stdnum.nl.bsn``)."""
    return _is_ascii_alnum(digits, 9) and nl_bsn.is_valid(digits)


def make_nl_bsn(rng: random.Random) -> str:
    """A random valid BSN, 9 digits without separators."""
    while True:
        payload = rng.choice("123456789") + _random_digits(rng, 7)
        # The check digit enters the 11-test with weight -1.
        check = nl_bsn.checksum(payload + "0")
        if check < 10:
            return f"{payload}{check}"


# --- Belgian national register number --------------------------------------------------------


def is_valid_be_nn(digits: str) -> bool:
    """True if ``digits`` (11 digits, ``YYMMDD SSS CC``) is a Belgian national number (``stdnum.be.nn``).

    ``CC = 97 - (YYMMDDSSS mod 97)``, with a 2 in front for births from 2000,
    and a month 00-12 (00 and day 00 when the date was unknown).
    """
    return _is_ascii_alnum(digits, 11) and be_nn.is_valid(digits)


def make_be_nn(rng: random.Random) -> str:
    """A random valid Belgian national number, 11 digits without separators."""
    born = _random_birth_date(rng, 1920, 2019)
    payload = f"{born:%y%m%d}{rng.randint(1, 997):03d}"
    base = int(("2" if born.year >= 2000 else "") + payload)
    return f"{payload}{97 - base % 97:02d}"


# --- Swedish personal identity number (personnummer) -----------------------------------------


def is_valid_se_personnummer(value: str) -> bool:
    """True if ``value`` (``YYMMDDNNNC``, ``YYYYMMDDNNNC`` or ``YYMMDD+NNNC``) is a Swedish personnummer.

    ``stdnum.se.personnummer``: a real birth date and a Luhn check digit over the
    last ten digits (``+`` marks a person aged 100 or more).
    """
    if len(value) == 11 and value[6] == "+":
        return _is_ascii_alnum(value[:6] + value[7:], 10) and se_personnummer.is_valid(value)
    return (_is_ascii_alnum(value, 10) or _is_ascii_alnum(value, 12)) and se_personnummer.is_valid(value)


def make_se_personnummer(rng: random.Random) -> str:
    """A random valid personnummer, ``YYMMDDNNNC`` (10 digits, born 1920-1999)."""
    payload = f"{_random_birth_date(rng):%y%m%d}{_random_digits(rng, 3)}"
    return payload + luhn.calc_check_digit(payload)


# --- Danish CPR number ----------------------------------------------------------------------


def is_valid_dk_cpr(digits: str) -> bool:
    """True if ``digits`` (10 digits, ``DDMMYYSSSS``) is a Danish CPR number (``stdnum.dk.cpr``).

    Only the birth date is checked (its century from the first sequence digit,
    not in the future): the mod 11 check was dropped in 2007, so the detector
    asks for a cue.
    """
    return _is_ascii_alnum(digits, 10) and dk_cpr.is_valid(digits)


def make_dk_cpr(rng: random.Random) -> str:
    """A random valid CPR number, 10 digits without separators (born 1920-1999)."""
    return f"{_random_birth_date(rng):%d%m%y}{rng.choice('0123')}{_random_digits(rng, 3)}"


# --- Norwegian birth number (fødselsnummer) ---------------------------------------------------


def is_valid_no_fodselsnummer(digits: str) -> bool:
    """True if ``digits`` (11 digits, ``DDMMYY III KK``) is a Norwegian fødselsnummer or D-number.

    ``stdnum.no.fodselsnummer``: two mod 11 check digits and a birth date (its
    century from the individual number ``III``) not in the future.
    """
    return _is_ascii_alnum(digits, 11) and no_fodselsnummer.is_valid(digits)


def make_no_fodselsnummer(rng: random.Random) -> str:
    """A random valid fødselsnummer, 11 digits without separators (born 1920-1999)."""
    born, start = _random_birth_date(rng), rng.randint(0, 499)
    # Some individual numbers have no valid check digit ("10"): take the next that has.
    for individual in (start + i for i in range(500)):
        payload = f"{born:%d%m%y}{individual % 500:03d}"
        first = no_fodselsnummer.calc_check_digit1(payload)
        second = no_fodselsnummer.calc_check_digit2(payload + first)
        if len(first) == 1 and len(second) == 1:
            return payload + first + second
    raise AssertionError("unreachable: most individual numbers have check digits")


# --- Spanish DNI and NIE ----------------------------------------------------------------------


def is_valid_es_dni(value: str) -> bool:
    """True if ``value`` (8 digits and a letter) is a Spanish DNI (``stdnum.es.dni``: mod 23 letter)."""
    return (
        _is_ascii_alnum(value, 9, digits_only=False) and value[:8].isdigit() and es_dni.is_valid(value.upper())
    )


def make_es_dni(rng: random.Random) -> str:
    """A random valid DNI, ``12345678Z``."""
    payload = _random_digits(rng, 8)
    return payload + es_dni.calc_check_digit(payload)


def is_valid_es_nie(value: str) -> bool:
    """True if ``value`` (X, Y or Z, 7 digits, a letter) is a Spanish foreigner's NIE (``stdnum.es.nie``)."""
    return (
        _is_ascii_alnum(value, 9, digits_only=False) and value[1:8].isdigit() and es_nie.is_valid(value.upper())
    )


def make_es_nie(rng: random.Random) -> str:
    """A random valid NIE, ``X1234567L``."""
    payload = rng.choice("XYZ") + _random_digits(rng, 7)
    return payload + es_nie.calc_check_digit(payload)


# --- Italian codice fiscale --------------------------------------------------------------------

_CF_MONTHS = "ABCDEHLMPRST"


def is_valid_it_codicefiscale(value: str) -> bool:
    """True if ``value`` (16 characters) is a person's Italian codice fiscale (``stdnum.it.codicefiscale``).

    Six letters of the name, birth year, month letter and day (+40 for women),
    the place of birth and a check letter; the 11-digit codes of companies are
    not reported.
    """
    return (
        _is_ascii_alnum(value, 16, digits_only=False)
        and value[:6].isalpha()
        and it_codicefiscale.is_valid(value.upper())
    )


def make_it_codicefiscale(rng: random.Random, *, sex: str = "M") -> str:
    """A random valid codice fiscale of a person born 1920-1999."""
    born = _random_birth_date(rng)
    letters = "".join(rng.choice("BCDFGLMNPRSTVZ") for _ in range(3)) + "".join(
        rng.choice("ABCDEFGHILMNOPRSTUVZ") for _ in range(3)
    )
    day = born.day + (40 if sex == "F" else 0)
    place = rng.choice("ABCDEFGHILMZ") + f"{rng.randint(1, 999):03d}"
    payload = f"{letters}{born:%y}{_CF_MONTHS[born.month - 1]}{day:02d}{place}"
    return payload + it_codicefiscale.calc_check_digit(payload)


# --- Brazilian CPF -----------------------------------------------------------------------------


def is_valid_br_cpf(digits: str) -> bool:
    """True if ``digits`` (11 digits) is a Brazilian CPF: two mod 11 check digits (``stdnum.br.cpf``)."""
    return _is_ascii_alnum(digits, 11) and br_cpf.is_valid(digits)


def make_br_cpf(rng: random.Random) -> str:
    """A random valid CPF, 11 digits without separators."""
    payload = rng.choice("123456789") + _random_digits(rng, 8)  # 000000000 has no valid CPF
    # stdnum's check-digit function is private: take the one pair its public rule accepts.
    return next(f"{payload}{check:02d}" for check in range(100) if br_cpf.is_valid(f"{payload}{check:02d}"))


# --- Chinese resident identity card number -----------------------------------------------------


def is_valid_cn_ric(value: str) -> bool:
    """True if ``value`` (17 digits and a digit or X) is a Chinese RIC (``stdnum.cn.ric``).

    ISO 7064 mod 11-2 check character, a real birth date and an administrative
    division that existed in the birth year.
    """
    if not (_is_ascii_alnum(value, 18, digits_only=False) and value[:17].isdigit()):
        return False
    try:
        return cn_ric.is_valid(value.upper())
    except KeyError:  # stdnum 2.2 looks up a county that a province-level code lacks
        return False


def make_cn_ric(rng: random.Random) -> str:
    """A random valid RIC of someone born 1920-1999 in Beijing's Chaoyang district (110105)."""
    payload = f"110105{_random_birth_date(rng):%Y%m%d}{_random_digits(rng, 3)}"
    return payload + cn_ric.calc_check_digit(payload + "0")  # stdnum's helper skips the last character


# --- Finnish personal identity code (HETU) ------------------------------------------------------

_HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def is_valid_fi_hetu(value: str) -> bool:
    """True if ``value`` (``DDMMYYCIIIQ``) is a Finnish HETU (``stdnum.fi.hetu``).

    ``C`` is the century sign (``+``, ``-`` or ``Y X W V U`` for the 1900s,
    ``A``-``F`` for the 2000s), ``III`` an individual number 002-899 and ``Q``
    the mod 31 check character.
    """
    return len(value) == 11 and value.isascii() and fi_hetu.is_valid(value.upper())


def make_fi_hetu(rng: random.Random) -> str:
    """A random valid HETU of someone born 1920-1999, ``131052-308T``."""
    payload = f"{_random_birth_date(rng):%d%m%y}-{rng.randint(2, 899):03d}"
    # stdnum's check function is private: take the one character its public rule accepts.
    return next(payload + c for c in _HETU_CHECK if fi_hetu.is_valid(payload + c))


# --- Detectors ------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s.-]")
_DIGIT = re.compile(r"\d")


@lru_cache(maxsize=64)
def digit_count(text: str) -> int:
    """Digits in ``text``; the detectors (the phone detector too) ask in turn, so it is counted once."""
    return len(_DIGIT.findall(text))


def _after_cue(cues: str, number: str) -> re.Pattern[str]:
    """``number`` right after one of ``cues`` (any case), with ``:``, ``#`` or ``no.``/``nr.`` between."""
    return re.compile(
        r"(?i:\b(?:" + cues + r")(?:[\s-]?(?:no|nr|nummer)\b\.?)?)\s*[:#]?\s*(?P<number>" + number + ")" + _AFTER
    )


def _alone(number: str) -> re.Pattern[str]:
    """``number`` standing alone (not glued to a word, a UID or a range)."""
    return re.compile(_BEFORE + "(?P<number>" + number + ")" + _AFTER)


class _PatternDetector:
    """Reports every ``number`` group of ``_patterns`` whose compact form passes ``_validate``.

    Texts with fewer than ``_min_digits`` digits are passed over before any
    pattern runs: most text values of a header hold no number at all.
    """

    kind: ClassVar[str]
    _patterns: ClassVar[tuple[re.Pattern[str], ...]]
    _min_digits: ClassVar[int]

    @staticmethod
    def _validate(value: str, /) -> bool:
        """Whether ``value`` (separators removed) is a valid number; each subclass names its check."""
        raise NotImplementedError

    @staticmethod
    def _compact(number: str) -> str:
        return _SEPARATORS.sub("", number)

    def find(self, text: str) -> Iterator[Finding]:
        """Yield a finding for each valid identifier in ``text``."""
        if digit_count(text) < self._min_digits:
            return
        seen: set[tuple[int, int]] = set()
        for pattern in self._patterns:
            for match in pattern.finditer(text):
                span = match.span("number")
                if span not in seen and self._validate(self._compact(match.group("number"))):
                    seen.add(span)
                    yield Finding(span[0], span[1], self.kind)


class SsnDetector(_PatternDetector):
    """US Social Security Numbers, kind ``"us-ssn"``.

    ``123-45-6789`` and ``123 45 6789`` are reported on their own; a bare
    ``123456789`` only right after a label such as ``SSN``, ``SS#`` or
    ``social security number``, since any nine digit count or ID would pass.
    """

    kind = "us-ssn"
    _patterns = (
        _alone(r"\d{3}(?P<sep>[ -])\d{2}(?P=sep)\d{4}"),
        re.compile(
            r"(?i:\b(?:ssn|ss\s?\#|ss\s?no\.?|social\s+security(?:\s+(?:number|no\.?|\#))?))"
            r"\s*[:#]?\s*(?P<number>\d{9})" + _AFTER
        ),
    )
    _min_digits = 9
    _validate = staticmethod(is_valid_ssn)


class NhsDetector(_PatternDetector):
    """UK NHS numbers, kind ``"uk-nhs"``: ``943 476 5919``, ``943-476-5919`` or ``9434765919``."""

    kind = "uk-nhs"
    _patterns = (_alone(r"\d{3}(?P<sep>[ -]?)\d{3}(?P=sep)\d{4}"),)
    _min_digits = 10
    _validate = staticmethod(is_valid_nhs)


class AadhaarDetector(_PatternDetector):
    """India Aadhaar numbers, kind ``"in-aadhaar"``: ``2345 6789 0124`` or unbroken."""

    kind = "in-aadhaar"
    _patterns = (_alone(r"[2-9]\d{3}(?P<sep>[ -]?)\d{4}(?P=sep)\d{4}"),)
    _min_digits = 12
    _validate = staticmethod(is_valid_aadhaar)


class ZaIdDetector(_PatternDetector):
    """South African ID numbers, kind ``"za-id"``: ``8001015009087`` or ``800101 5009 087``."""

    kind = "za-id"
    _patterns = (_alone(r"\d{6}(?P<sep>[ -]?)\d{4}(?P=sep)\d{3}"),)
    _min_digits = 13
    _validate = staticmethod(is_valid_za_id)


class NirDetector(_PatternDetector):
    """French NIR, kind ``"fr-nir"``.

    ``2 95 10 99 126 111 93``, ``295109912611193`` and Corsican numbers such as
    ``2 53 07 2B 073 004 70``.
    """

    kind = "fr-nir"
    _patterns = (
        _alone(
            r"[1-478](?P<sep>[ .]?)\d{2}(?P=sep)\d{2}(?P=sep)(?:\d{2}|2[ABab])"
            r"(?P=sep)\d{3}(?P=sep)\d{3}(?P=sep)?\d{2}"
        ),
    )
    _min_digits = 13
    _validate = staticmethod(is_valid_nir)


class SinDetector(_PatternDetector):
    """Canadian Social Insurance Numbers, kind ``"ca-sin"``: ``130 692 544`` or unbroken."""

    kind = "ca-sin"
    _patterns = (_alone(r"[1-79]\d{2}(?P<sep>[ -]?)\d{3}(?P=sep)\d{3}"),)
    _min_digits = 9
    _validate = staticmethod(is_valid_sin)


class DeIdnrDetector(_PatternDetector):
    """German tax identification numbers, kind ``"de-idnr"``: ``36 574 261 809`` or unbroken."""

    kind = "de-idnr"
    _patterns = (_alone(r"[1-9]\d(?P<sep>[ ]?)\d{3}(?P=sep)\d{3}(?P=sep)\d{3}"),)
    _min_digits = 11
    _validate = staticmethod(is_valid_de_idnr)


class NlBsnDetector(_PatternDetector):
    """Dutch citizen service numbers, kind ``"nl-bsn"``, only after ``BSN``, ``burgerservicenummer`` or ``sofinummer``.

    ``BSN 1112.22.333``, ``BSN: 111 222 333`` or ``BSN 111222333``: the 11-test
    passes one in eleven nine-digit numbers, and an SSN or a SIN has nine digits too.
    """

    kind = "nl-bsn"
    _patterns = (
        _after_cue(
            r"bsn|burgerservicenummer|sofi-?nummer",
            r"\d{4}\.\d{2}\.\d{3}|\d{3}(?P<sep>[ ]?)\d{3}(?P=sep)\d{3}",
        ),
    )
    _min_digits = 9
    _validate = staticmethod(is_valid_nl_bsn)


class BeNnDetector(_PatternDetector):
    """Belgian national register numbers, kind ``"be-nn"``: ``85.07.30-033.28``, ``850730 033 28`` or unbroken."""

    kind = "be-nn"
    _patterns = (
        _alone(r"\d{2}\.\d{2}\.\d{2}[- ]\d{3}\.\d{2}"),
        _alone(r"\d{6}(?P<sep>[ -]?)\d{3}(?P=sep)\d{2}"),
    )
    _min_digits = 11
    _validate = staticmethod(is_valid_be_nn)


class SePersonnummerDetector(_PatternDetector):
    """Swedish personal identity numbers, kind ``"se-personnummer"``.

    ``811228-9874``, ``19811228-9874`` and ``121212+1212`` (aged 100 or more)
    on their own; unbroken (``8112289874``) only after ``personnummer`` or
    ``pnr``, as ten bare digits are a date and a time as often as an ID.
    """

    kind = "se-personnummer"
    _patterns = (
        _alone(r"(?:\d{2})?\d{6}[-+]\d{4}"),
        _after_cue(r"person(?:nummer|nr)|pers\.?\s?nr|pnr", r"(?:\d{2})?\d{6}[-+]?\d{4}"),
    )
    _min_digits = 10
    _validate = staticmethod(is_valid_se_personnummer)

    @staticmethod
    def _compact(number: str) -> str:
        return number.replace("-", "")  # "+" stays: it sets the century


class DkCprDetector(_PatternDetector):
    """Danish CPR numbers, kind ``"dk-cpr"``: ``CPR 211062-5629`` or ``CPR-nr. 2110625629``.

    Only after ``CPR``: there has been no check digit since 2007, so the rule
    is no more than a date of birth.
    """

    kind = "dk-cpr"
    _patterns = (_after_cue(r"cpr", r"\d{6}-?\d{4}"),)
    _min_digits = 10
    _validate = staticmethod(is_valid_dk_cpr)


class NoFodselsnummerDetector(_PatternDetector):
    """Norwegian birth numbers, kind ``"no-fodselsnummer"``: ``150189 12345`` or unbroken."""

    kind = "no-fodselsnummer"
    _patterns = (_alone(r"\d{6}(?P<sep>[ ]?)\d{5}"),)
    _min_digits = 11
    _validate = staticmethod(is_valid_no_fodselsnummer)


class EsDniDetector(_PatternDetector):
    """Spanish DNI, kind ``"es-dni"``: ``12345678Z`` or ``12345678-Z``."""

    kind = "es-dni"
    _patterns = (_alone(r"\d{8}-?[A-Za-z]"),)
    _min_digits = 8
    _validate = staticmethod(is_valid_es_dni)


class EsNieDetector(_PatternDetector):
    """Spanish foreigner's identity numbers, kind ``"es-nie"``: ``X1234567L`` or ``X-1234567-L``."""

    kind = "es-nie"
    _patterns = (_alone(r"[XYZxyz]-?\d{7}-?[A-Za-z]"),)
    _min_digits = 7
    _validate = staticmethod(is_valid_es_nie)


class ItCodiceFiscaleDetector(_PatternDetector):
    """Italian codice fiscale of a person, kind ``"it-codicefiscale"``: ``RSSMRA85T10A562S``."""

    kind = "it-codicefiscale"
    _omocodia = "[0-9LMNPQRSTUVlmnpqrstuv]"  # digits replaced by letters when two codes would clash
    _patterns = (
        _alone(
            rf"[A-Za-z]{{6}}{_omocodia}{{2}}[ABCDEHLMPRSTabcdehlmprst]{_omocodia}{{2}}[A-Za-z]{_omocodia}{{3}}[A-Za-z]"
        ),
    )
    _min_digits = 0  # omocodia can replace every digit by a letter
    _validate = staticmethod(is_valid_it_codicefiscale)


class BrCpfDetector(_PatternDetector):
    """Brazilian CPF, kind ``"br-cpf"``: ``123.456.789-09`` or unbroken."""

    kind = "br-cpf"
    _patterns = (_alone(r"\d{3}\.\d{3}\.\d{3}-\d{2}|\d{11}"),)
    _min_digits = 11
    _validate = staticmethod(is_valid_br_cpf)


class CnRicDetector(_PatternDetector):
    """Chinese resident identity card numbers, kind ``"cn-ric"``: ``11010519491231002X``."""

    kind = "cn-ric"
    _patterns = (_alone(r"\d{17}[\dXx]"),)
    _min_digits = 17
    _validate = staticmethod(is_valid_cn_ric)


class FiHetuDetector(_PatternDetector):
    """Finnish personal identity codes, kind ``"fi-hetu"``: ``131052-308T``."""

    kind = "fi-hetu"
    _patterns = (_alone(r"[0-3]\d[01]\d{3}[-+A-FU-Y]\d{3}[0-9A-Y]"),)
    _min_digits = 9
    _validate = staticmethod(is_valid_fi_hetu)

    @staticmethod
    def _compact(number: str) -> str:
        return number  # the "-" is the century sign


#: Every detector of this module, in the order ``default_detectors`` runs them.
DETECTORS: tuple[type[_PatternDetector], ...] = (
    SsnDetector,
    NhsDetector,
    AadhaarDetector,
    ZaIdDetector,
    NirDetector,
    SinDetector,
    DeIdnrDetector,
    NlBsnDetector,
    BeNnDetector,
    SePersonnummerDetector,
    DkCprDetector,
    NoFodselsnummerDetector,
    EsDniDetector,
    EsNieDetector,
    ItCodiceFiscaleDetector,
    BrCpfDetector,
    CnRicDetector,
    FiHetuDetector,
)


class NationalIdDetector:
    """Every kind of :data:`DETECTORS` in one pass, as ``default_detectors`` runs them.

    The same findings as running each detector in turn, for one call per text
    instead of eighteen: most header texts have too few digits for any of them.
    """

    kinds = tuple(detector.kind for detector in DETECTORS)

    def __init__(self) -> None:
        self._detectors = sorted((detector() for detector in DETECTORS), key=lambda d: d._min_digits)

    def find(self, text: str) -> Iterator[Finding]:
        """Yield a finding for each valid identifier of any kind in ``text``."""
        digits = digit_count(text)
        for detector in self._detectors:
            if detector._min_digits > digits:
                return
            yield from detector.find(text)

