"""Selectors: which elements a rule applies to.

A selector is written as a string in a profile and parsed once, at load time:

========================================  ==============================================
``PatientName``                           a keyword from the DICOM dictionary
``0010,0010`` ``(0010,0010)`` ``00100010`` a tag
``50xx,xxxx`` ``60xx,3000``               a tag with hex wildcards (``x`` = any digit)
``(0029,"SIEMENS CSA HEADER",10)``        a private element: group, creator, element offset
``private``                               every private element, creators included
``unknown``                               every public element the dictionary does not know
``VR:PN``                                 every element of a value representation
========================================  ==============================================

Every selector applies at every depth of sequences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias

from pydicom.datadict import keyword_dict, tag_for_keyword

from .suggest import did_you_mean

VRS = frozenset(
    "AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV".split()
)

_TAG = re.compile(r"\(?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})\)?")
_WILDCARD = re.compile(r"\(?([0-9A-Fa-fxX]{4}),([0-9A-Fa-fxX]{4})\)?")
_PRIVATE = re.compile(r'\(?\s*([0-9A-Fa-f]{4})\s*,\s*"([^"]*)"\s*,\s*([0-9A-Fa-f]{2})\s*\)?')


@dataclass(frozen=True)
class TagSelector:
    """One exact tag (keywords resolve to this)."""

    tag: int


@dataclass(frozen=True)
class WildcardSelector:
    """Tags whose hex digits match wherever the pattern has no ``x``."""

    mask: int
    value: int

    def matches(self, tag: int) -> bool:
        return tag & self.mask == self.value


@dataclass(frozen=True)
class PrivateSelector:
    """A private element named by its group, creator and element offset (the ``ee`` in ``xxee``)."""

    group: int
    creator: str
    offset: int


@dataclass(frozen=True)
class ClassSelector:
    """A class of elements: ``private`` or ``unknown``."""

    name: str


@dataclass(frozen=True)
class VRSelector:
    """Every element of one value representation."""

    vr: str


Selector: TypeAlias = TagSelector | WildcardSelector | PrivateSelector | ClassSelector | VRSelector


def normalise_creator(creator: str) -> str:
    """Private creators compare without case and surrounding blanks, as vendors are inconsistent."""
    return creator.strip().upper()


def parse_selector(text: str) -> Selector:
    """Parse a selector string; raise ``ValueError`` with a reader-friendly message."""
    text = text.strip()
    if text in ("private", "unknown"):
        return ClassSelector(text)
    if text.upper().startswith("VR:"):
        vr = text[3:].strip().upper()
        if vr not in VRS:
            raise ValueError(f"unknown VR {vr!r} in selector {text!r}")
        return VRSelector(vr)
    if m := _PRIVATE.fullmatch(text):
        group = int(m.group(1), 16)
        if group % 2 == 0:
            raise ValueError(f"private selector {text!r} names an even (public) group")
        return PrivateSelector(group, normalise_creator(m.group(2)), int(m.group(3), 16))
    if m := _TAG.fullmatch(text):
        return TagSelector(int(m.group(1) + m.group(2), 16))
    if m := _WILDCARD.fullmatch(text):
        digits = (m.group(1) + m.group(2)).lower()
        mask = int("".join("0" if c == "x" else "f" for c in digits), 16)
        value = int(digits.replace("x", "0"), 16)
        return WildcardSelector(mask, value)
    if text.isidentifier():
        tag = tag_for_keyword(text)
        if tag is None:
            raise ValueError(f"{text!r} is not a keyword of the DICOM dictionary{did_you_mean(text, keyword_dict)}")
        return TagSelector(tag)
    raise ValueError(
        f"cannot read selector {text!r}: expected a keyword, a tag like 0010,0010, a wildcard like "
        '60xx,3000, a private element like (0029,"CREATOR",10), private, unknown, or VR:XX'
    )
