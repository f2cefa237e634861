"""Pattern detectors in every free-text element and in the file's path.

The detectors are :func:`deidentify.detect.default_detectors` -- the very
list the ``clean`` action scrubs free text with -- so a check looks for
exactly what ``run`` would have cut out, and a new detector serves both.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from ...detect import Detector, default_detectors
from ..findings import Finding
from .base import FileContext, finding


class TextScanner:
    """Phone numbers, e-mails, national IDs, dates, person names and addresses in free text."""

    name = "text"

    def __init__(self, detectors: Sequence[Detector] | None = None) -> None:
        self.detectors = list(detectors) if detectors is not None else default_detectors()

    def scan(self, file: FileContext) -> Iterator[Finding]:
        for element in file.elements:
            if not element.free or not element.text:
                continue
            spans = {(f.start, f.end, f.kind) for d in self.detectors for f in d.find(element.text)}
            for start, end, kind in sorted(spans):
                yield finding(self.name, element, kind, "high", kind, end - start,
                              f"{kind} in {element.vr} text", start=start, end=end)

    def finish(self) -> Iterable[Finding]:
        return ()
