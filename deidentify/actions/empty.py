"""empty (PS3.15 Z): keep the element with a zero-length value."""

from typing import Any

from .base import BINARY_VRS, ElementContext


def empty(value: Any, ctx: ElementContext) -> Any:
    if ctx.vr == "SQ":
        return []
    if ctx.vr in BINARY_VRS:
        return b""
    return None
