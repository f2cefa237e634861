"""Region rules written in a profile's ``pixels.regions``.

.. code-block:: yaml

    pixels:
      regions:
        - name: ACME US banner
          when: {Modality: US, Manufacturer: {contains: acme}, Rows: 768}
          blank:
            - [0, 0, 1024, 60]                          # x0, y0, x1, y1 (x1, y1 exclusive)
            - {x: 0, y: 740, width: 300, height: 28}    # CTP's x, y, width, height
        - name: ACME screen captures
          when: {or: [{SOPClassUID: 1.2.840.10008.5.1.4.1.1.7}, {ImageType: {contains: SCREEN}}]}
          blank: all
          keep: ultrasound-regions                      # or a list of rectangles
        - name: ACME CT has no burnt-in text
          when: {Modality: CT, Manufacturer: {regex: "^acme"}}
          clean: true

Keys: ``name``, ``when`` (a condition, see
:func:`~deidentify.pixels.rules.conditions.parse_condition`; ``true`` for every
image), and at least one of ``blank`` (``all`` or rectangles), ``keep``
(``ultrasound-regions`` and/or rectangles), ``clean: true``, ``flag: true``
(burnt-in text at places the rule does not know); ``note`` is free text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .conditions import parse_condition
from .model import Rect, RegionRule

REGION_KEYS = frozenset({"name", "when", "blank", "keep", "clean", "flag", "note"})
_ULTRASOUND = {"ultrasound-regions", "from:sequenceofultrasoundregions"}


def parse_region_rule(raw: Any, origin: str, index: int) -> RegionRule:
    """One ``pixels.regions`` entry as a rule; ``ValueError`` says what is wrong with it."""
    if not isinstance(raw, Mapping):
        raise ValueError("a region rule is a mapping with 'when' and 'blank', 'keep', 'clean' or 'flag'")
    unknown = sorted(k for k in raw if k != "__line__" and k not in REGION_KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(REGION_KEYS))}")
    name = str(raw.get("name") or f"region {index}")
    if "when" not in raw:
        raise ValueError("'when' is required (write 'when: true' for every image)")
    condition = parse_condition(raw["when"])
    blank: list[Rect] = []
    whole = False
    if "blank" in raw:
        value = raw["blank"]
        if value == "all":
            whole = True
        elif isinstance(value, list) and value:
            blank = [_rect(v) for v in value]
        else:
            raise ValueError("'blank' is 'all' or a list of rectangles")
    keep: list[Rect] = []
    keep_regions = False
    if "keep" in raw:
        value = raw["keep"]
        items = value if isinstance(value, list) else [value]
        if not items:
            raise ValueError("'keep' is 'ultrasound-regions' or a list of rectangles")
        for item in items:
            if isinstance(item, str) and item.strip().lower() in _ULTRASOUND:
                keep_regions = True
            else:
                keep.append(_rect(item))
    clean = _flag(raw, "clean")
    flag = _flag(raw, "flag")
    if clean and (blank or whole or flag):
        raise ValueError("a rule that declares an image clean cannot also blank or flag it")
    rule = RegionRule(
        name=name,
        origin=origin,
        condition=condition,
        blank=tuple(blank),
        whole=whole,
        keep=tuple(keep),
        keep_ultrasound_regions=keep_regions,
        clean=clean,
        flag=flag,
    )
    if not rule.does_something:
        raise ValueError("the rule does nothing: give 'blank', 'keep', 'clean: true' or 'flag: true'")
    return rule


def _flag(raw: Mapping[str, Any], key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"'{key}' is true or false")
    return value


def _rect(value: Any) -> Rect:
    """``[x0, y0, x1, y1]``, ``{x0:, y0:, x1:, y1:}`` or CTP's ``{x:, y:, width:, height:}``."""
    if isinstance(value, list):
        numbers = value
        if len(numbers) != 4:
            raise ValueError(f"a rectangle [x0, y0, x1, y1] has four numbers, not {value!r}")
    elif isinstance(value, Mapping):
        keys = {k for k in value if k != "__line__"}
        if keys == {"x0", "y0", "x1", "y1"}:
            numbers = [value["x0"], value["y0"], value["x1"], value["y1"]]
        elif keys == {"x", "y", "width", "height"}:
            numbers = [value["x"], value["y"], value["width"], value["height"]]
            _whole_numbers(numbers, value)
            if numbers[2] <= 0 or numbers[3] <= 0:
                raise ValueError(f"width and height must be positive in {_show(value)}")
            numbers = [numbers[0], numbers[1], numbers[0] + numbers[2], numbers[1] + numbers[3]]
        else:
            raise ValueError(f"a rectangle is {{x0, y0, x1, y1}} or {{x, y, width, height}}, not {_show(value)}")
    else:
        raise ValueError(f"a rectangle is [x0, y0, x1, y1] or {{x, y, width, height}}, not {value!r}")
    _whole_numbers(numbers, value)
    x0, y0, x1, y1 = numbers
    if x0 < 0 or y0 < 0 or x1 <= x0 or y1 <= y0:
        raise ValueError(f"not a rectangle: {_show(value)} (need 0 <= x0 < x1 and 0 <= y0 < y1)")
    return int(x0), int(y0), int(x1), int(y1)


def _whole_numbers(numbers: list[Any], value: Any) -> None:
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
        raise ValueError(f"rectangle coordinates are whole numbers of pixels: {_show(value)}")


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items() if k != "__line__") + "}"
    return repr(value)
