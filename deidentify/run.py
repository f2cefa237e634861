"""`deidentify run`: a folder of studies in, a folder that can be shared out.

DST receives de-identified DICOM and nothing else.  The state folder (DST with
``.state`` appended, unless given) holds the quarantine of withheld inputs with
their reasons, the per-file report and the run's log.  The quarantine holds
copies of inputs, so the state folder stays where the originals live.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pandas as pd

from .keys import Keyring
from .pipeline import Outcome, deidentify_bytes
from .plan import RuleBook
from .profile import Profile
from .report import row, summary, write_report
from .sinks import FolderSink, Sink, SinkConflict
from .source import digest_of

log = logging.getLogger("deidentify")


class RunError(ValueError):
    """Arguments that make a run impossible; nothing has been written."""


@dataclass
class RunResult:
    report: pd.DataFrame
    summary: str
    state: Path

    @property
    def exit_code(self) -> int:
        """0 when every input was written, 1 when some were withheld."""
        return 0 if (self.report["status"] == "written").all() else 1


def default_state(dst: Path) -> Path:
    return dst.with_name(dst.name + ".state")


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_paths(src: Path, dst: Path, state: Path) -> None:
    """Refuse layouts where a run would read its own output or write into its input."""
    if not src.exists():
        raise RunError("the source does not exist")
    src, dst, state = src.resolve(), dst.resolve(), state.resolve()
    if _inside(dst, src) or _inside(src, dst):
        raise RunError("DST must not be inside SRC, nor SRC inside DST")
    if _inside(state, src) or _inside(state, dst) or _inside(dst, state):
        raise RunError("the state folder must be outside SRC and DST")
    if dst.exists() and not dst.is_dir():
        raise RunError("DST exists and is not a folder")


def walk(src: Path) -> Iterator[Path]:
    """Every file under ``src`` in a stable order (a single file is its own walk)."""
    if src.is_file():
        yield src
        return
    for folder, dirs, files in os.walk(src):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder, name)
            if path.is_file():
                yield path


class Quarantine:
    """Withheld inputs, as copies named by file id, each beside a reason file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    def hold(self, outcome: Outcome, data: bytes) -> str:
        copy = self.folder / f"{outcome.file_id}.bin"
        if not copy.exists():
            temp = copy.with_suffix(".partial")
            temp.write_bytes(data)
            os.chmod(temp, 0o600)
            os.replace(temp, copy)
        (self.folder / f"{outcome.file_id}.reason.txt").write_text(f"{outcome.status}: {outcome.reason}\n")
        return f"quarantine/{copy.name}"


def run(src: Path, dst: Path, profile: Profile, key: bytes, state: Path | None = None,
        progress: bool = False) -> RunResult:
    """De-identify every file under ``src`` into ``dst``."""
    state = state or default_state(dst)
    check_paths(src, dst, state)
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    handler = logging.FileHandler(state / "run.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    pydicom_log = logging.getLogger("pydicom")
    was_disabled = pydicom_log.disabled
    try:
        # pydicom's warnings quote values of the file (PHI); our reasons say what matters.
        pydicom_log.disabled = True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _run(src, FolderSink(dst), Quarantine(state / "quarantine"), RuleBook(profile),
                        Keyring(key), state, progress)
    finally:
        pydicom_log.disabled = was_disabled
        log.removeHandler(handler)
        handler.close()


def _run(src: Path, sink: Sink, quarantine: Quarantine, rules: RuleBook, keyring: Keyring,
         state: Path, progress: bool) -> RunResult:
    log.info("run started: profile %s", rules.profile.name)
    rows = []
    started = time.perf_counter()
    total_bytes = 0
    files = walk(src)
    if progress:
        from tqdm import tqdm

        files = tqdm(files, unit="file", desc="deidentify")
    for path in files:
        began = time.perf_counter()
        try:
            data = path.read_bytes()
        except OSError as exc:
            # Keyed id of the path: stable across runs, and says nothing about the name.
            file_id = keyring.file_id(digest_of(os.fsencode(path)))
            outcome = Outcome(file_id, "error", f"cannot read the file ({type(exc).__name__})")
            rows.append(row(outcome, "", 0.0))
            log.error("file %s cannot be read (%s)", file_id, type(exc).__name__)
            continue
        total_bytes += len(data)
        outcome = deidentify_bytes(data, rules, keyring)
        output = ""
        if outcome.status == "written":
            assert outcome.data is not None and outcome.name is not None
            try:
                output = sink.write(outcome.name, outcome.data)
            except SinkConflict as exc:
                outcome.status, outcome.reason = "withheld", str(exc)
        if outcome.status != "written":
            output = quarantine.hold(outcome, data)
            log.warning("file %s %s: %s", outcome.file_id, outcome.status, outcome.reason)
        else:
            log.info("file %s written: %s", outcome.file_id, output)
        rows.append(row(outcome, output, time.perf_counter() - began))
    seconds = time.perf_counter() - started
    frame = write_report(rows, state / "report.csv")
    text = summary(frame, seconds, total_bytes / 1e6)
    log.info("run finished\n%s", text)
    sink.close()
    return RunResult(frame, text, state)
