"""Fake people, hospitals and identifiers for the synthetic sample.

Every value here is invented.  The names deliberately use characters outside
ASCII (umlauts, ñ, ø, Japanese ideographs and kana) because that is where
de-identification tools tend to miss things: a transliterated ``MUELLER`` in a
folder name or an ISO 2022 escape sequence in a header is still the patient.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from ..detect.national_id import make_aadhaar, make_nhs, make_ssn, make_za_id

# ISO 2022 IR 87 with an empty first value: ASCII by default, JIS X 0208 after an
# escape sequence -- the encoding PS3.5 Annex H uses for Japanese names.
JAPANESE_CHARSET = ("", "ISO 2022 IR 87")

_TRANSLITERATION = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ø": "oe", "å": "aa", "æ": "ae",
     "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "Ø": "Oe", "Å": "Aa", "Æ": "Ae",
     "á": "a", "é": "e", "í": "i", "ó": "o", "ú": "u", "ñ": "n", "Ñ": "N", "Í": "I"}
)


def transliterate(text: str) -> str:
    """ASCII spelling of a Latin name, as RIS exports and folder names write it."""
    return text.translate(_TRANSLITERATION)


@dataclass(frozen=True)
class PersonName:
    """A person's name, with the Japanese ideographic and phonetic forms when known."""

    family: str
    given: str
    prefix: str = ""
    ideographic: tuple[str, str] | None = None
    phonetic: tuple[str, str] | None = None

    @property
    def dicom(self) -> str:
        """The PN value: ``family^given^^prefix`` plus ``=ideographic=phonetic`` groups."""
        alphabetic = f"{self.family}^{self.given}" + (f"^^{self.prefix}" if self.prefix else "")
        groups = [alphabetic]
        if self.ideographic and self.phonetic:
            groups += ["^".join(self.ideographic), "^".join(self.phonetic)]
        return "=".join(groups)

    @property
    def natural(self) -> str:
        """How free text writes the name: ``Jürgen Müller``, ``Dr. Anna Schröder``, ``山田太郎``."""
        if self.ideographic:
            return "".join(self.ideographic)
        return " ".join(p for p in (self.prefix, self.given, self.family) if p)

    @property
    def ascii_upper(self) -> tuple[str, str]:
        """``(FAMILY, GIVEN)`` in upper-case ASCII, as scanners print it into pixels."""
        return transliterate(self.family).upper(), transliterate(self.given).upper()

    @property
    def ascii_dicom(self) -> str:
        """The ASCII-only PN an older system in the chain would store: ``MUELLER^JUERGEN``."""
        return "^".join(self.ascii_upper)

    def ascii_parts(self) -> list[str]:
        """The words of :attr:`ascii_upper` (``PENA``, ``MUNOZ``, ``MARIA``, ``JOSE``)."""
        return [w for part in self.ascii_upper for w in part.split() if len(w) >= 3]

    def parts(self) -> list[str]:
        """Every word of the name worth searching for (prefixes such as ``Dr.`` are not).

        Latin words shorter than three letters are left out because they match
        everywhere; ideographic and kana words are kept whatever their length,
        since two characters already make a Japanese family name.
        """
        components = (self.family, self.given, *(self.ideographic or ()), *(self.phonetic or ()))
        return [w for c in components for w in c.split() if len(w) >= 3 or not w.isascii()]


@dataclass(frozen=True)
class Address:
    """A postal address; ``line`` fits a DICOM LO (64 characters)."""

    street: str
    postcode: str
    city: str
    country: str

    @property
    def line(self) -> str:
        return f"{self.street}, {self.postcode} {self.city}, {self.country}"

    def parts(self) -> list[str]:
        """Street and ``postcode city``: each identifies a place on its own."""
        return [self.street, f"{self.postcode} {self.city}"]


@dataclass(frozen=True)
class Hospital:
    """An imaging site: where every study of one patient is made."""

    name: str
    address: Address
    department: str
    issuer: str
    # Doctors carry a prefix ("Dr."); the others are technologists.
    staff: tuple[PersonName, ...]
    stations: tuple[str, ...]
    phone: str


NATIONAL_ID_KINDS = ("UK-NHS", "US-SSN", "ZA-ID", "IN-AADHAAR")


@dataclass(frozen=True)
class NationalId:
    """A national number: ``value`` is how registries store it, ``formatted`` how people write it."""

    kind: str
    value: str
    formatted: str
    issuer: str


def make_national_id(kind: str, rng: random.Random, birth_date: date, sex: str) -> NationalId:
    """A valid number of ``kind`` (one of :data:`NATIONAL_ID_KINDS`) drawn from ``rng``.

    The numbers come from the generators in :mod:`deidentify.detect.national_id`,
    so they pass the same checksums the detectors use to tell them from any run of
    digits; a South African number also encodes the patient's birth date and sex.
    """
    if kind == "UK-NHS":
        value = make_nhs(rng)
        return NationalId(kind, value, f"{value[:3]} {value[3:6]} {value[6:]}", "NHS")
    if kind == "US-SSN":
        value = make_ssn(rng)
        return NationalId(kind, value, f"{value[:3]}-{value[3:5]}-{value[5:]}", "US SSA")
    if kind == "ZA-ID":
        value = make_za_id(rng, birth_date=birth_date, sex=sex)
        return NationalId(kind, value, f"{value[:6]} {value[6:10]} {value[10:]}", "ZA DHA")
    if kind == "IN-AADHAAR":
        value = make_aadhaar(rng)
        return NationalId(kind, value, f"{value[:4]} {value[4:8]} {value[8:]}", "UIDAI")
    raise ValueError(f"unknown national ID kind {kind!r}")


@dataclass(frozen=True)
class Patient:
    """One fake patient with everything a hospital would know about them."""

    index: int
    charset: str | tuple[str, ...]
    name: PersonName
    birth_name: PersonName | None
    mother_birth_name: PersonName
    sex: str
    birth_date: date
    patient_id: str
    national_ids: tuple[NationalId, ...]
    address: Address
    phone: str
    email: str
    hospital: Hospital
    referring: PersonName
    reading: PersonName
    operator: PersonName
    date_format: str

    def date_text(self, day: date) -> str:
        """``day`` the way people at this patient's hospital write dates in free text."""
        return day.strftime(self.date_format)


# A name word in its Latin, ideographic and phonetic spelling (the last two only
# for Japanese).
_Word = tuple[str, str, str]


def _w(latin: str, kanji: str = "", kana: str = "") -> _Word:
    return (latin, kanji, kana)


@dataclass(frozen=True)
class _Culture:
    charset: str | tuple[str, ...]
    families: tuple[_Word, ...]
    given_female: tuple[_Word, ...]
    given_male: tuple[_Word, ...]
    streets: tuple[str, ...]
    places: tuple[tuple[str, str], ...]
    country: str
    phone_prefix: str
    mail_domain: str
    date_format: str
    hospital: Hospital

    def name(self, family: _Word, given: _Word) -> PersonName:
        if family[1] and given[1]:
            return PersonName(family[0], given[0], "", (family[1], given[1]), (family[2], given[2]))
        return PersonName(family[0], given[0])


_P = PersonName  # short, so the staff tables below stay readable

_CULTURES: tuple[_Culture, ...] = (
    _Culture(
        charset="ISO_IR 100",
        families=(_w("Müller"), _w("Schäfer"), _w("Köhler"), _w("Böttcher")),
        given_female=(_w("Käthe"), _w("Jördis"), _w("Lieselotte")),
        given_male=(_w("Jürgen"), _w("Björn"), _w("Günther")),
        streets=("Lindenstraße 17", "Rosenweg 4a", "Am Mühlbach 23"),
        places=(("30159", "Hannover"), ("04109", "Leipzig"), ("79098", "Freiburg")),
        country="Germany",
        phone_prefix="+49 511 555",
        mail_domain="posteo.example",
        date_format="%d.%m.%Y",
        hospital=Hospital(
            name="Klinikum Musterstadt Nord",
            address=Address("Am Klinikpark 3", "30161", "Musterstadt", "Germany"),
            department="Radiologie",
            issuer="KMN",
            staff=(_P("Schröder", "Anna", "Dr."), _P("Weiß", "Tobias", "Dr."), _P("Kühnel", "Petra"),
                   _P("Großmann", "Lukas")),
            stations=("KMN-CT01", "KMN-MR02", "KMN-US03"),
            phone="+49 511 5550100",
        ),
    ),
    _Culture(
        charset="ISO_IR 100",
        families=(_w("Peña Muñoz"), _w("Ibáñez Castaño"), _w("Núñez Ortega")),
        given_female=(_w("María José"), _w("Begoña"), _w("Inés")),
        given_male=(_w("Íñigo"), _w("José Ramón"), _w("Joaquín")),
        streets=("Calle del Olmo 12", "Avenida de la Peña 48", "Plaza Mayor 3"),
        places=(("28014", "Madrid"), ("41004", "Sevilla"), ("48001", "Bilbao")),
        country="España",
        phone_prefix="+34 91 555",
        mail_domain="correo.example",
        date_format="%d/%m/%Y",
        hospital=Hospital(
            name="Hospital Universitario Ejemplo",
            address=Address("Calle de la Salud 21", "28029", "Madrid", "España"),
            department="Radiodiagnóstico",
            issuer="HUE",
            staff=(_P("Ordóñez", "Carmen", "Dra."), _P("Cañizares", "Álvaro", "Dr."), _P("Quiñones", "Lucía"),
                   _P("Villanueva", "Sergio")),
            stations=("HUE-TC1", "HUE-RM1", "HUE-ECO2"),
            phone="+34 91 5550200",
        ),
    ),
    _Culture(
        charset="ISO_IR 192",
        families=(_w("Løvland"), _w("Bjørnstad"), _w("Søreide"), _w("Østby")),
        given_female=(_w("Solveig"), _w("Åse"), _w("Ingrid")),
        given_male=(_w("Bjørn"), _w("Ståle"), _w("Øystein")),
        streets=("Storgata 41", "Fjellveien 8", "Sjøgata 15"),
        places=(("9008", "Tromsø"), ("7010", "Trondheim"), ("5003", "Bergen")),
        country="Norway",
        phone_prefix="+47 5550",
        mail_domain="epost.example",
        date_format="%d.%m.%Y",
        hospital=Hospital(
            name="Nordlys Sykehus",
            address=Address("Sykehusvegen 38", "9019", "Tromsø", "Norway"),
            department="Bildediagnostikk",
            issuer="NLS",
            staff=(_P("Håkonsen", "Tove", "Dr."), _P("Brænne", "Eirik", "Dr."), _P("Strøm", "Kari"),
                   _P("Dahlberg", "Jonas")),
            stations=("NLS-CT-A", "NLS-MR-1", "NLS-US-2"),
            phone="+47 55500300",
        ),
    ),
    _Culture(
        charset=JAPANESE_CHARSET,
        # Short names on purpose: with escape sequences the three PN groups must
        # still fit the 64 bytes a PN value may take.
        families=(_w("Yamada", "山田", "やまだ"), _w("Tanaka", "田中", "たなか"),
                  _w("Sato", "佐藤", "さとう")),
        given_female=(_w("Hanako", "花子", "はなこ"), _w("Yumi", "由美", "ゆみ")),
        given_male=(_w("Tarou", "太郎", "たろう"), _w("Kenji", "健二", "けんじ")),
        streets=("4-5-6 Sakuragaoka", "2-11-7 Minamidai"),
        places=(("150-0031", "Shibuya-ku, Tokyo"), ("530-0001", "Kita-ku, Osaka")),
        country="Japan",
        phone_prefix="+81 3 5550",
        mail_domain="mail.example.jp",
        date_format="%Y/%m/%d",
        hospital=Hospital(
            name="Sakura General Hospital",
            address=Address("1-8-2 Hanazono", "160-0000", "Shinjuku-ku, Tokyo", "Japan"),
            department="Radiology",
            issuer="SGH",
            staff=(_P("Kobayashi", "Hiroshi", "Dr."), _P("Matsumoto", "Aiko", "Dr."), _P("Inoue", "Satoshi"),
                   _P("Fujiwara", "Mai")),
            stations=("SGH-CT2", "SGH-MR3", "SGH-US1"),
            phone="+81 3 55500400",
        ),
    ),
)


def make_patient(seed: int, index: int) -> Patient:
    """The ``index``-th patient for ``seed``.

    Patients cycle through the cultures, so the first four always cover Latin-1,
    UTF-8 and ISO 2022 names; the seed picks the names and numbers.  Each patient
    has its own random stream so adding patients never changes earlier ones.
    """
    rng = random.Random(f"deidentify-sample:{seed}:{index}")
    culture = _CULTURES[index % len(_CULTURES)]
    sex = rng.choice("FM")
    family = rng.choice(culture.families)
    given = rng.choice(culture.given_female if sex == "F" else culture.given_male)
    name = culture.name(family, given)
    birth_date = date(1938, 1, 1) + timedelta(days=rng.randrange(60 * 365))
    maiden = rng.choice([f for f in culture.families if f != family])
    mother = culture.name(maiden, rng.choice(culture.given_female))
    place = rng.choice(culture.places)
    local_part = transliterate(f"{name.given}.{name.family}").lower().replace(" ", "")
    kinds = [NATIONAL_ID_KINDS[(index + k) % len(NATIONAL_ID_KINDS)] for k in range(2)]
    doctors = rng.sample([s for s in culture.hospital.staff if s.prefix], 2)
    operator = rng.choice([s for s in culture.hospital.staff if not s.prefix])
    return Patient(
        index=index,
        charset=culture.charset,
        name=name,
        birth_name=culture.name(maiden, given) if sex == "F" else None,
        mother_birth_name=mother,
        sex=sex,
        birth_date=birth_date,
        patient_id=f"{rng.randrange(10**7, 10**8)}",
        national_ids=tuple(make_national_id(kind, rng, birth_date, sex) for kind in kinds),
        address=Address(rng.choice(culture.streets), place[0], place[1], culture.country),
        phone=f"{culture.phone_prefix}{rng.randrange(1000, 10000)}",
        email=f"{local_part}{rng.randrange(10, 100)}@{culture.mail_domain}",
        hospital=culture.hospital,
        referring=doctors[0],
        reading=doctors[1],
        operator=operator,
        date_format=culture.date_format,
    )
