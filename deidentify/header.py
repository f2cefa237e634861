"""Header actions: apply a dataset's plan to every element, at every depth.

Only elements that an action touches are decoded.  Kept elements are copied as
the raw bytes the file held, so their encoding (character set, VR, endianness)
cannot change, and pixel data that needs no masking stays byte-identical.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from .actions import ACTIONS, REMOVE, ElementContext
from .plan import CONTENT_SEQUENCE, Plan, Step, element_vr
from .profile import normalise_creator

#: Where each SR value type keeps its value (PS3.3 C.17.3).
_CONTENT_VALUE_TAGS: Mapping[str, int] = {
    "TEXT": 0x0040A160,
    "DATETIME": 0x0040A120,
    "DATE": 0x0040A121,
    "TIME": 0x0040A122,
    "PNAME": 0x0040A123,
    "UIDREF": 0x0040A124,
}
_CONCEPT_NAME_CODE_SEQUENCE = 0x0040A043

# Inside a sequence the profile wants dummied (D, X/Z/D …), text that no rule names is
# replaced too: a code sequence's meaning may be a person's or a hospital's name.
_DUMMY_TEXT_VRS = frozenset({"AE", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR"})
_RECURSE_AS_IS = frozenset({"keep", "K", "C", "clean"})
# ...except the codes of public coding schemes, which name concepts, not people.
_CODE_TAGS = frozenset({0x00080100, 0x00080102, 0x00080103, 0x00080104, 0x00080119, 0x00080120})
CODING_SCHEME_DESIGNATOR = 0x00080102
PUBLIC_SCHEMES = frozenset({
    "DCM", "SCT", "SRT", "LN", "UCUM", "FMA", "RADLEX", "NCIT", "UMLS", "I10", "ICD10", "I9C",
    "NCDR", "ACR", "MDC", "UBERON", "NEU", "BARI", "ITIS_TSN", "MA", "PUBCHEM_CID", "RXNORM",
})


_DUMMY = Step("apply", ACTIONS["dummy"], "dummy")


class HeaderError(ValueError):
    """An element could not be decoded; the message names the tag, never a value."""


def clean_header(ds: Dataset, plan: Plan,
                 raw_elements: Mapping[int, RawDataElement | DataElement] | None = None) -> tuple[Dataset, Counter[str]]:
    """Return a new dataset with the plan applied, and how many elements each step touched.

    ``ds`` itself is not changed beyond pydicom's decoding of the elements that
    actions read.  ``raw_elements`` are its top-level elements as read (see
    :class:`~deidentify.source.Source`): kept ones are copied from there, so an
    element an earlier stage decoded is still written as it was read.
    """
    counts: Counter[str] = Counter()
    return _clean(ds, plan, counts, {}, False, raw_elements or {}), counts


def _like(src: Dataset) -> Dataset:
    """An empty dataset with ``src``'s encoding, so raw elements copied into it are written as read."""
    out = Dataset(parent_encoding=src._parent_encoding)
    out.set_original_encoding(src._read_implicit, src._read_little, src.original_character_set)
    return out


def _as_read(src: Dataset, tag: int, raw_elements: Mapping[int, RawDataElement | DataElement] | None
             ) -> RawDataElement | DataElement:
    found = raw_elements.get(tag) if raw_elements else None
    return src.get_item(tag) if found is None else found


def _creator(src: Dataset, group: int, block: int) -> str | None:
    tag = (group << 16) | block
    if tag not in src:
        return None
    try:
        value = src[tag].value
    except Exception:
        return None
    return normalise_creator(str(value)) if value else None


def _clean(src: Dataset, plan: Plan, counts: Counter[str], overrides: Mapping[int, Step], dummy: bool,
           raw_elements: Mapping[int, RawDataElement | DataElement] | None = None) -> Dataset:
    out = _like(src)
    creators: dict[int, RawDataElement | DataElement] = {}
    kept_blocks: set[int] = set()
    public_code = dummy and _is_public_code(src)
    for tag in sorted(src.keys()):
        group, element = tag >> 16, tag & 0xFFFF
        if element == 0 or group in (0x0002, 0x0004):
            # Group lengths are retired; file meta and directory records never belong in an instance.
            counts["remove"] += 1
            continue
        private = bool(group & 1)
        if private and 0x0010 <= element <= 0x00FF:
            creators[tag] = _as_read(src, tag, raw_elements)
            continue
        raw = _as_read(src, tag, raw_elements)
        creator = _creator(src, group, element >> 8) if private and element >= 0x1000 else None
        vr = element_vr(tag, raw.VR)
        step = decide(tag, vr, creator, plan, overrides, dummy, public_code)
        counts[step.name] += 1
        if step.kind == "keep":
            out[tag] = raw
        elif step.kind == "remove":
            continue
        else:
            elem = _decode(src, tag)
            if step.kind == "recurse":
                inner_dummy = dummy or dummies_inside(step)
                out[tag] = DataElement(tag, "SQ", _clean_items(elem.value, tag, plan, counts, inner_dummy))
            else:
                new = apply_step(step, elem, vr, plan)
                if new is None:
                    continue
                out[tag] = new
        if private and creator is not None:
            kept_blocks.add((group << 16) | (element >> 8))
    for tag, raw in creators.items():
        # A private creator is kept exactly when its block still holds an element.
        if tag in kept_blocks:
            out[tag] = raw
        else:
            counts["remove"] += 1
    return out


def _decode(src: Dataset, tag: int) -> DataElement:
    try:
        return src[tag]
    except Exception as exc:  # pydicom raises many types; the value must not reach the message
        raise HeaderError(f"element ({tag >> 16:04X},{tag & 0xFFFF:04X}) cannot be decoded") from exc


def decide(tag: int, vr: str, creator: str | None, plan: Plan, overrides: Mapping[int, Step], dummy: bool,
           public_code: bool) -> Step:
    """The step for one element, in a sequence the profile wants dummied or not."""
    step = overrides.get(tag) or plan.rules.step(tag, vr, creator)
    if dummy and step.kind == "keep" and vr in _DUMMY_TEXT_VRS and not (public_code and tag in _CODE_TAGS):
        return _DUMMY
    return step


def dummies_inside(step: Step) -> bool:
    """Whether recursing with ``step`` means the sequence is to be dummied (D, X/Z/D …)."""
    return step.name not in _RECURSE_AS_IS


def apply_step(step: Step, elem: DataElement, vr: str, plan: Plan) -> DataElement | None:
    """Run an ``apply`` step's action; None when the element is to go."""
    write_vr = elem.VR if len(elem.VR) == 2 else vr
    value = act(step, elem.value, write_vr, plan)
    return None if value is REMOVE else DataElement(elem.tag, write_vr, value)


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


def _is_public_code(item: Dataset) -> bool:
    if CODING_SCHEME_DESIGNATOR not in item:
        return False
    try:
        scheme = str(item[CODING_SCHEME_DESIGNATOR].value or "")
    except Exception:
        return False
    return is_public_scheme(scheme)


def is_public_scheme(scheme: str) -> bool:
    scheme = scheme.strip().upper()
    return scheme in PUBLIC_SCHEMES or scheme.startswith(("SCT", "LN", "DCM"))


def _clean_items(items: Sequence, tag: int, plan: Plan, counts: Counter[str], dummy: bool) -> list[Dataset]:
    cleaned = []
    for item in items:
        overrides: Mapping[int, Step] = {}
        if tag == CONTENT_SEQUENCE and plan.rules.content_items:
            found = _content_item_step(item, plan)
            if found is not None:
                value_tag, step = found
                if step.kind == "remove":
                    # A content item without its value is invalid; drop the item.
                    counts["remove"] += 1
                    continue
                overrides = {value_tag: step}
        cleaned.append(_clean(item, plan, counts, overrides, dummy))
    return cleaned


def _content_item_step(item: Dataset, plan: Plan) -> tuple[int, Step] | None:
    """Under clean-structured-content, Table E.3.4-1's step for this content item's value."""
    try:
        value_type = str(item.get("ValueType", "") or "")
        concept = item[_CONCEPT_NAME_CODE_SEQUENCE].value[0] if _CONCEPT_NAME_CODE_SEQUENCE in item else None
    except Exception as exc:
        raise HeaderError("a content item's concept name cannot be decoded") from exc
    if concept is None:
        return None
    scheme = str(concept.get("CodingSchemeDesignator", "") or "")
    code = str(concept.get("CodeValue", "") or concept.get("LongCodeValue", "") or "")
    value_tag = _CONTENT_VALUE_TAGS.get(value_type)
    vr = element_vr(value_tag, None) if value_tag else "SQ"
    step = plan.rules.content_item_step(scheme, code, value_type, vr)
    if step is None:
        return None
    if value_tag is None:
        # References and containers: only removal applies at item level; their UIDs follow the profile.
        return (0, step) if step.kind == "remove" else None
    return value_tag, step
