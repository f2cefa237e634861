"""CTP DicomAnonymizer scripts (``<script>`` of ``<p>``, ``<e>``, ``<k>``, ``<r>``) as profiles.

=====================================  =============================================================
``@keep()`` ``@remove()`` ``@empty()``  ``keep``, ``remove``, ``empty``; an empty script empties too (as CTP)
``@blank(n)``                          ``empty`` (differs: CTP writes n spaces)
literal text, ``@param(@P)``           ``replace`` with the text, or the parameter's value
``@contents(this[,re[,repl]])``        ``keep``, or ``regex`` (Java's ``$1`` read as ``\\1``)
``@hashuid(@UIDROOT,this)``            ``uid`` (differs: keyed ``2.25.`` UIDs, no root)
``@hashdate`` ``@incrementdate``       ``shift`` (differs: the keyed per-patient offset)
``@hash`` ``@hashname`` ``@hashptid``  ``pseudonym`` (differs: a keyed code, not an MD5 digit string)
``@lookup(E,type[,...])``              ``lookup`` with ``--lookup`` (the properties file, converted to a CSV)
``@process()``                         no rule: rules here apply in every sequence item at any depth
``@quarantine()`` ``@skip()``          a ``filter:`` that rejects files with the element
``@if(E,op,"v"){@quarantine()}{...}``  a ``filter:`` rejecting on the condition, and the other branch
``@if(this,exists){X}{...}``           X (the script only runs on elements that exist)
PatientIdentityRemoved,                already done by the stamp
DeIdentificationMethod(CodeSeq)
``<k t="gggg">``                       ``gggg,xxxx`` kept, where no ``<e>`` rule names the element
``<k t="safeprivateelements">``        the retain-safe-private option (PS3.15 E.3.10-1's list)
``<r t="privategroups">``              ``private`` removed; ``curves`` / ``overlays``: ``50xx`` / ``60xx``
``<r t="unspecifiedelements">``        ``xxxx,xxxx`` removed; CTP's own keeps go to the base profile
``en="F"``                             disabled: listed, nothing to translate
=====================================  =============================================================

Everything else (``@require``, ``@always`` outside the stamp, ``@if`` on values,
``@select``, ``@call``, ``@truncate``, ``@round``, ``@encrypt``, dates made up
by ``@date``/``@modifydate``/``@dateinterval``, ...) is listed as not translated.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

from pydicom.datadict import keyword_for_tag

from ...pixels.rules.conditions import parse_condition, parse_element
from ..selectors import normalise_creator
from .model import BASE, STAMP_SAYS, ImportFailed, ImportOptions, ImportResult, RuleSpec, Status, read_text
from .precedence import settle

_STAMPED = {0x00120062: "PatientIdentityRemoved", 0x00120063: "DeidentificationMethod",
            0x00120064: "DeidentificationMethodCodeSequence"}
#: What CTP never removes as unspecified: SOP Class, SOP Instance and Study Instance UIDs, groups 0002, 0028, 7FE0.
_CTP_KEEPS = frozenset({0x00080016, 0x00080018, 0x0020000D})
_CTP_KEPT_GROUPS = frozenset({0x0002, 0x0028, 0x7FE0})
# Ranks: global removal < private groups < kept groups < element scripts < overlays and curves.
_UNSPECIFIED, _PRIVATE, _GROUP, _ELEMENT, _OVERLAY = range(5)
_REJECTS = ("quarantine", "skip")


@dataclass
class _Node:
    name: str
    attrs: dict[str, str]
    line: int
    text: list[str] = field(default_factory=list)


@dataclass
class _Call:
    name: str
    args: list[str]
    blocks: list[str]


@dataclass
class _Translation:
    """What one script means: a rule (action, args), a filter, or nothing to write."""

    action: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    status: Status = Status.TRANSLATED
    detail: str = ""
    reject: dict[str, Any] | None = None
    lookup: tuple[str, str, str] | None = None  # (key element, keyType, what happens when the key is missing)


def _nodes(text: str, path: Path) -> list[_Node]:
    """The children of ``<script>``, with their lines."""
    parser = expat.ParserCreate()
    stack: list[_Node] = []
    found: list[_Node] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        stack.append(_Node(name, attrs, parser.CurrentLineNumber))

    def end(_name: str) -> None:
        node = stack.pop()
        if len(stack) == 1:
            found.append(node)
        elif not stack and node.name != "script":
            raise ImportFailed(f"{path}: not a CTP DicomAnonymizer script (its root is <{node.name}>, not <script>)")

    def data(chars: str) -> None:
        if stack:
            stack[-1].text.append(chars)

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, data
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        raise ImportFailed(f"{path}: not a CTP script (not well-formed XML: {exc})") from None
    return found


def read(path: Path, options: ImportOptions) -> ImportResult:
    """Import the CTP DicomAnonymizer script at ``path``; ``ImportFailed`` when it is not one."""
    text = read_text(path)
    result = ImportResult("ctp", str(path), options.base)
    source_lines = text.splitlines()
    nodes = _nodes(text, path)
    params = {n.attrs.get("t", ""): "".join(n.text).strip() for n in nodes if n.name == "p"}
    used_params: dict[str, list[int]] = {}
    elements: dict[int, RuleSpec | str] = {}  # dictionary tag -> its rule, or BASE (a script with no rule)
    kept_groups: dict[int, RuleSpec] = {}
    removals: dict[str, RuleSpec] = {}
    lookups: list[tuple[int, str, str, _Translation]] = []

    def shown(node: _Node) -> str:
        return source_lines[node.line - 1].strip() if 0 < node.line <= len(source_lines) else f"<{node.name}>"

    for node in nodes:
        line, where = node.line, shown(node)
        script = "".join(node.text).strip()
        enabled = node.attrs.get("en", "T").upper() != "F"
        note = f"line {line}: {where}"
        if node.name == "p":
            continue  # reported at the end, once it is known what uses them
        if not enabled:
            result.report(line, where, Status.DISABLED, 'disabled in the script (en="F")')
            continue
        if node.name == "e":
            element = _element(node.attrs.get("t", ""))
            if isinstance(element, str):
                result.report(line, where, Status.NOT_TRANSLATED, element)
                continue
            selector, tag = element
            done = _translate(script, tag, selector, params, used_params, line)
            if isinstance(done, str):
                result.report(line, where, Status.NOT_TRANSLATED, done)
                if tag is not None:
                    elements[tag] = BASE
                continue
            if done.reject is not None:
                result.filters.append({"name": f"line {line}: {selector}", "reject": done.reject})
            if done.lookup is not None:
                lookups.append((line, where, selector, done))
                if tag is not None:
                    elements[tag] = BASE  # until the lookup is settled
                continue
            if done.action is None:
                if tag is not None:
                    elements[tag] = BASE
                result.report(line, where, done.status, done.detail)
                continue
            spec = RuleSpec(selector, done.action, done.args, note, _ELEMENT, line)
            result.rules.append(spec)
            if tag is not None:
                elements[tag] = spec
            result.report(line, where, done.status, "; ".join(d for d in (f"-> {done.action}", done.detail) if d))
        elif node.name == "k":
            target = node.attrs.get("t", "").strip()
            if target.lower() == "safeprivateelements":
                result.options.append("retain-safe-private")
                result.report(line, where, Status.APPROXIMATED,
                              "-> option retain-safe-private: PS3.15 Table E.3.10-1's safe private attributes, "
                              "where CTP keeps those its PrivateTagIndex marks K")
            elif re.fullmatch(r"[0-9A-Fa-f]{4}", target):
                group = int(target, 16)
                spec = RuleSpec(f"{group:04x},xxxx", "keep", note=note, rank=_GROUP, line=line)
                result.rules.append(spec)
                kept_groups[group] = spec
                result.report(line, where, Status.TRANSLATED,
                              f"-> keep {group:04x},xxxx where no <e> rule names the element")
            else:
                result.report(line, where, Status.NOT_TRANSLATED, f"<k t={target!r}>: CTP keeps groups (gggg) "
                                                                  "and safeprivateelements")
        elif node.name == "r":
            target = node.attrs.get("t", "").strip().lower()
            written = {"privategroups": ("private", _PRIVATE), "curves": ("50xx,xxxx", _OVERLAY),
                       "overlays": ("60xx,xxxx", _OVERLAY), "unspecifiedelements": ("xxxx,xxxx", _UNSPECIFIED)}
            if target not in written:
                result.report(line, where, Status.NOT_TRANSLATED, f"<r t={target!r}>: not a removal CTP knows")
                continue
            selector, rank = written[target]
            spec = RuleSpec(selector, "remove", note=note, rank=rank, line=line)
            result.rules.append(spec)
            removals[target] = spec
            extra = (": every element no <e> rule names, except kept groups and what CTP never removes "
                     "(SOP Class, SOP Instance and Study Instance UIDs, groups 0002, 0028, 7FE0), which the "
                     "base profile decides") if target == "unspecifiedelements" else ""
            result.report(line, where, Status.TRANSLATED, f"-> remove {selector}{extra}")
        else:
            result.report(line, where, Status.NOT_TRANSLATED, f"<{node.name}> is not part of a DicomAnonymizer script")
    _settle_lookups(lookups, elements, options, result)
    _report_params(nodes, params, used_params, shown, result)

    def intent(tag: int, keyword: str, _name: str, _vr: str) -> RuleSpec | str:
        group = tag >> 16
        if "overlays" in removals and group & 0xFF00 == 0x6000:
            return removals["overlays"]
        if "curves" in removals and group & 0xFF00 == 0x5000:
            return removals["curves"]
        if tag in elements:
            return elements[tag]
        if group in kept_groups:
            return kept_groups[group]
        if "unspecifiedelements" in removals and tag not in _CTP_KEEPS and group not in _CTP_KEPT_GROUPS:
            return removals["unspecifiedelements"]
        return BASE

    settle(result, intent)
    result.lines.sort(key=lambda r: r.line)
    return result


def _element(written: str) -> tuple[str, int | None] | str:
    """A ``t`` attribute as a selector (and its tag when it is public), or why it is none."""
    text = written.strip()
    private = re.fullmatch(r"\(?([0-9A-Fa-f]{4})\s*,?\s*\[([^\]]+)\]\s*([0-9A-Fa-f]{2})\)?", text)
    if private:
        group = int(private.group(1), 16)
        if group % 2 == 0:
            return f"{text}: a private block in an even group"
        return f'({group:04x},"{normalise_creator(private.group(2))}",{private.group(3).lower()})', None
    try:
        tag, _ = parse_element(text)
    except ValueError:
        return f"{text!r} is neither a tag (ggggeeee), a private element (gggg[Block]ee) nor a keyword"
    written = keyword_for_tag(tag) or f"({tag >> 16:04x},{tag & 0xFFFF:04x})"
    return written, (None if (tag >> 16) % 2 else tag)  # a private tag: matched by its number, as CTP does


def parse_script(script: str) -> list[_Call | str]:
    """A script as function calls and literal text, in order (``\\`` escapes one character)."""
    items: list[_Call | str] = []
    text, i = "", 0
    while i < len(script):
        char = script[i]
        if char == "\\" and i + 1 < len(script):
            text, i = text + script[i + 1], i + 2
            continue
        call = re.match(r"@(\w+)\(", script[i:])
        if char == "@" and call:
            if text:
                items.append(text)
                text = ""
            j = _closing(script, i + len(call.group(0)), "(", ")")
            args = _split(script[i + len(call.group(0)):j])
            blocks: list[str] = []
            j += 1
            while j < len(script) and script[j] == "{":
                end = _closing(script, j + 1, "{", "}")
                blocks.append(script[j + 1:end])
                j = end + 1
            items.append(_Call(call.group(1).lower(), args, blocks))
            i = j
            continue
        text, i = text + char, i + 1
    if text:
        items.append(text)
    return items


def _closing(text: str, start: int, opening: str, closing: str) -> int:
    depth, quoted = 1, False
    for j in range(start, len(text)):
        char = text[j]
        if char == '"':
            quoted = not quoted
        elif not quoted and char == opening:
            depth += 1
        elif not quoted and char == closing:
            depth -= 1
            if depth == 0:
                return j
    raise ValueError(f"a {opening!r} without its {closing!r}")


def _split(args: str) -> list[str]:
    parts, current, depth, quoted = [], "", 0, False
    for char in args:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0) if not quoted else 0
        current += char
    if current.strip() or parts:
        parts.append(current)
    return [p.strip().removeprefix('"').removesuffix('"') if p.strip().startswith('"') else p.strip() for p in parts]


def _translate(script: str, tag: int | None, selector: str, params: dict[str, str],
               used: dict[str, list[int]], line: int) -> _Translation | str:
    """What one element's script means, or why it cannot be translated."""
    if tag in _STAMPED:
        if script.strip() == "@remove()":
            return f"the stamp always writes {_STAMPED[tag]}; it cannot be removed"
        exact = tag == 0x00120062 and script.replace("@always()", "").strip().upper() == "YES"
        return _Translation(None, status=Status.TRANSLATED if exact else Status.APPROXIMATED,
                            detail="already done by the stamp" + (STAMP_SAYS if exact else
                                                                  " (with its own text and method codes)"))
    try:
        items = parse_script(script)
    except ValueError as exc:
        return f"cannot read the script: {exc}"
    always = bool(items) and isinstance(items[0], _Call) and items[0].name == "always"
    if always:
        items = items[1:]
    if always and not (len(items) == 1 and isinstance(items[0], _Call) and items[0].name == "process"):
        return "@always() creates the element where the file has none; no action here adds a missing element"
    if not items:
        return _Translation("empty", detail="an empty script empties the element, as in CTP")
    if all(isinstance(item, str) for item in items):
        literal = "".join(str(item) for item in items)
        if "@" in literal:
            return f"cannot read the script {script!r}"
        return _Translation("replace", {"value": literal})
    if len(items) != 1 or not isinstance(items[0], _Call):
        return "combines text and functions; no single action does the same"
    return _call(items[0], selector, params, used, line)


def _is_this(arg: str) -> bool:
    return arg.strip().lower() == "this"


def _keyword(arg: str, selector: str) -> str | None:
    if _is_this(arg):
        return selector
    try:
        tag, name = parse_element(arg)
    except ValueError:
        return None
    return name if keyword_for_tag(tag) else None


def _call(call: _Call, selector: str, params: dict[str, str], used: dict[str, list[int]],
          line: int) -> _Translation | str:
    name, args = call.name, call.args
    first = args[0] if args else ""
    simple = {"keep": "keep", "remove": "remove", "empty": "empty"}
    if name in simple:
        return _Translation(simple[name])
    if name == "blank":
        return _Translation("empty", status=Status.APPROXIMATED,
                            detail="empty, where CTP writes blanks (DICOM pads with the same blanks)")
    if name == "process":
        return _Translation(None, detail="no rule needed: rules here apply inside every sequence item, at any depth")
    if name in _REJECTS:
        return _Translation(None, reject=parse_checked({selector: {"present": True}}),
                            detail=f"-> filter: files with {selector} are rejected (reported as filtered), "
                                   f"as CTP's @{name}() keeps them from export")
    if name == "param":
        key = first.lstrip("@")
        if key not in params:
            return f"@param({first}): the script defines no parameter {key}"
        used.setdefault(key, []).append(line)
        return _Translation("replace", {"value": params[key]}, detail=f"the value of parameter {key}")
    if name in ("contents", "value") and args and _is_this(first):
        if len(args) == 1 or name == "value":
            return _Translation("keep")
        pattern = args[1]
        repl = re.sub(r"\$(\d)", r"\\\1", args[2]) if len(args) > 2 else ""
        try:
            re.compile(pattern)
        except re.error as exc:
            return f"the regular expression {pattern!r} cannot be read here: {exc}"
        return _Translation("regex", {"pattern": pattern, "repl": repl},
                            detail="Java's regular expression read by Python's re")
    if name == "hashuid" and len(args) >= 2 and _is_this(args[1]):
        return _Translation("uid", status=Status.APPROXIMATED,
                            detail="keyed UIDs (2.25.<integer> from the key) in place of hashes under the UID root; "
                                   "one UID gets one new UID in every file, as with CTP")
    if name in ("hashdate", "incrementdate") and args and _is_this(first):
        return _Translation("shift", status=Status.APPROXIMATED,
                            detail="the keyed per-patient date shift (settings.date_shift_days), where CTP "
                                   + ("adds a hash of the second element's value" if name == "hashdate"
                                      else "adds one fixed increment to every date"))
    if name in ("hash", "hashname", "hashptid"):
        source = args[1] if name == "hashptid" and len(args) > 1 else first
        keyword = _keyword(source, selector)
        if keyword is None:
            return f"@{name}: cannot tell which element it hashes ({source!r})"
        extra = {} if keyword == selector else {"from": keyword}
        return _Translation("pseudonym", extra, status=Status.APPROXIMATED,
                            detail="a keyed code (P and 10 letters and digits) where CTP writes a hash")
    if name == "lookup" and len(args) >= 2:
        if "|" in first or any(a.strip().upper() == "UC" for a in args[2:]):
            return "@lookup with a composite (A|B) or upper-cased key: the lookup here keys on one element's value"
        keyword = _keyword(first, selector)
        if keyword is None:
            return f"@lookup: {first!r} is not an element of the dictionary"
        missing = ",".join(args[2:])
        return _Translation("lookup", {"column": args[1]}, lookup=(keyword, args[1], missing))
    if name == "if" and len(args) >= 2:
        return _if(call, selector, params, used, line)
    if name == "require":
        return "@require() creates the element where the file has none; no action here adds a missing element"
    return f"@{name}() has no counterpart among the actions"


def _if(call: _Call, selector: str, params: dict[str, str], used: dict[str, list[int]],
        line: int) -> _Translation | str:
    element, op = call.args[0], call.args[1].lower()
    value = call.args[2] if len(call.args) > 2 else ""
    if value.startswith("@"):
        value = params.get(value.lstrip("@"), value)
    branches = (call.blocks + ["", ""])[:2]
    if _is_this(element) and op == "exists":
        inner = _translate(branches[0], None, selector, params, used, line)
        return inner if isinstance(inner, str) else _noted(inner, "(the script runs only where the element exists)")
    keyword = _keyword(element, selector)
    condition = _condition(keyword, op, value) if keyword else None
    rejects = [_rejects(b) for b in branches]
    if condition is None or not any(rejects):
        return ("@if on an element's value chooses between actions per file; rules here do not depend on values"
                if condition is not None or keyword else f"@if: {element!r} is not an element of the dictionary")
    reject_on = condition if rejects[0] else {"not": condition}
    other = _translate(branches[1] if rejects[0] else branches[0], None, selector, params, used, line)
    if isinstance(other, str):
        return f"the @if rejects files, but its other branch cannot be translated: {other}"
    other.reject = parse_checked(reject_on)
    return _noted(other, "-> filter: files where the condition holds are rejected (reported as filtered)")


def _noted(translation: _Translation, detail: str) -> _Translation:
    translation.detail = "; ".join(d for d in (translation.detail, detail) if d)
    return translation


def _rejects(block: str) -> bool:
    try:
        items = parse_script(block.strip())
    except ValueError:
        return False
    return len(items) == 1 and isinstance(items[0], _Call) and items[0].name in _REJECTS


def _condition(keyword: str, op: str, value: str) -> dict[str, Any] | None:
    """CTP's @if test as the profile's condition (CTP compares without case, as conditions do by default)."""
    if op == "exists":
        return {keyword: {"present": True}}
    if op == "isblank":
        return {"or": [{keyword: {"missing": True}}, {keyword: {"empty": True}}]}
    if op in ("contains", "equals"):
        return {keyword: {op: value}}
    if op == "matches":
        return {keyword: {"matches": value, "case": True}}
    if op == "greaterthan" and re.fullmatch(r"\d+", value):
        return {keyword: {"greater_than": value}}
    return None


def parse_checked(condition: dict[str, Any]) -> dict[str, Any]:
    """``condition`` as written, once the condition language has read it (so a filter never fails to load)."""
    parse_condition(condition)
    return condition


def _settle_lookups(lookups: list[tuple[int, str, str, _Translation]], elements: dict[int, RuleSpec | str],
                    options: ImportOptions, result: ImportResult) -> None:
    """@lookup lines: one table keyed by one element, converted from CTP's properties file."""
    if not lookups:
        return
    if options.lookup is None:
        for line, where, _selector, _done in lookups:
            result.report(line, where, Status.NOT_TRANSLATED,
                          "@lookup reads CTP's lookup table: give its properties file (the DicomAnonymizer "
                          "stage's lookupTable) with --lookup FILE to convert it")
        return
    table = read_properties(options.lookup)
    key = lookups[0][3].lookup[0]  # type: ignore[index]
    types: list[str] = []
    for line, where, selector, done in lookups:
        assert done.lookup is not None
        element, key_type, missing = done.lookup
        if element != key:
            result.report(line, where, Status.NOT_TRANSLATED,
                          f"@lookup keyed on {element}; the table here has one key element, {key} (from line "
                          f"{lookups[0][0]})")
            continue
        if key_type not in table:
            result.report(line, where, Status.NOT_TRANSLATED,
                          f"the lookup table {options.lookup.name} has no {key_type}/... entries")
            continue
        if key_type not in types:
            types.append(key_type)
        spec = RuleSpec(selector, "lookup", {"column": key_type}, f"line {line}: {where}", _ELEMENT, line)
        result.rules.append(spec)
        tag = _tag_of(selector)
        if tag is not None:
            elements[tag] = spec
        differs = (f"; a key missing from the table withholds the file, where CTP would {missing}"
                   if missing else "")
        result.report(line, where, Status.APPROXIMATED if missing else Status.TRANSLATED,
                      f"-> lookup column {key_type} by {key}{differs}")
    if not types:
        return
    keys = sorted({k for t in types for k in table[t]})
    name = f"{options.output.stem}.lookup.csv"
    result.lookup = {"file": name, "key": key}
    result.lookup_rows = ([key, *types], [[k, *(table[t].get(k, "") for t in types)] for k in keys])
    result.notes.append(f"Lookup table: {len(keys)} keys of {len(types)} type(s) ({', '.join(types)}) converted from "
                        f"{os.path.basename(options.lookup)} into {name} beside this profile (readable by its owner "
                        "only: it holds original identifiers; a file whose key it lacks is withheld).")


def _tag_of(selector: str) -> int | None:
    try:
        tag, _ = parse_element(selector)
    except ValueError:
        return None
    return tag


def read_properties(path: Path) -> dict[str, dict[str, str]]:
    """CTP's lookup table (a Java properties file of ``keyType/key = value``) by key type; values never printed."""
    lines = read_text(path, " the lookup table").splitlines()
    table: dict[str, dict[str, str]] = {}
    pending = ""
    for raw in lines:
        line = pending + raw.lstrip()
        if not pending and (not line.strip() or line.startswith(("#", "!"))):
            continue
        if len(line) - len(line.rstrip("\\")) % 2 == 1 and line.endswith("\\"):
            pending = line[:-1]
            continue
        pending = ""
        split = re.search(r"(?<!\\)[=:]|(?<!\\)\s", line)
        key, value = (line[:split.start()], line[split.end():]) if split else (line, "")
        key, value = _unescape(key.strip()), _unescape(value.strip().lstrip("=:").strip())
        key_type, _, key_value = key.partition("/")
        if key_value:
            table.setdefault(key_type.strip(), {})[key_value.strip()] = value
    return table


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n"}.get(m.group(1), m.group(1)), text)


def _report_params(nodes: list[_Node], params: dict[str, str], used: dict[str, list[int]], shown: Any,
                   result: ImportResult) -> None:
    for node in nodes:
        if node.name != "p":
            continue
        name = node.attrs.get("t", "")
        if name in used:
            result.report(node.line, shown(node), Status.TRANSLATED,
                          f"its value is written by line(s) {', '.join(map(str, used[name]))}")
        elif name == "UIDROOT":
            result.report(node.line, shown(node), Status.NO_EFFECT, "not needed: keyed UIDs here are 2.25.<integer>")
        elif name == "DATEINC":
            result.report(node.line, shown(node), Status.NO_EFFECT,
                          "not needed: dates move by the keyed per-patient offset (settings.date_shift_days)")
        else:
            result.report(node.line, shown(node), Status.NO_EFFECT, "used by no translated rule")
