"""shift: move dates by the patient's keyed day offset, so intervals between studies survive.

Applies to DA and to the date part of DT; the time and UTC offset of a DT stay.
A value that is not a date cannot be shifted and is replaced by the dummy date,
because keeping it might keep a real date.
"""

from datetime import date, timedelta

from .base import ElementContext, each_value

_DUMMY_DATE = "19000101"


def shift_date(text: str, days: int) -> str | None:
    """``YYYYMMDD`` (or ACR-NEMA ``YYYY.MM.DD``) moved by ``days``; None if it is no date."""
    digits = text.replace(".", "") if len(text) == 10 else text
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        moved = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])) + timedelta(days=days)
    except (ValueError, OverflowError):
        return None
    return f"{moved.year:04d}{moved.month:02d}{moved.day:02d}"


@each_value
def shift(value: str, ctx: ElementContext) -> str:
    value = value.strip()
    if ctx.vr == "TM":
        return value  # a shift by whole days leaves the time of day as it was
    if ctx.vr == "DT":
        # A DT may stop at the year or month; only a full date can be shifted exactly.
        head, rest = value[:8], value[8:]
        moved = shift_date(head, ctx.patient.day_offset)
        return moved + rest if moved else _DUMMY_DATE
    return shift_date(value, ctx.patient.day_offset) or _DUMMY_DATE
