"""Write an import: the profile YAML, and the files it refers to beside it."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import yaml

from .model import ImportResult


def _flow(value: Any) -> str:
    """``value`` as one line of YAML (a scalar without the document end marker PyYAML adds)."""
    text = str(yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1 << 20, allow_unicode=True))
    return text.removesuffix("\n...\n").strip()


def profile_text(result: ImportResult, name: str) -> str:
    """The profile as YAML: one rule per line, each with the note naming its source line."""
    source = Path(result.path).name
    out = [f"# Imported by `deidentify profiles import` from {source} ({result.source}).",
           "# Every rule's note names the source line it comes from; lines that could not be",
           "# translated are listed below and in the import report."]
    failed = result.failed
    if failed:
        out.append("# NOT TRANSLATED (the source did something here that this profile does not):")
        out += [f"#   line {r.line}: {r.text} -- {r.detail}" for r in failed]
    out += [f"# {note}" for note in result.notes]
    out.append(f"name: {_flow(name)}")
    out.append(f"description: {_flow(f'Imported from {source} ({result.source})')}")
    if result.base != "none":
        out.append(f"extends: {result.base}")
    if result.options:
        out.append(f"options: {_flow(sorted(set(result.options)))}")
    if result.lookup:
        out.append(f"lookup: {_flow(result.lookup)}")
    if result.filters:
        out.append("filter:")
        out += [f"  - {_flow(f)}" for f in result.filters]
    if result.pixel_sources:
        out.append(f"pixels: {_flow({'sources': result.pixel_sources})}")
    out.append("rules:" if result.rules else "rules: []")
    out += [f"  - {_flow(rule.as_yaml())}" for rule in result.rules]
    return "\n".join(out) + "\n"


def write_import(result: ImportResult, target: Path) -> list[Path]:
    """Write the profile to ``target`` and its companion files beside it; returns what was written.

    A lookup table holds original identifiers: it is written readable by its owner only.
    """
    written: list[Path] = []
    folder = target.parent
    for name, text in result.files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    if result.lookup and result.lookup_rows is not None:
        header, rows = result.lookup_rows
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        path = folder / result.lookup["file"]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(buffer.getvalue())
        os.chmod(path, 0o600)
        written.append(path)
    target.write_text(profile_text(result, target.stem), encoding="utf-8")
    written.insert(0, target)
    return written
