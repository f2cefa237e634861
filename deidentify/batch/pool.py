"""Worker processes that de-identify files, supervised so that no input can end a run.

A worker that raises, recurses, runs out of memory, is killed or crashes costs
only the file it held: the supervisor sees which file that was (each worker
publishes the index of the file in hand in shared memory), turns it into a
failure result with a reason, re-queues the rest of the worker's chunk and
starts a fresh worker.  Each worker runs under an address-space limit, so a
file that would need more memory fails in its own worker with MemoryError
instead of letting the kernel's OOM killer choose a victim; and under a time
limit per file, after which it is killed.

Results come back in the order of the tasks, whatever order the workers finish
in, so the caller can commit outputs in the order of its walk.

The workers keep their temporary files in a folder of the pool's (``scratch``), removed
when the pool closes: a worker killed in the middle of a task (Tesseract's scratch folder)
leaves nothing behind once the run ends.  A run killed whole cannot remove its folder; the
folder is named after the run's process, and the next pool removes those of runs gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import multiprocessing
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from ..limits import usable_cores
from .sharing import Board

Task = TypeVar("Task")
Result = TypeVar("Result")

# Files per message: one message per file costs more than a small file's work.
CHUNK = 16
# The workers' folder for temporary files: this, the pool's process id, and a random part.
_SCRATCH = "deidentify-workers-"

_IDLE = -1.0
# In a worker's slot while it does part of another worker's task (:mod:`.sharing`).
_HELPING = -2.0
# Workers that may die in a row without a task in hand before the chunk's first task is blamed
# (a worker that cannot even start must not make the run loop forever).
_IDLE_DEATHS = 3
_PR_SET_PDEATHSIG = 1
# How often a worker without a chunk looks at the board for parts of other workers' tasks.
_IDLE_LOOK_SECONDS = 0.02


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker process runs: ``init`` once, then ``work`` per task.

    ``work`` must turn every exception of a task into a result; ``fail`` makes the
    result of a task whose worker died, from the task and a reason.  With ``help``
    the workers share the parts of long tasks (:mod:`.sharing`): ``attach`` gives
    each worker the board and its slot, and ``help(spec, part)`` does a part of
    another worker's task.  All are module-level functions (spawned workers import
    them by name).
    """

    init: Callable[..., None]
    init_args: tuple[Any, ...]
    work: Callable[[Any], Any]
    fail: Callable[[Any, str], Any]
    attach: Callable[[Board, int], None] | None = None
    help: Callable[[bytes, int], Any] | None = None


class _Worker:
    def __init__(self, context: Any, setup: WorkerSetup, memory_limit: int, close_fds: Sequence[int],
                 initialised: bool, board: Board | None, place: int, scratch: str | None) -> None:
        self.conn, child = context.Pipe()
        # [index of the task in hand within the chunk, monotonic start time]; -1 when idle, -2 while
        # doing a part of another worker's task.
        self.slot = context.RawArray(ctypes.c_double, [_IDLE, 0.0])
        self.place = place
        self.process = context.Process(
            target=_serve,
            args=(child, self.slot, setup, memory_limit, tuple(close_fds), initialised, board, place, scratch),
            daemon=True)
        self.process.start()
        child.close()
        self.chunk: list[tuple[int, Any]] | None = None

    def in_hand(self) -> tuple[int, float] | None:
        index, began = self.slot[0], self.slot[1]
        return (int(index), began) if index >= 0 else None

    def helping_since(self) -> float | None:
        return self.slot[1] if self.slot[0] == _HELPING else None

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()


def _serve(conn: Connection, slot: Any, setup: WorkerSetup, memory_limit: int, close_fds: tuple[int, ...],
           initialised: bool, board: Board | None, place: int, scratch: str | None) -> None:
    """A worker's life: take chunks of tasks, answer with their results, until told to stop."""
    _die_with_parent()
    if scratch is not None:
        tempfile.tempdir = os.environ["TMPDIR"] = scratch
    for fd in close_fds:  # the run's locks must die with the run, not live on in a worker
        with contextlib.suppress(OSError):
            os.close(fd)
    # The supervisor decides what a signal means; Ctrl-C reaches the whole process group.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if memory_limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    if not initialised:
        setup.init(*setup.init_args)

    def busy(on: bool) -> None:
        slot[1] = time.monotonic()
        slot[0] = _HELPING if on else _IDLE

    # Doing the parts of other workers' tasks that are on the board, when there is one.
    look: Callable[[], int] | None = None
    if board is not None and setup.attach is not None and setup.help is not None:
        setup.attach(board, place)
        look = functools.partial(board.help, place, setup.help, busy)
    while True:
        if look is not None:
            while not conn.poll(_IDLE_LOOK_SECONDS):
                look()
        try:
            chunk = conn.recv()
        except EOFError:
            return
        if chunk is None:
            return
        results = []
        for index, (_, task) in enumerate(chunk):
            if look is not None:
                look()
            slot[1] = time.monotonic()
            slot[0] = index
            results.append(setup.work(task))
        slot[0] = _IDLE
        conn.send(results)


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the supervisor dies (a kill -9 of the run stops its workers)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class WorkerPool(Generic[Task, Result]):
    """``workers`` supervised processes; :meth:`map` gives results in task order.

    ``memory_limit``: bytes of address space per worker (0: none).  ``max_seconds``:
    how long one task may take before its worker is killed (0: no limit).
    ``close_fds``: descriptors a forked worker must not keep (the run's locks).
    ``stop``: asked between results; when it returns true, :meth:`map` stops
    feeding tasks and returns (results in flight are dropped).
    """

    def __init__(self, workers: int, setup: WorkerSetup, *, memory_limit: int = 0, max_seconds: float = 0,
                 close_fds: Sequence[int] = (), stop: Callable[[], bool] = lambda: False) -> None:
        self.size = max(1, workers)
        self.setup = setup
        self.memory_limit = memory_limit
        self.max_seconds = max_seconds
        self.close_fds = tuple(close_fds)
        self.stop = stop
        # Forked workers inherit the parent's imports and its initialised state (the compiled
        # profile): a spawned one spends a third of a second re-importing.  Elsewhere (macOS,
        # Windows) system libraries are not safe to fork.
        self.forked = sys.platform.startswith("linux")
        self.context = multiprocessing.get_context("fork" if self.forked else "spawn")
        if self.forked:
            setup.init(*setup.init_args)
        # Parts of long tasks go to the other workers: worth it with two or more, and only where
        # workers are forked (the board is memory they inherit).
        self.board: Board | None = None
        if self.forked and self.size > 1 and setup.help is not None and setup.attach is not None:
            with contextlib.suppress(OSError):  # no temporary folder for its lock: each reads its own
                self.board = Board(self.size)
        self.scratch: str | None = None
        with contextlib.suppress(OSError):
            _sweep_scratch()
        with contextlib.suppress(OSError):  # no temporary folder: the workers use the system's, as in a plain run
            self.scratch = tempfile.mkdtemp(prefix=f"{_SCRATCH}{os.getpid()}-")
        self.workers: list[_Worker] = []
        self.deaths = 0
        self._idle_deaths = 0

    def _start(self, place: int) -> _Worker:
        return _Worker(self.context, self.setup, self.memory_limit, self.close_fds, self.forked, self.board, place,
                       self.scratch)

    def map(self, tasks: Iterator[Task]) -> Iterator[Result]:
        """Results of ``tasks`` in their order; at most a few chunks per worker in flight."""
        while len(self.workers) < self.size:
            self.workers.append(self._start(len(self.workers)))
        queue: deque[list[tuple[int, Any]]] = deque()
        done: dict[int, Any] = {}
        issued = emitted = 0
        window = self.size * CHUNK * 3
        source: Iterator[Task] | None = tasks
        while True:
            if self.stop():
                return
            while source is not None and issued - emitted < window and len(queue) < self.size * 2:
                chunk = []
                for task in source:
                    chunk.append((issued, task))
                    issued += 1
                    if len(chunk) == CHUNK:
                        break
                else:
                    source = None
                if chunk:
                    queue.append(chunk)
            for worker in self.workers:
                if worker.chunk is None and queue:
                    worker.chunk = queue.popleft()
                    with contextlib.suppress(OSError):  # it died: _collect sees it and redoes the chunk
                        worker.conn.send(worker.chunk)
            while emitted in done:
                yield done.pop(emitted)
                emitted += 1
                if self.stop():
                    return
            if emitted == issued and source is None:
                return
            self._collect(done, queue)

    def _collect(self, done: dict[int, Any], queue: deque[list[tuple[int, Any]]]) -> None:
        busy = [w for w in self.workers if w.chunk is not None]
        idle = [w for w in self.workers if w.chunk is None]
        ready = wait([w.conn for w in busy] + [w.process.sentinel for w in self.workers], timeout=1.0)
        now = time.monotonic()
        for worker in idle:
            # An idle worker does parts of other workers' tasks: it may die doing one, or overrun.
            since = worker.helping_since()
            if (worker.process.sentinel in ready or not worker.process.is_alive()
                    or (self.max_seconds and since is not None and now - since > self.max_seconds)):
                self._renew(worker)
        for worker in busy:
            assert worker.chunk is not None
            if worker.conn in ready:
                try:
                    results = worker.conn.recv()
                except (EOFError, OSError):
                    results = None
                if results is not None:
                    for (index, _), result in zip(worker.chunk, results, strict=True):
                        done[index] = result
                    worker.chunk = None
                    continue
            reason = None
            if worker.conn in ready or worker.process.sentinel in ready or not worker.process.is_alive():
                worker.process.join(timeout=5)  # its pipe may close a moment before it can be reaped
                reason = _death(worker.process.exitcode)
            elif self.max_seconds and (began := _began(worker)) is not None and now - began > self.max_seconds:
                reason = f"over the limit: took longer than {self.max_seconds:g} s (its worker was stopped)"
            if reason is not None:
                self._replace(worker, reason, done, queue)

    def _replace(self, worker: _Worker, reason: str, done: dict[int, Any], queue: deque[list[tuple[int, Any]]]) -> None:
        """The worker died holding a chunk: its task in hand fails, the others are redone."""
        chunk = worker.chunk
        assert chunk is not None
        held, helping = worker.in_hand(), worker.helping_since() is not None
        self._renew(worker)
        if held is None and (helping or self._idle_deaths < _IDLE_DEATHS):
            # It died before taking up the chunk (killed while idle), or doing a part of another
            # worker's task, which that worker does again: no task of its own is to blame.
            self._idle_deaths += not helping
            queue.appendleft(chunk)
            return
        self._idle_deaths = 0
        culprit = held[0] if held is not None else 0
        index, task = chunk[culprit]
        done[index] = self.setup.fail(task, reason)
        rest = chunk[:culprit] + chunk[culprit + 1:]
        if rest:
            queue.appendleft(rest)

    def _renew(self, worker: _Worker) -> None:
        """A fresh worker in the place of one that died or is stopped; parts it held go back to their owners."""
        worker.kill()
        if self.board is not None:
            self.board.forget(worker.place, worker.process.pid)
        self.deaths += 1
        self.workers[self.workers.index(worker)] = self._start(worker.place)

    def close(self) -> None:
        """Stop every worker: idle ones are told to, busy ones (a stopped run) are killed."""
        for worker in self.workers:
            if worker.chunk is None:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
                worker.process.join(timeout=5)
            worker.kill()
        self.workers = []
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None


def _sweep_scratch() -> None:
    """Remove the workers' folders of pools whose process is gone (killed whole, ``kill -9``)."""
    with os.scandir(tempfile.gettempdir()) as entries:
        for entry in entries:
            pid = entry.name[len(_SCRATCH):].split("-", 1)[0]
            if not (entry.name.startswith(_SCRATCH) and pid.isdigit() and entry.is_dir(follow_symlinks=False)):
                continue
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                shutil.rmtree(entry.path, ignore_errors=True)
            except (OSError, OverflowError):
                continue  # alive and another user's, or no process id at all


def _began(worker: _Worker) -> float | None:
    """When the worker began what it is doing: a task of its own, or a part of another's."""
    held = worker.in_hand()
    return held[1] if held is not None else worker.helping_since()


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"its worker process died ({name})"
    return f"its worker process died (exit status {exitcode})"


def memory_limit_per_worker(workers: int) -> int:
    """Default address-space limit of a worker: its share of the memory available now, at least 2 GiB.

    Address space, not memory: the text detector's runtimes reserve about 1.2 GB of it
    (thread arenas, code, scratch) and use under 400 MB, so the floor leaves them room.
    """
    available = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except OSError:
        return 0
    if not available:
        return 0
    return max(2 << 30, int(available * 0.8) // max(1, workers))


def default_workers() -> int:
    """Worker processes when none are asked for: one per core this process may run on."""
    return usable_cores()
