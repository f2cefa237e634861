"""deid recipes (pydicom/deid, ``deid.dicom*``) as profiles.

Each line is read by deid's own parser (``parse_config_action`` for ``%header``,
``parse_group_action`` for ``%fields`` / ``%values``); ``%filter`` sections are
copied into a recipe of their own beside the profile and read by the pixel
stage's deid reader, as ``pixels.sources``.

========================  ====================================================
``KEEP F``                ``keep``
``BLANK F``               ``empty``
``REMOVE F``              ``remove``; with a value filter (``REMOVE ALL func:is_name``): not translated
``REPLACE F literal``     ``replace`` (``value:``)
``REPLACE F var:X``       ``lookup`` (``column: X``) with ``--lookup TABLE.csv``, else not translated
``REPLACE F deid_func:``  the UID functions: ``uid`` (differs: keyed ``2.25.`` UIDs); ``jitter``: ``shift``
``REPLACE F func:X``      not translated: Python code
``JITTER F n``            ``shift`` (differs: keyed per patient, not a fixed n days)
``ADD F v``               not translated (no action adds a missing element), except
                          PatientIdentityRemoved YES and DeidentificationMethod: the stamp writes them
========================  ====================================================

Fields: keywords and tags, private ``(gggg,"CREATOR",ee)``, ``ALL``/``allfields``
(``xxxx,xxxx``), ``select:group:gggg`` (``gggg,xxxx``), ``select:VR:XX``
(``VR:XX``), ``startswith:`` / ``endswith:`` / ``contains:`` (expanded against
pydicom's dictionary, by keyword, name and tag as deid matches them), ``except:``
(``xxxx,xxxx`` with the dictionary's excluded elements given back to the base
profile), ``fields:NAME`` (its members); ``values:NAME`` selects by the values
a file holds: not translated.  deid's precedence (KEEP > ADD > REPLACE > JITTER >
REMOVE > BLANK) and its protected fields (PixelData, the palette data,
VOILUTSequence: never changed) are reproduced by :mod:`.precedence`.
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ...pixels.rules import RuleError, load_deid_recipe
from ...pixels.rules.conditions import parse_element
from ...pixels.rules.deid_recipe import deid_data_dir, run_deid_quietly
from ..selectors import VRS, PrivateSelector, parse_selector
from .model import BASE, STAMP_SAYS, ImportFailed, ImportOptions, ImportResult, RuleSpec, Status, read_text
from .precedence import settle

#: deid's precedence: a higher rank wins when several lines reach one element.
RANKS = {"BLANK": 1, "REMOVE": 2, "JITTER": 3, "REPLACE": 4, "ADD": 5, "KEEP": 6}
_UID_FUNCTIONS = frozenset({"simple_uuid", "suffix_uuid", "pydicom_uuid", "dicom_uuid"})
_STAMPED = {0x00120062: "PatientIdentityRemoved", 0x00120063: "DeidentificationMethod"}
_EXPANDER = re.compile(r"(?i)^(startswith|endswith|contains|except|select|fields|values):(.*)$")

Matcher = Callable[[int, str, str, str], bool]


@dataclass
class _Target:
    """The elements a FIELD names: selectors written as rules, and a test over dictionary entries."""

    selectors: list[str]
    matches: Matcher
    what: str
    groups: list[str] = field(default_factory=list)  # fields: groups it used


@dataclass
class _Line:
    number: int
    text: str
    rank: int
    target: _Target
    spec: RuleSpec


def protected_fields() -> frozenset[str]:
    """The fields deid never changes unless told to (``disable_skip``), from deid's own config."""
    import deid.dicom

    config = json.loads((Path(deid.dicom.__file__).parent / "config.json").read_text(encoding="utf-8"))
    return frozenset(config.get("get", {}).get("skip", []))


def read(path: Path, options: ImportOptions) -> ImportResult:
    """Import the deid recipe at ``path``; ``ImportFailed`` when it is not one."""
    text = read_text(path)
    result = ImportResult("deid", str(path), options.base)
    raw_lines = text.splitlines()
    first = next((line.strip() for line in raw_lines if line.strip() and not line.strip().startswith("#")), "")
    if not re.fullmatch(r"(?i)format\s+dicom", first):
        raise ImportFailed(f"{path}: not a deid recipe (its first line is not 'FORMAT dicom')")
    table = _LookupTable(options, result) if options.lookup else None
    groups: dict[str, dict[str, list[tuple[int, str, dict]]]] = {"fields": {}, "values": {}}
    header: list[tuple[int, str]] = []
    pixel_lines: dict[int, str] = {}
    section, name = "", ""
    for number, raw in enumerate(raw_lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            if section == "filter":
                pixel_lines[number] = raw
            continue
        if re.match(r"(?i)^format\b", line):
            pixel_lines[number] = raw
            result.report(number, line, Status.NO_EFFECT, "declares the recipe's format")
            continue
        if line.startswith("%"):
            parts = line.split("#", 1)[0].split(None, 1)
            section, name = parts[0][1:].lower(), (parts[1].strip() if len(parts) > 1 else "")
            if section == "filter":
                pixel_lines[number] = raw
            elif section in groups:
                groups[section].setdefault(name, [])
            elif section != "header":
                result.report(number, line, Status.NOT_TRANSLATED, f"deid's %{section} section has no counterpart")
            continue
        if section == "header":
            header.append((number, line))
        elif section == "filter":
            pixel_lines[number] = raw
        elif section in groups:
            groups[section][name].append((number, line, _group_entry(section, name, line)))
        else:
            result.report(number, line, Status.NOT_TRANSLATED, "outside any section deid reads")
    used: dict[str, list[int]] = {}
    translated: list[_Line] = []
    for number, line in header:
        found = _header_line(number, line, groups, table, result)
        if found is not None:
            translated.append(found)
            for group in found.target.groups:
                used.setdefault(group, []).append(number)
    _report_groups(groups, used, header, result)
    if pixel_lines:
        _pixel_source(pixel_lines, len(raw_lines), path, options, result)
    for item in translated:
        result.rules += [RuleSpec(s, item.spec.action, dict(item.spec.args), item.spec.note, item.rank, item.number)
                         for s in item.target.selectors]
    protected = protected_fields()

    def intent(tag: int, keyword: str, name: str, vr: str) -> RuleSpec | str:
        hits = [t for t in translated if t.target.matches(tag, keyword, name, vr)]
        if not hits:
            return BASE
        if keyword in protected:
            return RuleSpec(keyword, "keep", note=f"deid never changes {keyword} (one of its protected fields)")
        best = max(hits, key=lambda t: (t.rank, t.number))
        return best.spec

    settle(result, intent)
    result.lines.sort(key=lambda r: r.line)
    return result


def _group_entry(section: str, name: str, line: str) -> dict:
    from deid.config.utils import parse_group_action

    try:
        config, _ = run_deid_quietly(lambda: parse_group_action(section, line, {section: {name: []}}, name))
    except ValueError as exc:
        return {"error": str(exc)}
    entries = config[section][name]
    return entries[0] if entries else {"error": "deid skips this line"}


def _header_line(number: int, line: str, groups: dict, table: _LookupTable | None,
                 result: ImportResult) -> _Line | None:
    """One %header line: its rule (returned) or why it has none (reported)."""
    from deid.config.utils import parse_config_action

    def fail(reason: str, status: Status = Status.NOT_TRANSLATED) -> None:
        result.report(number, line, status, reason)

    word = line.split(None, 1)[0].upper()
    if word not in RANKS:
        fail("deid skips this line: not an action of %header (ADD, BLANK, JITTER, KEEP, REPLACE, REMOVE)")
        return None
    try:
        config, _ = run_deid_quietly(lambda: parse_config_action("header", line, {"header": []}))
    except ValueError as exc:
        fail(f"deid cannot read this line: {exc}")
        return None
    if not config["header"]:
        fail("deid skips this line")
        return None
    entry = config["header"][0]
    action, value = entry["action"], (entry.get("value") or "").strip()
    target = _target(entry["field"], groups)
    if isinstance(target, str):
        fail(target)
        return None
    note = f"line {number}: {line}"
    status, detail = Status.TRANSLATED, ""
    if action == "KEEP":
        spec = RuleSpec("", "keep", note=note)
    elif action == "BLANK":
        spec = RuleSpec("", "empty", note=note)
    elif action == "REMOVE":
        if value:
            fail(f"REMOVE with a value test ({value}) removes an element only when its value passes the test; "
                 "rules here do not depend on values")
            return None
        spec = RuleSpec("", "remove", note=note)
    elif action == "JITTER":
        spec = RuleSpec("", "shift", note=note)
        status = Status.APPROXIMATED
        by = f"{value} days" if re.fullmatch(r"[-+]?\d+", value) else f"the per-file value of {value}"
        detail = (f"deid moves every date by {by}; here each patient's dates move by a keyed offset within "
                  "settings.date_shift_days: intervals within a patient survive, as with JITTER, and one known "
                  "date does not reveal the offset of every other patient")
    elif action == "ADD":
        tags = _exact_tags(target)
        if len(tags) == 1 and tags[0] in _STAMPED:
            keyword = _STAMPED[tags[0]]
            if keyword == "PatientIdentityRemoved" and value.upper() != "YES":
                fail(f"the stamp decides PatientIdentityRemoved (YES, or NO where the profile keeps what the "
                     f"Basic Profile removes), not the recipe's {value!r}")
                return None
            same = keyword == "PatientIdentityRemoved"
            result.report(number, line, Status.TRANSLATED if same else Status.APPROXIMATED,
                          "already done by the stamp" + (STAMP_SAYS if same else
                                                         " (its text names deidentify and the profile)"))
            return None
        fail("ADD writes the element even where the file has none; no action here adds a missing element "
             "(a replace rule changes it only where it is present)")
        return None
    else:  # REPLACE
        replaced = _replacement(value, target, table, note)
        if isinstance(replaced, str):
            fail(replaced)
            return None
        spec, status, detail = replaced
    result.report(number, line, status, "; ".join(d for d in (f"-> {spec.action} {target.what}", detail) if d))
    return _Line(number, line, RANKS[action], target, spec)


def _replacement(value: str, target: _Target, table: _LookupTable | None,
                 note: str) -> tuple[RuleSpec, Status, str] | str:
    lowered = value.lower()
    if lowered.startswith("func:"):
        return f"{value} calls Python code that deid's caller registers; nothing here runs code from a recipe"
    if lowered.startswith("deid_func:"):
        function = value[len("deid_func:"):].split()[0] if value[len("deid_func:"):].split() else ""
        if function in _UID_FUNCTIONS:
            return (RuleSpec("", "uid", note=note), Status.APPROXIMATED,
                    f"keyed UIDs (2.25.<integer> from the key) instead of deid's {function}: "
                    "stable across files and runs, references between files intact")
        if function == "jitter":
            return (RuleSpec("", "shift", note=note), Status.APPROXIMATED,
                    "the keyed per-patient date shift instead of deid's fixed jitter")
        return f"deid_func:{function} has no counterpart among the actions"
    if lowered.startswith("var:"):
        variable = value[4:].strip()
        if table is None:
            return (f"{value} is a value deid's caller passes in for each file; to translate it, give a table "
                    f"with --lookup FILE.csv (a column PatientID, or --lookup-key, and a column {variable})")
        tags = _exact_tags(target)
        if len(tags) != 1 or len(target.selectors) != 1:
            return f"{value}: a lookup fills one named element, not {target.what}"
        return table.rule(variable, note)
    return RuleSpec("", "replace", {"value": value}, note), Status.TRANSLATED, ""


def _exact_tags(target: _Target) -> list[int]:
    tags = []
    for written in target.selectors:
        try:
            selector = parse_selector(written)
        except ValueError:
            continue
        tag = getattr(selector, "tag", None)
        if tag is not None:
            tags.append(tag)
    return tags


def _target(written: str, groups: dict, seen: tuple[str, ...] = ()) -> _Target | str:
    """The elements a FIELD names, or why it cannot be translated."""
    text = written.strip()
    if text.lower() in ("all", "allfields"):
        return _Target(["xxxx,xxxx"], lambda *_: True, "every element")
    expander = _EXPANDER.match(text)
    if expander is None:
        return _element(text)
    kind, expression = expander.group(1).lower(), expander.group(2).strip()
    if kind == "values":
        return (f"values:{expression} selects the elements whose values equal values the same file holds "
                "elsewhere; rules here select elements by name, not by value (the clean action, with "
                "clean-descriptors, cuts a file's own names and IDs out of its free text)")
    if kind == "fields":
        members = groups["fields"].get(expression)
        if members is None or expression in seen:
            return f"fields:{expression}: no %fields {expression} section"
        parts: list[_Target] = []
        for number, line, entry in members:
            if "error" in entry:
                return f"fields:{expression}: line {number} ({line}): {entry['error']}"
            part = _target(entry["field"], groups, seen + (expression,))
            if isinstance(part, str):
                return f"fields:{expression}: line {number}: {part}"
            parts.append(part)
        return _Target([s for p in parts for s in p.selectors],
                       lambda *entry: any(p.matches(*entry) for p in parts),
                       f"fields:{expression} ({', '.join(p.what for p in parts)})",
                       [expression] + [g for p in parts for g in p.groups])
    if kind == "select":
        attribute, _, choice = expression.partition(":")
        if attribute.lower() == "vr" and choice[:2].upper() in VRS:
            vr = choice[:2].upper()
            return _Target([f"VR:{vr}"], lambda _t, _k, _n, v: v == vr, f"every {vr} element")
        if attribute.lower() == "group" and re.fullmatch(r"[0-9A-Fa-f]{1,4}", choice):
            group = int(choice, 16)
            return _Target([f"{group:04x},xxxx"], lambda t, *_: t >> 16 == group, f"group {group:04X}")
        return f"select:{expression}: deid selects by VR:XX or group:gggg"
    regex = expression.lower()
    if kind == "startswith":
        regex = f"^({regex})"
    elif kind == "endswith":
        regex = f"({regex})$"
    try:
        pattern = re.compile(regex, re.IGNORECASE)
    except re.error as exc:
        return f"{text}: not a regular expression deid can use: {exc}"

    def named(tag: int, keyword: str, name: str, _vr: str) -> bool:
        # deid searches an element's keyword, its name and its tag, (gggg,eeee) and ggggeeee
        tags = (f"({tag >> 16:04x},{tag & 0xFFFF:04x})", f"{tag:08X}")
        return any(pattern.search(s) for s in (keyword, name, *tags))

    if kind == "except":
        return _Target(["xxxx,xxxx"], lambda *entry: not named(*entry),
                       f"every element except those named like {expression!r} (private and unknown "
                       "elements included)")
    return _Target([], named, f"{text} (the dictionary's elements whose keyword, name or tag match; private "
                              "and unknown elements are left to the base profile)")


def _element(text: str) -> _Target | str:
    try:
        selector = parse_selector(text)
    except ValueError:
        selector = None
    if isinstance(selector, PrivateSelector):
        written = f'({selector.group:04x},"{selector.creator}",{selector.offset:02x})'
        return _Target([written], lambda *_: False, written)
    try:
        tag, name = parse_element(text)
    except ValueError:
        return f"{text!r} names no element of the dictionary (a misspelling?); deid does nothing with it either"
    return _Target([name], lambda t, *_: t == tag, name)


def _report_groups(groups: dict, used: dict[str, list[int]], header: list[tuple[int, str]],
                   result: ImportResult) -> None:
    mentions = {g: [n for n, line in header if f"values:{g}" in line] for g in groups["values"]}
    for section, named in groups.items():
        for group, members in named.items():
            for number, line, entry in members:
                users = used.get(group) if section == "fields" else mentions.get(group)
                if not users:
                    result.report(number, line, Status.NO_EFFECT, f"%{section} {group} is used by no %header line")
                elif section == "values":
                    result.report(number, line, Status.NOT_TRANSLATED,
                                  f"part of values:{group} (lines {', '.join(map(str, users))}), which selects "
                                  "elements by the values a file holds")
                elif "error" in entry:
                    result.report(number, line, Status.NOT_TRANSLATED, entry["error"])
                else:
                    result.report(number, line, Status.TRANSLATED,
                                  f"part of fields:{group}, used by line(s) {', '.join(map(str, users))}")


def _pixel_source(lines: dict[int, str], count: int, path: Path, options: ImportOptions,
                  result: ImportResult) -> None:
    """The %filter sections as a recipe of their own beside the profile (same line numbers as the
    source), checked by the pixel stage's reader, and named in ``pixels.sources``."""
    shipped = path.resolve().parent == deid_data_dir().resolve() and path.name.startswith("deid.")
    name = f"deid:{path.name[len('deid.'):]}" if shipped else f"{options.output.stem}.pixels.deid"
    text = "\n".join(lines.get(n, "") for n in range(1, count + 1)) + "\n"
    problem = ""
    if not shipped:  # deid's own list is read as the built-ins read it
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / name
            copy.write_text(text, encoding="utf-8")
            try:
                load_deid_recipe(copy, name)
            except RuleError as exc:
                problem = str(exc).replace(str(copy), path.name)
    section = ""
    for number in sorted(lines):
        line = lines[number].strip()
        if not line or line.startswith("#") or re.match(r"(?i)^format\b", line):
            continue
        if line.startswith("%"):
            section = line.split("#", 1)[0][1:].strip()
        if problem:
            result.report(number, line, Status.NOT_TRANSLATED, f"the pixel stage cannot read this %filter: {problem}")
        else:
            result.report(number, line, Status.TRANSLATED, f"-> pixels.sources {name} ({section})")
    if not problem:
        if not shipped:
            result.files[name] = text
        inherited = ["deid:dicom"] if options.base != "none" and name != "deid:dicom" else []
        result.pixel_sources = inherited + [name]
        result.notes.append(f"The %filter sections are region rules for burnt-in text, read by the pixel stage "
                            f"from {name}: deid's filter groups say where text is (whitelist: clean, graylist: "
                            "these boxes, blacklist: flagged), they do not accept or reject files.")


class _LookupTable:
    """A CSV table the user gave for var: values; only its header row is read."""

    def __init__(self, options: ImportOptions, result: ImportResult) -> None:
        assert options.lookup is not None
        self.path, self.key, self.result = options.lookup, options.lookup_key, result
        try:
            with open(self.path, encoding="utf-8", newline="") as handle:
                self.columns = next(csv.reader(handle), [])
        except (OSError, UnicodeDecodeError) as exc:
            raise ImportFailed(f"{self.path}: cannot read the lookup table: {exc}") from None
        self.file = os.path.relpath(self.path.resolve(), options.output.resolve().parent)

    def rule(self, column: str, note: str) -> tuple[RuleSpec, Status, str] | str:
        if self.key not in self.columns:
            return f"the lookup table {self.path.name} has no column {self.key} (the key; see --lookup-key)"
        if column not in self.columns:
            return f"the lookup table {self.path.name} has no column {column}"
        self.result.lookup = {"file": self.file, "key": self.key}
        return (RuleSpec("", "lookup", {"column": column}, note), Status.TRANSLATED,
                f"looked up in {self.path.name} by {self.key}; a file whose {self.key} the table lacks is withheld")
