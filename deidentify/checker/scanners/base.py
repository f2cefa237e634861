"""The interface every scanner implements, and what it is given per file.

A scanner looks at one file at a time (:meth:`Scanner.scan`) and may keep
state across files for checks that need the whole folder, reported by
:meth:`Scanner.finish` (references that point at no instance).  Scanners are
independent: adding one (OCR of the pixels, say) is a new module and one line
in :func:`deidentify.checker.scanners.build_scanners`.

Findings are returned with an empty ``file``: the runner names the file once
it knows whether the path itself may be shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

from pydicom.dataset import Dataset

from ...plan import RuleBook
from ..elements import Element, iter_elements, path_element
from ..findings import Finding


@dataclass
class FileContext:
    """One file to check: its bytes, the parsed dataset and every element as text.

    ``dataset`` is None for a file that is not DICOM: only its path is scanned.
    ``relpath`` is the path below the checked folder ("" when checking bytes);
    ``location`` the file on disk when there is one (tools such as dciodvfy
    read it there instead of from a copy); ``thumbnails`` asks pixel scanners
    for thumbnails of their findings (only the HTML report shows them).
    """

    relpath: str
    data: bytes
    dataset: Dataset | None
    rules: RuleBook
    location: Path | None = None
    thumbnails: bool = False

    @cached_property
    def elements(self) -> list[Element]:
        """The path (when there is one), then every element of the dataset."""
        found = [path_element(self.relpath)] if self.relpath else []
        return found + (list(iter_elements(self.dataset)) if self.dataset is not None else [])


class Scanner(Protocol):
    """Finds what may identify someone, or what makes the file invalid, in one file."""

    name: str

    def scan(self, file: FileContext) -> Iterable[Finding]:
        """The findings of one file."""
        ...

    def finish(self) -> Iterable[Finding]:
        """Findings that need every file of the folder (after the last :meth:`scan`)."""
        ...


def finding(scanner: str, element: Element | str, detector: str, severity: str, value_class: str,
            length: int, message: str = "", **where: object) -> Finding:
    """A finding of the current file (``file`` is filled in by the runner)."""
    path = element.path if isinstance(element, Element) else element
    return Finding("", path, scanner, detector, severity, value_class, length, message, **where)  # type: ignore[arg-type]
