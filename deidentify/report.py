"""Report: one row per input, keyed by a file id that cannot be traced back without the key.

Rows hold statuses, reasons, output paths (pseudonyms and new UIDs), modality,
SOP class, transfer syntax and counts — never an input name or a value.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable

import pandas as pd

from .pipeline import Outcome

#: How the header's steps are summed up in the report.
COUNT_COLUMNS = {
    "removed": ("remove", "X"),
    "emptied": ("empty",),
    "dummied": ("dummy",),
    "replaced": ("uid", "pseudonym", "replace", "regex", "year-only", "age-cap"),
    "shifted": ("shift",),
    "cleaned": ("clean",),
    "kept": ("keep", "K"),
}


def row(outcome: Outcome, output: str, seconds: float) -> dict[str, object]:
    counts: Counter[str] = outcome.counts
    summed = {column: sum(counts.get(name, 0) for name in names) for column, names in COUNT_COLUMNS.items()}
    return {
        "file_id": outcome.file_id,
        "status": outcome.status,
        "reason": outcome.reason,
        "output": output,
        "modality": outcome.modality,
        "sop_class": outcome.sop_class,
        "transfer_syntax": outcome.transfer_syntax,
        **summed,
        "seconds": round(seconds, 6),
    }


def write_report(rows: Iterable[dict[str, object]], path: Path) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=["file_id", "status", "reason", "output", "modality",
                                               "sop_class", "transfer_syntax", *COUNT_COLUMNS, "seconds"])
    frame.to_csv(path, index=False)
    return frame


def summary(frame: pd.DataFrame, seconds: float, megabytes: float) -> str:
    """A short text summary: counts by status and by withheld reason, and throughput."""
    lines = [f"{len(frame)} files, {megabytes:.1f} MB in {seconds:.1f} s"
             f" ({len(frame) / seconds if seconds else 0:.0f} files/s, {megabytes / seconds if seconds else 0:.1f} MB/s)"]
    for status, count in frame["status"].value_counts().sort_index().items():
        lines.append(f"  {status:<10} {count}")
    held = frame[frame["status"] != "written"]
    for reason, count in held["reason"].value_counts().sort_index().items():
        lines.append(f"    {count:>5}  {reason}")
    return "\n".join(lines)
