"""keep (PS3.15 K): the value stays as it is (the engine never even decodes it)."""

from typing import Any

from .base import ElementContext


def keep(value: Any, ctx: ElementContext) -> Any:
    return value
