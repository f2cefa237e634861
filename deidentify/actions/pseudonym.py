"""pseudonym: a keyed, stable code in place of an identifier or a name.

With ``from: PatientID`` the code derives from that element's original value,
so PatientName and PatientID of one patient carry the same code.
"""

from typing import Any

from ..keys import PSEUDONYM_PREFIX
from ..profile.selectors import TagSelector, parse_selector
from .base import ElementContext, each_value, fit


def code_for(original: str, ctx: ElementContext) -> str:
    """The pseudonym of ``original`` as it appears in outputs and output paths."""
    return PSEUDONYM_PREFIX + ctx.keyring.pseudonym(original)


@each_value
def _own(value: str, ctx: ElementContext) -> str:
    return fit(code_for(value, ctx), ctx.vr)


def pseudonym(value: Any, ctx: ElementContext) -> Any:
    source = ctx.args.get("from")
    if source is None:
        return _own(value, ctx)
    selector = parse_selector(str(source))
    assert isinstance(selector, TagSelector), "the profile loader only accepts tags and keywords here"
    # Without the source element, fall back to the patient key so the code is still per patient.
    original = ctx.patient.originals.get(selector.tag) or ctx.patient.key
    return fit(code_for(original, ctx), ctx.vr)
