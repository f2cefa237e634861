"""Running the scanners over a folder, or over one output against its source.

pydicom's warnings quote the values they complain about, so they are silenced
for the whole check: nothing a check prints or writes may hold a value.  A
file's path is shown only when no scanner found anything in it; otherwise the
file is named by its place in the (sorted) walk, ``file #12 (path withheld)``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..outcome import Status
from ..plan import RuleBook
from ..profile import Profile
from ..source import SourceError, WalkProblem, parse_source, quiet_pydicom, walk
from .accept import AcceptList
from .findings import FILE_ELEMENT, PATH_ELEMENT, Finding, Severity, exit_status, sort_findings
from .scanners import FileContext, Scanner, build_scanners
from .source_index import SourceIndex


@dataclass
class CheckReport:
    """What a check found, how much it looked at and what it could not look at."""

    findings: list[Finding]
    files: int
    seconds: float
    profile: str
    notes: list[str] = field(default_factory=list)

    fail_on: str = Severity.MEDIUM
    """The least serious severity that fails the check."""
    fail_on_validity: bool = False
    """Whether validity notes (dciodvfy's) fail the check too."""

    @property
    def exit_code(self) -> int:
        """0 clean (or only findings below ``fail_on``, or accepted), 1 findings, 2 a file could not be checked."""
        return exit_status(self.findings, self.fail_on, self.fail_on_validity)

    @property
    def files_per_second(self) -> float:
        return self.files / self.seconds if self.seconds > 0 else 0.0


def scan_file(context: FileContext, scanners: Sequence[Scanner]) -> list[Finding]:
    """Every scanner's findings for one file (``file`` left empty)."""
    return [f for scanner in scanners for f in scanner.scan(context)]


def _context(path: Path, relpath: str, rules: RuleBook,
             thumbnails: bool) -> tuple[FileContext | None, Finding | None]:
    """The file to scan (None when it cannot be read) and a finding when it is not a readable instance."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, Finding("", FILE_ELEMENT, "runner", "unreadable", "error", "file", 0,
                             f"the file cannot be read ({type(exc).__name__})")
    try:
        dataset = parse_source(data).dataset
        problem = None
    except SourceError as exc:
        dataset = None
        severity = "medium" if exc.status == Status.NOT_DICOM else "error"
        problem = Finding("", FILE_ELEMENT, "runner", exc.status.replace(" ", "-").lower(), severity, "file",
                          len(data), f"{exc.status}: {exc.reason}")
    return FileContext(relpath, data, dataset, rules, location=path, thumbnails=thumbnails), problem


def check_folder(folder: Path, profile: Profile, against: Path | None = None,
                 skip: Iterable[str] = (), thumbnails: bool = False, progress: bool = False,
                 accept: AcceptList | None = None, fail_on: str = Severity.MEDIUM,
                 fail_on_validity: bool = False) -> CheckReport:
    """Check every file under ``folder`` (a single file is checked on its own).

    ``accept``: findings a site has reviewed, shown as accepted and failing
    nothing; ``fail_on`` and ``fail_on_validity`` set what makes the exit status 1.
    """
    started = time.perf_counter()
    with quiet_pydicom():
        source = SourceIndex.from_folder(against) if against is not None else None
        scanners, notes = build_scanners(source, frozenset(skip))
        rules = RuleBook(profile)
        root = folder if folder.is_dir() else folder.parent
        files: Iterable[Path | WalkProblem] = walk(folder)
        if progress:
            from tqdm import tqdm

            files = tqdm(list(files), unit="file", desc="check")
        findings: list[Finding] = []
        names: dict[str, str] = {}
        count = 0
        context: FileContext | None
        problem: Finding | None
        for count, item in enumerate(files, 1):
            path = item.path if isinstance(item, WalkProblem) else item
            relpath = os.path.relpath(path, root)
            if isinstance(item, WalkProblem):
                context, problem = None, Finding("", FILE_ELEMENT, "runner", "unreadable", "error", "file", 0,
                                                 item.reason)
            else:
                context, problem = _context(path, relpath, rules, thumbnails)
            found = ([problem] if problem else []) + (scan_file(context, scanners) if context else [])
            withheld = any(f.element == PATH_ELEMENT for f in found)
            names[relpath] = f"file #{count} (path withheld)" if withheld else relpath
            findings += [replace(f, file=names[relpath]) for f in found]
        for scanner in scanners:
            findings += [replace(f, file=names.get(f.file, f.file)) for f in scanner.finish()]
    if accept is not None:
        findings = accept.apply(findings)
    return CheckReport(sort_findings(findings), count, time.perf_counter() - started, profile.name, notes,
                       fail_on, fail_on_validity)


def verify_output(output_bytes: bytes, source_bytes: bytes, profile: Profile | RuleBook,
                  skip: Iterable[str] = (), accept: AcceptList | None = None) -> list[Finding]:
    """The findings of one de-identified output checked against its input.

    For ``run --verify``: an output with any finding is to be withheld, the
    findings (which quote no value) being the reason; findings ``accept`` accepts
    are left out.  References across
    files are not checked (there is no folder yet); everything else is.
    ``profile`` may be the run's compiled :class:`RuleBook`, which spares
    compiling the profile again for every file.
    """
    rules = profile if isinstance(profile, RuleBook) else RuleBook(profile)
    with quiet_pydicom():
        source = SourceIndex.from_bytes(source_bytes)
        scanners, _ = build_scanners(source, frozenset(skip), references=False)
        try:
            dataset = parse_source(output_bytes).dataset
        except SourceError as exc:
            return [Finding("output", FILE_ELEMENT, "runner", "not-readable", "error", "file", len(output_bytes),
                            f"{exc.status}: {exc.reason}")]
        context = FileContext("", output_bytes, dataset, rules)
        found = scan_file(context, scanners) + [f for scanner in scanners for f in scanner.finish()]
        if accept is not None:
            found = [f for f in accept.apply(found) if not f.accepted]
        return sort_findings(replace(f, file="output") for f in found)
