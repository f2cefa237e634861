"""Accept-lists: findings a site has reviewed and accepts (a station name kept on purpose, say).

A YAML file::

    accept:
      - element: StationName        # as check reports it; * matches any run of characters
        detector: own-values        # or "*"
        reason: kept on purpose under retain-device-identity

Accepted findings are still reported, with the reason; they fail neither
``check`` nor ``run --verify``.  Every entry needs a reason, so the file is
the site's record of what it decided and why.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from ..errors import DeidentifyError
from .findings import Finding

_KEYS = {"element", "detector", "scanner", "reason"}


class AcceptListError(DeidentifyError, ValueError):
    """An accept-list that cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class Acceptance:
    """One reviewed kind of finding: which element and detector, and why it is accepted."""

    element: str
    detector: str
    reason: str
    scanner: str = "*"

    def matches(self, finding: Finding) -> bool:
        return (fnmatchcase(finding.element, self.element)
                and self.detector in ("*", finding.detector)
                and self.scanner in ("*", finding.scanner))


@dataclass(frozen=True)
class AcceptList:
    """A site's accept-list, in file order (the first entry that matches gives the reason)."""

    entries: tuple[Acceptance, ...]
    name: str = ""

    @classmethod
    def load(cls, path: Path) -> AcceptList:
        """Read and validate ``path``; :class:`AcceptListError` names the file and line of a mistake."""
        from ..profile.load import ProfileError, read_yaml

        try:
            doc = read_yaml(path)
        except ProfileError as exc:
            raise AcceptListError(str(exc)) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("accept"), list):
            raise AcceptListError(f"{path}: an accept-list is a mapping with a list 'accept'")
        return cls(tuple(_entry(raw, path, index) for index, raw in enumerate(doc["accept"], 1)), path.name)

    def apply(self, findings: list[Finding]) -> list[Finding]:
        """``findings`` with those this list accepts marked with its reason."""
        marked = []
        for finding in findings:
            entry = next((e for e in self.entries if e.matches(finding)), None)
            marked.append(replace(finding, accepted=entry.reason) if entry is not None else finding)
        return marked


def _entry(raw: Any, path: Path, index: int) -> Acceptance:
    line = raw.get("__line__", "?") if isinstance(raw, dict) else "?"
    where = f"{path}:{line}: entry {index}"
    if not isinstance(raw, dict):
        raise AcceptListError(f"{where}: an entry is a mapping of element, detector and reason")
    unknown = sorted(str(k) for k in raw if k != "__line__" and k not in _KEYS)
    if unknown:
        raise AcceptListError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_KEYS))}")
    for key in ("element", "detector", "reason"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise AcceptListError(f"{where}: {key!r} is required (a reviewed finding needs a reason)")
    return Acceptance(raw["element"].strip(), raw["detector"].strip(), raw["reason"].strip(),
                      str(raw.get("scanner", "*")).strip())
