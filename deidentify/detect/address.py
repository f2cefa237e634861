"""Street addresses in free text, in the layouts of many countries.

A street is only reported when its *shape* says so: a street-type word and a
house number together, since a number or a capitalised word alone is
everywhere in a report.  Recognised:

* type word, name, number -- ``Calle del Olmo 12``, ``Via Roma 10``, ``Rue de la Paix 3``;
* number, name, type word -- ``221B Baker Street``, ``3 rue de la Paix``, ``12 Main St.``;
* compound street names -- ``Rosenweg 4a``, ``Hauptstraße 5``, ``Sykehusvegen 38``,
  ``Storgata 1``, ``Kalverstraat 12``; German ``Am Klinikpark 3``;
* Japanese block numbers -- ``1-8-2 Hanazono``, and ``東京都新宿区…``;
* P.O. boxes -- ``PO Box 123``, ``Postfach 12``.

A street is extended over what follows it in an address line: a postcode and
city (``04109 Leipzig``, ``NW1 6XE London``, ``160-0000 Shinjuku-ku``), more
capitalised places and a country (``, Tokyo, Japan``).  On their own, a UK
postcode (``NW1 6XE``), a US ``City, ST 12345`` and ``postcode City, Country``
(country names in some 80 languages, from Faker's address providers) are
addresses too.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from functools import lru_cache

from .base import Finding
from .names_data import name_lists

_CAP = r"[A-ZÀ-ÖØ-ÞĀ-Ž]"  # an upper-case Latin letter, accents included
_WORDCHARS = r"[^\W\d_]"
_NAME = rf"{_CAP}{_WORDCHARS}*(?:['’.-]{_WORDCHARS}+)*\.?"
_PARTICLE = r"(?:de|del|de la|de las|de los|da|das|do|dos|di|della|delle|du|des|le|la|les|l'|d'|van|von|der|den|y|e)"
_NAME_WORDS = rf"{_NAME}(?:\s+(?:{_PARTICLE}\s+)?{_NAME}){{0,3}}"
_HOUSE = r"\d{1,5}[A-Za-z]?(?:\s?[-/]\s?\d{1,5}[A-Za-z]?)?"
_BEFORE = r"(?<![\w.])"
_AFTER = r"(?![\w])"

_PREFIX_TYPES = (
    r"Calle|C/|Avenida|Avda\.?|Paseo|Plaza|Camino|Carrer|Carretera|Ronda|Travesía|Rua|Praça|Travessa"
    r"|Via|Viale|Piazza|Corso|Largo|Vicolo|Rue|Avenue|Boulevard|Chemin|Place|Allée|Impasse|Quai"
    r"|Ulica|ul\."
)
_SUFFIX_TYPES = (
    r"Street|St\.?|Road|Rd\.?|Avenue|Ave\.?|Lane|Ln\.?|Drive|Dr\.?|Boulevard|Blvd\.?|Court|Ct\.?"
    r"|Place|Pl\.?|Way|Terrace|Crescent|Close|Square|Sq\.?|Highway|Hwy\.?|Parkway|Pkwy\.?"
    r"|Circle|Row|Mews|Gardens|Grove|Straße|Strasse|Str\.|Weg|Gasse|Platz|Allee|Damm"
)
# Endings of one-word street names (German, Dutch, Scandinavian, Finnish).
_COMPOUND_ENDINGS = (
    r"straße|strasse|str\.|weg|gasse|platz|allee|damm|ufer|chaussee|pfad|steig|stieg"
    r"|vegen|veien|veg|vei|gata|gatan|gaten|vej|vejen|gade|straat|laan|gracht|kade|plein"
    r"|väg|vägen|katu"
)
# After "Am", "Im", "An der" …, a German street name may end in a place word instead.
_PLACE_ENDINGS = (
    _COMPOUND_ENDINGS + r"|park|berg|feld|hof|garten|graben|kamp|winkel|anger|hang|höhe|grund"
    r"|brink|wiese|tal|markt|tor|bach|busch|eck|kreuz|wall|ring|bogen|hain|holz|moor|rain|teich|wald"
)
_GERMAN_PREPOSITIONS = r"Am|Im|An der|An den|Auf der|Auf dem|Zum|Zur|In der|In den|Unter den|Hinter der|Vor dem"

_STREETS = tuple(
    re.compile(p)
    for p in (
        # Calle del Olmo 12, Via Roma, 10, Rue de la Paix 3
        rf"{_BEFORE}(?:{_PREFIX_TYPES})\s+(?:{_PARTICLE}\s+)*{_NAME_WORDS},?\s+{_HOUSE}{_AFTER}",
        # 221B Baker Street, 12 Main St., 3 rue de la Paix
        rf"{_BEFORE}{_HOUSE},?\s+(?:{_NAME_WORDS}\s+(?:{_SUFFIX_TYPES})|(?i:rue|avenue|calle|via)\s+"
        rf"(?:{_PARTICLE}\s+)*{_NAME_WORDS}){_AFTER}",
        # Rosenweg 4a, Sykehusvegen 38, Berliner Straße 12
        rf"{_BEFORE}{_CAP}{_WORDCHARS}+?(?:{_COMPOUND_ENDINGS})\s+{_HOUSE}{_AFTER}",
        rf"{_BEFORE}(?:{_NAME_WORDS})\s+(?:{_SUFFIX_TYPES})\s+{_HOUSE}{_AFTER}",
        # Am Klinikpark 3
        rf"{_BEFORE}(?:{_GERMAN_PREPOSITIONS})\s+{_CAP}{_WORDCHARS}*(?:{_PLACE_ENDINGS})\s+{_HOUSE}{_AFTER}",
        # 1-8-2 Hanazono (chōme-banchi-gō)
        rf"{_BEFORE}\d{{1,2}}-\d{{1,3}}-\d{{1,3}}\s+{_CAP}[a-z]+(?:-(?:ku|shi|cho|machi))?{_AFTER}",
        # 東京都新宿区西新宿2丁目8番1号
        r"[\u4e00-\u9fff]{1,4}[都道府県][\u4e00-\u9fff]{1,6}[市区町村郡]"
        r"[\u4e00-\u9fff\u30a0-\u30ff0-9０-９ー-]{0,20}(?:丁目|番地|番|号)?",
        # PO Box 123, Postfach 12 34 56
        rf"{_BEFORE}(?i:p\.?\s?o\.?\s?box|postfach|apartado(?: de correos)?|casilla)"
        rf"\s+\d{{1,6}}(?:\s\d{{2}}){{0,2}}{_AFTER}",
    )
)
# The UK's postcode areas: "T2 4AB" (an MR weighting and a grid cell) is not a postcode.
_UK_AREAS = (
    "AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY E EC"
    " EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL LN LS"
    " LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP"
    " SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE"
).split()
_UK_OUTWARD = rf"(?:{'|'.join(sorted(_UK_AREAS, key=len, reverse=True))})\d[A-Z\d]?"
_UK_INWARD = r"\d[ABD-HJLNP-UW-Z]{2}"
_UK = rf"{_UK_OUTWARD}\s?{_UK_INWARD}"
_POSTCODE = rf"(?:(?:[A-Z]{{1,2}}-)?\d{{4,5}}(?:\s[A-Z]{{2}})?|\d{{3}}-\d{{4}}|{_UK})"
_PLACE_WORD = rf"{_CAP}{_WORDCHARS}*(?:['’-]{_WORDCHARS}+)*"
_PLACE = rf"{_PLACE_WORD}(?:[ -]{_PLACE_WORD}){{0,2}}"
# What follows a street in an address line: ", 04109 Leipzig", ", London NW1 6XE", ", Tokyo", ", Japan".
_CONTINUATION = re.compile(
    rf",?\s*{_POSTCODE}\s+{_PLACE}{_AFTER}|,\s*{_PLACE}\s+{_POSTCODE}{_AFTER}"
    rf"|,\s*{_POSTCODE}{_AFTER}|,\s*{_PLACE}{_AFTER}"
)
# Standing alone, a UK postcode is written with its space.
_UK_POSTCODE = re.compile(rf"{_BEFORE}{_UK_OUTWARD} {_UK_INWARD}{_AFTER}")
_US_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY"
    " NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR"
).split()
_US_CITY_STATE_ZIP = re.compile(
    rf"{_BEFORE}{_PLACE},\s(?:{'|'.join(_US_STATES)})\s\d{{5}}(?:-\d{{4}})?{_AFTER}"
)
_POSTCODE_CITY = re.compile(rf"{_BEFORE}{_POSTCODE}\s+(?P<city>{_PLACE})(?=,\s*(?P<country>{_PLACE}))")
_MAX_CONTINUATIONS = 3


@lru_cache(maxsize=1)
def country_names() -> frozenset[str]:
    """Country names in some 80 languages, from Faker's address providers (no download)."""
    import faker.providers.address as address

    names: set[str] = set()
    for module in pkgutil.iter_modules(address.__path__):
        provider = importlib.import_module(f"{address.__name__}.{module.name}").Provider
        countries = getattr(provider, "countries", ())
        if isinstance(countries, (list, tuple)):
            names.update(c.casefold() for c in countries if isinstance(c, str))
    return frozenset(names)


class AddressDetector:
    """Finds street addresses; reports them with kind ``"address"``."""

    kind = "address"

    def find(self, text: str) -> Iterator[Finding]:
        """Yield a finding for each address in ``text``, extended over its postcode, city and country."""
        for pattern in _STREETS:
            for match in pattern.finditer(text):
                yield Finding(match.start(), self._extend(text, match.end()), self.kind)
        for pattern in (_UK_POSTCODE, _US_CITY_STATE_ZIP):
            for match in pattern.finditer(text):
                yield Finding(match.start(), match.end(), self.kind)
        vocabulary = name_lists().is_vocabulary
        for match in _POSTCODE_CITY.finditer(text):
            # "12345 Images, Germany": a count of DICOM things is no postcode and city.
            if match.group("country").casefold() in country_names() and not vocabulary(match.group("city")):
                yield Finding(match.start(), match.end("country"), self.kind)

    @staticmethod
    def _extend(text: str, end: int) -> int:
        for _ in range(_MAX_CONTINUATIONS):
            more = _CONTINUATION.match(text, end)
            if more is None:
                break
            end = more.end()
        return end
