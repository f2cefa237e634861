"""Region rules: which parts of an image to blank, keep, or call clean, decided from its header.

Rules come from a profile's ``pixels`` section: its ``sources`` -- deid recipes
(read by deid's own parser; ``deid:dicom`` is the curated device list deid
ships) and CTP DicomPixelAnonymizer scripts -- and its own ``regions``.  A
profile's rules are compiled once per process (:func:`compile_rules`);
:func:`decide` says what they mean for one dataset.
"""

from .conditions import ALWAYS, OPERATORS, All, AnyOf, Check, Condition, Not, parse_condition, parse_element
from .ctp_script import load_ctp_script, parse_ctp_script
from .decide import (
    DEID_DEVICE_LIST,
    compile_rules,
    decide,
    load_source,
    matching_rules,
    resolve_source,
    rule_set,
    ultrasound_regions,
)
from .deid_recipe import builtin_recipes, load_deid_recipe
from .model import PixelSource, Rect, RegionRule, RuleError, RuleGroup, RuleSet
from .regions import REGION_KEYS, parse_region_rule

__all__ = [
    "ALWAYS",
    "All",
    "AnyOf",
    "Check",
    "Condition",
    "DEID_DEVICE_LIST",
    "Not",
    "OPERATORS",
    "PixelSource",
    "REGION_KEYS",
    "Rect",
    "RegionRule",
    "RuleError",
    "RuleGroup",
    "RuleSet",
    "builtin_recipes",
    "compile_rules",
    "decide",
    "load_ctp_script",
    "load_deid_recipe",
    "load_source",
    "matching_rules",
    "parse_condition",
    "parse_ctp_script",
    "parse_element",
    "parse_region_rule",
    "resolve_source",
    "rule_set",
    "ultrasound_regions",
]
