"""regex: ``re.sub(pattern, repl)`` on each value (``pattern:``, ``repl:``)."""

import re

from .base import ElementContext, each_value, fit, reads_text


@reads_text
@each_value
def regex(value: str, ctx: ElementContext) -> str:
    return fit(re.sub(str(ctx.args["pattern"]), str(ctx.args["repl"]), value), ctx.vr)
