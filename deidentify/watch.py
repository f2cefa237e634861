"""`deidentify watch`: de-identify files as they arrive in an inbox folder.

A file is read once it has stopped changing: its size and modification time
must stay the same over ``settle`` seconds of observation.  Stopping is not
arriving, though: a copy can stall for longer than that.  So a settled file is
taken as final only once it is also whole (:mod:`deidentify.arrival` says what
that means).  One that is not gets a report row (status ``error``, reason
``truncated (waiting for the rest)...``) and a line on stderr, is neither
de-identified nor quarantined nor moved, and is read again whenever it changes,
its new outcome replacing that row; one that never becomes whole stays in the
inbox with its row.  New files are noticed through the
file system's events (the ``watchdog`` package: inotify on Linux); ``poll``
instead rescans the inbox every ``interval`` seconds, which is what works on
network file systems, whose changes made by other machines raise no event.
With events a full rescan still runs every minute, in case an event was lost.

Everything else is :class:`~deidentify.batch.Runner`'s, as for ``run``: outputs in
DST, the state folder with its lock, manifest, quarantine, report and log.  A
restart resumes from the manifest: inputs finished before and unchanged since
are not redone.  The report written at exit covers every input the state
folder has finished, those of earlier sessions included.

One watcher per inbox: the inbox folder itself is locked (``flock`` on the
directory; the kernel drops the lock when the process ends), so two watchers
cannot share an inbox even with different state folders.

Names beginning with a dot (the temporary files of rsync and similar copy
tools, ``.snapshot`` folders) and empty files are left alone.  Originals stay
where they are, or, with ``processed``, move to that folder (under their path
relative to the inbox) once written or withheld, and only then: a file with an
error, not DICOM or not whole stays in the inbox, so a sender can replace it and
nothing is moved that may still be arriving.  Without ``processed``, a
file replaced in the inbox is an input that changed: its earlier output is
removed and the new content de-identified, as ``run`` does; senders that reuse
file names want ``processed``.

Settled files are de-identified side by side by ``workers`` processes, in batches
of as many files.  SIGTERM and SIGINT stop the watcher after the files in hand: the report is
written, the locks released, and the command exits 0, whatever the outcomes of
the files (a withheld file is a normal outcome for a service).  A second SIGINT
aborts at once, without a report.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import shutil
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .arrival import WAITING, not_whole
from .batch import DEFAULT_MAX_SECONDS, RunError, Runner, RunResult, check_paths, default_state, path_id_of
from .batch.logfile import LogSettings
from .batch.paths import inside
from .batch.worker import UnreadableInput, read_input
from .limits import Limits
from .outcome import Outcome, Status
from .profile import Profile
from .report import ReportWriter, Tally
from .source import digest_of

log = logging.getLogger("deidentify")

#: With events, the inbox is also rescanned whole this often, in case an event was lost.
RESCAN_SECONDS = 60.0
DEFAULT_SETTLE = 5.0
DEFAULT_INTERVAL = 1.0
_FALLBACK_LOCK_NAME = ".deidentify-watch.lock"
#: In the state folder: report rows of inputs whose name a later input took (``processed``).
HISTORY_NAME = "watch-history.jsonl"
#: The outcomes after which an original leaves the inbox for ``processed``.
MOVED_STATUSES = frozenset({Status.WRITTEN, Status.WITHHELD, Status.FILTERED})


class InboxLocked(RunError):
    """Another live watcher holds the inbox."""


Signature = tuple[int, int]  # size, mtime_ns


def check_watch_paths(inbox: Path, dst: Path, state: Path, processed: Path | None) -> None:
    """``run``'s refusals, plus: the inbox is a folder and ``processed`` overlaps none of the others."""
    if not inbox.is_dir():
        raise RunError("the inbox does not exist or is not a folder")
    check_paths(inbox, dst, state)
    if processed is None:
        return
    moved_to = processed.resolve()
    for folder in (inbox, dst, state):
        folder = folder.resolve()
        if inside(moved_to, folder) or inside(folder, moved_to):
            raise RunError("the processed folder must be outside INBOX, DST and the state folder")
    if processed.exists() and not processed.is_dir():
        raise RunError("the processed folder exists and is not a folder")


class InboxLock:
    """An exclusive ``flock`` on the inbox folder, held while this process watches it.

    Where a directory cannot be locked (NFS emulates ``flock`` with byte-range
    locks, which need a file open for writing), a hidden lock file in the inbox
    is locked instead.
    """

    def __init__(self, inbox: Path) -> None:
        self.inbox = inbox
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.inbox, os.O_RDONLY | os.O_DIRECTORY)
        try:
            self._lock(fd)
        except InboxLocked:
            os.close(fd)
            raise
        except OSError:
            os.close(fd)
            # The folder cannot be locked here: lock a file in it instead.
            fd = os.open(self.inbox / _FALLBACK_LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                self._lock(fd)
            except BaseException:
                os.close(fd)
                raise
        self._fd = fd

    def _lock(self, fd: int) -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InboxLocked(f"another deidentify watch is already watching the inbox {self.inbox}") from None

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


@dataclass
class _Observed:
    """A candidate's size and mtime, and since when (monotonic) they have been seen unchanged."""

    signature: Signature
    since: float


def _signature(path: Path) -> Signature | None:
    """Size and mtime of a regular file, or ``None`` (gone, or not a regular file)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return info.st_size, info.st_mtime_ns


class Watcher:
    """Watches ``inbox`` and feeds settled files to a :class:`Runner` writing into ``dst``.

    Creating one checks the paths and takes the inbox and state folder locks
    (:class:`RunError` when it cannot); :meth:`once` or :meth:`serve` then runs
    it, and both finish with the report written and the locks released.
    :meth:`stop` (from another thread) ends :meth:`serve` after the file in hand.
    """

    def __init__(self, inbox: Path, dst: Path, profile: Profile, key: bytes, state: Path | None = None, *,
                 settle: float = DEFAULT_SETTLE, interval: float = DEFAULT_INTERVAL,
                 processed: Path | None = None, poll: bool = False, progress: str = "none",
                 linkage: bool = False, rescan: float = RESCAN_SECONDS, limits: Limits = Limits(),
                 memory_limit: int | None = None, max_seconds: float = DEFAULT_MAX_SECONDS, workers: int = 1,
                 log_settings: LogSettings = LogSettings()) -> None:
        if settle < 0:
            raise RunError("--settle must not be negative")
        if interval <= 0:
            raise RunError("--interval must be more than 0")
        if workers < 1:
            raise RunError("--workers must be at least 1")
        self.workers = workers
        # Absolute, so a path's keyed id (and so the resume) does not depend on the working folder.
        self.inbox = inbox.absolute()
        self.dst = dst
        self.state = state or default_state(dst)
        self.processed = processed.absolute() if processed is not None else None
        check_watch_paths(self.inbox, dst, self.state, self.processed)
        self.settle, self.interval, self.poll, self.rescan = settle, interval, poll, rescan
        self.quiet = progress == "none"
        self.stopped_by_signal = False
        self.left_changing = 0  # with once(): files still changing, left for the next time
        self.mode = "polling" if poll else "events"
        self.limits = limits
        self._lock = InboxLock(self.inbox)
        self._lock.acquire()
        try:
            self.runner = Runner(dst, profile, key, self.state, workers=workers, progress=progress, linkage=linkage,
                                 remember=True, limits=limits, memory_limit=memory_limit, max_seconds=max_seconds,
                                 log_settings=log_settings)
        except BaseException:
            self._lock.release()
            raise
        self._rows = _LatestRows(self.runner.report)
        self.runner.report = self._rows  # type: ignore[assignment]  # what the Runner calls, one row per path
        try:
            self._history_path = self.state / HISTORY_NAME
            self._replaced_rows: list[dict[str, Any]] = _read_rows(self._history_path)
        except BaseException:
            self._abort()
            raise
        self._stopping = False
        self._wake = threading.Event()
        self._touched: set[tuple[Path, bool]] = set()
        self._touched_lock = threading.Lock()
        self._pending: dict[Path, _Observed] = {}
        self._handled: dict[Path, Signature] = {}
        # What the state folder had finished before this session, for the report.
        self._earlier = dict(self.runner.seen)
        self._fed: set[str] = set()
        self._changed_in_hand: set[str] = set()
        self.waiting: set[Path] = set()  # files settled but not whole, as last read

    # --- stopping -------------------------------------------------------------------------
    def stop(self) -> None:
        """End :meth:`serve` (or :meth:`once`) after the file in hand; safe from any thread."""
        self._stopping = True
        self._wake.set()

    def on_signal(self, signum: int, frame: Any = None) -> None:
        """A signal handler: only sets a flag (the loop looks at it at least every ``interval``)."""
        self._stopping = True
        self.stopped_by_signal = True

    # --- the two ways to run --------------------------------------------------------------
    def once(self) -> RunResult:
        """Process the files that are in the inbox now and settled, then finish.

        Each file is looked at twice, ``settle`` seconds apart; files that changed
        in between are left for the next time.
        """
        try:
            first = {path: sig for path in self._scan() if (sig := _signature(path)) is not None and sig[0] > 0}
            if first:
                self._sleep(self.settle)
            unchanged = [(path, sig) for path, sig in first.items() if _signature(path) == sig]
            self.left_changing += len(first) - len(unchanged)
            self._handle_all(unchanged)
        except BaseException:
            self._abort()
            raise
        return self._finish()

    def serve(self) -> RunResult:
        """Process files as they settle until :meth:`stop` or a signal, then finish."""
        try:
            observer = None if self.poll else self._start_observer()
            if observer is None:
                self.mode = "polling"
            log.info("watch started: %s, settle %.1f s", self.mode, self.settle)
            try:
                self._serve(rescan_every=self.interval if observer is None else self.rescan)
            finally:
                if observer is not None:
                    observer.stop()
                    observer.join()
            log.info("watch stopped")
        except BaseException:
            self._abort()
            raise
        return self._finish()

    def _serve(self, rescan_every: float) -> None:
        next_rescan = 0.0
        while not self._stopping:
            self._wake.clear()
            now = time.monotonic()
            if now >= next_rescan:
                for path in self._scan():
                    self._note(path, now)
                next_rescan = now + rescan_every
            self._drain_touched(now)
            self._handle_all(self._settled(time.monotonic()))
            if self._stopping:
                return
            timeout = min(self.interval, max(next_rescan - time.monotonic(), 0.0))
            if self._pending:
                soonest = min(seen.since for seen in self._pending.values()) + self.settle
                timeout = min(timeout, max(soonest - time.monotonic(), 0.01))
            self._wake.wait(timeout)

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stopping and (left := deadline - time.monotonic()) > 0:
            self._wake.wait(min(left, self.interval))

    # --- noticing files -------------------------------------------------------------------
    def _start_observer(self) -> Any:
        """watchdog's native observer on the inbox, or ``None`` (then the inbox is polled)."""
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:  # pragma: no cover - watchdog is a dependency
            print("deidentify: the watchdog package is missing; polling the inbox", file=sys.stderr)
            return None
        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if event.event_type in ("created", "modified", "closed"):
                    watcher._touch(event.src_path, event.is_directory)
                elif event.event_type == "moved":
                    watcher._touch(event.dest_path, event.is_directory)

        observer = Observer()
        try:
            observer.schedule(Handler(), str(self.inbox), recursive=True)
            observer.start()
        except OSError as exc:  # e.g. the inotify watch limit
            print(f"deidentify: cannot watch the inbox for events ({exc.strerror or exc}); polling it",
                  file=sys.stderr)
            return None
        return observer

    def _touch(self, raw: str | bytes, is_directory: bool) -> None:
        """From the observer's thread: something under the inbox was created or changed."""
        with self._touched_lock:
            self._touched.add((Path(os.fsdecode(raw)), is_directory))
        self._wake.set()

    def _drain_touched(self, now: float) -> None:
        with self._touched_lock:
            touched, self._touched = self._touched, set()
        for path, is_directory in sorted(touched):
            if not self._eligible(path):
                continue
            if is_directory:  # a folder moved in whole raises no event for its files
                for inner in self._scan(path):
                    self._note(inner, now)
            else:
                self._note(path, now)

    def _eligible(self, path: Path) -> bool:
        try:
            parts = path.relative_to(self.inbox).parts
        except ValueError:
            return False
        return bool(parts) and not any(part.startswith(".") for part in parts)

    def _scan(self, folder: Path | None = None) -> list[Path]:
        """Files under ``folder`` (the inbox) in ``run``'s walk order, hidden names left out."""
        found = []
        for parent, dirs, files in os.walk(folder or self.inbox):
            dirs[:] = sorted(name for name in dirs if not name.startswith("."))
            for name in sorted(files):
                if not name.startswith("."):
                    found.append(Path(parent, name))
        return found

    def _note(self, path: Path, now: float) -> None:
        """Start (or restart) the settle clock of a file that is new or changed."""
        sig = _signature(path)
        if sig is None:
            self._pending.pop(path, None)
            self._handled.pop(path, None)
            return
        if self._handled.get(path) == sig:
            return
        seen = self._pending.get(path)
        if seen is None or seen.signature != sig:
            self._pending[path] = _Observed(sig, now)

    def _settled(self, now: float) -> list[tuple[Path, Signature]]:
        """Look at every candidate again; those unchanged for ``settle`` seconds, in path order."""
        ready = []
        for path in list(self._pending):
            seen = self._pending[path]
            sig = _signature(path)
            if sig is None:
                del self._pending[path]
            elif sig != seen.signature:
                self._pending[path] = _Observed(sig, now)
            elif sig[0] > 0 and now - seen.since >= self.settle:
                ready.append((path, sig))
        return sorted(ready, key=lambda item: item[0].parts)

    # --- settled files ----------------------------------------------------------------------
    def _handle_all(self, settled: Iterable[tuple[Path, Signature]]) -> None:
        """Handle settled files in batches of as many as there are workers, stopping between batches."""
        batch: list[tuple[Path, Signature]] = []
        for item in settled:
            if self._stopping:
                break
            batch.append(item)
            if len(batch) >= self.workers:
                self._handle(batch)
                batch = []
        if batch and not self._stopping:
            self._handle(batch)

    def _handle(self, batch: list[tuple[Path, Signature]]) -> None:
        """De-identify settled files that are whole (side by side), then move each to ``processed`` if
        asked and final."""
        whole = []
        path_ids = [path_id_of(path, self.runner.keyring) for path, _ in batch]
        for (path, sig), path_id in zip(batch, path_ids, strict=True):
            if self.processed is not None:
                self._forget_earlier_name(path_id, sig)
            waiting = None
            if not self._finished_before(path_id, sig):
                waiting = _waiting(path, self.runner.keyring.file_id, self.limits)
            if waiting is None:
                whole.append(path)
            else:
                outcome, read_as = waiting
                self.runner.report_unread(path, *read_as, outcome)
        if whole:
            self.runner.process(whole)
        for (path, sig), path_id in zip(batch, path_ids, strict=True):
            self._after(path, sig, path_id)

    def _after(self, path: Path, sig: Signature, path_id: str) -> None:
        """What follows a file's outcome: it is looked at again if it changed, else moved if asked."""
        self._fed.add(path_id)
        self._pending.pop(path, None)
        self.waiting.discard(path)
        after = _signature(path)
        if after is None:
            self._handled.pop(path, None)
            return
        if after != sig:
            # Changed while in hand: it is looked at again, and its output redone once it settles.
            self._changed_in_hand.add(path_id)
            self._pending[path] = _Observed(after, time.monotonic())
            return
        self._changed_in_hand.discard(path_id)
        self._handled[path] = sig  # not looked at again until it changes
        finished = self.runner.seen[path_id]
        status = finished.row.get("status")
        if str(finished.row.get("reason", "")).startswith(WAITING):
            self.waiting.add(path)
            if not self.quiet:
                print(f"deidentify: file {finished.row.get('file_id')} is not whole yet; it stays in the inbox and "
                      "is read again when it changes", file=sys.stderr)
        if self.processed is not None and status in MOVED_STATUSES and (finished.size, finished.mtime_ns) == sig:
            self._move_done(path)
            self._handled.pop(path, None)

    def _finished_before(self, path_id: str, sig: Signature) -> bool:
        """The manifest has this input as it is now: the Runner reports its row again without reading it."""
        finished = self.runner.seen.get(path_id)
        return finished is not None and (finished.size, finished.mtime_ns) == sig

    def _forget_earlier_name(self, path_id: str, sig: Signature) -> None:
        """With ``processed``, a file under a name finished before is a new input, not a changed one.

        The earlier one was moved away, so its output stays; the Runner must not
        take the new file for an edit of the old and remove that output.
        """
        earlier = self.runner.seen.get(path_id)
        if earlier is None or (earlier.size, earlier.mtime_ns) == sig or path_id in self._changed_in_hand:
            return
        if earlier.row.get("status") not in MOVED_STATUSES:  # never moved: the same input, changed
            return
        del self.runner.seen[path_id]
        with open(self._history_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(earlier.row) + "\n")
        self._replaced_rows.append(earlier.row)
        self._rows.forget(path_id)  # the new input's row takes the name; the earlier one stays in the report
        self._earlier.pop(path_id, None)

    def _move_done(self, path: Path) -> None:
        assert self.processed is not None
        target = _free_name(self.processed / path.relative_to(self.inbox))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(path, target)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                temp = target.with_name(f".{target.name}.{os.getpid()}.partial")
                shutil.copy2(path, temp)
                os.replace(temp, target)
                path.unlink()
        except OSError as exc:
            log.warning("an input could not be moved to the processed folder (%s)", type(exc).__name__)
            print(f"deidentify: cannot move a finished input to the processed folder: {exc.strerror or exc}",
                  file=sys.stderr)

    # --- the end ----------------------------------------------------------------------------
    def _finish(self) -> RunResult:
        earlier = [seen.row for path_id, seen in self._earlier.items() if path_id not in self._fed]
        # Once each (a watcher killed between noting a replaced row and finishing the new input notes it again).
        unique = {json.dumps(row, sort_keys=True): row for row in [*earlier, *self._replaced_rows]}
        try:
            return self.runner.finish(before=unique.values())
        finally:
            self._lock.release()

    def _abort(self) -> None:
        try:
            self.runner.close()
        finally:
            self._lock.release()


def _read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of inputs whose name a later input took (``processed``), kept because the manifest
    keeps one entry per name; a line cut short by a kill is ignored."""
    rows = []
    if path.exists():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
    return rows


def _free_name(target: Path) -> Path:
    """``target``, or ``name.1.ext``, ``name.2.ext``… when a file of that name is there already."""
    if not os.path.lexists(target):
        return target
    stem, suffix = target.stem, target.suffix
    number = 1
    while os.path.lexists(candidate := target.with_name(f"{stem}.{number}{suffix}")):
        number += 1
    return candidate


def _waiting(path: Path, file_id: Callable[[bytes], str], limits: Limits) -> tuple[Outcome, Signature] | None:
    """The outcome of a file that is not whole yet, with the size and mtime of the bytes judged.

    ``None`` when it is whole, or cannot be read (the Runner then says why).
    """
    try:
        # As a worker reads it: a FIFO is never opened for reading, a file over the size
        # limit never read into the watcher's memory.
        data, size, mtime_ns = read_input(path, limits.max_file_bytes)
    except (OSError, UnreadableInput):
        return None
    reason = not_whole(data)
    if reason is None:
        return None
    return Outcome(file_id(digest_of(data)), Status.ERROR, reason), (size, mtime_ns)


class _LatestRows:
    """The Runner's report as the watcher keeps it: one row per input path, its latest.

    A file read again (it changed, or was not whole before) replaces its row
    instead of adding one.  The rows wait here for the end, as the Runner's
    memory of finished inputs holds them anyway.
    """

    def __init__(self, writer: ReportWriter) -> None:
        self.writer = writer
        self._rows: dict[str, Mapping[str, object]] = {}

    def add(self, entry: Mapping[str, object], path_id: str = "") -> None:
        self._rows[path_id] = entry

    def forget(self, path_id: str) -> None:
        self._rows.pop(path_id, None)

    def close(self, before: Iterable[Mapping[str, object]] = ()) -> Tally:
        return self.writer.close([*before, *self._rows.values()])

    def discard(self) -> None:
        self.writer.discard()

    @property
    def note(self) -> str:
        """What the writer says of its Parquet copy (see :attr:`ReportWriter.note`)."""
        return self.writer.note


def watch(inbox: Path, dst: Path, profile: Profile, key: bytes, state: Path | None = None, *,
          once: bool = False, **options: Any) -> RunResult:
    """Watch ``inbox`` until SIGTERM or SIGINT (or, with ``once``, process what is there)."""
    with StopOnSignals() as signals:
        watcher = signals.attach(Watcher(inbox, dst, profile, key, state, **options))
        return watcher.once() if once else watcher.serve()


class StopOnSignals:
    """SIGTERM and SIGINT ask the watcher to stop after the file in hand; a second SIGINT aborts.

    Installed before the watcher exists (main thread only), so a signal while it
    starts stops it as soon as it has started, rather than killing it or printing
    a traceback.
    """

    def __init__(self) -> None:
        self.watcher: Watcher | None = None
        self.signalled = False
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> StopOnSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self.previous[signum] = signal.signal(signum, self._handler)
        return self

    def _handler(self, signum: int, frame: Any) -> None:
        self.signalled = True
        if self.watcher is not None:
            self.watcher.on_signal(signum, frame)
        if signum == signal.SIGINT:
            signal.signal(signal.SIGINT, signal.default_int_handler)

    def attach(self, watcher: Watcher) -> Watcher:
        self.watcher = watcher
        if self.signalled:
            watcher.on_signal(signal.SIGTERM)
        return watcher

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self.previous.items():
            signal.signal(signum, previous)
