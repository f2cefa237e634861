"""The rule set a profile uses, built once per process, and what it says about an image."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from ..base import Box, RegionDecision
from .conditions import HeaderTexts
from .ctp_script import load_ctp_script
from .deid_recipe import builtin_recipe_path, builtin_recipes, load_deid_recipe
from .model import PixelSource, RegionRule, RuleError, RuleGroup, RuleSet

#: The source every built-in profile names: the device list deid ships.
DEID_DEVICE_LIST = "deid:dicom"


def resolve_source(written: str, relative_to: Path | None = None, origin: str = "") -> PixelSource:
    """A ``pixels.sources`` entry as a source; ``RuleError`` when there is no such file.

    ``deid:NAME`` -- a recipe deid ships (``deid:dicom``, ``deid:dicom.ultrasound``);
    ``deid:PATH`` or ``PATH`` -- a deid recipe file; ``ctp:PATH`` -- a CTP
    DicomPixelAnonymizer script.  Paths are relative to ``relative_to`` (the
    profile's folder).
    """
    text = str(written).strip()
    if not text:
        raise RuleError("an empty source")
    kind, _, rest = text.partition(":")
    if kind in ("deid", "ctp") and rest:
        target = rest.strip()
    else:
        kind, target = "deid", text
    if kind == "deid" and builtin_recipe_path(target) is not None and not _looks_like_path(target, relative_to):
        return PixelSource("deid", target, text, origin)
    path = Path(target).expanduser()
    if not path.is_absolute() and relative_to is not None:
        path = relative_to / path
    if not path.is_file():
        shipped = ", ".join(f"deid:{n}" for n in builtin_recipes())
        what = "CTP script" if kind == "ctp" else "deid recipe"
        raise RuleError(f"source {text!r}: no {what} at {path} (recipes deid ships: {shipped})")
    return PixelSource(kind, str(path.resolve()), text, origin)  # type: ignore[arg-type]


def _looks_like_path(target: str, relative_to: Path | None) -> bool:
    return "/" in target or (relative_to is not None and (relative_to / target).is_file())


def load_source(source: PixelSource) -> RuleGroup:
    """The rules of one source, parsed once per process (again if the file changes)."""
    path = builtin_recipe_path(source.ref) if source.kind == "deid" and "/" not in source.ref else None
    path = path or Path(source.ref)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise RuleError(f"source {source.written!r}: cannot read {path}: {exc.strerror}") from None
    return _load(source.kind, str(path), source.written, stamp)


@lru_cache(maxsize=64)
def _load(kind: str, path: str, written: str, stamp: int) -> RuleGroup:
    if kind == "ctp":
        return load_ctp_script(Path(path), written)
    return load_deid_recipe(Path(path), written)


def compile_rules(settings: Any) -> RuleSet:
    """The rule set of a profile's pixel settings (``profile.pixels``): its sources
    in order, then its own regions; cached, so it is built once per process."""
    return _compile(tuple(settings.sources), tuple(settings.regions))


@lru_cache(maxsize=16)
def _compile(sources: tuple[PixelSource, ...], regions: tuple[RegionRule, ...]) -> RuleSet:
    groups = [load_source(source) for source in sources]
    if regions:
        groups.append(RuleGroup(source="profile regions", mode="all", rules=regions))
    return RuleSet(tuple(groups))


def rule_set(groups: Iterable[RuleGroup] = (), regions: Iterable[RegionRule] = ()) -> RuleSet:
    """A rule set made by hand (tests, tools): ``groups`` then ``regions``."""
    groups = list(groups)
    regions = tuple(regions)
    if regions:
        groups.append(RuleGroup(source="regions", mode="all", rules=regions))
    return RuleSet(tuple(groups))


_MATCHES_KEPT = 4096


def matching_rules(ds: Dataset, rules: RuleSet) -> list[RegionRule]:
    """The rules that apply to ``ds``: every match of an ``all`` group, the first of a ``first`` group.

    Remembered by the texts of the elements the conditions read: images of one
    device and series share them, and deid's list alone is over a hundred rules.
    """
    header = HeaderTexts(ds)
    key = tuple(header.get(tag, True) for tag in rules.ordered_tags)
    found = rules.matches.get(key)
    if found is None:
        matched: list[RegionRule] = []
        for group in rules.groups:
            for rule in group.rules:
                if rule.condition(header):
                    matched.append(rule)
                    if group.mode == "first":
                        break
        found = tuple(matched)
        if len(rules.matches) >= _MATCHES_KEPT:
            rules.matches.clear()
        rules.matches[key] = found
    return list(found)


def decide(ds: Dataset, rules: Any) -> RegionDecision:
    """What the region rules say about ``ds``.

    ``rules`` is a :class:`RuleSet` or a profile's pixel settings.  The decision
    unites every rule that applies: their rectangles (clipped to Rows x Columns),
    ``whole`` if one blanks the whole image, their keep areas (ultrasound regions
    read from ``ds``), ``clean`` if one declares the image clean, and ``flags``
    naming those that say it has burnt-in text at unknown places.  ``rules``
    names every rule that applied.
    """
    if not isinstance(rules, RuleSet):
        rules = compile_rules(rules)
    columns, rows = _size(ds)
    boxes: list[Box] = []
    keep: list[Box] = []
    names: list[str] = []
    flags: list[str] = []
    whole = clean = False
    for rule in matching_rules(ds, rules):
        names.append(rule.name)
        boxes.extend(Box(*rect, rule.name) for rect in rule.blank)
        keep.extend(Box(*rect, rule.name) for rect in rule.keep)
        if rule.keep_ultrasound_regions:
            keep.extend(ultrasound_regions(ds, rule.name))
        whole = whole or rule.whole
        clean = clean or rule.clean
        if rule.flag:
            flags.append(rule.name)
    return RegionDecision(
        boxes=tuple(_clip(boxes, columns, rows)),
        whole=whole,
        keep=tuple(_clip(keep, columns, rows)),
        clean=clean,
        rules=tuple(names),
        flags=tuple(flags),
    )


def ultrasound_regions(ds: Dataset, label: str = "ultrasound region") -> list[Box]:
    """The regions of SequenceOfUltrasoundRegions as boxes (DICOM's Max X1/Y1 are
    inclusive, so the box ends one pixel after them)."""
    boxes: list[Box] = []
    for item in ds.get("SequenceOfUltrasoundRegions", None) or []:
        try:
            x0, y0 = int(item.RegionLocationMinX0), int(item.RegionLocationMinY0)
            x1, y1 = int(item.RegionLocationMaxX1) + 1, int(item.RegionLocationMaxY1) + 1
        except (AttributeError, TypeError, ValueError):
            continue
        if x1 > x0 and y1 > y0:
            boxes.append(Box(x0, y0, x1, y1, label))
    return boxes


def _size(ds: Dataset) -> tuple[int | None, int | None]:
    try:
        return int(ds.Columns), int(ds.Rows)
    except (AttributeError, TypeError, ValueError):
        return None, None


def _clip(boxes: list[Box], columns: int | None, rows: int | None) -> list[Box]:
    if columns is None or rows is None:
        return boxes
    return [b for box in boxes if (b := box.clipped(columns, rows)) is not None]


__all__ = [
    "DEID_DEVICE_LIST",
    "RuleError",
    "compile_rules",
    "decide",
    "load_source",
    "matching_rules",
    "resolve_source",
    "rule_set",
    "ultrasound_regions",
]
