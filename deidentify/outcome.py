"""What became of one input: the record every stage after the source fills in."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .keys import PSEUDONYM_PREFIX, Keyring
from .sinks import OutputName
from .textenum import TextEnum

if TYPE_CHECKING:
    from .pixels.clean import PixelOutcome

_UID_TEXT = re.compile(r"[0-9.]+")

CODE_ITEM_CLEANED = "code-item-cleaned"
"""A name in :attr:`Outcome.counts`: code items whose text was not the standard's and went through
the clean step (the header walk counts them, the report's ``codes_cleaned`` column sums them)."""


class Status(TextEnum):
    """What became of one input, as the report, the log and the quarantine say it.

    The values are the report's text (:class:`~.textenum.TextEnum`).
    """

    WRITTEN = "written"
    """De-identified and in DST."""
    WITHHELD = "withheld"
    """Read, but not shared: something identifying could not be removed with certainty."""
    FILTERED = "filtered"
    """Left out on purpose: a filter of the profile rejected it (never written, never quarantined)."""
    NOT_DICOM = "not DICOM"
    """Not a DICOM instance (an empty file, a DICOMDIR, anything else)."""
    ERROR = "error"
    """Could not be read or de-identified."""


@dataclass
class Outcome:
    """What became of one input."""

    file_id: str
    status: Status
    reason: str = ""
    data: bytes | None = None
    name: OutputName | None = None
    modality: str = ""
    sop_class: str = ""
    transfer_syntax: str = ""
    transfer_syntax_out: str = ""
    counts: Counter[str] = field(default_factory=Counter)
    uid_pairs: list[tuple[str, str]] = field(default_factory=list)
    patient_pair: tuple[str, str] | None = None
    date_offset: tuple[str, int] | None = None
    """With linkage, when dates were shifted: (the output's PatientID, the shift in days)."""
    pixels: PixelOutcome | None = None
    """The pixel stage's outcome (masked boxes per frame, labels only), for previews and the report."""


def output_name(uids: Mapping[str, str], patient_key: str, keyring: Keyring) -> OutputName:
    """Path parts from the new dataset's UIDs and the patient's keyed pseudonym, never an input value."""
    parts = []
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        value = uids.get(keyword, "")
        # A missing or malformed UID still needs a stable folder name that reveals nothing.
        parts.append(value if _UID_TEXT.fullmatch(value) else keyring.uid(value or keyword))
    return OutputName(PSEUDONYM_PREFIX + keyring.pseudonym(patient_key), *parts)
