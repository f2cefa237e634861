"""`deidentify run`: a folder of studies in, a folder that can be shared out.

DST receives de-identified DICOM and nothing else; the state folder (DST with
``.state`` appended, unless given) holds the rest (see :mod:`deidentify.state`).

Workers read and de-identify files; this process writes every output, in the
order of the walk, so which of two inputs claiming one SOP Instance UID wins
does not depend on timing, and a resumed run ends byte-identical to an
uninterrupted one.  At most a few files per worker are in flight, so memory
stays flat however large the source is.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import sys
import time
import warnings
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from .keys import Keyring
from .outcome import Outcome
from .pipeline import deidentify_bytes
from .pixels.stage import tools_for
from .plan import RuleBook
from .profile import Profile
from .progress import Progress
from .report import ReportWriter, Tally, row, summary
from .sinks import FolderSink, Sink, SinkConflict, Staged
from .source import digest_of
from .state import Linkage, Seen, StateFolder, StateLocked

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("deidentify")


class RunError(ValueError):
    """Arguments that make a run impossible; nothing has been written."""


@dataclass
class RunResult:
    tally: Tally
    summary: str
    state: Path

    @property
    def report(self) -> "pd.DataFrame":
        """The report the run wrote, read back (pandas loads only when asked for)."""
        from .report_html import read_report

        return read_report(self.state)

    @property
    def exit_code(self) -> int:
        """0 when every input was written, 1 when some were withheld."""
        return 0 if self.tally.all_written else 1


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


# --- the per-file work, in a worker or in this process ---------------------------------------

_worker: dict[str, Any] = {}


def _init_worker(profile: Profile, key: bytes, state: Path, dst: Path, linkage: bool, verify: bool = False,
                 preview_dir: Path | None = None) -> None:
    _quiet_pydicom()
    _reuse_large_buffers()
    _worker.update(rules=RuleBook(profile), keyring=Keyring(key), state=StateFolder(state), sink=FolderSink(dst),
                   linkage=linkage, verify=verify, preview_dir=preview_dir)


def _reuse_large_buffers() -> None:
    """Have glibc's malloc serve buffers up to 4 MiB from its heap instead of fresh mappings.

    Each input and output of a CT-sized file is half a megabyte; by default every one
    is a new mapping whose pages fault in one by one, which cost more than hashing
    the file.  Reused heap memory is already mapped.  Elsewhere (musl, macOS) nothing
    changes.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return
    mallopt(_M_MMAP_THRESHOLD, 4 << 20)
    mallopt(_M_TRIM_THRESHOLD, 16 << 20)  # keep that much free heap rather than unmap and fault it in again


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def _quiet_pydicom() -> None:
    # pydicom's warnings quote values of the file (PHI); our reasons say what matters.
    logging.getLogger("pydicom").disabled = True
    warnings.simplefilter("ignore")


@dataclass
class _Done:
    path_id: str
    size: int
    mtime_ns: int
    outcome: Outcome
    seconds: float
    quarantined: str = ""
    staged: Staged | None = None


def path_id_of(path: Path, keyring: Keyring) -> str:
    """Keyed id of an input's path: stable across runs, says nothing about the name."""
    return keyring.file_id(digest_of(os.fsencode(path)))


def _work(task: tuple[Path, str]) -> _Done:
    path, path_id = task
    began = time.perf_counter()
    try:
        data, size, mtime_ns = _read(path)
    except OSError as exc:
        outcome = Outcome(path_id, "error", f"cannot read the file ({type(exc).__name__})")
        return _Done(path_id, -1, -1, outcome, 0.0)
    outcome = deidentify_bytes(data, _worker["rules"], _worker["keyring"], _worker["linkage"])
    if _worker["verify"] and outcome.status == "written":
        _verify(outcome, data, _worker["rules"])
    if _worker["preview_dir"] is not None and outcome.status == "written":
        _preview(outcome, data, _worker["preview_dir"])
    staged = None
    if outcome.status == "written":
        assert outcome.name is not None and outcome.data is not None
        # The output goes to its folder here; only its name travels back to be committed in order.
        staged = _worker["sink"].stage(outcome.name, outcome.data)
        outcome.data = None
    done = _Done(path_id, size, mtime_ns, outcome, 0.0, staged=staged)
    if outcome.status != "written":
        done.quarantined = _worker["state"].hold(outcome.file_id, outcome.status, outcome.reason, data)
    done.seconds = time.perf_counter() - began
    return done


def _read(path: Path) -> tuple[bytes, int, int]:
    """The file's bytes, size and mtime, from one open (the stat is of the file that was read)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        stat = os.fstat(fd)
        chunks = []
        while chunk := os.read(fd, max(stat.st_size + 1, 1 << 16)):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), stat.st_size, stat.st_mtime_ns


def _verify(outcome: Outcome, data: bytes, rules: RuleBook) -> None:
    """``--verify``: check the output against its input; any finding withholds it."""
    from .check import verify_output  # the checker's detectors load only when asked for

    assert outcome.data is not None
    findings = verify_output(outcome.data, data, rules)
    if findings:
        outcome.status = "withheld"
        outcome.reason = "verify: " + "; ".join(sorted({f"{f.element} {f.detector}" for f in findings}))
        outcome.data = None


def _preview(outcome: Outcome, data: bytes, folder: Path) -> None:
    """One picture per series whose pixels were cleaned, named by the series' new UID."""
    if getattr(outcome.pixels, "status", "") != "cleaned" or outcome.name is None:
        return
    target = folder / f"{outcome.name.patient}_{outcome.name.series}.png"
    if not target.exists():
        from .preview import write_preview

        write_preview(data, outcome, target)


# --- the run ----------------------------------------------------------------------------------


class Runner:
    """An open state folder and sink: feed it paths, then :meth:`finish` for the report.

    ``run`` feeds it one walk of SRC; the folder watcher feeds it files as they
    settle.  Holding a Runner holds the state folder's lock.
    """

    def __init__(self, dst: Path, profile: Profile, key: bytes, state: Path, *, workers: int = 1,
                 progress: str = "none", linkage: bool = False, verify: bool = False,
                 preview_dir: Path | None = None, total: int | None = None, remember: bool = False) -> None:
        self.folder = StateFolder(state)
        try:
            self.folder.lock()
        except StateLocked as exc:
            raise RunError(str(exc)) from None
        self.profile, self.key, self.workers, self.linkage, self.verify = profile, key, workers, linkage, verify
        self.preview_dir = preview_dir
        self.keyring = Keyring(key)
        self.sink = FolderSink(dst)
        self.sink.sweep()
        self.dst = dst
        self.seen = self.folder.load_manifest()
        self.crosswalk = Linkage(self.folder.path) if linkage else None
        self.meter = Progress(progress, total)
        # A walk feeds each path once; only the watcher, which may see a name again, needs
        # this session's finished inputs in memory.  Without it memory stays flat.
        self.remember = remember
        self.report = ReportWriter(self.folder.report_csv, self.folder.report_parquet)
        self.started = time.perf_counter()
        self._handler = logging.FileHandler(self.folder.log_path)
        self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(self._handler)
        log.setLevel(logging.INFO)
        self._pydicom_was_disabled = logging.getLogger("pydicom").disabled
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        _quiet_pydicom()
        log.info("run started: profile %s, %d worker(s)", profile.name, workers)

    def process(self, paths: Iterable[Path]) -> None:
        """De-identify ``paths`` (in order), skipping those finished before and unchanged since."""
        todo = _unfinished(iter(paths), self.seen, self.keyring, self.report, self.meter, self.sink)
        options = (self.dst, self.linkage, self.verify, self.preview_dir)
        for done in _process(todo, self.profile, self.key, self.folder.path, options, self.workers):
            self._finish(done)

    def report_unread(self, path: Path, size: int, mtime_ns: int, outcome: Outcome) -> None:
        """Report ``outcome`` for ``path`` without de-identifying it (the watcher's files not yet whole).

        As for any changed input, an earlier output of the path is removed; nothing is quarantined.
        """
        for _, path_id in _unfinished(iter([path]), self.seen, self.keyring, self.report, self.meter, self.sink):
            self._finish(_Done(path_id, size, mtime_ns, outcome, 0.0))

    def _finish(self, done: _Done) -> None:
        outcome = done.outcome
        output = done.quarantined
        if outcome.status == "written":
            output = _commit(self.sink, done, self.folder)
        if self.crosswalk is not None and outcome.status == "written":
            self.crosswalk.add("uid", outcome.uid_pairs)
            if outcome.patient_pair:
                self.crosswalk.add("patient", [outcome.patient_pair])
        entry = row(outcome, output, done.seconds)
        entry["bytes"] = max(done.size, 0)
        if outcome.status != "written":  # written files are in the report; the log says what went wrong
            log.warning("file %s %s: %s", outcome.file_id, outcome.status, outcome.reason)
        self.folder.record(done.path_id, done.size, done.mtime_ns, entry)
        if self.remember or done.path_id in self.seen:
            self.seen[done.path_id] = Seen(done.size, done.mtime_ns, entry)
        self.report.add(entry)
        self.meter.update(entry)

    def finish(self, before: Iterable[dict[str, Any]] = ()) -> RunResult:
        """Write the report of every path fed to this runner and release the state folder.

        Rows of ``before`` (inputs finished in earlier sessions) come first in the report.
        """
        try:
            self.meter.close()
            seconds = time.perf_counter() - self.started
            tally = self.report.close(before)
            text = summary(tally, seconds)
            log.info("run finished\n%s", text)
            return RunResult(tally, text, self.folder.path)
        finally:
            self.close()

    def close(self) -> None:
        self.report.discard()
        self.sink.close()
        self._warnings.__exit__(None, None, None)
        logging.getLogger("pydicom").disabled = self._pydicom_was_disabled
        log.removeHandler(self._handler)
        self._handler.close()
        self.folder.unlock()


def run(src: Path, dst: Path, profile: Profile, key: bytes, state: Path | None = None, *,
        workers: int = 1, progress: str = "none", linkage: bool = False, verify: bool = False,
        preview_dir: Path | None = None) -> RunResult:
    """De-identify every file under ``src`` into ``dst``.

    ``progress`` is ``bar`` (tqdm), ``log`` (a line every few seconds on stderr) or
    ``none``.  Inputs finished by an earlier run on the same state folder, and not
    changed since, are not redone.
    """
    state_path = state or default_state(dst)
    check_paths(src, dst, state_path)
    if preview_dir is not None and _inside(preview_dir.resolve(), dst.resolve()):
        raise RunError("the preview folder must not be inside DST: previews show the original images")
    total = sum(1 for _ in walk(src)) if progress != "none" else None
    runner = Runner(dst, profile, key, state_path, workers=workers, progress=progress, linkage=linkage,
                    verify=verify, preview_dir=preview_dir, total=total)
    try:
        runner.process(walk(src))
    except BaseException:
        runner.close()
        raise
    return runner.finish()


def _commit(sink: Sink, done: _Done, folder: StateFolder) -> str:
    assert done.staged is not None
    try:
        return sink.commit(done.staged)
    except SinkConflict as exc:
        outcome = done.outcome
        outcome.status, outcome.reason = "withheld", str(exc)
        # The input is not at hand here; the reason file says why, the report which file.
        return folder.hold(outcome.file_id, outcome.status, outcome.reason, None)


def _unfinished(paths: Iterator[Path], seen: dict[str, Any], keyring: Keyring, report: ReportWriter,
                meter: Progress, sink: Sink) -> Iterator[tuple[Path, str]]:
    """Paths not finished by an earlier run; finished ones go straight into the report."""
    for path in paths:
        path_id = path_id_of(path, keyring)
        entry = seen.get(path_id)
        if entry is not None:
            try:
                stat = path.stat()
            except OSError:
                stat = None
            if stat is not None and (stat.st_size, stat.st_mtime_ns) == (entry.size, entry.mtime_ns):
                report.add(entry.row)
                meter.update(entry.row)
                continue
            # Changed since: its earlier output must not linger beside the new one.
            if entry.row.get("status") == "written" and isinstance(sink, FolderSink):
                sink.discard(str(entry.row.get("output", "")))
        yield path, path_id


def _process(tasks: Iterator[tuple[Path, str]], profile: Profile, key: bytes, state: Path,
             options: tuple[Path, bool, bool, Path | None], workers: int) -> Iterator[_Done]:
    """Results in the order of ``paths``, from ``workers`` processes (or this one)."""
    _reuse_large_buffers()  # forked workers inherit it; spawned ones set it in _init_worker
    if workers <= 1:
        _init_worker(profile, key, state, *options)
        yield from map(_work, tasks)
        return
    window = workers * 3  # chunks in flight: enough to keep every worker busy, few enough to stay flat
    if sys.platform.startswith("linux"):
        # Forked workers inherit the imports and the compiled profile: a spawned one spends a
        # third of a second re-importing before its first file.  (This process runs no threads
        # here: the progress bar's monitor is off, see Progress.)
        _init_worker(profile, key, state, *options)
        tools_for(profile)
        pool = multiprocessing.get_context("fork").Pool(workers, initializer=_quiet_pydicom)
    else:  # macOS and Windows: system libraries are not safe to fork
        pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_init_worker,
                                                          initargs=(profile, key, state, *options))
    with pool:
        pending: deque[Any] = deque()
        for chunk in _chunks(tasks, _CHUNK):
            pending.append(pool.apply_async(_work_many, (chunk,)))
            if len(pending) >= window:
                yield from pending.popleft().get()
        while pending:
            yield from pending.popleft().get()


# Files per task sent to a worker: one task per file costs more in messages than a small file's work.
_CHUNK = 16


def _work_many(tasks: list[tuple[Path, str]]) -> list[_Done]:
    return [_work(task) for task in tasks]


def _chunks(tasks: Iterator[tuple[Path, str]], size: int) -> Iterator[list[tuple[Path, str]]]:
    chunk: list[tuple[Path, str]] = []
    for task in tasks:
        chunk.append(task)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def progress_mode(quiet: bool, stream: Any = sys.stderr) -> str:
    if quiet:
        return "none"
    return "bar" if stream.isatty() else "log"

