"""What an importer produces: rules in the profile format, and a report line for every source line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from ...errors import DeidentifyError


class ImportFailed(DeidentifyError, ValueError):
    """A file that cannot be read as the format it was said to be (exit status 2)."""


class Status(str, Enum):
    """What became of one source line."""

    TRANSLATED = "translated"
    APPROXIMATED = "translated, differs"  # translated; the detail says how the result differs
    NOT_TRANSLATED = "not translated"
    DISABLED = "disabled"  # switched off in the source (CTP en="F"): nothing to translate
    NO_EFFECT = "no effect"  # does nothing by itself (a parameter no translated rule needs)

    @property
    def failed(self) -> bool:
        return self is Status.NOT_TRANSLATED


@dataclass
class LineReport:
    """One source line and what became of it; ``detail`` never holds a value read from a table."""

    line: int
    text: str
    status: Status
    detail: str = ""


@dataclass
class RuleSpec:
    """One rule as the profile will hold it, with where it came from.

    ``rank`` orders rules of one source by its precedence (higher wins, so it is
    written later); ``line`` breaks ties in file order.
    """

    select: str
    action: str
    args: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    rank: int = 0
    line: int = 0

    def as_yaml(self) -> dict[str, Any]:
        """The rule as the profile's YAML mapping (``select``, ``action``, arguments, ``note``)."""
        return {"select": self.select, "action": self.action, **self.args, **({"note": self.note} if self.note else {})}


#: How the stamp decides PatientIdentityRemoved (said where a source sets it).
STAMP_SAYS = " (YES; NO, truthfully, where the profile keeps what the Basic Profile removes)"

#: What an element should get when no source line names it: the base profile's treatment.
BASE = "base"

#: For a dictionary element (tag, keyword, name, VR): the rule the source means for it, or BASE.
Intent = Callable[[int, str, str, str], "RuleSpec | str"]


@dataclass
class ImportResult:
    """Everything an importer read from one source file."""

    source: str  # "deid" or "ctp"
    path: str
    base: str
    lines: list[LineReport] = field(default_factory=list)
    rules: list[RuleSpec] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    lookup: dict[str, str] | None = None  # {file, key}
    lookup_rows: tuple[list[str], list[list[str]]] | None = None  # a table to write (header, rows)
    filters: list[dict[str, Any]] = field(default_factory=list)
    pixel_sources: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # other files to write beside the profile
    notes: list[str] = field(default_factory=list)  # said in the report and at the top of the profile

    def report(self, line: int, text: str, status: Status, detail: str = "") -> None:
        self.lines.append(LineReport(line, text.strip(), status, detail))

    @property
    def failed(self) -> list[LineReport]:
        return [r for r in self.lines if r.status.failed]


@dataclass(frozen=True)
class ImportOptions:
    """How to import: the base profile, the output (companion files go beside it), and a
    lookup table the source's lookups read (deid: a CSV with a header row; CTP: its
    ``keyType/key=value`` properties file)."""

    output: Path
    base: str = "basic"
    lookup: Path | None = None
    lookup_key: str = "PatientID"


def read_text(path: Path, what: str = "") -> str:
    """The UTF-8 text of a file an import reads; ``ImportFailed`` saying why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailed(f"{path}: cannot read{what}: {getattr(exc, 'strerror', None) or exc}") from None
