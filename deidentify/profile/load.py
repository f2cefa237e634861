"""Load profiles from YAML, validate them, and resolve ``extends``.

Every error names the file, the line and the rule, because profiles are written
by people and a vague message costs them an afternoon.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

import deidentify

from ..errors import DeidentifyError
from .lookup import read_lookup_table as _read_table
from .model import (
    CODES,
    EXCLUSIVE_OPTIONS,
    OPTIONS,
    ContentItemRule,
    FileFilter,
    LookupTable,
    OcrSettings,
    PixelSettings,
    Profile,
    Rule,
    Settings,
)
from .selectors import parse_selector
from .suggest import did_you_mean

#: Actions by name and the arguments each accepts (required ones first in the tuple).
ACTION_ARGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "remove": ((), ()),
    "empty": ((), ()),
    "dummy": ((), ()),
    "keep": ((), ()),
    "clean": ((), ()),
    "uid": ((), ()),
    "pseudonym": ((), ("from",)),
    "shift": ((), ()),
    "year-only": ((), ()),
    "age-cap": ((), ()),
    "replace": (("value",), ()),
    "regex": (("pattern", "repl"), ()),
    "lookup": (("column",), ()),
}

_TOP_KEYS = {"name", "description", "extends", "options", "settings", "rules", "content_items", "pixels", "lookup",
             "filter"}
_LOOKUP_KEYS = {"file", "key"}
_FILTER_KEYS = {"name", "accept", "reject"}
_PIXEL_KEYS = {"sources", "regions", "ocr"}
_OCR_KEYS = {"enabled", "engines", "recognition", "scan", "confidence", "padding", "language", "upscale", "timeout"}
_SCAN_KEYS = {"auto", "modalities", "sop_classes"}
_RULE_KEYS = {"select", "action", "name", "options", "when", "vr", "note"}
_ITEM_KEYS = {"concept", "scheme", "meaning", "value_type", "action", "options"}


class ProfileError(DeidentifyError, ValueError):
    """A profile that cannot be used; the message names file, line and rule."""


def builtin_dir() -> Path:
    """Where the built-in profiles live: inside the wheel, or ``profiles/`` of a source checkout."""
    packaged = Path(deidentify.__file__).parent / "_builtin_profiles"
    return packaged if packaged.is_dir() else Path(deidentify.__file__).parent.parent / "profiles"


def builtin_names() -> list[str]:
    """Names of the profiles users may select (underscore files are building blocks)."""
    return sorted(p.stem for p in builtin_dir().glob("*.yaml") if not p.name.startswith("_"))


# libyaml's parser when it is there: the built-in profiles take a third of a second to parse without it.
try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml
    # The stubs declare both loaders; they share SafeConstructor, all _LineLoader overrides.
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _LineLoader(_SafeLoader):
    """A safe loader that remembers the line of every mapping, for error messages."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        return mapping


def _resolve_path(ref: str, relative_to: Path | None) -> Path:
    candidate = Path(ref)
    if candidate.suffix in (".yaml", ".yml") or "/" in ref:
        if not candidate.is_absolute() and relative_to is not None:
            candidate = relative_to / candidate
        return candidate
    return builtin_dir() / f"{ref}.yaml"


def load_profile(ref: str | Path, options: tuple[str, ...] = (), lookup: Path | None = None) -> Profile:
    """Load a built-in profile by name, or a profile file by path, with extra ``options``.

    ``lookup``: a CSV table for the ``lookup`` action in place of the profile's own
    (keyed by the element the profile's ``lookup.key`` names, PatientID by default).
    """
    path = _resolve_path(str(ref), None)
    if not path.is_file():
        known = ", ".join(builtin_names())
        near = did_you_mean(str(ref), builtin_names())
        raise ProfileError(f"no profile {str(ref)!r}: not a file, and not a built-in{near} ({known})")
    merged = _load_file(path.resolve(), ())
    if lookup is not None:  # the table in place of the profile's own, which is then never read
        key = merged["lookup"][1] if merged["lookup"] is not None else "PatientID"
        merged = {**merged, "lookup": (Path(lookup), key, "--lookup")}
    return _finish(merged, tuple(options), str(path))


def read_yaml(path: Path) -> Any:
    """A YAML file whose mappings carry their line as ``__line__``; ProfileError names the file (and line)."""
    return _read(path)[1]


def _read(path: Path) -> tuple[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        return text, yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ProfileError(f"{path}{line}: not valid YAML: {exc}") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror}") from None


def basic_table(options: tuple[str, ...] = ()) -> Profile:
    """PS3.15 Table E.1-1 alone (every row, its Basic Profile and option actions), with ``options``."""
    return _finish(_load_file((builtin_dir() / "_ps3.15-e1-1.yaml").resolve(), ()), options, "Table E.1-1")


@lru_cache(maxsize=64)
def _load_file(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    """Parse one file and the files it extends into an unresolved profile dict."""
    if path in chain:
        raise ProfileError(f"{path}: extends itself through {' -> '.join(p.name for p in chain)}")
    text, doc = _read(path)
    if not isinstance(doc, dict):
        raise ProfileError(f"{path}:1: a profile is a mapping with at least 'name' and 'rules' or 'extends'")
    where = f"{path}:{doc['__line__']}"
    _unknown_keys(doc, _TOP_KEYS, where, "profile")
    merged: dict[str, Any] = {
        "options": set(),
        "settings": {},
        "rules": [],
        "content_items": [],
        "files": [],
        "pixels": {"sources": [], "regions": [], "ocr": {}},
        "lookup": None,
        "filters": [],
    }
    parents = doc.get("extends") or []
    for parent in [parents] if isinstance(parents, str) else parents:
        parent_path = _resolve_path(str(parent), path.parent).resolve()
        if not parent_path.is_file():
            raise ProfileError(
                f"{path}:{_key_line(text, 'extends', doc)}: extends {str(parent)!r}, but there is no "
                f"{parent_path}{did_you_mean(str(parent), builtin_names())}; "
                f"built-in profiles: {', '.join(builtin_names())}"
            )
        base = _load_file(parent_path, chain + (path,))
        merged["options"] |= base["options"]
        merged["settings"].update(base["settings"])
        merged["rules"] += base["rules"]
        merged["content_items"] += base["content_items"]
        merged["files"] += base["files"]
        _merge_pixels(merged["pixels"], base["pixels"])
        merged["lookup"] = base["lookup"] or merged["lookup"]
        merged["filters"] += base["filters"]
    merged["name"] = str(doc.get("name") or path.stem)
    merged["description"] = str(doc.get("description", ""))
    merged["options"] |= set(_options_list(doc.get("options", []), f"{path}:{_key_line(text, 'options', doc)}"))
    merged["settings"].update(_settings(doc.get("settings", {}), f"{path}"))
    merged["rules"] += [_rule(r, path, i) for i, r in enumerate(doc.get("rules") or [], 1)]
    merged["content_items"] += [_item(r, path, i) for i, r in enumerate(doc.get("content_items") or [], 1)]
    merged["files"] += [str(path)]
    if "pixels" in doc:
        _merge_pixels(merged["pixels"], _pixels(doc["pixels"], path, text, doc))
    if "lookup" in doc:
        merged["lookup"] = _lookup(doc["lookup"], path, _key_line(text, "lookup", doc))
    if "filter" in doc:
        merged["filters"] += _filters(doc["filter"], path, _key_line(text, "filter", doc))
    return merged


def _key_line(text: str, key: str, doc: dict[str, Any]) -> int:
    """The line of a top-level ``key:`` (the loader records lines of mappings, not of keys)."""
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(f"{key}:"):
            return number
    return int(doc["__line__"])


def _finish(merged: dict[str, Any], extra: tuple[str, ...], where: str) -> Profile:
    options = frozenset(merged["options"]) | frozenset(_options_list(list(extra), "--option"))
    for group in EXCLUSIVE_OPTIONS:
        if group <= options:
            raise ProfileError(f"{where}: options {' and '.join(sorted(group))} exclude each other (PS3.15 E.3.6)")
    rules = list(merged["rules"])
    table = read_lookup_table(*merged["lookup"]) if merged["lookup"] is not None else None
    _check_lookup_rules(rules, table)
    return Profile(
        name=merged["name"],
        description=merged["description"],
        options=options,
        settings=Settings(**merged["settings"]),
        rules=tuple(rules),
        content_items=tuple(merged["content_items"]),
        files=tuple(merged["files"]),
        pixels=PixelSettings(
            sources=tuple(merged["pixels"]["sources"]),
            regions=tuple(merged["pixels"]["regions"]),
            ocr=OcrSettings(**merged["pixels"]["ocr"]),
        ),
        lookup=table,
        filters=tuple(merged["filters"]),
    )


def _unknown_keys(mapping: dict[str, Any], allowed: set[str], where: str, what: str) -> None:
    unknown = sorted(str(k) for k in mapping if k != "__line__" and k not in allowed)
    if unknown:
        raise ProfileError(
            f"{where}: {what} has unknown key(s) {', '.join(unknown)}{did_you_mean(unknown[0], allowed)}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def _options_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProfileError(f"{where}: 'options' must be a list of option names")
    for name in value:
        if name not in OPTIONS:
            raise ProfileError(
                f"{where}: unknown option {name!r}{did_you_mean(name, OPTIONS)}; known: {', '.join(OPTIONS)}"
            )
    return value


def _settings(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProfileError(f"{path}: 'settings' must be a mapping")
    where = f"{path}:{value.get('__line__', 1)}"
    _unknown_keys(value, set(Settings.__dataclass_fields__), where, "settings")
    out = {k: v for k, v in value.items() if k != "__line__"}
    if "date_shift_days" in out:
        days = out["date_shift_days"]
        whole_days = isinstance(days, list) and len(days) == 2 and all(isinstance(d, int) for d in days)
        if not (whole_days and days[0] <= days[1]):
            raise ProfileError(f"{where}: settings.date_shift_days must be [min, max] whole days, min <= max")
        if days[0] <= 0 <= days[1]:
            raise ProfileError(f"{where}: settings.date_shift_days must not include 0 (dates would stay real)")
        out["date_shift_days"] = tuple(days)
    if "age_cap_years" in out and not isinstance(out["age_cap_years"], int):
        raise ProfileError(f"{where}: settings.age_cap_years must be a whole number")
    if "clean_pixel_data" in out and not isinstance(out["clean_pixel_data"], bool):
        raise ProfileError(f"{where}: settings.clean_pixel_data must be true or false")
    return out


def _code_or_action(action: Any, where: str) -> str:
    if not isinstance(action, str) or (action not in CODES and action not in ACTION_ARGS):
        near = did_you_mean(action, [*CODES, *ACTION_ARGS]) if isinstance(action, str) else ""
        raise ProfileError(
            f"{where}: unknown action {action!r}{near}; use a PS3.15 code ({', '.join(sorted(CODES))}) "
            f"or an action ({', '.join(ACTION_ARGS)})"
        )
    return action


def _option_codes(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ProfileError(f"{where}: 'options' of a rule maps option names to codes")
    codes = {k: v for k, v in value.items() if k != "__line__"}
    for option, code in codes.items():
        if option not in OPTIONS:
            raise ProfileError(f"{where}: unknown option {option!r}{did_you_mean(option, OPTIONS)}")
        _code_or_action(code, where)
    return codes


def _rule(raw: Any, path: Path, index: int) -> Rule:
    if not isinstance(raw, dict):
        raise ProfileError(f"{path}: rule {index} must be a mapping with 'select' and 'action'")
    select = raw.get("select")
    where = f"{path}:{raw['__line__']}: rule {index} ({select!r})"
    if not isinstance(select, str):
        raise ProfileError(f"{where}: 'select' is required and must be a string")
    try:
        selector = parse_selector(select)
    except ValueError as exc:
        raise ProfileError(f"{where}: {exc}") from None
    action = _code_or_action(raw.get("action"), where)
    required, optional = ACTION_ARGS.get(action, ((), ()))
    _unknown_keys(raw, _RULE_KEYS | set(required + optional), where, f"rule with action {action!r}")
    args = {k: raw[k] for k in required + optional if k in raw}
    missing = [k for k in required if k not in args]
    if missing:
        raise ProfileError(f"{where}: action {action!r} needs {', '.join(missing)}")
    if action == "regex":
        try:
            re.compile(str(args["pattern"]))
        except re.error as exc:
            raise ProfileError(f"{where}: bad regex pattern: {exc}") from None
    if action == "pseudonym" and "from" in args:
        try:
            parse_selector(str(args["from"]))
        except ValueError as exc:
            raise ProfileError(f"{where}: 'from': {exc}") from None
    when = raw.get("when")
    if when is not None and when not in OPTIONS:
        raise ProfileError(f"{where}: 'when' names unknown option {when!r}{did_you_mean(str(when), OPTIONS)}")
    return Rule(
        selector=selector,
        action=action,
        origin=f"{path.name}:{raw['__line__']}",
        args=args,
        options=_option_codes(raw.get("options", {}), where),
        when=when,
        name=str(raw.get("name", select)),
    )


def _lookup(value: Any, path: Path, line: int) -> tuple[Path, str, str]:
    """A ``lookup`` section: the table's path, its key and where it was given (read when the profile is finished)."""
    where = f"{path}:{line}: lookup"
    if not isinstance(value, dict) or not isinstance(value.get("file"), str):
        raise ProfileError(f"{where}: lookup is a mapping like {{file: subjects.csv, key: PatientID}}")
    _unknown_keys(value, _LOOKUP_KEYS, where, "lookup")
    key = value.get("key", "PatientID")
    if not isinstance(key, str):
        raise ProfileError(f"{where}: key is the keyword of the element that selects a row, like PatientID")
    return path.parent / value["file"], key, where


def read_lookup_table(file: Path, key: str, where: str) -> LookupTable:
    """The table in ``file`` keyed by ``key``; a ProfileError prefixed with ``where`` when it is unusable."""
    try:
        return _read_table(file, key)
    except ValueError as exc:
        raise ProfileError(f"{where}: {file.name}: {exc}") from None


def _check_lookup_rules(rules: list[Rule], table: LookupTable | None) -> None:
    """Bind every ``lookup`` rule to the table, in place; a rule with no table or no such column is an error."""
    for index, rule in enumerate(rules):
        if rule.action != "lookup" and "lookup" not in rule.options.values():
            continue
        if table is None:
            raise ProfileError(f"{rule.origin}: rule {rule.name!r} looks values up, but no lookup table is given "
                               "(add `lookup: {file: F, key: PatientID}` to the profile, or --lookup F)")
        column = str(rule.args.get("column", ""))
        if column not in table.columns:
            near = did_you_mean(column, table.columns)
            raise ProfileError(f"{rule.origin}: rule {rule.name!r} reads column {column!r}, which {table.name} "
                               f"does not have{near} (its columns: {', '.join(table.columns)})")
        rules[index] = replace(rule, args={**rule.args, "table": table})


def _filters(value: Any, path: Path, line: int) -> list[FileFilter]:
    from deidentify.pixels.rules.conditions import parse_condition

    if not isinstance(value, list) or not value:
        raise ProfileError(f"{path}:{line}: filter is a list like [{{name: CT only, accept: {{Modality: CT}}}}]")
    out = []
    for index, raw in enumerate(value, 1):
        raw_line = raw.get("__line__", line) if isinstance(raw, dict) else line
        where = f"{path}:{raw_line}: filter {index}"
        if not isinstance(raw, dict):
            raise ProfileError(f"{where}: a filter is a mapping with name and accept or reject")
        _unknown_keys(raw, _FILTER_KEYS, where, "filter")
        if ("accept" in raw) == ("reject" in raw):
            raise ProfileError(f"{where}: a filter has either accept or reject (a condition), not both or neither")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ProfileError(f"{where}: a filter needs a name (the report says which filter rejected a file)")
        accept = "accept" in raw
        try:
            condition = parse_condition(raw["accept" if accept else "reject"])
        except ValueError as exc:
            raise ProfileError(f"{where} ({name!r}): {exc}") from None
        out.append(FileFilter(name=name.strip(), accept=accept, condition=condition,
                              origin=f"{path.name}:{raw_line}"))
    return out


def _item(raw: Any, path: Path, index: int) -> ContentItemRule:
    if not isinstance(raw, dict):
        raise ProfileError(f"{path}: content item {index} must be a mapping")
    where = f"{path}:{raw['__line__']}: content item {index}"
    _unknown_keys(raw, _ITEM_KEYS, where, "content item")
    if not raw.get("concept") or not raw.get("scheme"):
        raise ProfileError(f"{where}: 'concept' and 'scheme' are required")
    return ContentItemRule(
        concept=str(raw["concept"]),
        scheme=str(raw["scheme"]),
        action=_code_or_action(raw.get("action"), where),
        origin=f"{path.name}:{raw['__line__']}",
        value_type=str(raw.get("value_type", "")),
        meaning=str(raw.get("meaning", "")),
        options=_option_codes(raw.get("options", {}), where),
    )


def _merge_pixels(into: dict[str, Any], more: dict[str, Any]) -> None:
    """A later ``pixels`` section over an earlier one: its ``sources`` replace the
    earlier list when given, its ``regions`` come after the earlier ones, its
    ``ocr`` keys override."""
    if "sources_given" in more or more.get("sources"):
        into["sources"] = list(more["sources"])
        into["sources_given"] = True
    into["regions"] = into["regions"] + list(more["regions"])
    into["ocr"] = {**into["ocr"], **more["ocr"]}


def _pixels(value: Any, path: Path, text: str, doc: dict[str, Any]) -> dict[str, Any]:
    """Validate a ``pixels`` section: its sources are read now, so a bad recipe fails the load."""
    from deidentify.pixels.rules import RuleError, load_source, parse_region_rule, resolve_source

    if not isinstance(value, dict):
        line = _key_line(text, "pixels", doc)
        raise ProfileError(f"{path}:{line}: 'pixels' is a mapping of sources, regions and ocr")
    line = int(value["__line__"])
    _unknown_keys(value, _PIXEL_KEYS, f"{path}:{line}", "pixels")
    out: dict[str, Any] = {"sources": [], "regions": [], "ocr": {}}
    if "sources" in value:
        sources = value["sources"] or []
        if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
            raise ProfileError(
                f"{path}:{line}: pixels.sources is a list like [deid:dicom, recipes/our.deid, ctp:our.script]"
            )
        for written in sources:
            source_line = _line_of(text, written, line)
            where = f"{path}:{source_line}: pixels source {written!r}"
            try:
                source = resolve_source(written, path.parent, origin=f"{path.name}:{source_line}")
                load_source(source)
            except RuleError as exc:
                raise ProfileError(f"{where}: {exc}") from None
            out["sources"].append(source)
        out["sources_given"] = True
    regions = value.get("regions") or []
    if not isinstance(regions, list):
        raise ProfileError(f"{path}:{line}: pixels.regions is a list of region rules")
    for index, raw in enumerate(regions, 1):
        raw_line = raw.get("__line__", line) if isinstance(raw, dict) else line
        name = raw.get("name") if isinstance(raw, dict) else None
        where = f"{path}:{raw_line}: pixels region {index}" + (f" ({name!r})" if name else "")
        try:
            out["regions"].append(parse_region_rule(raw, f"{path.name}:{raw_line}", index))
        except ValueError as exc:
            raise ProfileError(f"{where}: {exc}") from None
    if "ocr" in value:
        out["ocr"] = _ocr(value["ocr"], path, line)
    return out


def _line_of(text: str, needle: str, start: int) -> int:
    """The first line from ``start`` on that mentions ``needle`` (list items carry no line of their own)."""
    for number, content in enumerate(text.splitlines(), 1):
        if number >= start and needle in content:
            return number
    return start


def _ocr(value: Any, path: Path, parent_line: int) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProfileError(
            f"{path}:{parent_line}: pixels.ocr is a mapping "
            "(enabled, engines, recognition, scan, confidence, padding, language, upscale, timeout)"
        )
    where = f"{path}:{value['__line__']}: pixels.ocr"
    _unknown_keys(value, _OCR_KEYS, where, "pixels.ocr")
    out: dict[str, Any] = {}
    for key in ("enabled", "recognition"):
        if key in value:
            if not isinstance(value[key], bool):
                raise ProfileError(f"{where}: {key} is true or false")
            out[key] = value[key]
    if "engines" in value:
        out["engines"] = _engines(value["engines"], where)
    if "confidence" in value:
        confidence = value["confidence"]
        if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 <= confidence <= 100:
            raise ProfileError(f"{where}: confidence is a number from 0 to 100")
        out["confidence"] = float(confidence)
    for key, low, high in (("padding", 0, 100), ("upscale", 0, 4), ("timeout", 1, 3600)):
        if key in value:
            number = value[key]
            if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
                raise ProfileError(f"{where}: {key} is a whole number from {low} to {high}")
            out[key] = number
    if "language" in value:
        language = value["language"]
        if not isinstance(language, str) or not re.fullmatch(r"[A-Za-z_]+(\+[A-Za-z_]+)*", language):
            raise ProfileError(f"{where}: language is Tesseract's, like eng or eng+deu")
        out["language"] = language
    if "scan" in value:
        out.update(_scan(value["scan"], where))
    return out


def _engines(engines: Any, where: str) -> tuple[str, ...]:
    from ..pixels.detectors import ENGINES

    known = ", ".join(ENGINES)
    if not isinstance(engines, list) or not engines or not all(isinstance(e, str) for e in engines):
        raise ProfileError(f"{where}: engines is a list of one or more of {known}")
    for engine in engines:
        if engine not in ENGINES:
            raise ProfileError(f"{where}: engines: {engine!r} is not an engine (known: {known})")
    if len(set(engines)) != len(engines):
        raise ProfileError(f"{where}: engines names an engine twice")
    return tuple(engines)


def _scan(scan: Any, where: str) -> dict[str, Any]:
    if scan in ("auto", "all"):
        return {"scan": scan, "modalities": (), "sop_classes": ()}
    if not isinstance(scan, dict):
        raise ProfileError(f"{where}: scan is auto, all, or a mapping of modalities and sop_classes (and auto: false)")
    _unknown_keys(scan, _SCAN_KEYS, where, "pixels.ocr.scan")
    auto = scan.get("auto", True)
    if not isinstance(auto, bool):
        raise ProfileError(f"{where}: scan.auto is true or false")
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("modalities", "sop_classes"):
        items = scan.get(key) or []
        if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
            raise ProfileError(f"{where}: scan.{key} is a list of names")
        lists[key] = tuple(i.strip() for i in items)
    for uid in lists["sop_classes"]:
        if not re.fullmatch(r"[0-9.]+\*?", uid):
            raise ProfileError(f"{where}: scan.sop_classes: {uid!r} is not a UID (a trailing * matches a prefix)")
    if not auto and not (lists["modalities"] or lists["sop_classes"]):
        raise ProfileError(f"{where}: scan with auto: false lists no modality or SOP class, so nothing would be read")
    return {"scan": "auto" if auto else "listed", **lists}
