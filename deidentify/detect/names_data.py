"""The word lists the person-name detector decides with, loaded once per process.

* Given and family names come from Faker's person providers (about 31,000
  given and 30,000 family names of some 80 locales, Latin, CJK, Hangul and
  Cyrillic scripts).  Faker is a maintained, MIT-licensed package whose lists
  ship inside it, so nothing is downloaded at run time.
* The *vocabulary* is DICOM's own: the words of the data dictionary's element
  names and of the code meanings pydicom ships (SNOMED, DCM, LOINC, RadLex …).
  A word found there ("Key", "May", "Hall", "Rose", "Thorax") is never taken as
  evidence of a name, whatever the names lists say: in a DICOM header it is far
  more often the clinical or technical word.

Everything is compared *folded* (see :func:`fold`).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from .own_values import _fold_char

# Transliterations that ASCII-only systems write instead of the letter (Müller -> MUELLER,
# Åse -> AASE, Østby -> OESTBY); folding alone would give "muller", "ase", "ostby".
_TRANSLITERATED = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "å": "aa", "ø": "oe", "æ": "ae", "ß": "ss"})
# Japanese long vowels are written ō, ou, oh or o (Tarō, Tarou, Taroh, Taro).
_LONG_VOWELS = re.compile(r"(?<=[^aeiou])(?:ou|oh|oo)(?=[^aeiou]|$)|uu")
_LATIN_WORD = re.compile(r"[a-z]{3,}")
_PARTS = re.compile(r"['’-]")
_CAMEL_WORD = re.compile(r"[A-Z][a-z]{2,}|[a-z]{3,}")


class _Folds(dict[int, str]):
    """Each character's folded form, worked out the first time it is met (``str.translate``'s table)."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold_char(chr(code))
        return folded


_FOLDS = _Folds()


def fold(word: str) -> str:
    """Case, compatibility forms and diacritics erased: ``Müller`` -> ``muller``."""
    return word.translate(_FOLDS)


def variants(word: str) -> set[str]:
    """The folded spellings under which ``word`` may be written or looked up."""
    lower = word.casefold()
    found = {fold(word), fold(lower.translate(_TRANSLITERATED))}
    found |= {_LONG_VOWELS.sub(lambda m: m.group()[0], v) for v in found}
    return found


def is_cjk(text: str) -> bool:
    """True when every character is a CJK ideograph, kana or Hangul syllable."""
    return bool(text) and all(
        "\u3040" <= c <= "\u30ff" or "\u3400" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af"
        or "\uf900" <= c <= "\ufaff"
        for c in text
    )


@dataclass(frozen=True)
class NameLists:
    """Folded given names, family names and vocabulary words."""

    given: frozenset[str]
    family: frozenset[str]
    vocabulary: frozenset[str]
    cjk_family_lengths: tuple[int, ...]

    def is_given(self, word: str) -> bool:
        return self._known(word, self.given)

    def is_family(self, word: str) -> bool:
        return self._known(word, self.family)

    def is_vocabulary(self, word: str) -> bool:
        """True for a DICOM word; a compound (``Follow-up``) when each part of three letters or more is one."""
        parts = [p for p in _PARTS.split(fold(word)) if len(p) >= 3]
        return bool(parts) and all(p in self.vocabulary for p in parts)

    def _known(self, word: str, names: frozenset[str]) -> bool:
        return not self.is_vocabulary(word) and any(v in names for v in variants(word))


def _faker_names() -> Iterator[tuple[str, str]]:
    """(``given`` or ``family``, name) for every name of every Faker locale."""
    import faker.providers.person as person

    for module in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        for attribute, role in (("first_", "given"), ("last_", "family")):
            for name in dir(provider):
                if not name.startswith(attribute) or "format" in name:
                    continue
                value = getattr(provider, name)
                if isinstance(value, dict):  # weighted lists are {name: weight}
                    value = list(value)
                if isinstance(value, (list, tuple)):
                    yield from ((role, v) for v in value if isinstance(v, str))


def _dicom_vocabulary() -> Iterator[str]:
    """Words of DICOM element names and of the code meanings pydicom ships."""
    from pydicom.datadict import DicomDictionary
    from pydicom.sr.codedict import codes

    for entry in DicomDictionary.values():
        yield from _LATIN_WORD.findall(entry[2].casefold())
    for scheme in codes.schemes():
        for keyword in getattr(codes, scheme).dir():
            yield from (w.casefold() for w in _CAMEL_WORD.findall(keyword))


def _index(names: Iterable[str]) -> frozenset[str]:
    return frozenset(v for name in names for word in name.split() for v in variants(word) if v)


@lru_cache(maxsize=1)
def name_lists() -> NameLists:
    """The lists, built on first use (about a second) and shared by every detector."""
    vocabulary = frozenset(fold(w) for w in _dicom_vocabulary())
    by_role: dict[str, list[str]] = {"given": [], "family": []}
    for role, name in _faker_names():
        by_role[role].append(name)
    family = _index(by_role["family"])
    lengths = sorted({len(n) for n in by_role["family"] if is_cjk(n) and len(n) <= 3}, reverse=True)
    return NameLists(_index(by_role["given"]), family, vocabulary, tuple(lengths))
