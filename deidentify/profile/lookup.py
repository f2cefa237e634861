"""Lookup tables: the CSV files a ``lookup`` rule takes values from (a trial's own subject IDs).

A table is read whole when the profile loads, so a broken one stops the run
before any file is touched.  Its messages name lines and columns, never a cell:
the cells are identifiers.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from pydicom.datadict import keyword_for_tag

from ..pixels.rules.conditions import parse_element
from .model import LookupTable

#: Rows a table may hold: a study's subject list, with room; a larger file is a mistake (or not a table).
MAX_ROWS = 1_000_000


def read_lookup_table(path: Path, key: str) -> LookupTable:
    """Read ``path``: a CSV file with a header row, one column named ``key``; ``ValueError`` says what is wrong.

    ``key`` is the keyword (or tag) of the element whose original value selects a
    row.  Keys compare after stripping spaces; a key twice, or empty, is an error.
    """
    try:
        tag, name = parse_element(key)
    except ValueError:
        raise ValueError(f"lookup key {key!r} is not a DICOM keyword or tag") from None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read the lookup table: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("the lookup table is not UTF-8 text") from None
    reader = csv.reader(text.splitlines())
    header = [column.strip() for column in next(reader, [])]
    if key not in header and name not in header:
        raise ValueError(f"the lookup table's first line names no column {key!r} (its key)")
    if len(set(header)) != len(header) or "" in header:
        raise ValueError("the lookup table's first line names a column twice, or has an empty name")
    key_column = header.index(key if key in header else name)
    rows: dict[str, dict[str, str]] = {}
    first_seen: dict[str, int] = {}
    for line, cells in enumerate(reader, 2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            raise ValueError(f"line {line} of the lookup table has {len(cells)} cells, its header {len(header)}")
        value = cells[key_column].strip()
        if not value:
            raise ValueError(f"line {line} of the lookup table has an empty key")
        if value in rows:
            raise ValueError(f"line {line} of the lookup table repeats the key of line {first_seen[value]}")
        if len(rows) >= MAX_ROWS:
            raise ValueError(f"the lookup table has more than {MAX_ROWS:,} rows")
        first_seen[value] = line
        rows[value] = {column: cell.strip() for column, cell in zip(header, cells, strict=True)}
    if not rows:
        raise ValueError("the lookup table has no rows")
    return LookupTable(name=path.name, digest=hashlib.sha256(data).hexdigest(), key=keyword_for_tag(tag) or name,
                       tag=tag, columns=tuple(header), rows=rows)
