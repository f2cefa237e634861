"""The review page: one self-contained HTML file a records officer reads before a release leaves.

It shows, from a state folder (and optionally the sources, the key and a check's
findings): a summary of the run; a before/after thumbnail pair of every image
whose pixels were masked; every file not written, grouped by what would fix it;
and the check's findings grouped by file and severity.  Thumbnails are inline
``data:`` URIs and the style is in the page, so it opens anywhere, needs no
JavaScript (sections fold with ``<details>``) and fetches nothing.

Without the sources it holds only what the report and DST hold (keyed ids,
pseudonyms, new UIDs, reasons) and thumbnails of de-identified outputs.  With
them it holds source paths and thumbnails of the originals, and says at the top
that it is as sensitive as the originals.
"""

from __future__ import annotations

import base64
import html
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from ..checker.findings import SEVERITIES, severity_rank
from ..outcome import Status
from ..report_html import STATUS_COLOURS
from .advice import Advice, advice_for
from .thumbs import Thumbnails

#: Masked images drawn at most; past that the page says how many are left out.
MAX_THUMBNAILS = 120
#: Rows of files not written at most (over all families).
MAX_HELD_ROWS = 3000
#: Files of check findings shown at most.
MAX_FINDING_FILES = 400

SENSITIVE = ("This page holds source paths and thumbnails of the original images, which may identify patients "
             "(names in folder names, burnt-in text): it is as sensitive as the originals. Keep it where they "
             "are kept; never send it with the release.")

_STYLE = """
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1320px;
       padding: 1em 1.2em 3em; color: #1e1e1e; }
h1 { font-size: 1.5em; margin: .2em 0; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.02em; margin: 1.2em 0 .3em; }
.meta { color: #555; margin: .2em 0; } code { font-size: 12px; background: #f3f3f3; padding: 0 .25em; }
.sensitive { background: #fdecea; border: 2px solid #c0392b; padding: .6em .9em; font-weight: 600; color: #7b1d14; }
.counts { display: flex; flex-wrap: wrap; gap: .5em; margin: .6em 0; padding: 0; list-style: none; }
.counts li { border-radius: .3em; color: #fff; padding: .3em .8em; font-weight: 600; }
nav a { margin-right: 1.2em; }
table { border-collapse: collapse; width: 100%; margin: .4em 0; font-size: 13px; }
th, td { padding: .25em .55em; border-bottom: 1px solid #e3e3e3; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.id { font-family: ui-monospace, monospace; white-space: nowrap; }
td.path { word-break: break-all; }
.grid { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; border: 1px solid #ddd; border-radius: 4px; padding: 6px; background: #fafafa; width: 418px; }
figure .pair { display: flex; gap: 6px; align-items: flex-start; }
figure .pane { flex: 1; text-align: center; font-size: 11px; color: #555; }
figure img { max-width: 100%; height: auto; background: #000; display: block; margin: 0 auto 2px; }
figure .none { display: flex; align-items: center; justify-content: center; min-height: 120px; background: #eee;
               color: #666; padding: .5em; font-size: 12px; }
figcaption { font-size: 12px; margin-top: 4px; word-break: break-all; }
.advice { background: #f4f8fc; border-left: 4px solid #2c6fbb; padding: .45em .8em; margin: .3em 0 .5em; }
.advice.none { border-left-color: #7f8c8d; background: #f6f6f6; }
.tag { font-size: 11px; font-weight: 600; border-radius: .3em; padding: .05em .45em; color: #fff; margin-left: .4em; }
.tag.act { background: #c0392b; } .tag.ok { background: #7f8c8d; }
details { border: 1px solid #e0e0e0; border-radius: 4px; margin: .35em 0; padding: .2em .6em; }
summary { cursor: pointer; } .sev-error, .sev-high { color: #a11; font-weight: 600; } .sev-medium { color: #b35c00; }
.sev-low { color: #555; }
"""


@dataclass
class ReviewInput:
    """What the page is made of: read by :func:`deidentify.review.build`."""

    report: pd.DataFrame
    profile: str
    when: str
    dst: Path | None
    dst_note: str = ""
    sources: Mapping[str, Path] | None = None
    """Source paths by file id (only with --src and the key)."""
    sources_note: str = ""
    findings: Sequence[Mapping[str, Any]] | None = None
    findings_summary: Mapping[str, Any] | None = None
    thumbnails: Callable[[Path | None, Path | None], Thumbnails] | None = None
    max_thumbnails: int = MAX_THUMBNAILS
    notes: list[str] = field(default_factory=list)

    @property
    def sensitive(self) -> bool:
        return self.sources is not None


def render(review: ReviewInput) -> str:
    """The page, as text."""
    frame = review.report
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>deidentify review</title><style>{_STYLE}</style></head><body>",
        "<h1>Review of a release</h1>",
    ]
    if review.sensitive:
        parts.append(f'<p class="sensitive">{_e(SENSITIVE)}</p>')
    parts += _summary(review)
    masked = frame[(frame["status"] == Status.WRITTEN) & (frame["masked_regions"] > 0)]
    held = frame[frame["status"] != Status.WRITTEN]
    nav = [f'<a href="#masked">Masked images ({len(masked)})</a>', f'<a href="#held">Not written ({len(held)})</a>']
    if review.findings is not None:
        nav.append(f'<a href="#findings">Check findings ({len(review.findings)})</a>')
    parts.append(f"<nav>{''.join(nav)}</nav>")
    parts += _masked_section(review, masked)
    parts += _held_section(review, held)
    if review.findings is not None:
        parts += _findings_section(review.findings, review.findings_summary or {})
    parts.append(f'<p class="meta">Made by deidentify {_e(__version__)}. Without --src this page holds what the '
                 "report and DST hold (keyed file ids, pseudonyms, new UIDs, reasons) and thumbnails of the "
                 "de-identified outputs.</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


# --- summary ---------------------------------------------------------------------------------------------------


def _summary(review: ReviewInput) -> list[str]:
    frame = review.report
    counts = frame["status"].value_counts()
    order = [s for s in STATUS_COLOURS if s in counts.index]
    order += sorted(s for s in counts.index if s not in STATUS_COLOURS)
    chips = "".join(f'<li style="background:{STATUS_COLOURS.get(s, "#95a5a6")}">{_e(s)}: {int(counts[s])}</li>'
                    for s in order)
    masked = int(((frame["status"] == Status.WRITTEN) & (frame["masked_regions"] > 0)).sum())
    out = [
        f'<p class="meta">{len(frame)} files; profile <b>{_e(review.profile)}</b>; report written {_e(review.when)}'
        # Folder names are the user's (they may name a patient): only a page that holds PHI anyway shows them.
        + (f"; outputs in <code>{_e(review.dst)}</code>" if review.dst is not None and review.sensitive else "")
        + ".</p>",
        f'<ul class="counts">{chips}</ul>',
        f'<p class="meta">{masked} written image{"s" * (masked != 1)} had burnt-in text masked '
        f"({int(frame['masked_regions'].sum())} regions).</p>",
    ]
    for note in [review.dst_note, review.sources_note, *review.notes]:
        if note:
            out.append(f'<p class="meta">{_e(note)}</p>')
    return out


# --- masked images ---------------------------------------------------------------------------------------------


def _masked_section(review: ReviewInput, masked: pd.DataFrame) -> list[str]:
    out = [f'<h2 id="masked">Masked images ({len(masked)})</h2>']
    if not len(masked):
        return out + ["<p>No image had burnt-in text masked.</p>"]
    if review.sources is None:
        out.append('<p class="meta">Only the result ("after") is shown: the original ("before") needs the sources '
                   "(--src SRC with the run's key), and makes the page as sensitive as the originals.</p>")
    else:
        out.append('<p class="meta">Before: the original, its masked pixels outlined in red. After: the output '
                   "in DST, drawn as the original is. First frame of each image.</p>")
    shown = masked.head(review.max_thumbnails)
    if len(masked) > len(shown):
        out.append(f"<p><b>{len(masked) - len(shown)} of {len(masked)} masked images are left out here</b> "
                   f"(at most {review.max_thumbnails} are drawn; --max-thumbnails N draws more).</p>")
    figures = []
    for row in shown.itertuples(index=False):
        file_id, output = str(row.file_id), str(row.output)
        target = review.dst / output if review.dst is not None and output else None
        target = target if target is not None and target.is_file() else None
        source = review.sources.get(file_id) if review.sources is not None else None
        thumbs = review.thumbnails(target, source) if review.thumbnails is not None else Thumbnails(None)
        figures.append(_figure(row, thumbs, review, source))
    out.append(f'<div class="grid">{"".join(figures)}</div>')
    return out


def _figure(row: Any, thumbs: Thumbnails, review: ReviewInput, source: Path | None) -> str:
    if thumbs.before is not None:
        before = _img(thumbs.before, "before")
    else:
        why = ("no --src: the original is not shown" if review.sources is None
               else "its source was not found under SRC" if source is None else "the original cannot be drawn")
        before = f'<div class="none">{_e(why)}</div>'
    after = _img(thumbs.after, "after") if thumbs.after is not None else '<div class="none">no output to draw</div>'
    labels = str(row.masked_by).replace(";", ", ")
    caption = (f"<code>{_e(row.file_id)}</code> {_e(row.modality)}: {int(row.masked_regions)} region"
               f"{'s' * (int(row.masked_regions) != 1)} masked ({_e(labels)})<br>"
               f'<span title="{_e(row.output)}">{_e(short_path(str(row.output)))}</span>')
    if source is not None:
        caption += f"<br>source: {_e(source)}"
    if thumbs.note:
        caption += f'<br><span class="meta">{_e(thumbs.note)}</span>'
    return (f'<figure><div class="pair"><div class="pane">{before}before</div>'
            f'<div class="pane">{after}after</div></div><figcaption>{caption}</figcaption></figure>')


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{alt}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


# --- files not written -----------------------------------------------------------------------------------------


def _held_section(review: ReviewInput, held: pd.DataFrame) -> list[str]:
    out = [f'<h2 id="held">Not written ({len(held)}): what would fix each</h2>']
    if not len(held):
        return out + ["<p>Every file was written.</p>"]
    groups: dict[Advice, list[Any]] = defaultdict(list)
    for row in held.itertuples(index=False):
        groups[advice_for(str(row.status), str(row.reason))].append(row)
    ordered = sorted(groups.items(), key=lambda item: (not item[0].needed, -len(item[1]), item[0].family))
    needing = sum(len(rows) for advice, rows in ordered if advice.needed)
    out.append(f"<p>{needing} need{'s' * (needing == 1)} action; {len(held) - needing} need nothing. "
               "In the commands, SRC, DST and FILE are the run's source folder, its output folder and the "
               "file's quarantine copy (in the state folder, which holds PHI).</p>")
    budget = MAX_HELD_ROWS
    for advice, rows in ordered:
        tag = ('<span class="tag act">action needed</span>' if advice.needed
               else '<span class="tag ok">nothing to do</span>')
        out.append(f"<h3>{_e(advice.family)}: {len(rows)} file{'s' * (len(rows) != 1)}{tag}</h3>")
        out.append(f'<p class="advice{"" if advice.needed else " none"}">{_e(advice.action)}</p>')
        shown = rows[:max(budget, 0)]
        budget -= len(shown)
        header = ["file id", "status", "reason", "quarantine copy"] + (["source path"] if review.sensitive else [])
        body = []
        for row in shown:
            cells = [f'<td class="id">{_e(row.file_id)}</td>', f"<td>{_e(row.status)}</td>",
                     f"<td>{_e(row.reason or '(none given)')}</td>",
                     f'<td class="path">{_e(row.output) if str(row.output).startswith("quarantine/") else ""}</td>']
            if review.sources is not None:
                path = review.sources.get(str(row.file_id))
                cells.append(f'<td class="path">{_e(path) if path is not None else "(not found under SRC)"}</td>')
            body.append(f"<tr>{''.join(cells)}</tr>")
        if body:
            out.append(_table(header, body))
        if len(shown) < len(rows):
            out.append(f"<p>{len(rows) - len(shown)} more file(s) of this kind are left out here; report.csv "
                       "lists them all.</p>")
    return out


# --- check findings --------------------------------------------------------------------------------------------


def _findings_section(findings: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]) -> list[str]:
    out = [f'<h2 id="findings">Check findings ({len(findings)})</h2>']
    if summary:
        out.append(f'<p class="meta">deidentify check of {_e(summary.get("files", "?"))} files with profile '
                   f'{_e(summary.get("profile", "?"))}: status {_e(summary.get("status", "?"))}.</p>')
    if not findings:
        return out + ["<p>No findings.</p>"]
    severities = Counter(str(f.get("severity", "")) for f in findings)
    known = [s for s in SEVERITIES if severities[s]] + sorted(s for s in severities if s not in SEVERITIES)
    by_file: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for finding in findings:
        by_file[str(finding.get("file", ""))].append(finding)
    rows = [f"<tr><td class='sev-{_e(s)}'>{_e(s)}</td><td>{severities[s]}</td>"
            f"<td>{len({f for f, fs in by_file.items() if any(x.get('severity') == s for x in fs)})}</td></tr>"
            for s in known]
    out.append(_table(["severity", "findings", "files"], rows))

    def worst(item: tuple[str, list[Mapping[str, Any]]]) -> tuple[int, int, str]:
        return min(severity_rank(str(f.get("severity"))) for f in item[1]), -len(item[1]), item[0]

    ordered = sorted(by_file.items(), key=worst)
    out.append(f"<p>{len(ordered)} file{'s' * (len(ordered) != 1)} with findings, the most severe first; "
               "files with error or high findings are open. Values show only as their class and length.</p>")
    for file, items in ordered[:MAX_FINDING_FILES]:
        counts = Counter(str(f.get("severity")) for f in items)
        text = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s])
        opened = " open" if counts["error"] or counts["high"] else ""
        body = []
        for f in sorted(items, key=lambda f: (severity_rank(str(f.get("severity"))), str(f.get("element")))):
            element = str(f.get("element", ""))
            body.append(
                f"<tr><td class='sev-{_e(f.get('severity'))}'>{_e(f.get('severity'))}</td>"
                f'<td class="path" title="{_e(element)}">{_e(short_element(element))}</td>'
                f"<td>{_e(f.get('detector'))}</td><td>{_e(f.get('value'))}</td><td>{_e(f.get('message'))}</td></tr>")
        out.append(f'<details{opened}><summary><span title="{_e(file)}">{_e(short_path(file))}</span>: {_e(text)}'
                   f"</summary>{_table(['severity', 'element', 'detector', 'value', 'message'], body)}</details>")
    if len(ordered) > MAX_FINDING_FILES:
        out.append(f"<p>{len(ordered) - MAX_FINDING_FILES} more files with findings are left out here; the JSON "
                   "lists them all.</p>")
    return out


# --- helpers ---------------------------------------------------------------------------------------------------

_UID_PART = re.compile(r"^(\d+(?:\.\d+)+)(\.dcm)?$")


def short_path(path: str, keep: int = 14) -> str:
    """``path`` with each long UID part cut in the middle: ``2.25.76256987…4408.dcm``."""
    parts = []
    for part in path.split("/"):
        match = _UID_PART.match(part)
        uid = match.group(1) if match else ""
        if match and len(uid) > keep + 6:
            part = f"{uid[:keep]}…{uid[-4:]}{match.group(2) or ''}"
        parts.append(part)
    return "/".join(parts)


def short_element(path: str, most: int = 72) -> str:
    """An element path through sequences, its middle levels left out when it is long (the whole is its title)."""
    if len(path) <= most:
        return path
    levels = path.split(".")
    if len(levels) <= 2:
        return path
    return f"{levels[0]}.….{levels[-1]}"


def _table(header: Iterable[str], rows: Iterable[str]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)
