"""Region rules from CTP DicomPixelAnonymizer scripts.

A script is free text around signatures: each ``{ expression }`` is followed by
the regions it blanks, ``(x,y,width,height)``, up to the next signature.  The
first signature that matches an image applies, and only it (as in CTP's
``PixelScript``).  An expression is made of terms ``Element.method("value")``
-- Element a keyword or ``[gggg,eeee]`` -- joined by ``*`` (and), ``+`` (or),
``!`` (not) and parentheses, with the literals ``true`` and ``false``; ``*``
binds tighter than ``+``.  Methods: ``equals``, ``matches`` (the whole value, a
regular expression), ``contains``, ``startsWith``, ``endsWith`` -- each also
``...IgnoreCase`` -- ``isLessThan`` and ``isGreaterThan`` (numbers).

Free text between signatures is ignored, parenthesised words too; but a
parenthesised list of numbers that is not four numbers is an error, not a
region silently skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .conditions import ALWAYS, All, AnyOf, Check, Condition, Not, parse_element
from .model import Rect, RegionRule, RuleError, RuleGroup

#: CTP method -> (our operator, compares with case)
METHODS: dict[str, tuple[str, bool]] = {
    "equals": ("equals", True),
    "equalsignorecase": ("equals", False),
    "matches": ("matches", True),
    "contains": ("contains", True),
    "containsignorecase": ("contains", False),
    "startswith": ("startswith", True),
    "startswithignorecase": ("startswith", False),
    "endswith": ("endswith", True),
    "endswithignorecase": ("endswith", False),
    "islessthan": ("less_than", True),
    "isgreaterthan": ("greater_than", True),
}

_SIGNATURE = re.compile(r"\{([^}]*)\}")
_REGION = re.compile(r"\(([^()]*)\)")
_NUMBERISH = re.compile(r"^\s*[-+]?\d+\s*$")


@dataclass
class _Token:
    kind: str  # "op", "term", "bool", "end"
    text: str
    position: int


class _Expression:
    """A recursive-descent parser of one signature's expression."""

    _TERM = re.compile(
        r"""(?P<element>\[[^\]]*\]|[A-Za-z][A-Za-z0-9]*)\s*\.\s*(?P<method>[A-Za-z]+)\s*\(\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*\)"""
    )

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokenise(text)
        self.index = 0

    def _tokenise(self, text: str) -> list[_Token]:
        tokens: list[_Token] = []
        position = 0
        while position < len(text):
            char = text[position]
            if char.isspace():
                position += 1
                continue
            if char in "*+!()":
                tokens.append(_Token("op", char, position))
                position += 1
                continue
            literal = re.match(r"(true|false)\b", text[position:])
            if literal:
                tokens.append(_Token("bool", literal.group(1), position))
                position += len(literal.group(1))
                continue
            term = self._TERM.match(text, position)
            if not term:
                snippet = text[position : position + 30].split("\n")[0]
                raise ValueError(f"cannot read {snippet!r}: expected Element.method(\"value\"), *, +, !, ( or )")
            tokens.append(_Token("term", term.group(0), position))
            position = term.end()
        tokens.append(_Token("end", "", len(text)))
        return tokens

    def parse(self) -> Condition:
        if self.tokens[0].kind == "end":
            raise ValueError("an empty signature")
        condition = self._or()
        token = self.tokens[self.index]
        if token.kind != "end":
            raise ValueError(f"unexpected {token.text!r}")
        return condition

    def _next(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _peek(self, text: str) -> bool:
        token = self.tokens[self.index]
        return token.kind == "op" and token.text == text

    def _or(self) -> Condition:
        parts = [self._and()]
        while self._peek("+"):
            self._next()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def _and(self) -> Condition:
        parts = [self._unary()]
        while self._peek("*"):
            self._next()
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def _unary(self) -> Condition:
        token = self._next()
        if token.kind == "op" and token.text == "!":
            return Not(self._unary())
        if token.kind == "op" and token.text == "(":
            inner = self._or()
            if not self._peek(")"):
                raise ValueError("a '(' without its ')'")
            self._next()
            return inner
        if token.kind == "bool":
            return ALWAYS if token.text == "true" else Not(ALWAYS)
        if token.kind == "term":
            return self._term(token.text)
        raise ValueError(f"unexpected {token.text or 'end of signature'!r}")

    def _term(self, text: str) -> Condition:
        match = self._TERM.match(text)
        assert match is not None
        element = match.group("element")
        method = match.group("method")
        value = re.sub(r"\\(.)", r"\1", match.group("value"))
        if method.lower() not in METHODS:
            raise ValueError(f"unknown method {method!r}; known: {', '.join(m for m in METHODS)}")
        op, case = METHODS[method.lower()]
        tag, name = parse_element(element)
        return Check(tag, name, op, value, case)


def parse_ctp_script(text: str, path: Path | str, written: str) -> RuleGroup:
    """The signatures of a DicomPixelAnonymizer script as rules, in order (first match wins)."""
    path = Path(path)
    rules: list[RegionRule] = []
    matches = list(_SIGNATURE.finditer(text))
    if not matches:
        raise RuleError(f"{path}: no signature {{ ... }} in this DicomPixelAnonymizer script")
    previous_end = 0
    for number, match in enumerate(matches, 1):
        line = text.count("\n", 0, match.start()) + 1
        title = _title(text[previous_end : match.start()])
        label = f"signature {number}" + (f" ({title})" if title else "")
        where = f"{path}:{line}: {label}"
        try:
            condition = _Expression(match.group(1)).parse()
        except ValueError as exc:
            raise RuleError(f"{where}: {exc}") from None
        end = matches[number].start() if number < len(matches) else len(text)
        regions = text[match.end() : end]
        blank: list[Rect] = []
        previous_end = match.end()
        for region in _REGION.finditer(regions):
            parts = region.group(1).split(",")
            if not all(_NUMBERISH.match(p) for p in parts):
                continue  # free text in parentheses
            region_line = text.count("\n", 0, match.end() + region.start()) + 1
            numbers = [int(p) for p in parts]
            if len(numbers) != 4:
                raise RuleError(f"{path}:{region_line}: {label}: region {region.group(0)!r} is not (x,y,width,height)")
            x, y, width, height = numbers
            if x < 0 or y < 0 or width <= 0 or height <= 0:
                raise RuleError(f"{path}:{region_line}: {label}: region {region.group(0)!r} is empty or negative")
            blank.append((x, y, x + width, y + height))
            previous_end = match.end() + region.end()
        rules.append(
            RegionRule(
                name=f"{written} {label}",
                origin=f"{path.name}:{line}",
                condition=condition,
                blank=tuple(blank),
            )
        )
    return RuleGroup(source=written, mode="first", rules=tuple(rules))


def load_ctp_script(path: Path, written: str) -> RuleGroup:
    """Read and parse the DicomPixelAnonymizer script at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise RuleError(f"{path}: not a DicomPixelAnonymizer script (not UTF-8 text)") from None
    return parse_ctp_script(text, path, written)


def _title(free_text: str) -> str:
    """The last line of free text before a signature: its name, usually."""
    lines = [line.strip(" \t*") for line in free_text.splitlines()]
    lines = [line for line in lines if line and not _REGION.fullmatch(line.replace(" ", ""))]
    return lines[-1][:60] if lines else ""
