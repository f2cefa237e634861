"""year-only: keep the year of a date, set month and day to 1 January."""

from .base import ElementContext, each_value


@each_value
def year_only(value: str, ctx: ElementContext) -> str:
    year = value.strip()[:4]
    if not (len(year) == 4 and year.isdigit()):
        return "19000101" if ctx.vr == "DA" else "1900"
    return year + "0101" if ctx.vr == "DA" else year
