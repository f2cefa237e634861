"""Which boxes are masked: rule boxes, whole frames less kept areas, padded OCR findings."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from deidentify.pixels import Box, RegionDecision
from deidentify.pixels.regions import frame_regions, rule_regions

W, H = 40, 30


def raster(boxes: tuple[Box, ...] | list[Box]) -> np.ndarray:
    where = np.zeros((H, W), dtype=int)
    for box in boxes:
        where[max(0, box.y0) : max(0, box.y1), max(0, box.x0) : max(0, box.x1)] += 1
    return where


boxes = st.builds(
    lambda x, y, w, h: Box(x, y, x + w, y + h, "keep"),
    st.integers(-5, W), st.integers(-5, H), st.integers(1, W), st.integers(1, H),
)


@given(st.lists(boxes, max_size=4))
def test_whole_less_kept_areas_covers_exactly_the_rest_once(keep: list[Box]) -> None:
    regions = rule_regions(RegionDecision(whole=True, keep=keep, rules=("capture",)), W, H)
    expected = (raster(keep) == 0).astype(int)
    assert np.array_equal(raster(regions), expected)
    assert all(box.label == "capture" for box in regions)


def test_rule_boxes_are_clipped_and_not_spared_by_kept_areas() -> None:
    decision = RegionDecision(
        boxes=(Box(-3, -3, 10, 5, "banner"), Box(50, 50, 60, 60, "off the image")),
        keep=(Box(0, 0, W, H, "ultrasound region"),),
    )
    assert rule_regions(decision, W, H) == (Box(0, 0, 10, 5, "banner"),)


def test_whole_is_one_box_named_after_its_rules() -> None:
    assert rule_regions(RegionDecision(whole=True), W, H) == (Box(0, 0, W, H, "whole"),)


def test_findings_are_padded_clipped_and_added_to_the_rule_boxes() -> None:
    rules = (Box(0, 0, 5, 5, "banner"),)
    found = [Box(1, 1, 4, 4, "text", "date"), Box(38, 28, 40, 30, "text")]
    assert frame_regions(rules, found, 2, W, H) == (
        Box(0, 0, 5, 5, "banner"),
        Box(0, 0, 6, 6, "text", "date"),
        Box(36, 26, 40, 30, "text"),
    )
