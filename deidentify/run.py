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
import os
import signal
import stat
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from .batch.pool import WorkerPool, WorkerSetup, memory_limit_per_worker
from .batch.walk import WalkProblem, walk
from .keys import Keyring
from .limits import Limits, over, size_text
from .outcome import Outcome
from .pipeline import deidentify_bytes
from .pixels.stage import tools_for
from .plan import RuleBook
from .profile import Profile
from .profile.fingerprint import fingerprint
from .progress import Progress
from .report import ReportWriter, Tally, row, summary
from .sinks import FolderSink, Sink, SinkConflict, SinkLocked, Staged
from .source import digest_of
from .state import Linkage, RunIdentity, Seen, StateFolder, StateLocked

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("deidentify")


class RunError(ValueError):
    """Arguments that make a run impossible; nothing has been written."""


class RunStopped(Exception):
    """The run stopped before its end: a signal asked it to, or its storage failed."""

    def __init__(self, reason: str, signum: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.signum = signum


# A file that takes longer has its worker stopped and is an error row.
DEFAULT_MAX_SECONDS = 900.0


@dataclass
class RunResult:
    tally: Tally
    summary: str
    state: Path
    stopped: RunStopped | None = None

    @property
    def report(self) -> "pd.DataFrame":
        """The report the run wrote, read back (pandas loads only when asked for)."""
        from .report_html import read_report

        return read_report(self.state)

    @property
    def exit_code(self) -> int:
        """0 every input written, 1 some withheld; 128 + N stopped by signal N; 2 storage failed."""
        if self.stopped is not None:
            return 128 + self.stopped.signum if self.stopped.signum else 2
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


# --- the per-file work, in a worker or in this process ---------------------------------------

_worker: dict[str, Any] = {}


def _init_worker(profile: Profile, key: bytes, state: Path, dst: Path, linkage: bool, verify: bool = False,
                 preview_dir: Path | None = None, limits: Limits = Limits()) -> None:
    _quiet_pydicom()
    _reuse_large_buffers()
    tools_for(profile)  # compiled before forking, so every worker starts with the pixel rules
    _worker.update(rules=RuleBook(profile), keyring=Keyring(key), state=StateFolder(state), sink=FolderSink(dst),
                   linkage=linkage, verify=verify, preview_dir=preview_dir, limits=limits)


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
    path: Path | None = None
    """Set when the input's copy is still to be quarantined (its worker could not)."""
    fatal: str = ""
    """Set when the output or state storage failed: the run must stop, not go on file by file."""


def path_id_of(path: Path, keyring: Keyring) -> str:
    """Keyed id of an input's path: stable across runs, says nothing about the name."""
    return keyring.file_id(digest_of(os.fsencode(path)))


def _work(task: tuple[Path, str]) -> _Done:
    """One input, start to end; whatever happens becomes the input's outcome, never an exception."""
    path, path_id = task
    began = time.perf_counter()
    data = b""
    try:
        data, size, mtime_ns = _read(path, _worker["limits"].max_file_bytes)
        outcome = _deidentify(data)
    except _Unreadable as exc:
        return _Done(path_id, -1, -1, Outcome(path_id, "error", exc.reason), 0.0)
    except OSError as exc:
        reason = f"cannot read the file ({type(exc).__name__}{': ' + os.strerror(exc.errno) if exc.errno else ''})"
        return _Done(path_id, -1, -1, Outcome(path_id, "error", reason), 0.0)
    except MemoryError:
        data = b""  # let go of what can be, then say why; the copy is made from the path
        reason = "over the limit: needs more memory than a worker may use"
        return _Done(path_id, -1, -1, Outcome(path_id, "error", reason), 0.0, path=path)
    except Exception as exc:  # fail closed; the message may quote values, so name only the type
        outcome = Outcome(_keyring().file_id(digest_of(data)), "error", f"cannot be de-identified ({type(exc).__name__})")
    done = _Done(path_id, size, mtime_ns, outcome, 0.0)
    try:
        if outcome.status == "written":
            assert outcome.name is not None and outcome.data is not None
            # The output goes to its folder here; only its name travels back to be committed in order.
            done.staged = _worker["sink"].stage(outcome.name, outcome.data, path_id)
            outcome.data = None
        else:
            done.quarantined = _worker["state"].hold(outcome.file_id, outcome.status, outcome.reason, data)
    except OSError as exc:
        done.fatal = _storage_reason(exc)
    done.seconds = time.perf_counter() - began
    return done


def _deidentify(data: bytes) -> Outcome:
    outcome = deidentify_bytes(data, _worker["rules"], _worker["keyring"], _worker["linkage"], _worker["limits"])
    if _worker["verify"] and outcome.status == "written":
        _verify(outcome, data, _worker["rules"])
    if _worker["preview_dir"] is not None and outcome.status == "written":
        _preview(outcome, data, _worker["preview_dir"])
    return outcome


def _keyring() -> Keyring:
    keyring: Keyring = _worker["keyring"]
    return keyring


def _failed(task: tuple[Path, str], reason: str) -> _Done:
    """The outcome of an input whose worker died (or was stopped) while it held it."""
    path, path_id = task
    return _Done(path_id, -1, -1, Outcome(path_id, "error", reason), 0.0, path=path)


class _Unreadable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _read(path: Path, max_bytes: int) -> tuple[bytes, int, int]:
    """The file's bytes, size and mtime, from one open (the stat is of the file that was read).

    Opened without blocking and checked to be a regular file before a byte is read: a
    FIFO put in a file's place must not hang a worker, and a file larger than
    ``max_bytes`` is refused before any memory is taken for it.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Unreadable("not a regular file (a FIFO, socket or device is never read)")
        if info.st_size > max_bytes:
            raise _Unreadable(over(f"a file larger than {size_text(max_bytes)}"))
        chunks = []
        while chunk := os.read(fd, max(info.st_size + 1, 1 << 16)):
            chunks.append(chunk)
            if sum(map(len, chunks)) > max_bytes:  # it grew while being read
                raise _Unreadable(over(f"a file larger than {size_text(max_bytes)}"))
    finally:
        os.close(fd)
    return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), info.st_size, info.st_mtime_ns


def _storage_reason(exc: OSError) -> str:
    return f"writing the output or state failed ({os.strerror(exc.errno) if exc.errno else type(exc).__name__})"


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
    settle.  Holding a Runner holds the state folder's lock and DST's.

    A state folder remembers the profile and key its outputs were made with; a run
    with another one is refused (:class:`RunError`) unless ``restart``, which first
    removes the earlier outputs from DST and forgets the earlier runs.  Inputs an
    earlier run withheld or failed are redone only with ``retry_withheld``; the
    summary says how many were not.
    """

    def __init__(self, dst: Path, profile: Profile, key: bytes, state: Path, *, workers: int = 1,
                 progress: str = "none", linkage: bool = False, verify: bool = False,
                 preview_dir: Path | None = None, total: int | None = None, remember: bool = False,
                 restart: bool = False, retry_withheld: bool = False,
                 limits: Limits = Limits(), memory_limit: int | None = None,
                 max_seconds: float = DEFAULT_MAX_SECONDS) -> None:
        self.folder = StateFolder(state)
        self.sink = FolderSink(dst)
        try:
            self.folder.lock()
            self.sink.lock()
        except (StateLocked, SinkLocked) as exc:
            self.folder.unlock()
            raise RunError(str(exc)) from None
        try:
            self._adopt(RunIdentity(profile.name, fingerprint(profile), Keyring(key).fingerprint()), restart)
        except BaseException:
            self.sink.close()
            self.folder.unlock()
            raise
        self.profile, self.key, self.workers, self.linkage, self.verify = profile, key, workers, linkage, verify
        self.preview_dir = preview_dir
        self.retry_withheld = retry_withheld
        self.not_retried = 0
        self.keyring = Keyring(key)
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
        self.stop_signal: int | None = None
        self._pool_options = (limits, memory_limit_per_worker(workers) if memory_limit is None
                              else memory_limit, max_seconds)
        self._pool: WorkerPool[tuple[Path, str], _Done] | None = None
        self._handler = _LogFile(self.folder.log_path)
        self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(self._handler)
        log.setLevel(logging.INFO)
        self._pydicom_was_disabled = logging.getLogger("pydicom").disabled
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        _quiet_pydicom()
        log.info("run started: profile %s, %d worker(s)", profile.name, workers)

    def _adopt(self, identity: RunIdentity, restart: bool) -> None:
        """Refuse to mix outputs of two profiles or keys in one DST; ``restart`` clears the earlier ones."""
        recorded = self.folder.identity()
        if recorded is not None and recorded != identity and not restart:
            raise RunError(
                f"the state folder {self.folder.path} holds a run made with "
                f"{' and '.join(identity.differences(recorded))}; re-running with this profile and key "
                "would mix outputs. Start over with 'deidentify run --restart' (it removes that run's outputs "
                "from DST first), or use another DST and state folder")
        if restart:
            for entry in self.folder.load_manifest().values():
                if entry.row.get("status") == "written":
                    self.sink.discard(str(entry.row.get("output", "")))
            self.folder.clear()
        self.folder.record_identity(identity)

    def request_stop(self, signum: int) -> None:
        """Stop after the file in hand (a signal handler calls this; :meth:`process` raises RunStopped)."""
        self.stop_signal = signum

    def process(self, paths: Iterable[Path | WalkProblem]) -> None:
        """De-identify ``paths`` (in order), skipping those finished before and unchanged since.

        Raises :class:`RunStopped` when :meth:`request_stop` was called or the output
        storage failed; what was finished until then is recorded.
        """
        todo = self._unfinished(iter(paths))
        for done in self._workers().map(todo):
            self._finish(done)
        if self.stop_signal is not None:
            raise RunStopped(f"stopped by {signal.Signals(self.stop_signal).name}", self.stop_signal)

    def _workers(self) -> WorkerPool[tuple[Path, str], _Done]:
        if self._pool is None:
            limits, memory_limit, max_seconds = self._pool_options
            setup = WorkerSetup(_init_worker, (self.profile, self.key, self.folder.path, self.dst, self.linkage,
                                               self.verify, self.preview_dir, limits), _work, _failed)
            locks = [fd for fd in (self.folder.lock_fd, self.sink.lock_fd) if fd is not None]
            _reuse_large_buffers()  # forked workers inherit it; spawned ones set it in _init_worker
            self._pool = WorkerPool(self.workers, setup, memory_limit=memory_limit, max_seconds=max_seconds,
                                    close_fds=locks, stop=lambda: self.stop_signal is not None)
        return self._pool

    def _unfinished(self, paths: Iterator[Path | WalkProblem]) -> Iterator[tuple[Path, str]]:
        """Paths not finished by an earlier run; finished ones and walk problems go straight into the report."""
        for path in paths:
            if isinstance(path, WalkProblem):
                self._problem(path)
                continue
            path_id = path_id_of(path, self.keyring)
            entry = self.seen.get(path_id)
            if entry is not None:
                try:
                    info = path.stat()
                except OSError:
                    info = None
                unchanged = info is not None and (info.st_size, info.st_mtime_ns) == (entry.size, entry.mtime_ns)
                failed = entry.row.get("status") != "written"
                if unchanged and not (failed and self.retry_withheld):
                    self.not_retried += failed
                    self.report.add(entry.row)
                    self.meter.update(entry.row)
                    continue
                # Changed since (or retried): its earlier output must not linger beside the new one.
                if not failed:
                    self.sink.discard(str(entry.row.get("output", "")))
            yield path, path_id

    def _problem(self, problem: WalkProblem) -> None:
        """A place the walk could not read: a report row (not in the manifest: the next walk looks again)."""
        path_id = path_id_of(problem.path, self.keyring)
        entry = row(Outcome(path_id, "error", problem.reason), "", 0.0)
        entry["bytes"] = 0
        log.warning("file %s error: %s", path_id, problem.reason)
        self.report.add(entry)
        self.meter.update(entry)

    def report_unread(self, path: Path, size: int, mtime_ns: int, outcome: Outcome) -> None:
        """Report ``outcome`` for ``path`` without de-identifying it (the watcher's files not yet whole).

        As for any changed input, an earlier output of the path is removed; nothing is quarantined.
        """
        for _, path_id in self._unfinished(iter([path])):
            self._finish(_Done(path_id, size, mtime_ns, outcome, 0.0))

    def _finish(self, done: _Done) -> None:
        if done.fatal:
            raise RunStopped(done.fatal)
        try:
            self._record(done)
        except OSError as exc:
            raise RunStopped(_storage_reason(exc)) from None

    def _record(self, done: _Done) -> None:
        outcome = done.outcome
        output = done.quarantined
        if outcome.status == "written":
            output = _commit(self.sink, done, self.folder)
        elif done.path is not None:  # its worker died: the copy is made here, from the path
            output = self.folder.hold(outcome.file_id, outcome.status, outcome.reason, done.path)
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

    def finish(self, before: Iterable[dict[str, Any]] = (), stopped: RunStopped | None = None) -> RunResult:
        """Write the report of every path fed to this runner and release the state folder.

        Rows of ``before`` (inputs finished in earlier sessions) come first in the report.
        ``stopped``: why the run ended early, said in the summary and the exit status.
        """
        try:
            self._stop_workers()
            self.meter.close()
            seconds = time.perf_counter() - self.started
            try:
                tally = self.report.close(before)
                text = summary(tally, seconds)
            except OSError as exc:
                tally, text = self.report.tally, f"the report could not be written ({_storage_reason(exc)})"
            if self.not_retried:
                text += (f"\n{self.not_retried} input(s) withheld or in error in an earlier run were not retried "
                         "(--retry-withheld redoes them)")
            if stopped is not None:
                text += f"\nthe run stopped early: {stopped.reason}; run it again to finish"
            log.info("run finished\n%s", text)
            return RunResult(tally, text, self.folder.path, stopped)
        finally:
            self.close()

    def _stop_workers(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def close(self) -> None:
        """Release everything; each step even when an earlier one failed (a full disk fails them all)."""
        self._stop_workers()
        for step in (self.report.discard, self.sink.sweep, self._handler.close):
            try:
                step()  # sweep: temporary files of inputs a stopped run dropped
            except OSError:
                pass
        self.sink.close()
        self._warnings.__exit__(None, None, None)
        logging.getLogger("pydicom").disabled = self._pydicom_was_disabled
        log.removeHandler(self._handler)
        self.folder.unlock()


class _LogFile(logging.FileHandler):
    """run.log; a line that cannot be written (full disk) is dropped without a traceback on stderr:
    the run itself stops on its next write to the same storage and says why."""

    def handleError(self, record: logging.LogRecord) -> None:
        pass


def run(src: Path, dst: Path, profile: Profile, key: bytes, state: Path | None = None, *,
        workers: int = 1, progress: str = "none", linkage: bool = False, verify: bool = False,
        preview_dir: Path | None = None, restart: bool = False, retry_withheld: bool = False,
        limits: Limits = Limits(), memory_limit: int | None = None,
        max_seconds: float = DEFAULT_MAX_SECONDS) -> RunResult:
    """De-identify every file under ``src`` into ``dst``.

    ``progress`` is ``bar`` (tqdm), ``log`` (a line every few seconds on stderr) or
    ``none``.  Inputs finished by an earlier run on the same state folder, and not
    changed since, are not redone.  SIGINT and SIGTERM (when called from the main
    thread) stop the run after the files in hand: the report is written and the
    result's exit status says which signal stopped it.
    """
    state_path = state or default_state(dst)
    check_paths(src, dst, state_path)
    if preview_dir is not None and _inside(preview_dir.resolve(), dst.resolve()):
        raise RunError("the preview folder must not be inside DST: previews show the original images")
    avoid = (dst, state_path)
    total = sum(1 for _ in walk(src, avoid)) if progress != "none" else None
    runner = Runner(dst, profile, key, state_path, workers=workers, progress=progress, linkage=linkage,
                    verify=verify, preview_dir=preview_dir, total=total, restart=restart,
                    retry_withheld=retry_withheld, limits=limits, memory_limit=memory_limit,
                    max_seconds=max_seconds)
    with _signals_stop(runner):
        try:
            runner.process(walk(src, avoid))
        except RunStopped as stopped:
            return runner.finish(stopped=stopped)
        except BaseException:
            runner.close()
            raise
        return runner.finish()


class _signals_stop:
    """While a run is on, SIGINT and SIGTERM ask it to stop instead of killing it mid-write."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.previous[signum] = signal.signal(signum, lambda n, _f: self.runner.request_stop(n))

    def __exit__(self, *_: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


def _commit(sink: Sink, done: _Done, folder: StateFolder) -> str:
    assert done.staged is not None
    try:
        return sink.commit(done.staged)
    except SinkConflict as exc:
        outcome = done.outcome
        outcome.status, outcome.reason = "withheld", str(exc)
        # The input is not at hand here; the reason file says why, the report which file.
        return folder.hold(outcome.file_id, outcome.status, outcome.reason, None)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def progress_mode(quiet: bool, stream: Any = sys.stderr) -> str:
    if quiet:
        return "none"
    return "bar" if stream.isatty() else "log"

