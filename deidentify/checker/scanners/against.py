"""The source's own identifying values, found again anywhere in the output.

Every element is searched -- free text, names, IDs, dates (a DA value is
compared as a date, so a shifted date passes and an original one does not),
decoded private and UN values -- and the file's path.  UIDs are the
:mod:`.uids` scanner's.  A match that is exactly the profile's dummy value for
the element's VR (``ANONYMIZED``, ``19000101``) is not a leak even when a
source happened to hold it, nor is a department name or name part made only
of DICOM's own words ("Radiology", "Test") found in another patient's series
description.

Coded strings (CS) hold defined terms, yet any text fits in one: a surname in
BodyPartExamined is a leak like any other.  The source's identifying values are
searched in CS values too (never the source's own CS values: those are terms),
but a match there counts only when it is at least three characters long and not
made only of DICOM vocabulary, whatever its kind: a source name part "CT" or an
ID "HEAD" is no leak in Modality or BodyPartExamined.  UIDs are the uids scanner's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cache

from ...actions import ACTIONS, ElementContext, PatientContext
from ...detect.names_data import name_lists
from ...keys import Keyring
from ...profile.model import Settings
from ..findings import Finding
from ..source_index import SourceIndex
from .base import FileContext, finding

# Kinds whose values may be ordinary words: a department called "Radiology", a name part "Test".
_VOCABULARY_KINDS = frozenset({"name", "institution", "address"})
_CODED = "CS"
# Two-letter defined terms (CT, MR, US, NM ...) outnumber two-letter names in a code.
_MIN_CODED_CHARS = 3
_WORDS = re.compile(r"[^\W\d_]+")


@cache
def dummy_value(vr: str) -> str:
    """What the ``dummy`` action writes for ``vr``, as text."""
    ctx = ElementContext(vr=vr, keyring=Keyring(bytes(32)), patient=PatientContext("", 0),
                         settings=Settings(), args={})
    return str(ACTIONS["dummy"](None, ctx))


class AgainstScanner:
    """Names, IDs, dates, addresses, phones, institutions and devices of the source."""

    name = "against"

    def __init__(self, source: SourceIndex) -> None:
        self.source = source

    def scan(self, file: FileContext) -> Iterator[Finding]:
        for element in file.elements:
            if not element.text or element.vr == "UI":
                continue
            dummy = dummy_value(element.vr)
            spans = {
                (f.start, f.end, f.kind)
                for detector in self.source.detectors
                for f in detector.find(element.text)
                if not self._ordinary(element.text[f.start : f.end], f.kind, dummy)
                and (element.vr != _CODED or _not_a_term(element.text[f.start : f.end]))
            }
            for start, end, kind in sorted(spans):
                yield finding(self.name, element, f"source-{kind}", "high", kind, end - start,
                              f"a {kind} of the source in {element.vr}", start=start, end=end)

    @staticmethod
    def _ordinary(matched: str, kind: str, dummy: str) -> bool:
        """A match that identifies nobody: the profile's own dummy, or a name, department or
        address part made only of DICOM vocabulary ("Radiology", "Test", "Nuclear Medicine")."""
        if matched == dummy:
            return True
        if kind not in _VOCABULARY_KINDS:
            return False
        words = [w for w in _WORDS.findall(matched) if len(w) >= 3]  # "GE", "de": no evidence either way
        return bool(words) and all(name_lists().is_vocabulary(w) for w in words)

    def finish(self) -> Iterable[Finding]:
        return ()


def _not_a_term(matched: str) -> bool:
    """Whether a match in a code string cannot be a defined term: three characters or
    more, and not made only of DICOM vocabulary ("CT", "HEAD", "AXIAL" are terms)."""
    words = _WORDS.findall(matched)
    short = len(matched.strip()) < _MIN_CODED_CHARS
    return not short and not (words and all(name_lists().is_vocabulary(w) for w in words))
