"""Person names in free text, without knowing whose they are.

:class:`OwnValuesDetector` finds the names a dataset carries; this detector
finds the others -- the relative in the history, the doctor in the report, a
name left in a header that was meant to be emptied.  Evidence, strongest first:

* a DICOM person name written into text: ``Köhler^Lieselotte``, ``山田^太郎``;
* a title or kinship word before capitalised words: ``Dr. Berg``,
  ``Mother (Jördis Böttcher)``, ``Sra. Ordóñez``;
* a honorific after CJK or kana: ``はなこ様``, ``山田さん``;
* capitalised words that start with a known given name (``Lieselotte Köhler``),
  or that hold a known given and a known family name (``Peña Muñoz Begoña``),
  also written ``Family, Given``;
* upper-case words with a known given name of four letters or more next to
  another word (``PENA MUNOZ BEGONA``, ``OESTBY AASE``);
* a standalone run of CJK ideographs or Hangul that starts with a known
  family name (``山田太郎``, ``田中由美``).

Words of DICOM's vocabulary are never evidence of a name, and they end a run
of capitalised words, so ``Findings Lieselotte Köhler`` yields the name and
``Sakura General Hospital`` yields nothing.  See :mod:`.names_data` for the lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from .base import Finding
from .names_data import NameLists, fold, is_cjk, name_lists

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_NAME_WORD = r"[^\W\d_]+(?:['’.-][^\W\d_]+)*"
# family^given[^middle^prefix^suffix]: the PN layout; both of the first two must be words.
_CARET_NAME = re.compile(
    rf"(?<![\w^])(?P<family>{_NAME_WORD}(?: {_NAME_WORD})*)\^(?P<given>{_NAME_WORD}(?: {_NAME_WORD})*)"
    rf"(?:\^[\w. ]*)*"
)
_TITLES = frozenset(
    """dr dra doctor doktor prof professor mr mrs ms mx miss herr frau sr sra srta mme mlle
    dott dottssa sir dame rev""".split()
)
_KIN = frozenset(
    """mother father wife husband son daughter sister brother spouse partner guardian
    mutter vater ehefrau ehemann tochter sohn madre padre esposa esposo hija hijo""".split()
)
# Particles of compound family names, allowed inside a run of capitalised words.
_PARTICLES = frozenset("van von der den de del della di da das dos du la le el al bin ben ter ten y e".split())
_CJK_HONORIFICS = ("様", "さん", "氏", "先生", "殿", "くん", "ちゃん", "님", "씨")
_MAX_RUN = 4
_MIN_LATIN = 3
_MIN_UPPER_GIVEN = 4
_CJK_LENGTHS = range(2, 6)
_CUE_GAP = re.compile(r"\.? ?[:(]? ?\(?")


class _Token:
    __slots__ = ("start", "end", "text", "shape")

    def __init__(self, start: int, end: int, text: str) -> None:
        self.start, self.end, self.text = start, end, text
        letters = [c for c in text if c.isalpha()]
        if is_cjk(text):
            self.shape = "cjk"
        elif text.casefold() in _PARTICLES and text.islower():
            self.shape = "particle"
        elif all(c.isupper() for c in letters):
            self.shape = "upper"
        elif letters[0].isupper():
            self.shape = "title"
        else:
            self.shape = "lower"


class PersonNameDetector:
    """Finds person names in free text; reports them with kind ``"person-name"``."""

    kind = "person-name"

    def __init__(self, lists: NameLists | None = None) -> None:
        self._lists = lists

    @property
    def lists(self) -> NameLists:
        if self._lists is None:
            self._lists = name_lists()
        return self._lists

    def find(self, text: str) -> Iterator[Finding]:
        """Yield a finding for each person name in ``text``."""
        for match in _CARET_NAME.finditer(text):
            words = _WORD.findall(match.group("family") + " " + match.group("given"))
            if not all(self.lists.is_vocabulary(w) for w in words):
                yield Finding(match.start(), match.end(), self.kind)
        tokens = [_Token(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
        for start, end in self._spans(text, tokens):
            yield Finding(start, end, self.kind)

    def _spans(self, text: str, tokens: Sequence[_Token]) -> Iterator[tuple[int, int]]:
        """Character spans of the names among ``tokens``, left to right."""
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if token.shape == "cjk":
                length = self._cjk_name_length(token.text)
                if length:
                    yield token.start, token.start + length
                index += 1
                continue
            if self._is_cue(text, tokens, index):
                run = self._run(text, tokens, index + 1, ("title", "upper"))
                if run:
                    yield run[0].start, run[-1].end
                    index += len(run) + 1
                    continue
            run = self._run(text, tokens, index, (token.shape,)) if token.shape in ("title", "upper") else []
            if not run:
                index += 1
                continue
            last = index + len(run) - 1
            named = self._name_in_run(run)
            if named is not None:
                first, end = index + named[0], self._comma_given(text, tokens, index + named[1], token.shape)
                yield tokens[first].start, tokens[end].end
                index = end + 1
                continue
            end = self._comma_given(text, tokens, last, token.shape, need_family=True)
            if end > last:
                # "PENA MUNOZ, BEGONA": the family name may be several words of the run.
                first = next(i for i, t in enumerate(run) if self.lists.is_family(t.text))
                yield run[first].start, tokens[end].end
                index = end + 1
                continue
            index = last + 1

    def _run(self, text: str, tokens: Sequence[_Token], start: int, shapes: tuple[str, ...]) -> list[_Token]:
        """Capitalised, non-vocabulary tokens from ``start`` joined by single spaces
        (particles allowed between them); empty when ``start`` is not one."""
        run: list[_Token] = []
        words = 0
        for token in tokens[start:]:
            if words == _MAX_RUN or (run and text[run[-1].end : token.start] != " "):
                break
            if token.shape == "particle" and run:
                run.append(token)
            elif token.shape in shapes and not self.lists.is_vocabulary(token.text):
                run.append(token)
                words += 1
            else:
                break
        while run and run[-1].shape == "particle":
            run.pop()
        return run

    def _is_cue(self, text: str, tokens: Sequence[_Token], index: int) -> bool:
        """A title or kinship word, then ``.``, ``:`` or ``(`` and spaces, then a word."""
        token = tokens[index]
        word = fold(token.text)
        if (word not in _TITLES and word not in _KIN) or index + 1 >= len(tokens):
            return False
        if token.shape == "upper" and len(token.text) <= 3:
            return False  # MR, DR, SR, MS: modalities and diagnoses far more often than titles
        if len(tokens[index + 1].text) < 2:
            return False
        gap = text[tokens[index].end : tokens[index + 1].start]
        return 0 < len(gap) <= 4 and _CUE_GAP.fullmatch(gap) is not None

    def _name_in_run(self, run: list[_Token]) -> tuple[int, int] | None:
        """The first and last positions in ``run`` of a name it holds, or None."""
        lists = self.lists
        words = [(i, t.text) for i, t in enumerate(run) if t.shape != "particle" and len(t.text) >= 2]
        if len(words) < 2:
            return None
        if run[0].shape == "upper":
            # Upper-case text is full of acronyms: only a given name of four letters or more counts.
            long = [(i, w) for i, w in words if len(w) >= _MIN_LATIN]
            if any(len(w) >= _MIN_UPPER_GIVEN and lists.is_given(w) for _, w in long) and len(long) >= 2:
                return long[0][0], long[-1][0]
            return None
        if run[0].shape == "title" and len(run[0].text) >= _MIN_LATIN and lists.is_given(run[0].text):
            return 0, len(run) - 1
        known = [i for i, w in words if lists.is_given(w) or lists.is_family(w)]
        if any(lists.is_given(w) for _, w in words) and any(lists.is_family(w) for _, w in words):
            return known[0], known[-1]
        return None

    def _comma_given(self, text: str, tokens: Sequence[_Token], end: int, shape: str,
                     need_family: bool = False) -> int:
        """Extend ``Family, Given``: the index of the given name's last token, else ``end``."""
        after = end + 1
        if after >= len(tokens) or text[tokens[end].end : tokens[after].start] != ", ":
            return end
        if need_family and not self.lists.is_family(tokens[end].text):
            return end
        run = self._run(text, tokens, after, (shape,))
        if run and self.lists.is_given(run[0].text):
            return after + len(run) - 1
        return end

    def _cjk_name_length(self, word: str) -> int:
        """How many leading characters of a standalone CJK word are a name (0: none)."""
        for honorific in _CJK_HONORIFICS:
            if word.endswith(honorific) and len(word) - len(honorific) >= 2:
                return len(word) - len(honorific)
        if len(word) not in _CJK_LENGTHS:
            return 0
        lists = self.lists
        for length in lists.cjk_family_lengths:
            family, given = word[:length], word[length:]
            if given and family in lists.family and (given in lists.given or (length >= 2 and len(given) <= 3)):
                return len(word)
        return 0
