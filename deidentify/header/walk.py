"""Header actions: the profile applied to every element, at every depth, in one walk.

This is the only traversal of a header.  It reads through an
:class:`~.sources.base.ElementSource` (raw bytes or a pydicom dataset) and
leaves :class:`~.sources.base.Written` pieces: kept elements as the source
read them (their encoding cannot change, pixel data that needs no masking
stays byte-identical), new values for what an action changed, and the items
of sequences it went into.  In a dataset holding a code item, the code's text
that is not the standard's (:mod:`.codes`) is cleaned wherever the profile
would keep it; datasets without one pay a few look-ups, not a step per element.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from pydicom.dataelem import DataElement

from ..actions import ACTIONS, REMOVE, ElementContext
from ..outcome import CODE_ITEM_CLEANED
from ..plan import CONTENT_SEQUENCE, Context, ItemPath, Plan, Step, StepKind, element_vr
from .codes import CODING_SCHEME_DESIGNATOR, NOTHING, code_text, is_public_scheme
from .sources.base import Constant, ElementSource, HeaderError, Items, NewValue, Piece, Written

#: Where each SR value type keeps its value (PS3.3 C.17.3).
_CONTENT_VALUE_TAGS: Mapping[str, int] = {
    "TEXT": 0x0040A160,
    "DATETIME": 0x0040A120,
    "DATE": 0x0040A121,
    "TIME": 0x0040A122,
    "PNAME": 0x0040A123,
    "UIDREF": 0x0040A124,
}
_VALUE_TYPE = 0x0040A040
_CONCEPT_NAME_CODE_SEQUENCE = 0x0040A043
_CODE_VALUE, _LONG_CODE_VALUE = 0x00080100, 0x00080119

# Inside a sequence the profile wants dummied (D, X/Z/D …), text that no rule names is
# replaced too: a code sequence's meaning may be a person's or a hospital's name.
_DUMMY_TEXT_VRS = frozenset({"AE", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR"})
_RECURSE_AS_IS = frozenset({"keep", "K", "C", "clean"})
# ...except the codes of public coding schemes, which name concepts, not people.
_CODE_TAGS = frozenset({0x00080100, 0x00080102, 0x00080103, 0x00080104, 0x00080119, 0x00080120})
#: Actions whose result does not depend on the value: the raw source need not decode it.
VALUE_FREE = frozenset({ACTIONS["remove"], ACTIONS["empty"], ACTIONS["dummy"]})

_DUMMY = Step(StepKind.APPLY, ACTIONS["dummy"], "dummy")
# A code item's text that is not the standard's (:mod:`.codes`), wherever the profile keeps it.
_CLEAN_CODE = Step(StepKind.APPLY, ACTIONS["clean"], "clean", origin="code item")
_NO_OVERRIDES: Mapping[int, Step] = {}
_RECURSE_PRIVATE = Step(StepKind.RECURSE, name="keep")


def clean_header(source: ElementSource, plan: Plan) -> tuple[Written, Counter[str]]:
    """The plan applied to ``source`` and every item below it, and how many elements each step touched.

    Raises :class:`HeaderError` for an element an action must read that cannot
    be decoded; the raw source raises :class:`~.sources.base.Declined` for what
    it leaves to the dataset source.
    """
    counts: Counter[str] = Counter()
    return _clean(source, plan, counts, _NO_OVERRIDES, False), counts


def _clean(source: ElementSource, plan: Plan, counts: Counter[str], overrides: Mapping[int, Step],
           dummy: bool, path: ItemPath = ()) -> Written:
    rules = plan.rules
    trace = plan.trace
    step_of = rules.step
    public_code = dummy and _is_public_code(source)
    code_tags = code_text(source)
    special = dummy or bool(overrides) or bool(code_tags)
    out: list[tuple[int, Piece]] = []
    creators: dict[int, Any] = {}
    kept_blocks: set[int] = set()
    blocks: dict[int, str | None] = {}
    names: list[str] = []  # the steps taken, counted once at the end
    cleaned_code = False
    for tag, read_vr, handle in source.entries():
        group, number = tag >> 16, tag & 0xFFFF
        if number == 0 or group == 0x0002 or group == 0x0004:
            # Group lengths are retired; file meta and directory records never belong in an instance.
            names.append("remove")
            if trace is not None:
                trace(path, tag, read_vr, None, None, Context.STRUCTURE)
            continue
        private = group & 1
        creator = None
        if private:
            if 0x0010 <= number <= 0x00FF:
                creators[tag] = handle
                if trace is not None:
                    trace(path, tag, read_vr, None, None, Context.CREATOR)
                continue
            if number >= 0x1000:
                block = (group << 16) | (number >> 8)
                if block not in blocks:
                    # Only rules for this group need the creator's name; else its presence is enough.
                    blocks[block] = source.creator(block, group in rules.private_groups)
                creator = blocks[block]
        vr = read_vr if read_vr and read_vr != "UN" else element_vr(tag, read_vr)
        step = decide(tag, vr, creator, plan, overrides, dummy, public_code, code_tags) if special \
            else step_of(tag, vr, creator)
        kind = step.kind
        if private and vr == "UN" and kind is StepKind.KEEP and source.is_sequence(handle):
            # A kept private sequence read without its VR (implicit VR, UN): its items get the
            # profile too, or a code item or a name inside would be copied unseen.
            step, kind = _RECURSE_PRIVATE, StepKind.RECURSE
        names.append(step.name)
        if trace is not None:
            trace(path, tag, vr, creator, step, Context.CONTENT_ITEM if overrides.get(tag) is step
                  else Context.DUMMIED if step is _DUMMY else Context.CODE_ITEM if step is _CLEAN_CODE
                  else Context.RULES)
        if kind is StepKind.KEEP:
            out.append((tag, source.kept(handle)))
        elif kind is StepKind.REMOVE:
            continue
        elif kind is StepKind.RECURSE:
            inner = dummy or dummies_inside(step)
            out.append((tag, Items(_clean_items(source.items(handle), tag, plan, counts, inner, path))))
        elif step is _CLEAN_CODE:
            out.append((tag, _clean_code(source, handle, vr, plan)))
            cleaned_code = True
        else:
            piece = _apply(source, tag, read_vr, vr, handle, step, plan)
            if piece is None:
                continue
            out.append((tag, piece))
        if private and creator is not None:
            kept_blocks.add((group << 16) | (number >> 8))
    counts.update(names)
    if cleaned_code:
        counts[CODE_ITEM_CLEANED] += 1
    kept_creators = False
    for tag, handle in creators.items():
        # A private creator is kept exactly when its block still holds an element.
        if tag in kept_blocks:
            out.append((tag, source.kept(handle)))
            kept_creators = True
        else:
            counts["remove"] += 1
    if kept_creators:  # else the output is in the source's order, which is ascending
        out.sort(key=_first)
    return source.written(out)


def _apply(source: ElementSource, tag: int, read_vr: str, vr: str, handle: Any, step: Step,
           plan: Plan) -> NewValue | Constant | None:
    if step.action in VALUE_FREE and source.value_free(handle):
        return plan.rules.value_free(tag, read_vr, step,
                                     lambda: _constant(tag, act(step, None, read_vr, plan), read_vr))
    write_vr, value = source.read(handle, vr)
    return _new(act(step, value, write_vr, plan), write_vr)


def _clean_code(source: ElementSource, handle: Any, vr: str, plan: Plan) -> Piece:
    """A code item's text cleaned; as read, to the byte, when nothing in it identifies anyone."""
    write_vr, value = source.read(handle, vr)
    cleaned = act(_CLEAN_CODE, value, write_vr, plan)
    if cleaned == value or (isinstance(value, str) and cleaned == value.rstrip(" \0")):
        return source.kept(handle)
    return NewValue(write_vr, cleaned)


def _new(value: Any, vr: str) -> NewValue | None:
    return None if value is REMOVE else NewValue(vr, value)


def _constant(tag: int, value: Any, vr: str) -> Constant | None:
    """A value-free step's element, encoded once per run: every file then copies its bytes."""
    from ..writer import constant  # imported here: the writer imports this package's piece types

    return None if value is REMOVE else constant(DataElement(tag, vr, value))


def _first(pair: tuple[int, Any]) -> int:
    return pair[0]


def decide(tag: int, vr: str, creator: str | None, plan: Plan, overrides: Mapping[int, Step], dummy: bool,
           public_code: bool, code_tags: frozenset[int] = NOTHING) -> Step:
    """The step for one element, in a sequence the profile wants dummied or not, of a dataset
    whose ``code_tags`` (:func:`.codes.code_text`) are cleaned wherever the profile keeps them."""
    step = overrides.get(tag) or plan.rules.step(tag, vr, creator)
    if step.kind is not StepKind.KEEP:
        return step
    if dummy and vr in _DUMMY_TEXT_VRS and not (public_code and tag in _CODE_TAGS):
        return _DUMMY
    return _CLEAN_CODE if tag in code_tags else step


def dummies_inside(step: Step) -> bool:
    """Whether recursing with ``step`` means the sequence is to be dummied (D, X/Z/D …)."""
    return step.name not in _RECURSE_AS_IS


def act(step: Step, value: Any, vr: str, plan: Plan) -> Any:
    """The new value from an ``apply`` step's action, or :data:`REMOVE`."""
    ctx = ElementContext(
        vr=vr,
        keyring=plan.keyring,
        patient=plan.patient,
        settings=plan.rules.profile.settings,
        args=step.args or {},
        detectors=plan.detectors,
    )
    assert step.action is not None
    return step.action(value, ctx)


def _is_public_code(item: ElementSource) -> bool:
    try:
        scheme = item.text(CODING_SCHEME_DESIGNATOR)
    except HeaderError:
        return False
    return scheme is not None and is_public_scheme(scheme)


def _clean_items(items: Sequence[ElementSource], tag: int, plan: Plan, counts: Counter[str],
                 dummy: bool, path: ItemPath) -> list[Written]:
    cleaned = []
    content = tag == CONTENT_SEQUENCE and bool(plan.rules.content_items)
    for index, item in enumerate(items):
        overrides = _NO_OVERRIDES
        if content:
            found = _content_item_step(item, plan)
            if found is not None:
                value_tag, step = found
                if step.kind is StepKind.REMOVE:
                    # A content item without its value is invalid; drop the item.
                    counts["remove"] += 1
                    if plan.trace is not None:
                        plan.trace((*path, (tag, index)), 0, "", None, step, Context.CONTENT_ITEM)
                    continue
                overrides = {value_tag: step}
        cleaned.append(_clean(item, plan, counts, overrides, dummy, (*path, (tag, index))))
    return cleaned


def _content_item_step(item: ElementSource, plan: Plan) -> tuple[int, Step] | None:
    """Under clean-structured-content, Table E.3.4-1's step for this content item's value."""
    try:
        value_type = item.text(_VALUE_TYPE) or ""
        concepts = item.sequence(_CONCEPT_NAME_CODE_SEQUENCE)
        if not concepts:
            return None
        concept = concepts[0]
        scheme = concept.text(CODING_SCHEME_DESIGNATOR) or ""
        code = concept.text(_CODE_VALUE) or concept.text(_LONG_CODE_VALUE) or ""
    except HeaderError as exc:
        raise HeaderError("a content item's concept name cannot be decoded") from exc
    value_tag = _CONTENT_VALUE_TAGS.get(value_type)
    vr = element_vr(value_tag, None) if value_tag else "SQ"
    step = plan.rules.content_item_step(scheme, code, value_type, vr)
    if step is None:
        return None
    if value_tag is None:
        # References and containers: only removal applies at item level; their UIDs follow the profile.
        return (0, step) if step.kind is StepKind.REMOVE else None
    return value_tag, step
