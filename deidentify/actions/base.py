"""What every action sees and returns.

An action is a small pure function ``(value, ctx) -> new value`` for one element.
It returns :data:`REMOVE` to drop the element.  Values arrive as pydicom gives
them (``str``, ``PersonName``, ``MultiValue``, numbers, ``bytes``); the helpers
here let an action be written for one string value and applied to each value of
a multi-valued element.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydicom.multival import MultiValue

from ..detect.base import Detector
from ..errors import DeidentifyError
from ..keys import Keyring
from ..profile.model import Settings

REMOVE = object()
"""Returned by an action to remove the element."""


class Withheld(DeidentifyError):
    """Raised by an action that cannot give a value it may stand behind: the file is withheld, for this reason."""

#: Longest value (characters) per VR, from PS3.5 Table 6.2-1; PN counts per component group.
MAX_LENGTH: Mapping[str, int] = {
    "AE": 16, "AS": 4, "CS": 16, "DA": 8, "DS": 16, "DT": 26, "IS": 12, "LO": 64,
    "LT": 10240, "PN": 64, "SH": 16, "ST": 1024, "TM": 14, "UI": 64,
}

TEXT_VRS = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR"})
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})


@dataclass(frozen=True)
class PatientContext:
    """Facts about the dataset's patient that keyed actions derive from (original values)."""

    key: str
    day_offset: int
    originals: Mapping[int, str] = field(default_factory=dict)
    """Original top-level values by tag, for actions that derive from another element."""


@dataclass(frozen=True)
class ElementContext:
    """Everything an action may use besides the value itself."""

    vr: str
    keyring: Keyring
    patient: PatientContext
    settings: Settings
    args: Mapping[str, Any]
    detectors: Sequence[Detector] = ()


Action = Callable[[Any, ElementContext], Any]


def fit(text: str, vr: str) -> str:
    """Cut ``text`` to the longest value the VR allows."""
    limit = MAX_LENGTH.get(vr)
    return text if limit is None else text[:limit]


def reads_text(action: Action) -> Action:
    """Make an action that keeps the text it reads refuse a binary value: read as text, bytes are
    their repr, and the output would hold "b'...'" with every byte in it.  The file is withheld."""

    def guarded(value: Any, ctx: ElementContext) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            raise Withheld(f"a {action.__name__} rule reads text, and {ctx.vr} values are bytes")
        return action(value, ctx)

    guarded.__name__ = action.__name__
    guarded.__doc__ = action.__doc__
    return guarded


def each_value(fn: Callable[[str, ElementContext], str]) -> Action:
    """Make a one-string action apply to every value of a multi-valued element."""

    def action(value: Any, ctx: ElementContext) -> Any:
        if value is None or value == "":
            return value
        if isinstance(value, (MultiValue, list, tuple)):
            return [fn(str(v), ctx) for v in value]
        return fn(str(value), ctx)

    action.__name__ = fn.__name__
    action.__doc__ = fn.__doc__
    return action
