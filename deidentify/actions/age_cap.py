"""age-cap: ages above the cap (89 years by default, as HIPAA Safe Harbor) become 090Y."""

from .base import ElementContext, each_value

_PER_YEAR = {"D": 365.25, "W": 52.18, "M": 12.0, "Y": 1.0}


@each_value
def age_cap(value: str, ctx: ElementContext) -> str:
    cap = ctx.settings.age_cap_years
    text = value.strip()
    if len(text) != 4 or not text[:3].isdigit() or text[3] not in _PER_YEAR:
        return f"{cap + 1:03d}Y"  # unreadable ages cannot be shown to be under the cap
    years = int(text[:3]) / _PER_YEAR[text[3]]
    return f"{cap + 1:03d}Y" if years > cap else text
