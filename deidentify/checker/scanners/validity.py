"""DICOM validity, by dciodvfy (Debian's dicom3tools).

Each ``Error`` line dciodvfy prints is a finding.  Its messages quote values
(``<KOEHLER^...>``), so every ``<...>`` is cut out before a message is kept or
compared.  Against a source, only errors the source did not already have
count: de-identification must not break a file, but cannot be blamed for what
was broken before.  With one source file (``verify_output``) that is the
source's own error list; with a source folder, where outputs cannot be
matched to their inputs without the key, it is the errors of any source file
of the same SOP class.

dciodvfy cannot read deflated files, so those are re-encoded in explicit VR
little endian in a temporary file first.  dciodvfy runs as a child process
while the other scanners read the next files: :meth:`ValidityScanner.scan`
starts it, :meth:`ValidityScanner.finish` collects, and at most
:data:`_IN_FLIGHT` run at once.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from io import BytesIO
from pathlib import Path

from pydicom import dcmread
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian

from ..findings import FILE_ELEMENT, Finding
from ..source_index import SourceIndex
from .base import FileContext, finding

TOOL = "dciodvfy"
# dciodvfy quotes values in <...>; after "Element=", "Module=" and "attribute " it quotes
# the dictionary's names, which say what is wrong and are kept.
_QUOTED = re.compile(r"(?<!Element=)(?<!Module=)(?<!attribute )<[^<>]*>")
_ELEMENT_NAME = re.compile(r"Element=<(\w+)>")
_TAG = re.compile(r"\(0x([0-9a-fA-F]{4}),0x([0-9a-fA-F]{4})\)")
_TIMEOUT_SECONDS = 60
_IN_FLIGHT = 8


def available() -> bool:
    """True when dciodvfy is on the PATH."""
    return shutil.which(TOOL) is not None


def normalise(line: str) -> str:
    """An error line without the values it quotes (the names of elements and modules stay)."""
    return " ".join(_QUOTED.sub("<…>", line).split())


def _is_deflated(data: bytes) -> bool:
    # The transfer syntax UID sits in the file meta, within the first few hundred bytes;
    # looking for it there spares parsing a source file only to learn its encoding.
    return DeflatedExplicitVRLittleEndian.encode() in data[:1024]


@dataclass
class Job:
    """One dciodvfy run under way; :meth:`errors` waits for it."""

    process: subprocess.Popen[bytes]
    folder: tempfile.TemporaryDirectory[str] | None = None
    _errors: set[str] | None = field(default=None, init=False)

    def errors(self) -> set[str]:
        """dciodvfy's normalised ``Error`` lines (raises ``SubprocessError`` on a time-out)."""
        if self._errors is None:
            try:
                output, _ = self.process.communicate(timeout=_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.communicate()
                raise
            finally:
                if self.folder is not None:
                    self.folder.cleanup()
            lines = output.decode("latin-1").splitlines()
            self._errors = {normalise(line) for line in lines if line.startswith("Error")}
        return self._errors


def start(data: bytes, location: Path | None = None) -> Job:
    """Start dciodvfy on one file: its path when it has one, else (or when deflated) a temporary copy."""
    folder = None
    if location is None or _is_deflated(data):
        folder = tempfile.TemporaryDirectory(prefix="deidentify-check-")
        location = Path(folder.name, "file.dcm")
        if _is_deflated(data):
            ds = dcmread(BytesIO(data), force=True)
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.save_as(location, enforce_file_format=True)
        else:
            location.write_bytes(data)
    try:
        process = subprocess.Popen([TOOL, str(location)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError:
        if folder is not None:
            folder.cleanup()
        raise
    return Job(process, folder)


def errors_of(data: bytes, location: Path | None = None) -> set[str]:
    """dciodvfy's normalised error lines for one file."""
    return start(data, location).errors()


def _element_of(message: str) -> str:
    match = _TAG.search(message)
    if match:
        return f"({match.group(1).upper()},{match.group(2).upper()})"
    named = _ELEMENT_NAME.search(message)
    return named.group(1) if named else FILE_ELEMENT


class ValidityScanner:
    """Errors dciodvfy reports, less those the source already had."""

    name = "validity"

    def __init__(self, source: SourceIndex | None = None) -> None:
        self.source = source
        self._pending: list[tuple[str, str, Job | OSError]] = []
        self._running: deque[Job] = deque()
        self._baseline: dict[str, list[Job | OSError]] = {}

    def _start(self, data: bytes, location: Path | None) -> Job | OSError:
        while len(self._running) >= _IN_FLIGHT:
            job = self._running.popleft()
            with contextlib.suppress(subprocess.SubprocessError):
                job.errors()  # an error is reported when its file's findings are collected
        try:
            job = start(data, location)
        except OSError as exc:
            return exc
        self._running.append(job)
        return job

    def scan(self, file: FileContext) -> Iterable[Finding]:
        if file.dataset is None:
            return ()
        sop_class = str(file.dataset.get("SOPClassUID", ""))
        self._pending.append((file.relpath, sop_class, self._start(file.data, file.location)))
        if self.source is not None and sop_class not in self._baseline:
            self._baseline[sop_class] = [
                self._start(origin.read_bytes(), origin) if isinstance(origin, Path) else self._start(origin, None)
                for origin in self.source.files_by_class.get(sop_class, ())
            ]
        return ()

    def finish(self) -> Iterator[Finding]:
        """The findings of every file scanned (each with its relative path as ``file``)."""
        for relpath, sop_class, job in self._pending:
            try:
                if isinstance(job, OSError):
                    raise job
                errors = job.errors()
            except (OSError, subprocess.SubprocessError) as exc:
                found = finding(self.name, FILE_ELEMENT, "dciodvfy-failed", "error", "file", 0,
                                f"dciodvfy could not check the file ({type(exc).__name__})")
                yield replace(found, file=relpath)
                continue
            for message in sorted(errors - self._source_errors(sop_class)):
                found = finding(self.name, _element_of(message), "dciodvfy", "low", "validity", 0, message)
                yield replace(found, file=relpath)
        self._pending.clear()

    def _source_errors(self, sop_class: str) -> set[str]:
        found: set[str] = set()
        for job in self._baseline.get(sop_class, ()):
            try:
                if not isinstance(job, OSError):
                    found |= job.errors()
            except subprocess.SubprocessError:
                continue  # a source file dciodvfy cannot read excuses nothing
        return found
