"""What a compiled region rule set holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from ...errors import DeidentifyError
from .conditions import ALWAYS, Condition

#: A rectangle in stored-image pixels: x0, y0, x1, y1 with x1 and y1 exclusive.
Rect = tuple[int, int, int, int]


class RuleError(DeidentifyError, ValueError):
    """A rule source or a region rule that cannot be used; the message names the
    file, the line and the rule."""


@dataclass(frozen=True)
class RegionRule:
    """One rule: when ``condition`` holds for an image, what to do with its pixels.

    ``blank`` rectangles are masked; ``whole`` masks the whole image except the
    ``keep`` rectangles and, with ``keep_ultrasound_regions``, the regions of
    SequenceOfUltrasoundRegions; ``clean`` claims the image has no burnt-in
    text (a claim OCR findings override); ``flag`` says it has burnt-in text at
    places the rule does not know.
    """

    name: str
    origin: str
    condition: Condition = ALWAYS
    blank: tuple[Rect, ...] = ()
    whole: bool = False
    keep: tuple[Rect, ...] = ()
    keep_ultrasound_regions: bool = False
    clean: bool = False
    flag: bool = False

    @property
    def does_something(self) -> bool:
        return bool(self.blank or self.whole or self.keep or self.keep_ultrasound_regions or self.clean or self.flag)


@dataclass(frozen=True)
class RuleGroup:
    """The rules of one source, in order.  ``mode`` ``all``: every matching rule
    applies (deid recipes, profile regions); ``first``: only the first matching
    rule applies (CTP DicomPixelAnonymizer scripts)."""

    source: str
    mode: Literal["all", "first"]
    rules: tuple[RegionRule, ...]


@dataclass(frozen=True)
class RuleSet:
    """Every region rule a profile uses, grouped by source; built once per process."""

    groups: tuple[RuleGroup, ...] = ()
    # Matching rules by the texts of the elements the conditions read (see decide.matching_rules).
    matches: dict[tuple[Any, ...], tuple[RegionRule, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return sum(len(g.rules) for g in self.groups)

    @cached_property
    def tags(self) -> frozenset[int]:
        """Every element some rule's condition reads."""
        return frozenset().union(*(rule.condition.tags for g in self.groups for rule in g.rules))

    @cached_property
    def ordered_tags(self) -> tuple[int, ...]:
        return tuple(sorted(self.tags))

    def group(self, source: str) -> RuleGroup:
        for g in self.groups:
            if g.source == source:
                return g
        raise KeyError(source)


@dataclass(frozen=True)
class PixelSource:
    """A file of region rules named in a profile's ``pixels.sources``.

    ``kind`` is ``deid`` (a deid recipe's ``%filter`` sections) or ``ctp`` (a CTP
    DicomPixelAnonymizer script); ``ref`` is a recipe shipped with deid
    (``dicom``, ``dicom.ultrasound``...) or an absolute path; ``written`` is the
    entry as the profile wrote it; ``origin`` the profile file and line.
    """

    kind: Literal["deid", "ctp"]
    ref: str
    written: str
    origin: str = field(default="", compare=False)
