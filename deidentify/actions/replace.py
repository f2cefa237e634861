"""replace: a literal value from the profile (``value:``)."""

from typing import Any

from .base import ElementContext, fit


def replace(value: Any, ctx: ElementContext) -> Any:
    literal = ctx.args["value"]
    return fit(str(literal), ctx.vr) if isinstance(literal, str) else literal
