"""Profiles: YAML data that says what happens to each element, validated on load."""

from .load import ProfileError, builtin_dir, builtin_names, load_profile
from .model import OPTIONS, ContentItemRule, FileFilter, LookupTable, Profile, Rule, Settings
from .selectors import (
    ClassSelector,
    PrivateSelector,
    Selector,
    TagSelector,
    VRSelector,
    WildcardSelector,
    normalise_creator,
    parse_selector,
)

__all__ = [
    "OPTIONS",
    "ClassSelector",
    "ContentItemRule",
    "FileFilter",
    "LookupTable",
    "PrivateSelector",
    "Profile",
    "ProfileError",
    "Rule",
    "Selector",
    "Settings",
    "TagSelector",
    "VRSelector",
    "WildcardSelector",
    "builtin_dir",
    "builtin_names",
    "load_profile",
    "normalise_creator",
    "parse_selector",
]
