"""Explain: for one file, what each element becomes and which rule decided it, and why that rule.

The answer comes from the run's own path (:func:`~deidentify.pipeline.deidentify_bytes`)
with a tracer on the header walk, never from a second reading of the profile: what
``explain`` says is what ``run`` does.  Values are described by VR and length
only, unless asked for (``show_values``), because an explanation gets pasted into
tickets and chats.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from typing import Any

import pydicom
from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset

from .keys import Keyring
from .limits import Limits
from .outcome import Status
from .pipeline import deidentify_bytes
from .plan import Context, ItemPath, Match, RuleBook, Step, StepKind, dictionary_elements
from .profile import PrivateSelector, Profile, Rule
from .source import SourceError, parse_source

_STAMP_TAGS = (0x00120062, 0x00120063, 0x00120064, 0x00280303)


@dataclass(frozen=True)
class Decision:
    """What happens to one element of the input."""

    path: str
    """Where it is: sequence keywords with item numbers (from 1), then its own keyword or tag."""
    tag: str
    vr: str
    action: str
    """The step: keep, remove, recurse (the profile applied inside a sequence), or an action's name."""
    rule: str
    """The deciding rule's place (``basic.yaml:17``), or "" when none did."""
    why: str
    value: str
    """The input's value as VR and length; the value itself only with ``show_values``."""
    result: str = ""
    """With ``show_values``: the output's value at the same place ("" without)."""


@dataclass
class Explanation:
    """One file under one profile: its fate and every header decision."""

    status: str
    reason: str
    profile: str
    decisions: list[Decision] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    """Elements the stamp adds (PatientIdentityRemoved, the method and its codes...)."""
    pixels: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def explain(data: bytes, profile: Profile, key: bytes, show_values: bool = False,
            limits: Limits = Limits()) -> Explanation:
    """What ``run`` with ``profile`` and ``key`` does to the file ``data``, element by element."""
    rules = RuleBook(profile)
    decisions: list[tuple[ItemPath, int, str, str | None, Step | None, Context]] = []

    def trace(path: ItemPath, tag: int, vr: str, creator: str | None, step: Step | None,
              context: Context) -> None:
        decisions.append((path, tag, vr, creator, step, context))

    outcome = deidentify_bytes(data, rules, Keyring(key), limits=limits, trace=trace)
    result = Explanation(str(outcome.status), outcome.reason, profile.name)
    try:
        before: Dataset | None = parse_source(data, limits).dataset
    except SourceError:
        before = None
    after = _read(outcome.data) if show_values and outcome.data else None
    for path, tag, vr, creator, step, context in decisions:
        element = _at(before, path, tag)
        rule, why = _why(rules, tag, vr, creator, step, context)
        result.decisions.append(Decision(
            path=_path_text(path, tag, creator),
            tag=f"({tag >> 16:04X},{tag & 0xFFFF:04X})",
            vr=vr,
            action=_action(step, context),
            rule=rule.origin if rule is not None else (step.origin if step is not None else ""),
            why=why,
            value=_describe(element, vr, show_values),
            result=_shown(_at(after, path, tag)) if show_values else "",
        ))
    if outcome.status == Status.WRITTEN:
        stamped = _read(outcome.data) if outcome.data else None
        result.added = [f"{keyword_for_tag(t)}" for t in _STAMP_TAGS if stamped is not None and t in stamped]
    if outcome.pixels is not None:
        frames = [len(boxes) for boxes in outcome.pixels.boxes]
        masked = f", {sum(frames)} region(s) masked on {sum(1 for n in frames if n)} frame(s)" if frames else ""
        result.pixels = f"{outcome.pixels.status}{masked}" + (f" ({outcome.pixels.reason})"
                                                                if outcome.pixels.reason else "")
    return result


def _why(rules: RuleBook, tag: int, vr: str, creator: str | None, step: Step | None,
         context: Context) -> tuple[Rule | None, str]:
    if context is not Context.RULES:
        return None, context.value
    rule, match = rules.match(tag, vr, creator)
    if rule is None:
        inside = ", the profile applied to its items" if step is not None and step.kind is StepKind.RECURSE else ""
        return None, f"{Match.NONE.value}: kept{inside}"
    why = match.value
    chosen = rules.code(rule)
    if chosen != rule.action:
        options = [o for o in sorted(rules.profile.options) if rule.options.get(o) == chosen]
        why += f"; option {', '.join(options)} turns {rule.action} into {chosen}"
    overridden = [r.origin for r in rules.profile.rules if r.selector == rule.selector and r is not rule]
    if overridden:
        why += f"; it overrides {', '.join(overridden)} (a later rule for the same elements wins)"
    return rule, why


def _action(step: Step | None, context: Context) -> str:
    if step is None:
        return "remove" if context is Context.STRUCTURE else "keep if its block is kept"
    if step.kind is StepKind.RECURSE:
        return f"recurse ({step.name})"
    return step.kind.value if step.kind is not StepKind.APPLY else step.name


def _path_text(path: ItemPath, tag: int, creator: str | None) -> str:
    parts = [f"{_name(seq)}[{index + 1}]" for seq, index in path]
    if tag:
        own = _name(tag)
        parts.append(f"{own} ({creator})" if creator else own)
    return " > ".join(parts)


def _name(tag: int) -> str:
    return keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _read(data: bytes | None) -> Dataset | None:
    if data is None:
        return None
    try:
        return pydicom.dcmread(io.BytesIO(data), force=True)
    except Exception:  # what explain shows must not end it
        return None


def _at(ds: Dataset | None, path: ItemPath, tag: int) -> Any:
    """The element at ``path`` / ``tag`` of ``ds``, or None."""
    try:
        for seq, index in path:
            if ds is None:
                return None
            ds = ds[seq].value[index]
        return ds[tag] if ds is not None and tag and tag in ds else None
    except Exception:  # a path that the output no longer has (an item dropped)
        return None


def _describe(element: Any, vr: str, show: bool) -> str:
    if element is None:
        return ""
    if element.VR == "SQ":
        return f"SQ, {len(element.value)} item(s)"
    try:
        length = len(element.value) if element.value is not None else 0
    except TypeError:
        length = 1  # a number
    unit = "bytes" if vr in ("OB", "OW", "OD", "OF", "OL", "OV", "UN") else "characters"
    if show and element.VR not in ("OB", "OW", "OD", "OF", "OL", "OV", "UN"):
        return repr(str(element.value))
    return f"{element.VR}, {length} {unit}"


def _shown(element: Any) -> str:
    if element is None:
        return "(absent)"
    if element.VR == "SQ":
        return f"{len(element.value)} item(s)"
    if element.VR in ("OB", "OW", "OD", "OF", "OL", "OV", "UN"):
        return f"{element.VR}, {len(element.value or b'')} bytes"
    return repr(str(element.value))


@dataclass(frozen=True)
class Difference:
    """One element two profiles treat differently."""

    element: str
    tag: str
    first: str
    """The first profile's step and the rule's place, like ``pseudonym (basic.yaml:12)``."""
    second: str


def profile_differences(first: Profile, second: Profile) -> list[Difference]:
    """The elements whose step differs between two profiles.

    Every public element of the dictionary, in its own VR, is asked of both
    compiled profiles (the same :meth:`RuleBook.step` a run uses), then every
    private element either profile names, and one private and one unknown
    public element for the class rules.
    """
    books = RuleBook(first), RuleBook(second)
    elements: list[tuple[int, str, str | None, str]] = [
        (tag, vr, None, keyword) for tag, vr, keyword, _ in dictionary_elements()
    ]
    private = sorted({(r.selector.group, r.selector.creator, r.selector.offset)
                      for book in books for r in book.profile.rules if isinstance(r.selector, PrivateSelector)})
    elements += [((group << 16) | 0x1000 | offset, "UN", creator, f'({group:04X},"{creator}",{offset:02X})')
                 for group, creator, offset in private]
    elements += [(0x00111010, "UN", "A CREATOR NO PROFILE NAMES", "any other private element"),
                 (0x00080001, "", None, "a public element the dictionary does not know")]
    found = []
    for tag, vr, creator, name in elements:
        steps = [book.step(tag, vr, creator) for book in books]
        if (steps[0].kind, steps[0].name) != (steps[1].kind, steps[1].name):
            found.append(Difference(name, f"({tag >> 16:04X},{tag & 0xFFFF:04X})", *(_step_text(s) for s in steps)))
    return found


def _step_text(step: Step) -> str:
    name = step.name if step.kind is StepKind.APPLY else step.kind.value
    return f"{name} ({step.origin})" if step.origin else name
