"""clean (PS3.15 C on free text): keep the text, cut out what identifies.

The detectors (the dataset's own identifying values, and patterns such as phone
numbers, e-mails and national IDs) are chosen by the plan; this action only
applies them, so richer detectors plug in without touching it.
"""

from ..detect.text import scrub
from .base import ElementContext, each_value, fit, reads_text


@reads_text
@each_value
def clean(value: str, ctx: ElementContext) -> str:
    cleaned, _ = scrub(value, ctx.detectors)
    return fit(cleaned, ctx.vr)
