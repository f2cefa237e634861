"""Region rules from deid recipes (pydicom/deid), read by deid's own parser.

A recipe's ``%filter`` sections hold ``LABEL`` blocks of criteria and
coordinates.  :func:`load_deid_recipe` has :class:`deid.config.DeidRecipe`
parse the file -- the curated device list deid ships (``deid:dicom``, ~118
rules derived from CTP's DicomPixelAnonymizer script) and a user's own recipe
alike -- and turns each label into a :class:`RegionRule`:

* criteria: ``contains`` (a case-insensitive regular expression search),
  ``notcontains``, ``equals`` / ``notequals`` (case-insensitive, stripped),
  ``present``, ``missing``, ``empty``; ``A || B`` and ``A + B`` on one line, and
  lines joined to the line before by a leading ``+`` (and) or ``||`` (or); a
  line with neither starts a new check, and the label matches when any of its
  checks does (deid's documented reading);
* ``coordinates x0,y0,x1,y1`` / ``ctpcoordinates x,y,w,h`` blank a rectangle,
  ``coordinates all`` the whole image; ``keepcoordinates`` /
  ``ctpkeepcoordinates`` keep one, ``keepcoordinates
  from:SequenceOfUltrasoundRegions`` keeps the ultrasound regions;
* the group says what a match means: ``whitelist`` -- the image is clean;
  ``blacklist`` -- it has burnt-in text at unknown places (a flag); any other
  group (``graylist``) -- its coordinates, or a flag when it has none.

Every label that matches an image applies (as deid's cleaner applies the
coordinates of all matching labels).  A recipe of one's own with a ``%header``
section is refused: its header actions cannot be honoured here, and
``deidentify profiles import`` turns it into a profile (the recipes deid ships
are read for their device list only).  deid reports problems by printing and
exiting; here every one -- a bad line it would skip, an unknown field -- is a
:class:`RuleError` naming the recipe, the line and the label.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .conditions import ALWAYS, All, AnyOf, Check, Condition, Not, parse_element
from .model import Rect, RegionRule, RuleError, RuleGroup

_ULTRASOUND_REGIONS = "from:sequenceofultrasoundregions"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LABEL_PREFIX = re.compile(r"^label\s*", re.IGNORECASE)
T = TypeVar("T")
_CLEAN_GROUPS = frozenset({"whitelist"})
_FLAG_GROUPS = frozenset({"blacklist"})


def deid_data_dir() -> Path:
    """Where the deid package keeps the recipes it ships."""
    from deid.data import data_base

    return Path(data_base)


def builtin_recipes() -> list[str]:
    """Names of the recipes deid ships (``dicom``, ``dicom.ultrasound``...), for ``deid:NAME``."""
    return sorted(p.name[len("deid.") :] for p in deid_data_dir().glob("deid.*") if p.is_file())


def builtin_recipe_path(name: str) -> Path | None:
    """The file of the recipe deid ships as ``deid.<name>``, or None."""
    if not re.fullmatch(r"[\w.-]+", name):
        return None
    path = deid_data_dir() / f"deid.{name}"
    return path if path.is_file() else None


def run_deid_quietly(call: Callable[[], T]) -> tuple[T, list[str]]:
    """Run ``call`` (into deid's parser) with deid's logger silenced: its result and the
    warnings deid gave; ``ValueError`` with deid's own words when it gives up or raises."""
    from deid.logger import bot
    from deid.logger.message import QUIET

    level, start = bot.level, len(bot.history)
    bot.level = QUIET
    try:
        try:
            found = call()
        except SystemExit:
            messages = _messages(bot.history[start:])
            problem = next((m for m in reversed(messages) if m.startswith("ERROR")), messages[-1] if messages else "")
            raise ValueError(_strip_level(problem) or "it gave up") from None
        except Exception as exc:  # deid's parser raises bare errors on some malformed lines
            raise ValueError(f"{type(exc).__name__}: {exc}") from None
        warnings = [_strip_level(m) for m in _messages(bot.history[start:]) if m.startswith("WARNING")]
    finally:
        bot.level = level
        del bot.history[start:]
    return found, warnings


def _parse_with_deid(path: Path) -> tuple[dict, list[str]]:
    """deid's parse of ``path`` and the warnings it gave, quietly; RuleError when it gives up."""
    from deid.config import DeidRecipe

    try:
        recipe, warnings = run_deid_quietly(lambda: DeidRecipe(deid=str(path), base=False))
    except ValueError as exc:
        raise RuleError(f"{path}: deid cannot read this recipe: {exc}") from None
    if recipe.deid is None:
        raise RuleError(f"{path}: deid cannot read this recipe")
    return recipe.deid, warnings


def _messages(history: list[str]) -> list[str]:
    return [_ANSI.sub("", m).strip() for m in history]


def _strip_level(message: str) -> str:
    return re.sub(r"^(ERROR|WARNING)\s+", "", message)


def _label_lines(text: str) -> dict[str, list[int]]:
    """For each ``%filter`` group, the line numbers of its labels in order."""
    lines: dict[str, list[int]] = {}
    group = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("%"):
            parts = line.split("#", 1)[0].split(None, 1)
            group = parts[1].strip() if parts[0].lower() == "%filter" and len(parts) > 1 else None
        elif group is not None and line.upper().startswith("LABEL"):
            lines.setdefault(group, []).append(number)
    return lines


def load_deid_recipe(path: Path, written: str) -> RuleGroup:
    """The region rules of the deid recipe at ``path``, named ``written`` in reports.

    In a recipe deid ships, a misspelt field (``Manfacturer``) names an element no
    image has, as deid reads it; in any other recipe it is an error.
    """
    path = Path(path)
    shipped = path.resolve().parent == deid_data_dir().resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise RuleError(f"{path}: not a deid recipe (not UTF-8 text)") from None
    config, warnings = _parse_with_deid(path)
    if warnings:
        # deid skips what it cannot read; a skipped criterion would widen a rule.
        culprit = warnings[0]
        line = _line_of(text, culprit)
        raise RuleError(f"{path}:{line}: deid skips this line: {culprit}")
    if config.get("header") and not shipped:
        # A pixels source is read for its %filter sections only: its header actions would be
        # silently ignored, and the user believes they applied.
        raise RuleError(
            f"{path}: this recipe has a %header section ({len(config['header'])} actions), which a pixels "
            f"source cannot honour; turn it into a profile with `deidentify profiles import {path} "
            "--from deid -o profile.yaml` (its %filter sections become that profile's pixels source)"
        )
    filters = config.get("filter") or {}
    if not filters:
        raise RuleError(f"{path}: no %filter section, so no region rules")
    label_lines = _label_lines(text)
    rules: list[RegionRule] = []
    for group, items in filters.items():
        numbers = label_lines.get(group, [])
        for index, item in enumerate(items):
            line = numbers[index] if index < len(numbers) else 0
            rules.append(_rule(item, group, path, line, written, shipped))
    return RuleGroup(source=written, mode="all", rules=tuple(rules))


def _line_of(text: str, message: str) -> int:
    """The line a deid warning is about (it quotes the line, lower-cased or not)."""
    quoted = message.split(" not recognized", 1)[0].split(" filter is not valid", 1)[0].strip().lower()
    for number, line in enumerate(text.splitlines(), 1):
        if quoted and quoted in line.strip().lower():
            return number
    return 0


def _rule(item: dict, group: str, path: Path, line: int, written: str, lenient: bool) -> RegionRule:
    label = _LABEL_PREFIX.sub("", str(item.get("name", ""))).strip() or f"label at line {line}"
    where = f"{path}:{line}: label {label!r} in %filter {group}"
    try:
        condition = _condition(item.get("filters") or [], lenient)
    except ValueError as exc:
        raise RuleError(f"{where}: {exc}") from None
    blank: list[Rect] = []
    keep: list[Rect] = []
    whole = keep_regions = False
    for mask, value in item.get("coordinates") or []:
        value = str(value).strip()
        if value.lower() == "all":
            if mask:
                raise RuleError(f"{where}: 'keepcoordinates all' keeps everything; say nothing instead")
            whole = True
        elif value.lower() == _ULTRASOUND_REGIONS:
            if not mask:
                raise RuleError(f"{where}: only keepcoordinates can take from:SequenceOfUltrasoundRegions")
            keep_regions = True
        elif value.lower().startswith("from:"):
            raise RuleError(f"{where}: coordinates from {value[5:]!r}: only SequenceOfUltrasoundRegions is known")
        else:
            try:
                rect = parse_rect(value)
            except ValueError as exc:
                raise RuleError(f"{where}: {exc}") from None
            (keep if mask else blank).append(rect)
    name = f"{written} {group}/{label}"
    kind = group.strip().lower()
    has_coordinates = bool(blank or whole)
    rule = RegionRule(
        name=name,
        origin=f"{path.name}:{line}",
        condition=condition,
        blank=tuple(blank),
        whole=whole,
        keep=tuple(keep),
        keep_ultrasound_regions=keep_regions,
        clean=kind in _CLEAN_GROUPS,
        flag=kind in _FLAG_GROUPS
        or (kind not in _CLEAN_GROUPS and not has_coordinates and not keep and not keep_regions),
    )
    if condition is ALWAYS and not item.get("coordinates"):
        raise RuleError(f"{where}: neither criteria nor coordinates")
    return rule


def parse_rect(value: str) -> Rect:
    """``x0,y0,x1,y1`` (deid's order) as a rectangle; ``ValueError`` when it is not one."""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"coordinates {value!r} are not four whole numbers") from None
    if len(numbers) != 4:
        raise ValueError(f"coordinates {value!r} are not four whole numbers x0,y0,x1,y1")
    x0, y0, x1, y1 = numbers
    if min(numbers) < 0 or x1 <= x0 or y1 <= y0:
        raise ValueError(f"coordinates {value!r} are not a rectangle (x0 < x1, y0 < y1, none negative)")
    return x0, y0, x1, y1


def _condition(lines: list[dict], lenient: bool = False) -> Condition:
    """A label's criteria: checks (lines joined by + and ||), any of which matches."""
    if not lines:
        return ALWAYS
    checks: list[Condition] = []
    for entry in lines:
        condition = _line(entry, lenient)
        operator = entry.get("operator")
        if not checks or operator is None:
            checks.append(condition)
        elif operator == "and":
            checks[-1] = All((checks[-1], condition))
        else:
            checks[-1] = AnyOf((checks[-1], condition))
    return checks[0] if len(checks) == 1 else AnyOf(tuple(checks))


def _line(entry: dict, lenient: bool = False) -> Condition:
    """One criteria line: tests joined left to right by its inner ``+`` / ``||``."""
    actions = list(entry.get("action") or [])
    fields = list(entry.get("field") or [])
    values = list(entry.get("value") or [])
    inner = list(entry.get("InnerOperators") or [])
    if not actions or len(actions) != len(fields):
        raise ValueError("a criteria line without a field")
    tests: list[Condition] = []
    for action, field in zip(actions, fields, strict=True):
        action = str(action).lower()
        needs_value = action in ("contains", "notcontains", "equals", "notequals")
        if needs_value and not values:
            raise ValueError(f"'{action} {field}' needs a value")
        value = values.pop(0) if needs_value else ""
        try:
            tag, name = parse_element(field, lenient)
        except ValueError as exc:
            raise ValueError(f"'{action} {field}': {exc}") from None
        if action in ("contains", "notcontains"):
            test: Condition = Check(tag, name, "regex", str(value))
        elif action in ("equals", "notequals"):
            test = Check(tag, name, "equals", str(value))
        elif action in ("present", "missing", "empty"):
            test = Check(tag, name, action)
        else:
            raise ValueError(f"unknown criterion {action!r}")
        tests.append(Not(test) if action.startswith("not") else test)
    condition = tests[0]
    # deid itself reads an operator list shorter or longer than the criteria: so does this.
    for operator, test in zip(inner, tests[1:], strict=False):
        condition = All((condition, test)) if operator == "and" else AnyOf((condition, test))
    return condition
