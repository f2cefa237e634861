"""A state folder's report read back, its summary again, and an HTML page of it (``deidentify report``).

The page is built from the report alone (``report.parquet``, else ``report.csv``),
which holds file ids, statuses, reasons, output paths (pseudonyms and new UIDs),
modality, SOP class, transfer syntaxes and counts — no name, path or value of an
input — and adds nothing else: no folder name, no time of day.  Its charts are
inline SVG drawn here, so the page is one self-contained file and holds only
text this module wrote (numbers are rounded, there are no generated ids).
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from .errors import DeidentifyError
from .outcome import Status
from .report import COLUMNS, SCREENED_COLUMNS, Tally, summary
from .state import read_manifest

#: Rows of the per-file table at most; past that the page says how many are left out.
MAX_TABLE_ROWS = 5000
#: The colour of each status on the pages (the report's and the review's).  Keyed by text: report
#: frames read back from CSV hold statuses as plain strings.
STATUS_COLOURS: dict[str, str] = {Status.WRITTEN: "#3a7d44", Status.WITHHELD: "#c0392b", Status.NOT_DICOM: "#7f8c8d",
                            Status.ERROR: "#8e44ad", Status.FILTERED: "#5d6d7e"}
_OTHER_COLOUR = "#95a5a6"
_INTEGER_COLUMNS = [c for c in COLUMNS if c not in ("file_id", "status", "reason", "output", "modality", "sop_class",
                                                    "transfer_syntax_in", "transfer_syntax_out", "masked_by",
                                                    "seconds")]


class ReportMissing(DeidentifyError, FileNotFoundError):
    """The state folder holds no report."""


def read_report(state: Path) -> pd.DataFrame:
    """The report of the state folder ``state`` (``report.parquet``, else ``report.csv``).

    While a run or a watcher is still writing the folder (its manifest is newer than
    the report, or there is no report yet), the rows come from the manifest: every
    input finished so far.  ``frame.attrs["live"]`` says so.
    """
    parquet, csv = state / "report.parquet", state / "report.csv"
    manifest = state / "manifest.jsonl"
    frame = None
    live = manifest.is_file() and (not csv.is_file() or manifest.stat().st_mtime_ns > csv.stat().st_mtime_ns)
    if live:
        rows = [seen.row for seen in read_manifest(manifest).values()]
        frame = pd.DataFrame(rows, columns=list(COLUMNS), dtype=object) if rows else None
    if frame is None and parquet.is_file():
        try:
            frame = pd.read_parquet(parquet)
        except (OSError, ValueError, ImportError):  # ImportError: written where pyarrow is, read where it is not
            frame = None
    if frame is None:
        if not csv.is_file():
            raise ReportMissing(f"no report (report.parquet or report.csv) in {state}")
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    numbers = [*_INTEGER_COLUMNS, "seconds"]
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = 0 if column in numbers else ""
    text = [c for c in frame.columns if c not in numbers]
    frame[text] = frame[text].fillna("").astype(str)
    for column in _INTEGER_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").fillna(0).astype("int64")
    frame["seconds"] = pd.to_numeric(frame["seconds"], errors="coerce").fillna(0.0).astype(float)
    # A report written by an older version may hold whatever the input held in these columns.
    for column, terms in SCREENED_COLUMNS.items():
        frame[column] = frame[column].map(terms)
    frame.attrs["live"] = live
    return frame


def report_summary(frame: pd.DataFrame) -> str:
    """:func:`deidentify.report.summary`, its time being the per-file processing seconds added up."""
    records: list[dict[str, object]] = [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]
    return summary(Tally.of(records), float(frame["seconds"].sum()))


# --- the page ---------------------------------------------------------------------------------

_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
.meta { color: #555; } pre { background: #f6f6f6; padding: .8em; overflow-x: auto; }
table { border-collapse: collapse; margin: .6em 0; } th, td { padding: .25em .7em; border-bottom: 1px solid #e3e3e3; }
th { text-align: left; background: #f3f3f3; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.wide { overflow-x: auto; } .wide table { font-size: 12px; white-space: nowrap; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5em; } svg { max-width: 100%; height: auto; }
svg text { font: 12px system-ui, sans-serif; fill: #222; } svg .title { font-weight: bold; font-size: 13px; }
svg .axis { stroke: #888; stroke-width: 1; } svg .grid { stroke: #e5e5e5; stroke-width: 1; }
"""


def render_html(frame: pd.DataFrame, *, max_rows: int = MAX_TABLE_ROWS, signer: str | None = None) -> str:
    """The report as one HTML page: counts, charts and the per-file table.

    ``signer``: the fingerprint of the key DST was signed with (a signed release), shown to be read out.
    """
    files = len(frame)
    written = int((frame["status"] == Status.WRITTEN).sum())
    megabytes = frame["bytes"].sum() / 1e6 if files else 0.0
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>deidentify report</title><style>{_STYLE}</style></head><body>",
        "<h1>deidentify report</h1>",
        f'<p class="meta">{files} files ({megabytes:.1f} MB): {written} written, {files - written} not written. '
        f"Made by deidentify {_e(__version__)} from the report of a state folder.</p>",
        *([f'<p class="meta">Signed release: signing key fingerprint <code>{_e(signer)}</code>. Read it out '
           "to the partner, who checks it against the public key before running verify-release.</p>"]
          if signer else []),
        "<h2>Summary</h2>",
        f"<pre>{_e(report_summary(frame))}</pre>",
    ]
    parts += _status_section(frame)
    parts += _modality_section(frame)
    parts += _reason_section(frame)
    parts += _throughput_section(frame)
    parts += _file_section(frame, max_rows)
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_html(frame: pd.DataFrame, path: Path, *, max_rows: int = MAX_TABLE_ROWS, signer: str | None = None) -> Path:
    """Write :func:`render_html` to ``path`` (under a temporary name, then renamed)."""
    text = render_html(frame, max_rows=max_rows, signer=signer)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)
    return path


def _status_section(frame: pd.DataFrame) -> list[str]:
    counts = frame.groupby("status", sort=True).agg(files=("status", "size"), bytes=("bytes", "sum"))
    rows = [[str(status), _int(r["files"]), f"{r['bytes'] / 1e6:.1f}"] for status, r in counts.iterrows()]
    out = ["<h2>By status</h2>", _table(["status", "files", "MB"], rows, numeric={1, 2})]
    if rows:
        out.append(_bar_chart("Files by status", [r[0] for r in rows],
                              [(None, [int(c) for c in counts["files"]], None)],
                              colours=[STATUS_COLOURS.get(s, _OTHER_COLOUR) for s in counts.index]))
    return out


def _modality_section(frame: pd.DataFrame) -> list[str]:
    out = ["<h2>By modality</h2>"]
    if not len(frame):
        return out + ["<p>No files.</p>"]
    modality = frame["modality"].where(frame["modality"] != "", "(none)")
    table = pd.crosstab(modality, frame["status"])
    statuses = _status_order([str(c) for c in table.columns])
    table = table.reindex(columns=statuses, fill_value=0)
    rows = [[str(m), *(_int(table.at[m, s]) for s in statuses), _int(table.loc[m].sum())] for m in table.index]
    out.append(_table(["modality", *statuses, "total"], rows, numeric=set(range(1, len(statuses) + 2))))
    series = [(s, [int(table.at[m, s]) for m in table.index], STATUS_COLOURS.get(s, _OTHER_COLOUR))
              for s in statuses]
    out.append(_bar_chart("Files by modality and status", list(table.index), series))
    return out


def _reason_section(frame: pd.DataFrame) -> list[str]:
    held = frame[frame["status"] != Status.WRITTEN]
    out = ["<h2>Not written, by reason</h2>"]
    if not len(held):
        return out + ["<p>Every file was written.</p>"]
    counts = held.groupby(["reason", "status"], sort=True).size().reset_index(name="files")
    counts = counts.sort_values(["files", "reason"], ascending=[False, True])
    rows = [[r.reason or "(none given)", r.status, _int(r.files)] for r in counts.itertuples()]
    out.append(_table(["reason", "status", "files"], rows, numeric={2}))
    by_reason = held.assign(reason=held["reason"].where(held["reason"] != "", "(none given)"))
    by_reason = by_reason.groupby("reason").size().sort_values(ascending=False, kind="stable")
    out.append(_bar_chart("Files not written, by reason", list(by_reason.index),
                          [(None, [int(v) for v in by_reason], STATUS_COLOURS[Status.WITHHELD])]))
    return out


def _throughput_section(frame: pd.DataFrame) -> list[str]:
    out = ["<h2>Throughput</h2>"]
    if not len(frame):
        return out + ["<p>No files.</p>"]
    seconds = frame["seconds"].cumsum().tolist()
    megabytes = (frame["bytes"].cumsum() / 1e6).tolist()
    total = seconds[-1]
    rate = f"{len(frame) / total:.1f} files/s, {megabytes[-1] / total:.2f} MB/s" if total > 0 else "-"
    out.append(f"<p>{len(frame)} files in {total:.1f} s of processing ({rate}). Time here is each file's "
               "processing time added up in the order files finished (with several workers, more than the "
               "time the run took); files resumed from an earlier run count with the time they took then.</p>")
    files = list(range(1, len(frame) + 1))
    out.append('<div class="charts">')
    out.append(_line_chart("Files finished over processing time", seconds, files, "processing time (s)", "files"))
    out.append(_line_chart("Data read over processing time", seconds, megabytes, "processing time (s)", "MB"))
    out.append("</div>")
    return out


def _file_section(frame: pd.DataFrame, max_rows: int) -> list[str]:
    out = ["<h2>Files</h2>"]
    shown = frame
    if len(frame) > max_rows:
        # Keep what needs a look: every file not written first, then written ones.
        held = frame[frame["status"] != Status.WRITTEN]
        shown = pd.concat([held, frame[frame["status"] == Status.WRITTEN]]).head(max_rows)
        out.append(f"<p>{len(frame) - len(shown)} of {len(frame)} rows are left out here (files not written "
                   "come first); report.csv holds them all.</p>")
    numeric = {i for i, c in enumerate(COLUMNS) if c in _INTEGER_COLUMNS or c == "seconds"}
    rows = [[_cell(column, value) for column, value in zip(COLUMNS, values, strict=True)]
            for values in shown[COLUMNS].itertuples(index=False)]
    out.append(f'<div class="wide">{_table(COLUMNS, rows, numeric=numeric)}</div>')
    return out


def _status_order(statuses: Sequence[str]) -> list[str]:
    known = [str(s) for s in STATUS_COLOURS if s in statuses]
    return known + sorted(s for s in statuses if s not in STATUS_COLOURS)


def _cell(column: str, value: Any) -> str:
    if column == "seconds":
        return f"{float(value):.3f}"
    if column in _INTEGER_COLUMNS:
        return _int(value)
    return str(value)


def _int(value: Any) -> str:
    return str(int(value))


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Collection[int] = ()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "\n".join(
        "<tr>" + "".join(f'<td class="n">{_e(v)}</td>' if i in numeric else f"<td>{_e(v)}</td>"
                         for i, v in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


# --- charts: inline SVG ---------------------------------------------------------------------------

def _f(value: float) -> str:
    """A coordinate: one decimal, no trailing zero."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _bar_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str | None, Sequence[int], str | None]],
               colours: Sequence[str] | None = None) -> str:
    """Horizontal bars, one per label; several series are stacked (with a legend)."""
    width, row_h, top = 640, 24, 30
    label_w = min(260, 12 + 7 * max((len(label) for label in labels), default=4))
    totals = [sum(values[i] for _, values, _ in series) for i in range(len(labels))]
    scale = (width - label_w - 60) / max(max(totals, default=0), 1)
    legend = len(series) > 1
    height = top + row_h * len(labels) + (28 if legend else 8)
    out = [_svg_open(width, height, title), f'<text class="title" x="0" y="16">{_e(title)}</text>']
    for i, label in enumerate(labels):
        y = top + i * row_h
        out.append(f'<text x="{label_w - 8}" y="{_f(y + 15)}" text-anchor="end">{_e(_clip(label, 36))}</text>')
        x = float(label_w)
        for _, values, colour in series:
            fill = colours[i] if colours is not None else (colour or _OTHER_COLOUR)
            w = values[i] * scale
            if w > 0:
                out.append(f'<rect x="{_f(x)}" y="{y + 3}" width="{_f(w)}" height="{row_h - 6}" fill="{fill}"/>')
            x += w
        out.append(f'<text x="{_f(x + 6)}" y="{_f(y + 15)}">{totals[i]}</text>')
    if legend:
        x, y = float(label_w), top + row_h * len(labels) + 10
        for name, _, colour in series:
            out.append(f'<rect x="{_f(x)}" y="{y}" width="12" height="12" fill="{colour or _OTHER_COLOUR}"/>')
            out.append(f'<text x="{_f(x + 17)}" y="{y + 10}">{_e(name)}</text>')
            x += 30 + 7 * len(str(name))
    out.append("</svg>")
    return "\n".join(out)


def _line_chart(title: str, xs: Sequence[float], ys: Sequence[float], x_label: str, y_label: str) -> str:
    """A line from (0, 0) through the points, with ticked axes."""
    width, height, left, right, top, bottom = 520, 280, 56, 16, 30, 44
    x_ticks, y_ticks = _ticks(max(xs, default=0.0)), _ticks(max(ys, default=0.0))
    x_max, y_max = x_ticks[-1] or 1.0, y_ticks[-1] or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + plot_w * x / x_max

    def py(y: float) -> float:
        return top + plot_h * (1 - y / y_max)

    out = [_svg_open(width, height, title), f'<text class="title" x="0" y="16">{_e(title)}</text>']
    for tick in y_ticks:
        out.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{_f(py(tick))}" y2="{_f(py(tick))}"/>')
        out.append(f'<text x="{left - 6}" y="{_f(py(tick) + 4)}" text-anchor="end">{_tick_label(tick)}</text>')
    for tick in x_ticks:
        out.append(f'<text x="{_f(px(tick))}" y="{height - bottom + 16}" text-anchor="middle">'
                   f"{_tick_label(tick)}</text>")
    out.append(f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{height - bottom}"/>')
    out.append(f'<line class="axis" x1="{left}" x2="{width - right}" y1="{height - bottom}" y2="{height - bottom}"/>')
    out.append(f'<text x="{_f(left + plot_w / 2)}" y="{height - 6}" text-anchor="middle">{_e(x_label)}</text>')
    out.append(f'<text x="12" y="{_f(top + plot_h / 2)}" text-anchor="middle" '
               f'transform="rotate(-90 12 {_f(top + plot_h / 2)})">{_e(y_label)}</text>')
    points = [(0.0, 0.0), *_thin(list(zip(xs, ys, strict=True)), 400)]
    path = " ".join(f"{_f(px(x))},{_f(py(y))}" for x, y in points)
    out.append(f'<polyline fill="none" stroke="#2c6fbb" stroke-width="2" points="{path}"/>')
    out.append("</svg>")
    return "\n".join(out)


def _svg_open(width: int, height: int, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img"><title>{_e(title)}</title>')


def _ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``high``."""
    if high <= 0:
        return [0.0, 1.0]
    raw = high / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(s * magnitude for s in (1, 2, 2.5, 5, 10) if s * magnitude >= raw)
    steps = math.ceil(high / step - 1e-9)
    return [round(i * step, 10) for i in range(steps + 1)]


def _tick_label(value: float) -> str:
    return f"{value:g}"


def _thin(points: list[tuple[float, float]], most: int) -> list[tuple[float, float]]:
    if len(points) <= most:
        return points
    step = len(points) / most
    return [points[int(i * step)] for i in range(most)] + [points[-1]]


def _clip(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
