"""lookup: the value from the profile's lookup table (a trial's own subject ID, say).

The row is chosen by the file's own value of the table's key element (top
level, as read), so every element a lookup rule selects, at any depth, gets the
same patient's row.  A file whose key is not in the table is withheld: a value
made up in its place would pass for the trial's own.
"""

from typing import Any

from .base import ElementContext, Withheld, fit


def lookup(value: Any, ctx: ElementContext) -> Any:
    table = ctx.args["table"]
    key = ctx.patient.originals.get(table.tag, "").strip()
    if not key:
        raise Withheld(f"no {table.key} to look up in the lookup table {table.name}")
    row = table.rows.get(key)
    if row is None:
        raise Withheld(f"{table.key} not in the lookup table {table.name}")
    return fit(row[ctx.args["column"]], ctx.vr)
