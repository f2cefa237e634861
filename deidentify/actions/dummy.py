"""dummy (PS3.15 D): a non-empty value, valid for the VR, that identifies nothing."""

from typing import Any

from pydicom.dataset import Dataset

from .base import ElementContext

_DUMMY = {
    "AE": "ANONYMOUS",
    "AS": "000Y",
    "CS": "ANONYMIZED",
    "DA": "19000101",
    "DS": "0",
    "DT": "19000101000000",
    "IS": "0",
    "LO": "ANONYMIZED",
    "LT": "ANONYMIZED",
    "PN": "ANONYMIZED",
    "SH": "ANONYMIZED",
    "ST": "ANONYMIZED",
    "TM": "000000",
    "UI": "2.25.0",
    "UC": "ANONYMIZED",
    "UR": "http://example.invalid/",
    "UT": "ANONYMIZED",
    "AT": 0,
    "FD": 0.0,
    "FL": 0.0,
    "SL": 0,
    "SS": 0,
    "SV": 0,
    "UL": 0,
    "US": 0,
    "UV": 0,
}


def dummy(value: Any, ctx: ElementContext) -> Any:
    if ctx.vr == "SQ":
        return [Dataset()]  # non-zero length: one empty item
    # Binary VRs (OB, OW, UN ...) need an even, non-zero length.
    return _DUMMY.get(ctx.vr, b"\0\0")
