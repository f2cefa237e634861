"""Report: one row per input, keyed by a file id that cannot be traced back without the key.

Rows hold statuses, reasons, output paths (pseudonyms and new UIDs), modality,
SOP class, transfer syntax and counts — never an input name or a value.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from .outcome import Outcome

if TYPE_CHECKING:
    import pandas as pd

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
COLUMNS = ["file_id", "status", "reason", "output", "modality", "sop_class", "transfer_syntax_in",
           "transfer_syntax_out", *COUNT_COLUMNS, "masked_regions", "masked_by", "bytes", "seconds"]


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
        "transfer_syntax_in": outcome.transfer_syntax,
        "transfer_syntax_out": outcome.transfer_syntax_out if outcome.status == "written" else "",
        **summed,
        **_masked(outcome),
        "bytes": 0,
        "seconds": round(seconds, 6),
    }


def _masked(outcome: Outcome) -> dict[str, object]:
    """How many pixel regions were masked, and by what: rule names, or ``text:<class>`` for OCR."""
    boxes = [box for frame in getattr(outcome.pixels, "boxes", ()) or () for box in frame]
    labels = sorted({f"text:{box.kind}" if box.label == "text" and box.kind else box.label for box in boxes})
    return {"masked_regions": len(boxes), "masked_by": ";".join(labels)}


def write_report(rows: Iterable[dict[str, object]], csv_path: Path, parquet_path: Path | None = None) -> pd.DataFrame:
    import pandas as pd  # only when the run ends: it costs a third of a second to import

    frame = pd.DataFrame(list(rows), columns=COLUMNS)
    frame.to_csv(csv_path, index=False)
    if parquet_path is not None:
        frame.to_parquet(parquet_path, index=False)
    return frame


def summary(frame: pd.DataFrame, seconds: float) -> str:
    """Counts by status, modality and withheld reason, and throughput."""
    import pandas as pd

    megabytes = frame["bytes"].sum() / 1e6 if len(frame) else 0.0
    rate = f"{len(frame) / seconds:.0f} files/s, {megabytes / seconds:.1f} MB/s" if seconds > 0 else "-"
    lines = [f"{len(frame)} files, {megabytes:.1f} MB in {seconds:.1f} s ({rate})", "", "status"]
    lines += [f"  {status:<12} {count:>7}" for status, count in frame["status"].value_counts().sort_index().items()]
    modalities = frame[frame["modality"].fillna("") != ""]
    if len(modalities):
        lines += ["", "modality     written  withheld"]
        table = pd.crosstab(modalities["modality"], modalities["status"] == "written")
        for modality, counts in table.iterrows():
            lines.append(f"  {modality:<10} {counts.get(True, 0):>7} {counts.get(False, 0):>9}")
    held = frame[frame["status"] != "written"]
    if len(held):
        lines += ["", "not written, by reason"]
        lines += [f"  {count:>7}  {reason}" for reason, count in held["reason"].value_counts().sort_index().items()]
    return "\n".join(lines)
