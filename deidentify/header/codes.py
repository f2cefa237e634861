"""Code items: which of their text the header walk cleans.

A code item (PS3.3 Section 8.8: Code Value, Long Code Value or URN Code Value,
Coding Scheme Designator, Coding Scheme Version, Code Meaning) names a concept.
Its text is safe only when it is the standard's own: a code of a registered
public scheme (PS3.16) with that scheme's meaning for it.  Anything else was
typed by a person -- a site's local procedure codes ("chest CT ordered by
Dr X"), a local template's concept names, a vendor's codes in a private
sequence -- and is cleaned like other free text:

* a local scheme (a ``99``-prefixed or site-made designator, or none at all):
  Code Value, Long and URN Code Value, Coding Scheme Version and Code Meaning;
* a public scheme: Code Meaning, unless it is the standard meaning of that code.

Public schemes and their meanings come from pydicom, which generates them from
PS3.16: the schemes of its concept dictionary and of its UID dictionary's coding
schemes, and SNOMED's retired ``SRT`` designator through its SNOMED mapping.
A registered scheme pydicom does not know counts as local: its text is cleaned,
which leaves text with nothing identifying in it as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from .sources.base import ElementSource, HeaderError

CODE_VALUE = 0x00080100
CODING_SCHEME_DESIGNATOR = 0x00080102
CODING_SCHEME_VERSION = 0x00080103
CODE_MEANING = 0x00080104
LONG_CODE_VALUE = 0x00080119
URN_CODE_VALUE = 0x00080120

#: A local scheme's text, every part of which a person may have typed.
LOCAL_CODE_TEXT = frozenset({CODE_VALUE, CODING_SCHEME_VERSION, CODE_MEANING, LONG_CODE_VALUE, URN_CODE_VALUE})
#: A public scheme's code whose meaning is not the standard's: only the meaning is free text.
MEANING_ONLY = frozenset({CODE_MEANING})
NOTHING: frozenset[int] = frozenset()
_CODE_VALUES = (CODE_VALUE, LONG_CODE_VALUE, URN_CODE_VALUE)


def code_text(item: ElementSource) -> frozenset[int]:
    """The tags of ``item``'s code text that are to be cleaned; empty when it holds no code
    text, or a public scheme's code with its standard meaning.

    Only a dataset holding a code's text pays for more than these look-ups.  A value that
    cannot be decoded counts as text to clean: the clean step then reports it.
    """
    if not (item.has(CODE_MEANING) or item.has(CODE_VALUE) or item.has(LONG_CODE_VALUE)
            or item.has(URN_CODE_VALUE) or item.has(CODING_SCHEME_VERSION)):
        return NOTHING
    try:
        scheme = item.text(CODING_SCHEME_DESIGNATOR)
    except HeaderError:
        return LOCAL_CODE_TEXT
    if not scheme or not is_public_scheme(scheme):
        return LOCAL_CODE_TEXT
    try:
        meaning = item.text(CODE_MEANING)
        code = next((value for tag in _CODE_VALUES if (value := item.text(tag))), "")
    except HeaderError:
        return MEANING_ONLY
    if meaning is None or is_standard_meaning(scheme, code, meaning):
        return NOTHING
    return MEANING_ONLY


def is_public_scheme(scheme: str) -> bool:
    """Whether ``scheme`` is a coding scheme designator registered in PS3.16 (as pydicom knows them)."""
    scheme = scheme.strip().upper()
    # PS3.16 8.2 leaves designators starting with "99" to private use: no dictionary needed.
    return not scheme.startswith("99") and scheme in _public_schemes()


def is_standard_meaning(scheme: str, code: str, meaning: str) -> bool:
    """Whether ``meaning`` is one of the standard's meanings for ``code`` of ``scheme``
    (a code may have several, one per context group); exact, as PS3.16 writes it."""
    scheme, code = scheme.strip().upper(), code.strip()
    if scheme == "SRT":  # SNOMED's retired designator: the same concept under its SCT identifier
        code, scheme = _snomed_mapping().get(code, ""), "SCT"
    return meaning.strip(" \0") in _meanings().get(scheme, {}).get(code, ())


@cache
def _public_schemes() -> frozenset[str]:
    from pydicom._uid_dict import UID_dictionary

    schemes = {keyword for _, kind, _, _, keyword in UID_dictionary.values() if kind == "Coding Scheme" and keyword}
    return frozenset(s.upper() for s in {*schemes, *_meanings(), "SRT"})


@cache
def _meanings() -> Mapping[str, Mapping[str, frozenset[str]]]:
    """``{SCHEME: {code: meanings}}`` from pydicom's concept dictionary (generated from PS3.16)."""
    from pydicom.sr._concepts_dict import concepts

    found: dict[str, dict[str, set[str]]] = {}
    by_scheme: dict[str, dict[str, dict[str, tuple[str, list[int]]]]] = concepts  # type: ignore[assignment]
    for scheme, by_keyword in by_scheme.items():
        codes = found.setdefault(scheme.upper(), {})
        for entries in by_keyword.values():
            for code, (meaning, _) in entries.items():
                codes.setdefault(code, set()).add(meaning)
    return {scheme: {code: frozenset(m) for code, m in codes.items()} for scheme, codes in found.items()}


@cache
def _snomed_mapping() -> Mapping[str, str]:
    """SNOMED RT identifiers (``SRT``) to SNOMED CT ones (``SCT``), as pydicom maps them."""
    from pydicom.sr._snomed_dict import mapping

    return mapping["SRT"]
