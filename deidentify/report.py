"""Report: one row per input, keyed by a file id that cannot be traced back without the key.

Rows hold statuses, reasons, output paths (pseudonyms and new UIDs), modality,
SOP class, transfer syntax and counts — never an input name or a value.  The
columns read from the input (modality, SOP class, transfer syntaxes) hold only
terms of the standard, else ``other`` (:func:`screened`): :func:`row` screens
each new row before the manifest, the report and the summary see it, and the
report writer screens rows kept from earlier runs again.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO

from . import vocabulary
from .errors import DeidentifyError
from .outcome import CODE_ITEM_CLEANED, Outcome, Status

#: How the header's steps, and what was dropped from pixel data, are summed up in the report.
COUNT_COLUMNS = {
    "removed": ("remove", "X"),
    "emptied": ("empty",),
    "dummied": ("dummy",),
    "replaced": ("uid", "pseudonym", "replace", "regex", "year-only", "age-cap"),
    "shifted": ("shift",),
    "cleaned": ("clean",),
    "codes_cleaned": (CODE_ITEM_CLEANED,),  # code items (counted once each) whose text was cleaned
    "kept": ("keep", "K"),
    "pixel_trailing_dropped": ("pixel-trailing-dropped",),
    "pixel_high_bits_cleared": ("pixel-high-bits-cleared",),
    "pixel_metadata_dropped": ("pixel-metadata-dropped",),
}
COLUMNS = ["file_id", "status", "reason", "output", "modality", "sop_class", "transfer_syntax_in",
           "transfer_syntax_out", *COUNT_COLUMNS, "masked_regions", "masked_by", "bytes", "seconds"]


#: The columns whose values come from the input, and the standard's terms each may show.
SCREENED_COLUMNS: dict[str, Callable[[str], str]] = {
    "modality": vocabulary.modality,
    "sop_class": vocabulary.sop_class,
    "transfer_syntax_in": vocabulary.transfer_syntax,
    "transfer_syntax_out": vocabulary.transfer_syntax,
}


def screened(entry: Mapping[str, object]) -> dict[str, object]:
    """``entry`` with each value read from the input reduced to a term of the standard, or ``other``.

    Rows a state folder kept from an older version pass through it again, so what
    they held reaches no new report either.
    """
    return {**entry, **{column: terms(str(entry.get(column, "") or "")) for column, terms in SCREENED_COLUMNS.items()}}


def row(outcome: Outcome, output: str, seconds: float) -> dict[str, object]:
    """The report row of ``outcome``, screened."""
    counts: Counter[str] = outcome.counts
    summed = {column: sum(counts.get(name, 0) for name in names) for column, names in COUNT_COLUMNS.items()}
    return screened({
        "file_id": outcome.file_id,
        "status": outcome.status,
        "reason": outcome.reason,
        "output": output,
        "modality": outcome.modality,
        "sop_class": outcome.sop_class,
        "transfer_syntax_in": outcome.transfer_syntax,
        "transfer_syntax_out": outcome.transfer_syntax_out if outcome.status == Status.WRITTEN else "",
        **summed,
        **_masked(outcome),
        "bytes": 0,
        "seconds": round(seconds, 6),
    })


def _masked(outcome: Outcome) -> dict[str, object]:
    """How many pixel regions were masked, and by what: rule names, or ``text:<class>`` for OCR."""
    boxes = [box for frame in (outcome.pixels.boxes if outcome.pixels is not None else ()) for box in frame]
    labels = sorted({f"text:{box.kind}" if box.label == "text" and box.kind else box.label for box in boxes})
    return {"masked_regions": len(boxes), "masked_by": ";".join(labels)}


class Tally:
    """What the summary says, counted row by row: a run's memory does not grow with its size."""

    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0
        self.statuses: Counter[str] = Counter()
        self.modalities: dict[str, Counter[bool]] = {}
        self.reasons: Counter[str] = Counter()

    @classmethod
    def of(cls, rows: Iterable[Mapping[str, object]]) -> Tally:
        tally = cls()
        for entry in rows:
            tally.add(entry)
        return tally

    def add(self, entry: Mapping[str, object]) -> None:
        status = str(entry.get("status", ""))
        self.files += 1
        self.bytes += int(entry.get("bytes", 0) or 0)  # type: ignore[call-overload]
        self.statuses[status] += 1
        modality = str(entry.get("modality", "") or "")
        if modality and status != Status.FILTERED:
            self.modalities.setdefault(modality, Counter())[status == Status.WRITTEN] += 1
        if status != Status.WRITTEN:
            self.reasons[str(entry.get("reason", ""))] += 1

    @property
    def all_written(self) -> bool:
        """Whether every input was written, or left out on purpose by a filter of the profile."""
        return self.statuses[Status.WRITTEN] + self.statuses[Status.FILTERED] == self.files


def summary(tally: Tally, seconds: float) -> str:
    """Counts by status, modality and withheld reason, and throughput."""
    megabytes = tally.bytes / 1e6
    rate = f"{tally.files / seconds:.0f} files/s, {megabytes / seconds:.1f} MB/s" if seconds > 0 else "-"
    lines = [f"{tally.files} files, {megabytes:.1f} MB in {seconds:.1f} s ({rate})", "", "status"]
    lines += [f"  {status:<12} {count:>7}" for status, count in sorted(tally.statuses.items())]
    if tally.modalities:
        lines += ["", "modality     written  withheld"]
        for modality, counts in sorted(tally.modalities.items()):
            lines.append(f"  {modality:<10} {counts[True]:>7} {counts[False]:>9}")
    if tally.reasons:
        lines += ["", "not written, by reason"]
        lines += [f"  {count:>7}  {reason}" for reason, count in sorted(tally.reasons.items())]
    return "\n".join(lines)


class ReportWriter:
    """Writes the report as files finish, then as CSV and Parquet when the run ends.

    Rows go to ``report.csv.partial`` one by one, so a run holds none of them in
    memory; :meth:`close` renames it to ``report.csv`` and has another process
    convert it to Parquet (:func:`write_parquet_apart`).
    """

    def __init__(self, csv_path: Path, parquet_path: Path | None = None) -> None:
        self.csv_path, self.parquet_path = csv_path, parquet_path
        self._spool_path = csv_path.with_name(csv_path.name + ".partial")
        # Open for the whole run: rows are appended as files finish; close() ends it.
        self._spool: IO[str] | None = open(self._spool_path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.DictWriter(self._spool, fieldnames=COLUMNS)
        self.tally = Tally()
        self.note = ""
        """Set by :meth:`close` when the Parquet copy could not be written (the summary says so)."""

    def add(self, entry: Mapping[str, object], path_id: str = "") -> None:
        """Append ``entry`` (``path_id``, the input's keyed path, is for reports that keep one row per path)."""
        entry = screened(entry)
        self._writer.writerow(entry)
        self.tally.add(entry)

    def close(self, before: Iterable[Mapping[str, object]] = ()) -> Tally:
        """Write the report (rows of ``before`` first, then those added) and return what it counts."""
        assert self._spool is not None, "the report is closed already"
        self._spool.close()
        self._spool = None
        temp = self.csv_path.with_name(self.csv_path.name + ".writing")
        with open(temp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            for entry in map(screened, before):
                writer.writerow(entry)
                self.tally.add(entry)
            with open(self._spool_path, newline="", encoding="utf-8") as spool:
                shutil.copyfileobj(spool, handle)
        os.replace(temp, self.csv_path)
        os.unlink(self._spool_path)
        if self.parquet_path is not None:
            try:
                if importlib.util.find_spec("pyarrow") is None:
                    raise ReportError("report.parquet was not written: pyarrow is not installed "
                                      "(pip install 'deidentify[parquet]'); report.csv is complete")
                write_parquet_apart(self.csv_path, self.parquet_path)
            except ReportError as exc:
                self.parquet_path.unlink(missing_ok=True)  # an earlier run's would pass for this one's
                self.note = str(exc)
        return self.tally

    def discard(self) -> None:
        """Drop the rows of a run that did not finish (the next run reports them again)."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        self._spool_path.unlink(missing_ok=True)


_INTEGER_COLUMNS = [*COUNT_COLUMNS, "masked_regions", "bytes"]


class ReportError(DeidentifyError, RuntimeError):
    """The Parquet copy of the report could not be written (the CSV is there)."""


def write_parquet_apart(csv_path: Path, parquet_path: Path) -> None:
    """:func:`write_parquet` in a short-lived process of its own.

    pyarrow adds 35-40 MB to the process that imports it, more than a run's whole
    work on its files; converting apart keeps the run's own peak where its work put it.
    """
    code = "import sys; from deidentify.report import write_parquet as w; from pathlib import Path as P; " \
           "w(P(sys.argv[1]), P(sys.argv[2]))"
    done = subprocess.run([sys.executable, "-c", code, str(csv_path), str(parquet_path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ReportError(f"the Parquet report was not written ({last[:200]}); report.csv is complete")


def write_parquet(csv_path: Path, parquet_path: Path) -> None:
    """The CSV report as Parquet, with the column types the report has (text, integers, seconds).

    Converted a block at a time on one thread, so memory does not grow with the report.
    """
    import pyarrow as pa
    from pyarrow import csv as pa_csv
    from pyarrow import parquet

    types = {c: pa.int64() if c in _INTEGER_COLUMNS else pa.float64() if c == "seconds" else pa.string()
             for c in COLUMNS}
    reader = pa_csv.open_csv(csv_path, read_options=pa_csv.ReadOptions(use_threads=False, block_size=1 << 16),
                             convert_options=pa_csv.ConvertOptions(column_types=types, strings_can_be_null=False))
    temp = parquet_path.with_name(parquet_path.name + ".writing")
    with parquet.ParquetWriter(temp, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
    os.replace(temp, parquet_path)
