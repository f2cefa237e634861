"""What a check reports: findings that say what and where, never the value.

A finding names the file, the element (its path through sequences), the
scanner and detector that raised it, a severity, and the value only as its
class and length.  Nothing a scanner writes into a finding may quote a value:
these go to terminals, JSON, CSV and HTML that leave the secure area.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..textenum import TextEnum


class Severity(TextEnum):
    """How serious a finding is, most serious first (str-valued: reports hold the text)."""

    ERROR = "error"
    """The file could not be checked at all."""
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


#: Severities, most serious first.
SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)
#: The scanner whose findings are notes on DICOM validity, not identity: they fail a check only when asked.
VALIDITY_SCANNER = "validity"

#: Exit status of a check: nothing found, findings, the check could not be completed.
EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

#: The pseudo-element of a file's path below the checked folder.
PATH_ELEMENT = "(path)"
#: The pseudo-element of findings about a file as a whole.
FILE_ELEMENT = "(file)"


@dataclass(frozen=True)
class Finding:
    """One thing in one file that may identify someone or break the dataset.

    ``value_class`` and ``length`` describe the value (``person-name``, 17
    characters); ``start`` and ``end`` locate a span inside the element's text
    when a text detector found it.  ``region`` is a box ``(x0, y0, x1, y1)`` in
    the pixels of ``element`` for pixel findings, and ``thumbnail`` a small PNG
    of that image for the HTML report (rendered so that text is unreadable).
    """

    file: str
    element: str
    scanner: str
    detector: str
    severity: str
    value_class: str
    length: int
    message: str = ""
    start: int | None = None
    end: int | None = None
    region: tuple[int, int, int, int] | None = None
    thumbnail: bytes | None = field(default=None, repr=False, compare=False)
    accepted: str = ""
    """Why a site's accept-list accepts this finding ("" when it does not): it is shown, but fails nothing."""

    @property
    def value(self) -> str:
        """How the value is shown: its class and length, e.g. ``<person-name, 17 chars>``."""
        if self.length <= 0:
            return f"<{self.value_class}>"
        return f"<{self.value_class}, {self.length} chars>"

    def as_row(self) -> dict[str, object]:
        """The finding as a flat record (JSON, CSV), without the thumbnail."""
        return {
            "file": self.file,
            "element": self.element,
            "scanner": self.scanner,
            "detector": self.detector,
            "severity": self.severity,
            "value": self.value,
            "value_class": self.value_class,
            "length": self.length,
            "start": self.start,
            "end": self.end,
            "region": list(self.region) if self.region else None,
            "message": self.message,
            "accepted": self.accepted,
        }


def severity_rank(severity: str) -> int:
    """Position in :data:`SEVERITIES` (0 is the most serious); unknown ones sort last."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """By file, then element, then most serious first."""
    return sorted(
        findings,
        key=lambda f: (f.file, f.element, severity_rank(f.severity), f.scanner, f.detector, f.start or 0),
    )


def exit_status(findings: Sequence[Finding], fail_on: str = Severity.MEDIUM, validity: bool = False) -> int:
    """2 when a file could not be checked; 1 when a finding at ``fail_on`` or more serious is not
    accepted (validity notes only with ``validity``); else 0."""
    if any(f.severity == Severity.ERROR for f in findings):
        return EXIT_ERROR
    return EXIT_FINDINGS if any(fails(f, fail_on, validity) for f in findings) else EXIT_CLEAN


def fails(finding: Finding, fail_on: str = Severity.MEDIUM, validity: bool = False) -> bool:
    """Whether ``finding`` fails a check that fails on ``fail_on`` (and on validity notes with ``validity``)."""
    if finding.accepted or (finding.scanner == VALIDITY_SCANNER and not validity):
        return False
    return severity_rank(finding.severity) <= severity_rank(fail_on)
