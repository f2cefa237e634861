"""Suggestions for misspelt names in profiles: a keyword, an action, an option, a profile."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the closest of ``known`` to ``word``, or "" when none is close."""
    candidates = list(known)
    folded = {k.lower(): k for k in candidates}
    if word.lower() in folded:  # a slip of case is the likeliest mistake
        return f" (did you mean {folded[word.lower()]!r}?)"
    near = difflib.get_close_matches(word, candidates, n=1, cutoff=0.75)
    return f" (did you mean {near[0]!r}?)" if near else ""
