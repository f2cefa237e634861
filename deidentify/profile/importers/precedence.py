"""The source's precedence, reproduced with the profile's own resolution.

deidentify picks one rule per element by how specific its selector is -- an
exact tag, then a private element, a wildcard, ``private``/``unknown``, a VR --
and among rules of one kind the last wins (:class:`deidentify.plan.RuleBook`).
deid and CTP decide by the action instead (deid: KEEP > ADD > REPLACE > JITTER >
REMOVE > BLANK; CTP: an element's own script > a kept group > a global removal).

So an importer writes its rules in its source's order of precedence, and then
:func:`settle` asks the compiled profile -- the base profile plus those rules,
through the same ``RuleBook`` a run uses -- what it would do to every element of
pydicom's dictionary, compares that with what the source means for it, and
restates the source's rule for that element by its keyword wherever they differ.
Exact rules written last win, so the written profile does, element by element of
the dictionary, what the source says.  Private elements and public elements the
dictionary does not know are decided by the broad rules alone.
"""

from __future__ import annotations

from dataclasses import replace

from ...plan import RuleBook, Step, dictionary_elements, step_for_code
from ..load import load_profile
from ..model import Profile, Rule, Settings
from ..selectors import parse_selector
from .model import BASE, ImportResult, Intent, RuleSpec


def base_profile(base: str, options: list[str]) -> Profile:
    """The built-in profile the import extends (an empty one for ``none``), with ``options``."""
    if base == "none":
        return Profile(name="none", description="", options=frozenset(options), settings=Settings(),
                       rules=(), content_items=(), files=())
    return load_profile(base, options=tuple(options))


def ordered(rules: list[RuleSpec]) -> list[RuleSpec]:
    """Rules in the order to write them: by the source's precedence, then by source line."""
    return sorted(rules, key=lambda r: (r.rank, r.line))


def settle(result: ImportResult, intent: Intent) -> int:
    """Order ``result.rules`` and add the restatements that make the source's precedence hold;
    returns how many were added."""
    base = base_profile(result.base, result.options)
    rules = ordered(result.rules)
    book = RuleBook(replace(base, rules=base.rules + tuple(_rule(r) for r in rules)))
    base_book = RuleBook(base)
    added: list[RuleSpec] = []
    for tag, vr, keyword, name in dictionary_elements():
        meant = intent(tag, keyword, name, vr)
        have = book.step(tag, vr)
        if meant == BASE:
            want = base_book.step(tag, vr)
            spec = RuleSpec(keyword, want.name, dict(want.args or {}),
                            "as the base profile treats it: no source line names it, but a broad rule reaches it")
        else:
            assert isinstance(meant, RuleSpec)
            spec = replace(meant, select=keyword)
            rule = _rule(spec)
            want = step_for_code(book.code(rule), vr, rule)
        if not _same(have, want):
            added.append(spec)
    result.rules = rules + added
    return len(added)


def _same(a: Step, b: Step) -> bool:
    return a.kind == b.kind and a.name == b.name and (a.args or {}) == (b.args or {})


def _rule(spec: RuleSpec) -> Rule:
    """The spec as the loader would build it (a lookup's table is bound only when a profile loads:
    the step, which is all that is asked here, does not need it)."""
    return Rule(selector=parse_selector(spec.select), action=spec.action, origin=f"import:{spec.line}",
                args=dict(spec.args), name=spec.select)
