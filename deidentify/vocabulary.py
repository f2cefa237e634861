"""Values read from the input that the report, log, manifest and summary may show.

Modality, SOP Class UID and Transfer Syntax UID describe a file without naming
anyone -- unless a device or a person put something else in them (a surname in
Modality is enough).  So each is shown only when it is a term the standard
defines for it, and as :data:`OTHER` otherwise; an absent value stays empty.
A term of the standard is a valid value of its VR (CS, UI) by construction.

* Modality: the Defined Terms (and Retired Defined Terms) of PS3.3
  C.7.3.1.1.1, kept as data in ``standard/`` (see its README for the edition).
* SOP class and transfer syntax: a UID that PS3.6 registers as a SOP Class, or
  as a Transfer Syntax, by pydicom's ``UID_dictionary`` (generated from PS3.6).
  A private SOP class is ``other`` too: its UID says nothing to a reader of the
  report, and it could be anything.
* An element a reason names: by its tag when PS3.6 has the tag (pydicom's data
  dictionary), else only as private or unknown.  A tag read from damaged bytes
  is four bytes of whatever was there: a surname's "MUEL" reads as (554D,4C45).
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from pydicom.datadict import get_entry
from pydicom.uid import UID_dictionary

__all__ = ["OTHER", "element", "modality", "sop_class", "transfer_syntax"]

#: What any value outside the standard's terms is shown as.
OTHER = "other"

_MODALITY_TABLE = "ps3.3_c.7.3.1.1.1_modality.csv"
# Padding a value may carry (CS with spaces, UI with a NUL): not part of the term.
_PADDING = " \0"


def element(tag: int) -> str:
    """How a reason names the element ``tag``: ``element (gggg,eeee)`` when PS3.6 has the tag,
    else ``a private element`` or ``an element outside the standard's dictionary``."""
    try:
        get_entry(tag)
    except KeyError:
        return "a private element" if (tag >> 16) % 2 else "an element outside the standard's dictionary"
    return f"element ({tag >> 16:04X},{tag & 0xFFFF:04X})"


def modality(value: str) -> str:
    """``value`` if it is a Modality term of PS3.3 C.7.3.1.1.1, else ``other`` ("" stays "")."""
    value = value.strip(_PADDING)
    return value if not value or value in _modality_terms() else OTHER


def sop_class(value: str) -> str:
    """``value`` if PS3.6 registers it as a SOP Class UID, else ``other`` ("" stays "")."""
    return _registered(value, "SOP Class")


def transfer_syntax(value: str) -> str:
    """``value`` if PS3.6 registers it as a Transfer Syntax UID, else ``other`` ("" stays "")."""
    return _registered(value, "Transfer Syntax")


def _registered(value: str, kind: str) -> str:
    value = value.strip(_PADDING)
    if not value:
        return value
    entry = UID_dictionary.get(value)
    return value if entry is not None and entry[1] == kind else OTHER


@lru_cache(maxsize=1)
def _modality_terms() -> frozenset[str]:
    with open(_standard_dir() / _MODALITY_TABLE, newline="", encoding="utf-8") as handle:
        return frozenset(row["term"] for row in csv.DictReader(handle))


def _standard_dir() -> Path:
    """Where the standard's tables live: inside the wheel, or ``standard/`` of a source checkout."""
    here = Path(__file__).parent
    packaged = here / "_standard"
    return packaged if packaged.is_dir() else here.parent / "standard"
