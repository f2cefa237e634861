"""A run: a folder of studies in, a folder that can be shared out.

DST receives de-identified DICOM and nothing else; the state folder (DST with
``.state`` appended, unless given) holds the rest (see :mod:`deidentify.state`).

Workers read and de-identify files; this process writes every output, in the
order of the walk, so which of two inputs claiming one SOP Instance UID wins
does not depend on timing, and a resumed run ends byte-identical to an
uninterrupted one.  At most a few files per worker are in flight, so memory
stays flat however large the source is.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..keys import Keyring
from ..limits import Limits
from ..outcome import Outcome, Status
from ..plan import RuleBook
from ..profile import Profile
from ..profile.fingerprint import fingerprint
from ..release.layout import payload_folder
from ..report import ReportWriter, Tally, row, summary
from ..sinks import FolderSink, Sink, SinkConflict, SinkLocked
from ..source import WalkProblem, quiet_pydicom, walk
from ..state import Linkage, RunIdentity, Seen, StateFolder, StateLocked
from .errors import RunError, RunStopped
from .executors import Executor, ExecutorSpec, open_executor
from .logfile import LogFile, LogSettings
from .malloc import reuse_large_buffers
from .paths import check_paths, default_state, inside
from .pool import WorkerSetup, memory_limit_per_worker
from .progress import Progress
from .signals import StopRunOnSignals
from .worker import Done, attach_board, failed, help_read, init_worker, path_id_of, storage_reason, task_bytes, work

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("deidentify")


# A file that takes longer has its worker stopped and is an error row.
DEFAULT_MAX_SECONDS = 900.0


@dataclass
class RunResult:
    """What a run or watch session did: its tally, the summary it printed, and where its state is."""

    tally: Tally
    summary: str
    state: Path
    stopped: RunStopped | None = None

    @property
    def report(self) -> pd.DataFrame:
        """The report the run wrote, read back (pandas loads only when asked for)."""
        from ..report_html import read_report

        return read_report(self.state)

    @property
    def exit_code(self) -> int:
        """0 every input written, 1 some withheld; 128 + N stopped by signal N; 2 storage failed."""
        if self.stopped is not None:
            return 128 + self.stopped.signum if self.stopped.signum else 2
        return 0 if self.tally.all_written else 1


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
                 max_seconds: float = DEFAULT_MAX_SECONDS, executor: ExecutorSpec = ExecutorSpec(),
                 log_settings: LogSettings = LogSettings(), accept: Any = None) -> None:
        self.folder = StateFolder(state)
        dst = payload_folder(dst)  # DST/data once DST is a signed release (a bag)
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
        self.accept = accept
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
        self.executor = executor
        self._pool: Executor[tuple[Path, str], Done] | None = None
        self._handler = LogFile(self.folder.log_path, log_settings)
        log.addHandler(self._handler)
        log.setLevel(min(logging.INFO, self._handler.level))
        self._quiet = quiet_pydicom()
        self._quiet.__enter__()
        if executor.kind == "dask":
            log.info("run started: profile %s, on %s", profile.name, executor.label)
        else:
            log.info("run started: profile %s, %d worker(s)%s", profile.name, workers,
                     "" if executor.kind == "local" else f" ({executor.label})")
        self.identity_gaps = RuleBook(profile).identity_gaps
        if self.identity_gaps:
            log.warning(gaps_line(profile.name, self.identity_gaps))
        if profile.lookup is not None:  # named by its digest: its rows are the linkage itself
            log.info("lookup table %s (sha256 %s), keyed by %s", profile.lookup.name, profile.lookup.digest,
                     profile.lookup.key)

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
                if entry.row.get("status") == Status.WRITTEN:
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

    def _workers(self) -> Executor[tuple[Path, str], Done]:
        if self._pool is None:
            limits, memory_limit, max_seconds = self._pool_options
            setup = WorkerSetup(init_worker, (self.profile, self.key, self.folder.path, self.dst, self.linkage,
                                              self.verify, self.preview_dir, limits, self.accept), work, failed,
                                attach_board, help_read)
            locks = [fd for fd in (self.folder.lock_fd, self.sink.lock_fd) if fd is not None]
            reuse_large_buffers()  # forked workers inherit it; spawned ones set it in init_worker
            self._pool = open_executor(self.executor, self.workers, setup, memory_limit=memory_limit,
                                       max_seconds=max_seconds, close_fds=locks,
                                       stop=lambda: self.stop_signal is not None, weigh=task_bytes,
                                       scratch=self.folder.path)
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
                failed = entry.row.get("status") not in (Status.WRITTEN, Status.FILTERED)
                if unchanged and not (failed and self.retry_withheld):
                    self.not_retried += failed
                    self.report.add(entry.row, path_id)
                    self.meter.update(entry.row)
                    continue
                # Changed since (or retried): its earlier output must not linger beside the new one.
                if not failed:
                    self.sink.discard(str(entry.row.get("output", "")))
            yield path, path_id

    def _problem(self, problem: WalkProblem) -> None:
        """A place the walk could not read: a report row (not in the manifest: the next walk looks again)."""
        path_id = path_id_of(problem.path, self.keyring)
        entry = row(Outcome(path_id, Status.ERROR, problem.reason), "", 0.0)
        entry["bytes"] = 0
        log.warning("file %s error: %s", path_id, problem.reason,
                    extra={"file_id": path_id, "status": str(Status.ERROR), "reason": problem.reason})
        self.report.add(entry, path_id)
        self.meter.update(entry)

    def report_unread(self, path: Path, size: int, mtime_ns: int, outcome: Outcome) -> None:
        """Report ``outcome`` for ``path`` without de-identifying it (the watcher's files not yet whole).

        As for any changed input, an earlier output of the path is removed; nothing is quarantined.
        """
        for _, path_id in self._unfinished(iter([path])):
            self._finish(Done(path_id, size, mtime_ns, outcome, 0.0))

    def _finish(self, done: Done) -> None:
        if done.fatal:
            raise RunStopped(done.fatal)
        try:
            self._record(done)
        except OSError as exc:
            raise RunStopped(storage_reason(exc)) from None

    def _record(self, done: Done) -> None:
        outcome = done.outcome
        output = done.quarantined
        if outcome.status == Status.WRITTEN:
            output = _commit(self.sink, done, self.folder)
        elif done.path is not None:  # its worker died: the copy is made here, from the path
            output = self.folder.hold(outcome.file_id, outcome.status, outcome.reason, done.path)
        if self.crosswalk is not None and outcome.status == Status.WRITTEN:
            self.crosswalk.add("uid", outcome.uid_pairs)
            if outcome.patient_pair:
                self.crosswalk.add("patient", [outcome.patient_pair])
            if outcome.date_offset:
                self.crosswalk.add("date_offset", [(outcome.date_offset[0], str(outcome.date_offset[1]))])
        entry = row(outcome, output, done.seconds)
        entry["bytes"] = max(done.size, 0)
        fields = {"file_id": outcome.file_id, "status": str(outcome.status), "seconds": round(done.seconds, 3)}
        if outcome.status == Status.WRITTEN:
            log.info("file %s written in %.2f s", outcome.file_id, done.seconds, extra=fields)
        else:
            log.warning("file %s %s: %s", outcome.file_id, outcome.status, outcome.reason,
                        extra={**fields, "reason": outcome.reason})
        self.folder.record(done.path_id, done.size, done.mtime_ns, entry)
        if self.remember or done.path_id in self.seen:
            self.seen[done.path_id] = Seen(done.size, done.mtime_ns, entry)
        self.report.add(entry, done.path_id)
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
                text = summary(tally, seconds) + (f"\n{self.report.note}" if self.report.note else "")
            except OSError as exc:
                tally, text = self.report.tally, f"the report could not be written ({storage_reason(exc)})"
            if self.identity_gaps:
                text += "\n" + gaps_line(self.profile.name, self.identity_gaps)
            if self.profile.lookup is not None:
                text += f"\nvalues looked up in {self.profile.lookup.name} (sha256 {self.profile.lookup.digest})"
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
            with contextlib.suppress(OSError):
                step()  # sweep: temporary files of inputs a stopped run dropped
        self.sink.close()
        self._quiet.__exit__(None, None, None)
        log.removeHandler(self._handler)
        self.folder.unlock()


def run(src: Path, dst: Path, profile: Profile, key: bytes, state: Path | None = None, *,
        workers: int = 1, progress: str = "none", linkage: bool = False, verify: bool = False,
        preview_dir: Path | None = None, restart: bool = False, retry_withheld: bool = False,
        limits: Limits = Limits(), memory_limit: int | None = None,
        max_seconds: float = DEFAULT_MAX_SECONDS, executor: ExecutorSpec = ExecutorSpec(),
        log_settings: LogSettings = LogSettings(), accept: Any = None) -> RunResult:
    """De-identify every file under ``src`` into ``dst``.

    ``progress`` is ``bar`` (tqdm), ``log`` (a line every few seconds on stderr) or
    ``none``.  Inputs finished by an earlier run on the same state folder, and not
    changed since, are not redone.  SIGINT and SIGTERM (when called from the main
    thread) stop the run after the files in hand: the report is written and the
    result's exit status says which signal stopped it.  ``executor`` says where the files are
    de-identified (the local pool by default, or a Dask cluster: :mod:`deidentify.batch.executors`).
    """
    state_path = state or default_state(dst)
    check_paths(src, dst, state_path)
    if preview_dir is not None:
        if inside(preview_dir.resolve(), dst.resolve()):
            raise RunError("the preview folder must not be inside DST: previews show the original images")
        if not preview_dir.parent.is_dir():
            raise RunError("the preview folder's parent does not exist (only the preview folder is created)")
        # Created here, once, by the one process that checked where it is: workers only write into it.
        try:
            preview_dir.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise RunError(f"the preview folder cannot be created ({exc.strerror or type(exc).__name__})") from None
    avoid = (dst, state_path)
    total = sum(1 for _ in walk(src, avoid)) if progress != "none" else None
    runner = Runner(dst, profile, key, state_path, workers=workers, progress=progress, linkage=linkage,
                    verify=verify, preview_dir=preview_dir, total=total, restart=restart,
                    retry_withheld=retry_withheld, limits=limits, memory_limit=memory_limit,
                    max_seconds=max_seconds, executor=executor, log_settings=log_settings, accept=accept)
    with StopRunOnSignals(runner):
        try:
            runner.process(walk(src, avoid))
        except RunStopped as stopped:
            return runner.finish(stopped=stopped)
        except BaseException:
            runner.close()
            raise
        return runner.finish()


def gaps_line(name: str, gaps: tuple[str, ...]) -> str:
    """What the report says of a profile that keeps attributes the Basic Profile removes."""
    shown = ", ".join(gaps[:5]) + (f" and {len(gaps) - 5} more" if len(gaps) > 5 else "")
    return (f"profile {name} keeps {len(gaps)} attribute(s) of PS3.15 Table E.1-1 as they are ({shown}); "
            "its outputs say PatientIdentityRemoved NO")


def _commit(sink: Sink, done: Done, folder: StateFolder) -> str:
    assert done.staged is not None
    try:
        return sink.commit(done.staged)
    except SinkConflict as exc:
        outcome = done.outcome
        outcome.status, outcome.reason = Status.WITHHELD, str(exc)
        # The input is not at hand here; the reason file says why, the report which file.
        return folder.hold(outcome.file_id, outcome.status, outcome.reason, None)
