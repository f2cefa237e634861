"""Plan: the profile resolved for one dataset.

A :class:`RuleBook` compiles a profile once per process into per-tag lookups, so
the per-file path costs one dict look-up per element.  A :class:`Plan` adds what
belongs to one dataset: its patient's keyed context and the detectors that know
the dataset's own identifying values (collected from the values as read, the
first time a value is cleaned: a file whose text nothing cleans never builds them).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from typing import Any, Protocol, overload

from pydicom.datadict import dictionary_VR, get_entry
from pydicom.dataset import Dataset

from .actions import ACTIONS, Action, PatientContext
from .actions.base import TEXT_VRS
from .detect import OwnValuesDetector, default_detectors
from .detect.base import Detector
from .keys import Keyring
from .pixels.gate import document_reason, withhold_reason
from .pixels.stage import PixelTools, needs_cleaning, tools_for
from .profile import (
    ClassSelector,
    ContentItemRule,
    FileFilter,
    PrivateSelector,
    Profile,
    Rule,
    TagSelector,
    VRSelector,
    WildcardSelector,
)
from .profile.selectors import parse_selector

PATIENT_ID = 0x00100020
_DIRECT_IDENTIFIERS = frozenset({"PatientName", "PatientID", "PatientBirthDate", "PatientAddress",
                                 "AccessionNumber", "OtherPatientIDsSequence", "PatientTelephoneNumbers"})
CONTENT_SEQUENCE = 0x0040A730


class StepKind(str, Enum):
    """What the header walk does with one element (str-valued: profiles and reports name kinds as text)."""

    KEEP = "keep"  # copy it as read, never decode it
    REMOVE = "remove"
    RECURSE = "recurse"  # apply the profile to each item of a sequence
    APPLY = "apply"  # run the step's action on the value


class Match(str, Enum):
    """How the rule for an element was found, in the order :meth:`RuleBook.match` looks."""

    TAG = "a rule for this tag (an exact tag wins over every other kind of rule)"
    PRIVATE_ELEMENT = "a rule for this private creator and element"
    WILDCARD = "a wildcard rule (of several that match, the last in the profile)"
    PRIVATE_CLASS = "the rule for every private element"
    UNKNOWN_CLASS = "the rule for public elements the dictionary does not know"
    VR = "the rule for every element of its VR (no rule names the element itself)"
    NONE = "no rule names it"


@dataclass(frozen=True)
class Step:
    """What the header stage does with one element: its kind and, to apply, the action."""

    kind: StepKind
    action: Action | None = None
    name: str = ""
    args: Any = None
    origin: str = ""


_KEEP = Step(StepKind.KEEP, name="keep")
# A sequence no rule names is kept, but its items still get the profile: kept raw,
# a nested AccessionNumber or name would pass unseen.
_RECURSE = Step(StepKind.RECURSE, name="keep")


def _apply(name: str, rule: Rule | None = None) -> Step:
    return Step(StepKind.APPLY, ACTIONS[name], name, dict(rule.args) if rule else {}, rule.origin if rule else "")


def _plain(kind: StepKind, origin: str) -> Step:
    """A keep or remove step, named as its kind, carrying its rule's place."""
    return Step(kind, name=kind.value, origin=origin)


def step_for_code(code: str, vr: str, rule: Rule | None = None, private: bool = False) -> Step:
    """Resolve a PS3.15 code or an action name for an element of ``vr``.

    Combined codes (Z/D, X/D, X/Z/D …) need the element's type in the IOD.  No
    maintained machine-readable source of the module tables runs offline, so each
    resolves to the choice that keeps any IOD valid: the stronger requirement
    (a dummy rather than nothing, an empty value rather than removal).
    """
    sq = vr == "SQ"
    origin = rule.origin if rule else ""
    if code in ACTIONS:
        if code in ("keep", "clean") and sq:
            return Step(StepKind.RECURSE, name=code, origin=origin)
        if code in ("keep", "remove"):
            return _plain(StepKind(code), origin)
        return _apply(code, rule)
    if code == "X" or (private and code == "C"):
        # A private element is "clean" only when a safe-private rule names it.
        return _plain(StepKind.REMOVE, origin)
    if code == "K":
        return Step(StepKind.RECURSE, name="keep", origin=origin) if sq else _plain(StepKind.KEEP, origin)
    if sq:
        # Only Z empties a sequence.  For every other code, keeping the items and
        # applying the profile inside them is valid wherever the sequence is Type 1,
        # 2 or 3 (an empty Type 3 sequence is not), and as private as removal: a
        # dummy sequence would be the same items with their identifying values replaced.
        return _apply("empty", rule) if code == "Z" else Step(StepKind.RECURSE, name=code, origin=origin)
    if code in ("Z", "X/Z"):
        return _apply("empty", rule)
    if vr == "UI" and code != "K":
        return _apply("uid", rule)
    if code == "C":
        if vr in ("DA", "DT"):
            return _apply("shift", rule)
        if vr == "AS":
            return _apply("age-cap", rule)
        if vr in TEXT_VRS:
            return _apply("clean", rule)
        # Only text, dates and ages can be cleaned; a time of day is not identifying, and
        # anything else (binary blobs, values of tags newer than the dictionary) goes.
        return _plain(StepKind.KEEP if vr == "TM" else StepKind.REMOVE, origin)
    if code == "X/Z/U*":
        return _apply("empty", rule)
    return _apply("dummy", rule)  # D, Z/D, X/D, X/Z/D


class Memo:
    """A table of results keyed by what they were computed from, cleared when it grows past ``size``.

    Files of one archive repeat few kinds of value (devices, image sizes,
    character sets); a bounded table keeps a long run's memory flat.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._found: dict[Hashable, Any] = {}

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value for ``key``, computed on first use."""
        try:
            return self._found[key]
        except KeyError:
            pass
        value = compute()
        if len(self._found) >= self._size:
            self._found.clear()
        self._found[key] = value
        return value


class RuleBook:
    """The compiled profile: rules for per-element look-up, pixel tools, stamp and memo tables.

    Built once per run and handed to every worker: everything a file's path
    needs of the profile, computed once, with tables of bounded size.
    """

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.exact: dict[int, Rule] = {}
        self.private: dict[tuple[int, str, int], Rule] = {}
        self.wildcards: list[tuple[WildcardSelector, Rule]] = []
        self.classes: dict[str, Rule] = {}
        self.vrs: dict[str, Rule] = {}
        for rule in profile.rules:
            if rule.when is not None and rule.when not in profile.options:
                continue
            sel = rule.selector
            if isinstance(sel, TagSelector):
                self.exact[sel.tag] = rule
            elif isinstance(sel, PrivateSelector):
                self.private[(sel.group, sel.creator, sel.offset)] = rule
            elif isinstance(sel, WildcardSelector):
                self.wildcards.insert(0, (sel, rule))  # later rules win, so look them up first
            elif isinstance(sel, ClassSelector):
                self.classes[sel.name] = rule
            elif isinstance(sel, VRSelector):
                self.vrs[sel.vr] = rule
        # Table E.3.4-1 names some concepts once per value type, with different actions.
        self.private_groups = frozenset(group for group, _, _ in self.private)
        self.content_items: dict[tuple[str, str], dict[str, ContentItemRule]] = {}
        if "clean-structured-content" in profile.options:
            for i in profile.content_items:
                self.content_items.setdefault((i.scheme.upper(), i.concept), {})[i.value_type.upper()] = i
        self._cache: dict[tuple[int, str, str | None], Step] = {}
        self.from_tags = {PATIENT_ID} | {
            parse_selector(str(r.args["from"])).tag  # type: ignore[union-attr]
            for r in profile.rules
            if "from" in r.args
        }
        if profile.lookup is not None:
            self.from_tags.add(profile.lookup.tag)
        self.filter_tags = frozenset().union(*(f.condition.tags for f in profile.filters))
        self.memo = Memo()
        self._value_free = Memo()

    @cached_property
    def pixel_tools(self) -> PixelTools:
        """The pixel stage's tools for this profile (rules compiled, OCR started on first use)."""
        return tools_for(self.profile)

    def stamp(self, pixels_cleaned: bool) -> list[tuple[int, Any]]:
        """The stamp's pieces for this profile (:mod:`deidentify.stamp`), encoded once."""
        from .stamp import stamp_pieces  # the stamp encodes with the writer, which reads the header's pieces

        return self.memo.get(("stamp", pixels_cleaned),
                             lambda: stamp_pieces(self.profile, pixels_cleaned, not self.identity_gaps))

    @cached_property
    def identity_gaps(self) -> tuple[str, ...]:
        """The PS3.15 Table E.1-1 attributes this profile keeps as they are where the table, with the
        profile's options, does not: with any, outputs are stamped PatientIdentityRemoved NO."""
        from .profile.load import basic_table

        table = RuleBook(basic_table(tuple(sorted(self.profile.options))))
        gaps = []
        for rule in table.profile.rules:
            tag = _example_tag(rule.selector)
            if tag is None:
                continue
            vr = element_vr(tag, None) or "UN"
            if self.step(tag, vr).kind is StepKind.KEEP and table.step(tag, vr).kind is not StepKind.KEEP:
                gaps.append(rule.name)
        # The report lists the first few: the direct identifiers first.
        return tuple(sorted(gaps, key=lambda name: (name not in _DIRECT_IDENTIFIERS, name)))

    def value_free(self, tag: int, vr: str, step: Step, compute: Callable[[], Any]) -> Any:
        """What a value-free step (remove, empty, dummy) writes for ``tag`` in ``vr``: the same in every file."""
        return self._value_free.get((tag, vr, step.action), compute)

    def code(self, rule: Rule) -> str:
        """The rule's action once the selected options override it (K wins over C)."""
        chosen = [rule.options[o] for o in sorted(self.profile.options) if o in rule.options]
        if "K" in chosen:
            return "K"
        return chosen[0] if chosen else rule.action

    def match(self, tag: int, vr: str, creator: str | None = None) -> tuple[Rule | None, Match]:
        """The rule that decides an element and how it was found (the precedence :meth:`step` follows)."""
        group, private = tag >> 16, bool((tag >> 16) & 1)
        rule = self.exact.get(tag)
        if rule is not None:
            return rule, Match.TAG
        if private and creator is not None:
            rule = self.private.get((group, creator, tag & 0xFF))
            if rule is not None:
                return rule, Match.PRIVATE_ELEMENT
        rule = next((r for sel, r in self.wildcards if sel.matches(tag)), None)
        if rule is not None:
            return rule, Match.WILDCARD
        if private and "private" in self.classes:
            return self.classes["private"], Match.PRIVATE_CLASS
        if not private and not _in_dictionary(tag) and "unknown" in self.classes:
            return self.classes["unknown"], Match.UNKNOWN_CLASS
        if vr in self.vrs:
            return self.vrs[vr], Match.VR
        return None, Match.NONE

    def step(self, tag: int, vr: str, creator: str | None = None) -> Step:
        """The step for an element; ``vr`` is "" for a public tag the dictionary does not know."""
        key = (tag, vr, creator)
        found = self._cache.get(key)
        if found is None:
            rule, _ = self.match(tag, vr, creator)
            if rule is None:
                found = _RECURSE if vr == "SQ" else _KEEP
            else:
                found = step_for_code(self.code(rule), vr or "UN", rule, bool((tag >> 16) & 1))
            if len(self._cache) >= 65536:  # private creators are as many as an archive's devices
                self._cache.clear()
            self._cache[key] = found
        return found

    def content_item_step(self, scheme: str, concept: str, value_type: str, vr: str) -> Step | None:
        """Under clean-structured-content, the Table E.3.4-1 step for an SR content item's value."""
        rows = self.content_items.get((scheme.upper(), concept))
        if not rows:
            return None
        item = rows.get(value_type.upper())
        if item is None:
            if len(rows) > 1:
                return None  # the table names this concept only for other value types
            item = next(iter(rows.values()))
        chosen = [item.options[o] for o in sorted(self.profile.options) if o in item.options]
        code = "K" if "K" in chosen else (chosen[0] if chosen else item.action)
        return step_for_code(code, vr)


def dictionary_elements() -> Iterator[tuple[int, str, str, str]]:
    """(tag, VR, keyword, name) of every public element of pydicom's dictionary an instance can hold
    (no file meta, directory, command, item or group-length elements), in tag order."""
    from pydicom.datadict import DicomDictionary

    for tag, (vr, _vm, name, _retired, keyword) in sorted(DicomDictionary.items()):
        if keyword and vr and tag >> 16 not in (0x0000, 0x0002, 0x0004, 0xFFFE) and tag & 0xFFFF:
            yield tag, vr[:2], keyword, name


def _example_tag(selector: Any) -> int | None:
    """A tag ``selector`` names (the first of a wildcard's), or None for a class of elements."""
    if isinstance(selector, TagSelector):
        return selector.tag
    if isinstance(selector, WildcardSelector):
        return selector.value
    return None


def _in_dictionary(tag: int) -> bool:
    try:
        get_entry(tag)  # knows repeating groups (50xx, 60xx) too
    except KeyError:
        return False
    return True


def element_vr(tag: int, raw_vr: str | None) -> str:
    """The VR to select rules by: the file's, or the dictionary's for implicit VR and UN;
    "" for a public tag the dictionary does not know (private tags fall back to UN)."""
    if raw_vr and raw_vr != "UN":
        return raw_vr
    try:
        return dictionary_VR(tag)[:2]
    except KeyError:
        return "UN" if (tag >> 16) & 1 else ""


class Detectors(Sequence[Detector]):
    """A dataset's detectors, built on first use.

    Every profile may clean text (a local code's meaning, whatever the profile's
    rules), but most files have none to clean: those never read their dataset for
    its own values.
    """

    def __init__(self, build: Callable[[], list[Detector]]) -> None:
        self._build: Callable[[], list[Detector]] | None = build
        self._found: list[Detector] = []

    @property
    def built(self) -> bool:
        return self._build is None

    def _all(self) -> list[Detector]:
        if self._build is not None:
            self._found, self._build = self._build(), None
        return self._found

    @overload
    def __getitem__(self, index: int) -> Detector: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Detector]: ...
    def __getitem__(self, index: int | slice) -> Detector | Sequence[Detector]:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[Detector]:
        return iter(self._all())


ItemPath = tuple[tuple[int, int], ...]
"""Where an element is: (sequence tag, item index) for each sequence above it."""


class Context(str, Enum):
    """Why the header walk chose an element's step, beyond the profile's rules (for ``explain``)."""

    RULES = "rules"
    CONTENT_ITEM = "an SR content item's row of Table E.3.4-1 (clean-structured-content)"
    DUMMIED = "text inside a sequence the profile dummies (D): replaced, whatever rule names it"
    CODE_ITEM = "a code item's text that is not the standard's (a local scheme's, or a public code's meaning " \
                "other than PS3.16's): cleaned where the rules keep it"
    CREATOR = "a private creator: kept exactly when its block keeps an element"
    STRUCTURE = "a group length or file meta element: never part of an output dataset"


class Tracer(Protocol):
    """Told of every decision the header walk makes (``deidentify explain`` listens)."""

    def __call__(self, path: ItemPath, tag: int, vr: str, creator: str | None, step: Step | None,
                 context: Context) -> None: ...


@dataclass(frozen=True)
class Plan:
    """The profile resolved for one dataset."""

    rules: RuleBook
    keyring: Keyring
    patient: PatientContext
    detectors: Sequence[Detector]
    trace: Tracer | None = None
    """Told of each element's step as the walk takes it; None in runs."""


def patient_key(ds: Dataset) -> str:
    """What identifies the patient for keyed derivations: PatientID, else PatientName, else nothing."""
    for keyword in ("PatientID", "PatientName"):
        value = str(ds.get(keyword) or "").strip()
        if value:
            return value
    return ""


def make_plan(ds: Dataset, rules: RuleBook, keyring: Keyring) -> Plan:
    """Resolve the profile for ``ds``: read what keyed actions derive from before anything changes."""
    return plan_for(patient_key(ds), originals_of(ds, rules.from_tags), rules, keyring, lambda: ds)


def plan_for(key: str, originals: dict[int, str], rules: RuleBook, keyring: Keyring,
             dataset: Callable[[], Dataset], trace: Tracer | None = None) -> Plan:
    """A plan from the values keyed actions derive from (the patient key and ``from:`` originals).

    ``dataset`` gives the file's dataset, read only when a value is cleaned: the detectors
    then know the file's own identifying values.
    """
    detectors = Detectors(lambda: [OwnValuesDetector.from_dataset(dataset()), *default_detectors()])
    low, high = rules.profile.settings.date_shift_days
    patient = PatientContext(key=key, day_offset=keyring.day_offset(key, low, high), originals=originals)
    return Plan(rules, keyring, patient, detectors, trace)


def originals_of(ds: Dataset, tags: Iterable[int]) -> dict[int, str]:
    """The values of ``tags`` that ``from:`` rules derive from, as read."""
    return {tag: str(ds[tag].value) for tag in tags if tag in ds}


@dataclass(frozen=True)
class Verdict:
    """What the gate decides of a file before its header is touched."""

    reason: str | None
    """Why it is withheld whatever the header stage does (a document; with pixel cleaning off, an
    image that may carry burnt-in text), or None."""
    needs_cleaning: bool
    """Whether its pixels go through the pixel stage (rules apply, OCR reads it, or it may carry text)."""
    modality: str
    sop_class: str
    filtered: str | None = None
    """Why a filter of the profile rejects the file (the filter's name), or None."""


def verdict_of(gate: Dataset, rules: RuleBook) -> Verdict:
    """The verdict for a dataset holding (at least) the elements the gate and the pixel tools read."""
    cleans = rules.profile.settings.clean_pixel_data
    # With pixel cleaning off, every image that may carry burnt-in text is withheld.
    reason = document_reason(gate) if cleans else withhold_reason(gate)
    needs = reason is None and cleans and needs_cleaning(gate, rules.pixel_tools)
    return Verdict(reason, needs, plain_value(gate, "Modality"), plain_value(gate, "SOPClassUID"),
                   filtered_by(gate, rules.profile.filters))


def filtered_by(ds: Dataset, filters: Sequence[FileFilter]) -> str | None:
    """Why ``filters`` reject ``ds`` (naming the filter), or None when they let it through.

    A ``reject`` filter that matches rejects; with ``accept`` filters, a file none
    matches is rejected.  A value that cannot be read matches no filter.
    """

    def matches(entry: FileFilter) -> bool:
        try:
            return bool(entry.condition(ds))
        except Exception:  # an undecodable value: as if absent
            return False

    for entry in filters:
        if not entry.accept and matches(entry):
            return f"rejected by filter {entry.name!r}"
    accepts = [entry for entry in filters if entry.accept]
    if accepts and not any(matches(entry) for entry in accepts):
        names = dict.fromkeys(entry.name for entry in accepts)
        return f"accepted by no filter ({', '.join(repr(name) for name in names)})"
    return None


def plain_value(ds: Dataset, keyword: str) -> str:
    """``keyword``'s value as stripped text; "" when absent or undecodable (it never raises)."""
    try:
        return str(ds.get(keyword, "") or "").strip()
    except Exception:
        return ""
