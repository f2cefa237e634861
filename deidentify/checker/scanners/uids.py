"""Original UIDs of the source, anywhere in the output.

A UID value (at any depth, in the file meta too) that the source holds is an
instance UID that was not replaced: with it, anyone who has the source finds
the patient.  UIDs written into text or into the path are looked for as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ..findings import Finding
from ..source_index import SourceIndex
from .base import FileContext, finding

# A dotted run of at least three numbers, not part of a longer one (".dcm" may follow).
_UID_IN_TEXT = re.compile(r"(?<![\d.])\d+(?:\.\d+){2,}(?!\d|\.\d)")


class UidScanner:
    """Instance UIDs of the source left in the output."""

    name = "uids"

    def __init__(self, source: SourceIndex) -> None:
        self.source = source

    def scan(self, file: FileContext) -> Iterator[Finding]:
        for element in file.elements:
            if not element.text:
                continue
            if element.vr == "UI":
                position = 0
                for value in element.text.split("\\"):
                    if value.strip("\0 ") in self.source.uids:
                        yield finding(self.name, element, "original-uid", "high", "uid", len(value),
                                      "an instance UID of the source", start=position,
                                      end=position + len(value))
                    position += len(value) + 1
                continue
            for match in _UID_IN_TEXT.finditer(element.text):
                if match.group() in self.source.uids:
                    yield finding(self.name, element, "original-uid", "high", "uid", len(match.group()),
                                  f"an instance UID of the source in {element.vr}", start=match.start(),
                                  end=match.end())

    def finish(self) -> Iterable[Finding]:
        return ()
