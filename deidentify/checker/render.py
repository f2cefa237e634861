"""A check's report as a terminal table, JSON, CSV and a self-contained HTML page.

Every output shows a value only as its class and length (``<person-name, 17
chars>``); the HTML page embeds the blurred thumbnails of pixel findings as
data URIs, so it is one file that opens anywhere without the data.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from .findings import SEVERITIES, Finding, fails, severity_rank
from .runner import CheckReport

_COLUMNS = ("file", "element", "detector", "severity", "value")
_STATUS = {0: "clean", 1: "findings", 2: "errors"}


def _by_severity(report: CheckReport) -> dict[str, int]:
    """Findings per severity, most severe first, severities without findings left out."""
    counts = Counter(f.severity for f in report.findings)
    return {s: counts[s] for s in SEVERITIES if counts[s]}


def _severity(finding: Finding) -> str:
    return f"{finding.severity} (accepted)" if finding.accepted else str(finding.severity)


def summary(report: CheckReport) -> dict[str, object]:
    """The counts a reader looks at first."""
    return {
        "tool": f"deidentify {__version__}",
        "profile": report.profile,
        "files": report.files,
        "files_with_findings": len({f.file for f in report.findings}),
        "findings": len(report.findings),
        "by_severity": _by_severity(report),
        "by_detector": dict(sorted(Counter(f.detector for f in report.findings).items())),
        "accepted": sum(1 for f in report.findings if f.accepted),
        "failing": sum(1 for f in report.findings if fails(f, report.fail_on, report.fail_on_validity)),
        "fail_on": str(report.fail_on),
        "seconds": round(report.seconds, 3),
        "files_per_second": round(report.files_per_second, 1),
        "status": _STATUS[report.exit_code],
        "exit_code": report.exit_code,
        "notes": list(report.notes),
    }


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1):]


def table(findings: Sequence[Finding], limit: int | None = None) -> str:
    """A plain-text table of ``findings`` (the first ``limit`` of them)."""
    rows = [(f.file, f.element, f.detector, _severity(f), f.value) for f in findings[:limit]]
    widths = [min(60, max([len(c)] + [len(r[i]) for r in rows])) for i, c in enumerate(_COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(_COLUMNS, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(_clip(v, w).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    if limit is not None and len(findings) > limit:
        lines.append(f"… and {len(findings) - limit} more (write them all with --json, --csv or --html)")
    return "\n".join(lines)


def terminal(report: CheckReport, limit: int | None = 200) -> str:
    """The table and a summary, as ``deidentify check`` prints them."""
    info = summary(report)
    parts = [table(report.findings, limit)] if report.findings and limit != 0 else []
    if not report.findings:
        parts = ["no findings"]
    severities = ", ".join(f"{n} {s}" for s, n in _by_severity(report).items())
    parts.append(
        f"\n{info['files']} files checked with profile {info['profile']} in {info['seconds']} s "
        f"({info['files_per_second']} files/s): {info['findings']} findings"
        + (f" ({severities}) in {info['files_with_findings']} files" if report.findings else "")
        + (f"; {info['accepted']} accepted by the site's accept-list" if info["accepted"] else "")
        + (f"; {info['failing']} at {report.fail_on} or above fail the check" if report.findings else "")
    )
    parts += [f"note: {n}" for n in report.notes]
    return "\n".join(parts)


def to_json(report: CheckReport) -> str:
    return json.dumps({"summary": summary(report), "findings": [f.as_row() for f in report.findings]},
                      ensure_ascii=False, indent=2) + "\n"


def to_csv(report: CheckReport) -> str:
    buffer = io.StringIO()
    rows = [f.as_row() for f in report.findings]
    fields = list(Finding("", "", "", "", "", "", 0).as_row())
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } .status { padding: .2em .6em; border-radius: .3em; color: #fff; }
.clean { background: #2a7d2e; } .findings { background: #b35c00; } .errors { background: #a11; }
table { border-collapse: collapse; width: 100%; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #eee; } td.path { max-width: 26em; word-break: break-all; }
td.file { max-width: 18em; word-break: break-all; } td.sev-error, td.sev-high { color: #a11; font-weight: bold; }
td.sev-medium { color: #b35c00; } td.sev-low { color: #555; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dt { font-weight: bold; } img { border: 1px solid #999; image-rendering: pixelated; }
.thumbs { display: flex; flex-wrap: wrap; gap: 1em; } figure { margin: 0; font-size: .8em; }
"""


def to_html(report: CheckReport) -> str:
    """A self-contained HTML page: summary, pixel findings' thumbnails, the findings table."""
    info = summary(report)
    esc = html.escape
    status = str(info["status"])
    head = (
        f"<h1>deidentify check <span class='status {status}'>{esc(status)}</span></h1><dl>"
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(str(info[k]))}</dd>" for k in
                  ("profile", "files", "files_with_findings", "findings", "seconds", "files_per_second"))
        + "".join(f"<dt>{esc(s)}</dt><dd>{n}</dd>" for s, n in _by_severity(report).items())
        + "</dl>"
        + "".join(f"<p>note: {esc(n)}</p>" for n in report.notes)
    )
    thumbs = [(f, f.thumbnail) for f in report.findings if f.thumbnail]
    gallery = ""
    if thumbs:
        figures = "".join(
            f"<figure><img alt='{esc(f.detector)}' src='data:image/png;base64,"
            f"{base64.b64encode(png).decode()}'><figcaption>{esc(f.file)}<br>{esc(f.detector)}"
            f"</figcaption></figure>"
            for f, png in thumbs
        )
        gallery = f"<h2>Pixel findings</h2><div class='thumbs'>{figures}</div>"
    rows = "".join(
        f"<tr><td class='file'>{esc(f.file)}</td><td class='path'>{esc(f.element)}</td>"
        + "".join(f"<td>{esc(v)}</td>" for v in (f.scanner, f.detector))
        + f"<td class='sev-{esc(f.severity)}'>{esc(_severity(f))}</td><td>{esc(f.value)}</td>"
        f"<td>{esc(f.message)}</td></tr>"
        for f in sorted(report.findings, key=lambda f: (severity_rank(f.severity), f.file, f.element))
    )
    body = (
        "<h2>Findings</h2><table><tr><th>file</th><th>element</th><th>scanner</th><th>detector</th>"
        f"<th>severity</th><th>value</th><th>message</th></tr>{rows}</table>"
        if report.findings else "<p>No findings.</p>"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>deidentify check</title>"
        f"<style>{_STYLE}</style></head><body>{head}{gallery}{body}</body></html>\n"
    )


def write(report: CheckReport, path: Path, form: str) -> None:
    """Write the report as ``form`` (json, csv or html) to ``path``."""
    text = {"json": to_json, "csv": to_csv, "html": to_html}[form](report)
    path.write_text(text, encoding="utf-8")
