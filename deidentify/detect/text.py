"""Running detectors over a text and blanking what they find."""

from __future__ import annotations

from collections.abc import Sequence

from .address import AddressDetector
from .base import Detector, Finding
from .dates import DateDetector
from .email import EmailDetector
from .national_id import NationalIdDetector
from .person_names import PersonNameDetector
from .phone import PhoneDetector


def default_detectors() -> list[Detector]:
    """The detectors that need no knowledge of the dataset: phone numbers, e-mail
    addresses, national identifiers (every kind :mod:`.national_id` knows), dates,
    person names and street addresses.

    The same list scrubs free text under the clean actions of ``run`` and scans
    every text element in ``check``, so what one removes the other looks for.
    """
    return [
        PhoneDetector(),
        EmailDetector(),
        NationalIdDetector(),  # every kind of national_id.DETECTORS
        DateDetector(),
        PersonNameDetector(),
        AddressDetector(),
    ]


def scrub(
    text: str, detectors: Sequence[Detector], replacement: str = "***"
) -> tuple[str, list[Finding]]:
    """Replace every identifying span of ``text`` by ``replacement``.

    Spans found by all ``detectors`` are merged where they overlap or touch, so a
    name next to an ID becomes one ``replacement``, not two.  Returns the cleaned
    text and the findings (sorted, without duplicates) in ``text``'s coordinates.
    """
    findings = sorted({f for detector in detectors for f in detector.find(text)})
    merged: list[list[int]] = []
    for finding in findings:
        if merged and finding.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], finding.end)
        else:
            merged.append([finding.start, finding.end])
    pieces: list[str] = []
    position = 0
    for start, end in merged:
        pieces += [text[position:start], replacement]
        position = end
    pieces.append(text[position:])
    return "".join(pieces), findings
