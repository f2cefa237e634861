"""Actions: one small pure function per module, registered here by the name profiles use."""

from collections.abc import Mapping

from .age_cap import age_cap
from .base import REMOVE, Action, ElementContext, PatientContext, Withheld
from .clean import clean
from .dummy import dummy
from .empty import empty
from .keep import keep
from .lookup import lookup
from .pseudonym import code_for, pseudonym
from .regex import regex
from .remove import remove
from .replace import replace
from .shift import shift
from .uid import is_well_known, uid
from .year_only import year_only

ACTIONS: Mapping[str, Action] = {
    "remove": remove,
    "empty": empty,
    "dummy": dummy,
    "keep": keep,
    "clean": clean,
    "uid": uid,
    "pseudonym": pseudonym,
    "shift": shift,
    "year-only": year_only,
    "age-cap": age_cap,
    "replace": replace,
    "regex": regex,
    "lookup": lookup,
}

__all__ = ["ACTIONS", "REMOVE", "Action", "ElementContext", "PatientContext", "Withheld", "code_for",
           "is_well_known"]
