"""What became of one input: the record every stage after the source fills in."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping

from .keys import PSEUDONYM_PREFIX, Keyring
from .sinks import OutputName

_UID_TEXT = re.compile(r"[0-9.]+")


@dataclass
class Outcome:
    """What became of one input."""

    file_id: str
    status: str  # written, withheld, not DICOM, error
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
    pixels: Any = None
    """The pixel stage's outcome (masked boxes per frame, labels only), for previews and the report."""


def output_name(uids: Mapping[str, str], patient_key: str, keyring: Keyring) -> OutputName:
    """Path parts from the new dataset's UIDs and the patient's keyed pseudonym, never an input value."""
    parts = []
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        value = uids.get(keyword, "")
        # A missing or malformed UID still needs a stable folder name that reveals nothing.
        parts.append(value if _UID_TEXT.fullmatch(value) else keyring.uid(value or keyword))
    return OutputName(PSEUDONYM_PREFIX + keyring.pseudonym(patient_key), *parts)
