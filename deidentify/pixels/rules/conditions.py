"""Conditions on header values: which images a region rule applies to.

A condition is a small tree, built once when a profile, a deid recipe or a CTP
script is loaded, and evaluated against each dataset's top level:

* :class:`Check` -- one element against one operator (``equals``, ``contains``,
  ``regex``, ``present``, ...);
* :class:`All`, :class:`AnyOf`, :class:`Not` -- and, or, not;
* :data:`ALWAYS` -- true for every image.

Values are compared as text.  A multi-valued element (ImageType
``DERIVED\\SECONDARY``) matches when its whole value (values joined by ``\\``)
or any one of its values matches.  Numbers are compared by their text, except
by ``less_than`` and ``greater_than``.  A sequence, or binary data, is present
but has no text, so only ``present``, ``missing`` and ``empty`` can match it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from pydicom.datadict import RepeatersDictionary, keyword_for_tag, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

#: Operators a :class:`Check` can apply, and whether each needs a value.
OPERATORS: Mapping[str, bool] = {
    "equals": True,
    "contains": True,
    "regex": True,  # re.search
    "matches": True,  # re.fullmatch (CTP's String.matches)
    "startswith": True,
    "endswith": True,
    "less_than": True,
    "greater_than": True,
    "present": False,
    "missing": False,
    "empty": False,
}

_TAG = re.compile(
    r"^\(?\s*(?:0x)?([0-9A-Fa-f]{4})\s*,?\s*([0-9A-Fa-f]{4})\s*\)?$"  # (gggg,eeee) gggg,eeee ggggeeee 0xggggeeee
    r"|^\[\s*([0-9A-Fa-f]{4})\s*,\s*([0-9A-Fa-f]{4})\s*\]$"  # [gggg,eeee]
)
_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN", "SQ"})


#: The tag of an element no dataset has (a misspelt keyword in a recipe deid ships).
NO_ELEMENT = -1


def parse_element(text: str, lenient: bool = False) -> tuple[int, str]:
    """``(tag, name)`` for a keyword or a tag written ``(gggg,eeee)``, ``gggg,eeee``,
    ``ggggeeee``, ``0xggggeeee`` or ``[gggg,eeee]``; ``ValueError`` otherwise.

    A keyword of a repeating group (``OverlayDescription``) names its first
    group (6000,0022).  ``lenient``: an unknown keyword names an element no
    dataset has, as deid reads it, instead of an error.
    """
    text = str(text).strip()
    tag: int | None
    match = _TAG.match(text)
    if match:
        group, element = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        tag = int(group + element, 16)
        return tag, keyword_for_tag(tag) or f"({group.upper()},{element.upper()})"
    tag = tag_for_keyword(text)
    if tag is None:
        tag = _REPEATER_KEYWORDS.get(text)
    if tag is None:
        if lenient and re.fullmatch(r"\w+", text):
            return NO_ELEMENT, text
        raise ValueError(f"{text!r} is neither a DICOM keyword nor a tag like (0008,0070)")
    return tag, text


_REPEATER_KEYWORDS = {
    entry[4]: int(mask.replace("x", "0"), 16) for mask, entry in RepeatersDictionary.items() if entry[4]
}


def element_texts(ds: Dataset, tag: int) -> tuple[bool, list[str]]:
    """Whether ``tag`` is present at the top level of ``ds``, and the texts to compare:
    the whole value (values joined by ``\\``) first, then each value of a multi-valued one."""
    if tag == NO_ELEMENT or tag not in ds:
        return False, []
    try:
        element = ds[tag]
        vr, value = element.VR, element.value
    except Exception:  # a value pydicom cannot decode: present, but no text to compare
        return True, []
    if vr in _BINARY_VRS:
        return True, []
    if value is None:
        return True, []
    if isinstance(value, (bytes, bytearray)):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return True, []
    if isinstance(value, (MultiValue, list, tuple)):
        parts = ["" if v is None else str(v) for v in value]
        if len(parts) > 1:
            return True, ["\\".join(parts), *parts]
        return True, parts
    return True, [str(value)]


class HeaderTexts:
    """The texts of one dataset's elements as conditions compare them, read once per element.

    A rule set holds a hundred conditions over a score of elements: each element
    is decoded and folded once, not once per condition.
    """

    def __init__(self, ds: Dataset) -> None:
        self._ds = ds
        self._found: dict[tuple[int, bool], tuple[bool, tuple[str, ...]]] = {}

    def get(self, tag: int, case: bool) -> tuple[bool, tuple[str, ...]]:
        """Whether ``tag`` is present, and its texts stripped (and lower-cased unless ``case``)."""
        key = (tag, case)
        found = self._found.get(key)
        if found is None:
            present, texts = element_texts(self._ds, tag)
            found = (present, tuple(t.strip() if case else t.strip().lower() for t in texts))
            self._found[key] = found
        return found


def header_texts(image: HeaderTexts | Dataset) -> HeaderTexts:
    """Conditions take a dataset or, to share the reading between many, its :class:`HeaderTexts`."""
    return image if isinstance(image, HeaderTexts) else HeaderTexts(image)


@dataclass(frozen=True)
class Check:
    """One element against one operator; text is stripped, and lower-cased unless ``case``."""

    tag: int
    name: str
    op: str
    value: str = ""
    case: bool = False

    def __post_init__(self) -> None:
        if self.op not in OPERATORS:
            raise ValueError(f"unknown operator {self.op!r}; known: {', '.join(OPERATORS)}")
        if self.op in ("regex", "matches"):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"bad regular expression {self.value!r}: {exc}") from None
        if self.op in ("less_than", "greater_than"):
            try:
                float(self.value)
            except ValueError:
                raise ValueError(f"{self.op} needs a number, not {self.value!r}") from None

    @property
    def tags(self) -> frozenset[int]:
        """The elements this condition reads (the fast path decodes just those)."""
        return frozenset() if self.tag == NO_ELEMENT else frozenset({self.tag})

    def __call__(self, image: HeaderTexts | Dataset) -> bool:
        present, texts = header_texts(image).get(self.tag, self.case)
        if self.op == "present":
            return present
        if self.op == "missing":
            return not present
        if self.op == "empty":
            return present and not any(texts)
        term = self.value.strip() if self.case else self.value.strip().lower()
        return any(self._compare(text, term) for text in texts)

    def _compare(self, text: str, term: str) -> bool:
        op = self.op
        if op == "equals":
            return text == term
        if op == "contains":
            return term in text
        if op == "startswith":
            return text.startswith(term)
        if op == "endswith":
            return text.endswith(term)
        flags = 0 if self.case else re.IGNORECASE
        if op == "regex":
            return re.search(self.value.strip(), text, flags) is not None
        if op == "matches":
            return re.fullmatch(self.value.strip(), text, flags) is not None
        try:
            number = float(text)
        except ValueError:
            return False
        return number < float(term) if op == "less_than" else number > float(term)

    def describe(self) -> str:
        if OPERATORS[self.op]:
            return f"{self.name} {self.op} {self.value!r}"
        return f"{self.name} {self.op}"


@dataclass(frozen=True)
class All:
    """True when every part is true (and)."""

    parts: tuple[Condition, ...]

    @property
    def tags(self) -> frozenset[int]:
        return frozenset().union(*(part.tags for part in self.parts))

    def __call__(self, image: HeaderTexts | Dataset) -> bool:
        header = header_texts(image)
        return all(part(header) for part in self.parts)

    def describe(self) -> str:
        return "(" + " and ".join(p.describe() for p in self.parts) + ")"


@dataclass(frozen=True)
class AnyOf:
    """True when some part is true (or)."""

    parts: tuple[Condition, ...]

    @property
    def tags(self) -> frozenset[int]:
        return frozenset().union(*(part.tags for part in self.parts))

    def __call__(self, image: HeaderTexts | Dataset) -> bool:
        header = header_texts(image)
        return any(part(header) for part in self.parts)

    def describe(self) -> str:
        return "(" + " or ".join(p.describe() for p in self.parts) + ")"


@dataclass(frozen=True)
class Not:
    """True when its part is false."""

    part: Condition

    @property
    def tags(self) -> frozenset[int]:
        return self.part.tags

    def __call__(self, image: HeaderTexts | Dataset) -> bool:
        return not self.part(image)

    def describe(self) -> str:
        return f"not {self.part.describe()}"


@dataclass(frozen=True)
class Always:
    """True for every image (a rule with no condition)."""

    @property
    def tags(self) -> frozenset[int]:
        return frozenset()

    def __call__(self, image: HeaderTexts | Dataset) -> bool:
        return True

    def describe(self) -> str:
        return "always"


ALWAYS = Always()

Condition: TypeAlias = Check | All | AnyOf | Not | Always

_COMBINATORS = ("and", "or", "not")


def parse_condition(spec: Any) -> Condition:
    """Build a condition from its YAML form; ``ValueError`` says what is wrong.

    * ``true`` -- every image;
    * ``{Modality: US, Rows: 768}`` -- each key an element (keyword or tag), all must match;
      a plain value means ``equals``;
    * ``{Manufacturer: {contains: acme}}`` -- an operator: ``equals``, ``contains``,
      ``regex``, ``matches``, ``startswith``, ``endswith``, ``less_than``,
      ``greater_than`` (with a value), ``present``, ``missing``, ``empty`` (with
      ``true``); several operators in one mapping must all match; ``case: true``
      compares with case;
    * ``{and: [...]}``, ``{or: [...]}``, ``{not: {...}}`` -- combinations, also
      mixed with element keys in one mapping (all must match);
    * a list -- all its conditions must match.
    """
    if spec is True:
        return ALWAYS
    if isinstance(spec, list):
        if not spec:
            raise ValueError("an empty list of conditions")
        return _all([parse_condition(s) for s in spec])
    if not isinstance(spec, Mapping):
        raise ValueError(f"a condition is a mapping of elements to values, or true; got {spec!r}")
    parts: list[Condition] = []
    for key, value in spec.items():
        if key == "__line__":
            continue
        if key == "and":
            if not isinstance(value, list) or not value:
                raise ValueError("'and' takes a non-empty list of conditions")
            parts.append(_all([parse_condition(v) for v in value]))
        elif key == "or":
            if not isinstance(value, list) or not value:
                raise ValueError("'or' takes a non-empty list of conditions")
            parts.append(AnyOf(tuple(parse_condition(v) for v in value)))
        elif key == "not":
            parts.append(Not(parse_condition(value)))
        else:
            parts.append(_element_condition(str(key), value))
    if not parts:
        raise ValueError("an empty condition; write 'true' for every image")
    return _all(parts)


def _all(parts: Sequence[Condition]) -> Condition:
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def _element_condition(key: str, value: Any) -> Condition:
    tag, name = parse_element(key)
    if isinstance(value, Mapping):
        ops = {k: v for k, v in value.items() if k != "__line__"}
        case = ops.pop("case", False)
        if not isinstance(case, bool):
            raise ValueError(f"{name}: 'case' must be true or false")
        if not ops:
            raise ValueError(f"{name}: no operator; use one of {', '.join(OPERATORS)}")
        tests: list[Condition] = []
        for op, operand in ops.items():
            if op not in OPERATORS:
                raise ValueError(f"{name}: unknown operator {op!r}; known: {', '.join(OPERATORS)}")
            if OPERATORS[op]:
                if operand is None or isinstance(operand, (Mapping, list, bool)):
                    raise ValueError(f"{name}: {op} needs a text or number value")
                tests.append(Check(tag, name, op, _text(operand), case))
            else:
                if not isinstance(operand, bool):
                    raise ValueError(f"{name}: write '{op}: true' (or false)")
                test = Check(tag, name, op, "", case)
                tests.append(test if operand else Not(test))
        return _all(tests)
    if isinstance(value, list):
        if not value:
            raise ValueError(f"{name}: an empty list of values")
        return AnyOf(tuple(Check(tag, name, "equals", _text(v)) for v in value))
    if value is None or isinstance(value, bool):
        raise ValueError(f"{name}: needs a value to equal, or an operator mapping like {{present: true}}")
    return Check(tag, name, "equals", _text(value))


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
