"""The pixel stage as the pipeline sees it: the profile's tools, built once per process.

Region rules are compiled and the text detector started once per process; per
image the stage decides what the rules say, whether the detector reads it, and lets
:func:`~deidentify.pixels.clean.clean_pixels` do the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydicom.dataset import Dataset

from ..limits import Limits
from .base import Box, CleanSettings, FrameSharing, PixelDetector, PixelError, ReadHere
from .clean import PixelOutcome, clean_pixels, find_text
from .detectors import DetectorUnavailable, build_detector
from .gate import GATE_TAGS, may_carry_burnt_in_text
from .layout import has_pixel_data, read_layout, transfer_syntax_of
from .rules import RuleSet, compile_rules, decide
from .scan import should_scan, text_detectors


@dataclass
class PixelTools:
    """What the stage needs of a profile: its rule set, text-detector settings and detector.

    ``tags`` are the top-level elements whose values decide whether an image needs
    cleaning (the fast path remembers the answer by their raw bytes); ``sharing``
    who reads an image's frames (a run's worker sets it).
    """

    rules: RuleSet
    ocr: Any
    settings: CleanSettings
    tags: frozenset[int] = frozenset()
    sharing: FrameSharing = field(default_factory=ReadHere)

    @cached_property
    def ordered_tags(self) -> tuple[int, ...]:
        return tuple(sorted(self.tags))

    @cached_property
    def _started(self) -> tuple[PixelDetector | None, str]:
        """The profile's engines, started when the first image needs them (most runs never do),
        or None and why not."""
        if not self.ocr.enabled:
            return None, "OCR is off"
        try:
            return build_detector(self.ocr), ""
        except DetectorUnavailable as exc:
            return None, str(exc)  # images that need reading are withheld, with this reason

    @property
    def detector(self) -> PixelDetector | None:
        """The text detector, or None when the profile's engines cannot start (see :attr:`unavailable`)."""
        return self._started[0]

    @property
    def unavailable(self) -> str:
        """Why there is no detector ("" when there is one)."""
        return self._started[1]


def tools_for(profile: Any) -> PixelTools:
    """The profile's pixel tools (the compiled profile builds them once per run)."""
    ocr = profile.pixels.ocr
    # The detector pads its own boxes; rule boxes are exact.
    settings = CleanSettings(ocr="auto" if ocr.enabled else "never", padding=0)
    rule_set = compile_rules(profile.pixels)
    return PixelTools(rule_set, ocr, settings, rule_set.tags | GATE_TAGS)


def needs_cleaning(ds: Dataset, tools: PixelTools) -> bool:
    """Whether an image's pixels may need masking: a rule applies, OCR reads it, or it may carry text.

    ``ds`` need hold only the top-level elements the gate, the rules
    (:attr:`RuleSet.tags`) and OCR's scan settings read: the fast path asks with no more.
    """
    if not has_pixel_data(ds):
        return False
    if may_carry_burnt_in_text(ds) or should_scan(ds, tools.ocr):
        return True
    decision = decide(ds, tools.rules)
    return bool(decision.boxes or decision.whole or decision.flags)


def clean_image(source: Dataset, out: Dataset, tools: PixelTools, limits: Limits = Limits()) -> PixelOutcome:
    """Mask what the rules and OCR find in ``source``'s pixels, writing into ``out``."""
    decision = decide(source, tools.rules)
    scan = should_scan(source, tools.ocr) or bool(decision.flags)
    reads = tools.detector is not None and (scan or may_carry_burnt_in_text(source))
    own_values = text_detectors(source) if reads else ()
    return clean_pixels(
        source, out, decision, tools.detector, own_values, tools.settings,
        scan=scan, limits=limits, unavailable=tools.unavailable, sharing=tools.sharing,
    )


def read_frames(source: Dataset, tools: PixelTools, frames: range) -> list[tuple[Box, ...]]:
    """What the detector finds on ``frames`` of an image that :func:`clean_image` has it read: the
    same reading, for a process that reads part of another's image."""
    if tools.detector is None:
        raise PixelError(f"no text detector: {tools.unavailable}")
    layout = read_layout(source, transfer_syntax_of(source))
    return find_text(source, layout, frames, tools.detector, text_detectors(source))
