"""remove (PS3.15 X): drop the element; a sequence goes with all its items."""

from typing import Any

from .base import REMOVE, ElementContext


def remove(value: Any, ctx: ElementContext) -> Any:
    return REMOVE
