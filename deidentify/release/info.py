"""``bag-info.txt``: what a release says of itself, from the state folder's report and identity alone.

It holds the profile's name and fingerprint, the counts of inputs by status and
by modality and status, the tool's version, the date, the payload's size and
the signing key's fingerprint: no name, no path of an input, no time of day,
nothing of the pseudonym key.  The state folder's quarantine and linkage files are
never opened.  The state folder also remembers who signed (``release.json``), for
the HTML report.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .. import __version__
from ..outcome import Status
from ..state import StateFolder
from ._atomic import write_atomic

_SIGNED = "release.json"


@dataclass(frozen=True)
class ReleaseInfo:
    """The facts ``bag-info.txt`` states besides the payload's size and the key."""

    profile_name: str = ""
    profile_hash: str = ""
    statuses: dict[str, int] = field(default_factory=dict)
    by_modality: dict[tuple[str, str], int] = field(default_factory=dict)
    """(modality, status) -> inputs."""

    @classmethod
    def from_state(cls, state: Path) -> ReleaseInfo:
        """What ``state`` (a run's state folder) records; empty where it records nothing."""
        if not state.is_dir():
            return cls()
        identity = StateFolder(state).identity()
        name, hashed = ("", "") if identity is None or not identity.profile else (identity.profile_name,
                                                                                  identity.profile)
        from ..report_html import ReportMissing, read_report  # pandas loads here

        try:
            frame = read_report(state)
        except (ReportMissing, OSError, ValueError):
            return cls(name, hashed)
        known = {str(s) for s in Status}
        status = frame["status"].map(lambda s: s if s in known else "other")
        modality = frame["modality"].map(lambda m: m or "(none)")
        return cls(name, hashed, dict(sorted(Counter(status).items())),
                   dict(sorted(Counter(zip(modality, status, strict=True)).items())))

    @property
    def written(self) -> int | None:
        """Inputs the report counts as written, or None without a report."""
        return self.statuses.get(str(Status.WRITTEN), 0) if self.statuses else None

    def text(self, *, octets: int, files: int, key: str, today: date | None = None) -> bytes:
        """The contents of ``bag-info.txt`` for a payload of ``files`` files, ``octets`` bytes, signed by ``key``."""
        lines = [
            ("Bag-Software-Agent", f"deidentify {__version__}"),
            ("Bagging-Date", (today or date.today()).isoformat()),
            ("Payload-Oxum", f"{octets}.{files}"),
        ]
        if self.profile_name:
            lines += [("Deidentify-Profile", self.profile_name), ("Deidentify-Profile-Hash", self.profile_hash)]
        lines += [("Deidentify-Inputs", f"{status} {count}") for status, count in self.statuses.items()]
        lines += [("Deidentify-Modality", f"{modality} {status} {count}")
                  for (modality, status), count in self.by_modality.items()]
        lines.append(("Deidentify-Signing-Key", key))
        return "".join(f"{label}: {_one_line(value)}\n" for label, value in lines).encode("utf-8")


def record_signer(state: Path, key: str, files: int, today: date | None = None) -> None:
    """Remember in ``state`` that its DST was signed by ``key`` (a fingerprint), for the HTML report."""
    entry = {"key": key, "files": files, "date": (today or date.today()).isoformat()}
    write_atomic(state / _SIGNED, (json.dumps(entry) + "\n").encode("utf-8"), 0o600)


def signer(state: Path) -> str | None:
    """The fingerprint of the key that last signed the DST of ``state``, or None."""
    try:
        entry = json.loads((state / _SIGNED).read_text(encoding="utf-8"))
        return str(entry["key"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _one_line(value: str) -> str:
    return " ".join(value.split())
