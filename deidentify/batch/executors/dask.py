"""The Dask executor: the run's per-file work on a Dask cluster, results back in task order.

What goes where:

- The client (this process, the Runner) walks SRC, cuts the work list into chunks of
  inputs (closed at ``chunk_bytes`` of input or ``chunk_files`` files), submits each chunk
  as one Dask task, and yields the chunks' results in the order they were submitted, so the
  runner commits outputs, writes the manifest and streams the report exactly as with the
  local pool.  At most a few chunks per worker thread are in flight.
- Nothing of the run crosses Dask readable: the set-up (profile, key, DST, state folder...)
  travels once in a :class:`~distributed.diagnostics.plugin.WorkerPlugin` named after a random
  run id, and each chunk's inputs and results as opaque bytes, all sealed (:func:`seal`) with a
  fresh secret of this run that goes only through the shared state folder (a 0600 file, removed
  when the run ends).  So no Dask log (at debug level too, which prints every message), task
  key, repr or dashboard shows the key, a source path or an original identifier; reading them
  would need the state folder, which holds PHI anyway.  Each Dask worker process sets the run up
  once (the local pool's ``init``) when its first chunk of the run arrives, then runs ``work``
  per input, one chunk at a time (a lock: the per-process state is not shared between threads).
- A worker that dies (kill -9, the nanny's memory limit) has its chunk retried on another
  worker by Dask.  A chunk that has killed ``allowed-failures`` + 1 workers (Dask's
  KilledWorker) is split into single inputs, each retried alone, so only the input that
  kills its worker ends as an ``error`` row.  A file that takes longer than
  ``max_seconds`` is an ``error`` row; the rest of its chunk is redone in a new task and its
  worker is restarted by its nanny (a thread cannot be stopped).
- A task whose client went away (the run was killed) stops after the file in hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import pickle
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
from distributed import Client, KilledWorker, LocalCluster, WorkerPlugin

from ..errors import RunError, RunStopped
from ..pool import WorkerSetup, memory_limit_per_worker
from .base import ExecutorSpec

log = logging.getLogger("deidentify")

# Chunks in flight per worker thread: one running, the next ones queued on it.
_IN_FLIGHT = 3
_REFRESH_SECONDS = 5.0


_NONCE = 16
_SECRET_GLOB = "dask-*.secret"


def seal(secret: bytes, value: Any) -> bytes:
    """``value`` pickled and enciphered: a random nonce, then the pickle XOR SHAKE-256(secret, nonce).

    A fresh nonce per message, so no two messages share a keystream; confidentiality only
    (what Dask carries is not trusted for integrity more than the cluster itself is).
    """
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    nonce = os.urandom(_NONCE)
    return nonce + _xor(data, hashlib.shake_256(secret + nonce).digest(len(data)))


def unseal(secret: bytes, blob: bytes) -> Any:
    nonce, body = blob[:_NONCE], blob[_NONCE:]
    # Our own pickle: only this run, holding the secret, could have made it.
    return pickle.loads(_xor(body, hashlib.shake_256(secret + nonce).digest(len(body))))


def _xor(data: bytes, pad: bytes) -> bytes:
    return (int.from_bytes(data, "little") ^ int.from_bytes(pad, "little")).to_bytes(len(data), "little")


class Sealed:
    """A value that pickles as it is but never shows itself: repr and str are redacted."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Sealed(<redacted>)"

    __str__ = __repr__

    def __getstate__(self) -> Any:
        return self.value

    def __setstate__(self, value: Any) -> None:
        self.value = value


class RunPlugin(WorkerPlugin):
    """The run's set-up on every Dask worker, present and future: registered once by the client.

    It carries the set-up sealed, and where the run's secret is (a file in the shared state
    folder), never the secret itself.
    """

    def __init__(self, run_id: str, setup: WorkerSetup, secret: bytes, secret_file: Path) -> None:
        self.run_id = run_id
        self.name = f"deidentify-{run_id}"
        self.secret_file = secret_file
        self.sealed = Sealed(seal(secret, (setup.init, setup.init_args, setup.work, setup.fail)))

    def __repr__(self) -> str:
        return f"<deidentify run {self.run_id}>"

    def setup(self, worker: Any) -> None:
        _runs[self.run_id] = self

    def teardown(self, worker: Any) -> None:
        _runs.pop(self.run_id, None)
        _opened.pop(self.run_id, None)
        if _active[0] == self.run_id:
            _active[0] = ""

    def open(self) -> tuple[bytes, WorkerSetup]:
        """The run's secret (read from the state folder) and its set-up, once per process."""
        if self.run_id not in _opened:
            secret = self.secret_file.read_bytes()
            init, init_args, work, fail = unseal(secret, self.sealed.value)
            _opened[self.run_id] = (secret, WorkerSetup(init, init_args, work, fail))
        return _opened[self.run_id]


# In each Dask worker process: the runs set up by their plugins, and the one init_worker last ran for.
_runs: dict[str, RunPlugin] = {}
_opened: dict[str, tuple[bytes, WorkerSetup]] = {}
_active = [""]
_one_at_a_time = threading.Lock()


@dataclass
class ChunkResult:
    """What one Dask task sends back: its inputs' results in order, and what is left to redo."""

    results: list[Any]
    redo: list[Any] = field(default_factory=list)
    restart: str = ""
    """The worker to restart: a file overran its time there and its thread cannot be stopped."""


@dataclass
class _Hand:
    results: list[Any] = field(default_factory=list)
    held: tuple[int, float] | None = None  # (index in the chunk, monotonic start): one assignment, read whole
    stop: bool = False
    error: BaseException | None = None


def run_chunk(run_id: str, sealed_tasks: bytes, max_seconds: float) -> bytes:
    """One Dask task: the run's ``work`` over the chunk in a thread of this worker, watched for time.

    Takes the chunk sealed, returns its :class:`ChunkResult` sealed.
    """
    plugin = _runs.get(run_id)
    if plugin is None:
        raise RuntimeError("this Dask worker has not set up the run (its plugin did not reach it)")
    secret, setup = plugin.open()
    tasks: list[Any] = unseal(secret, sealed_tasks)
    hand = _Hand()
    thread = threading.Thread(target=_serve, args=(run_id, setup, tasks, hand), name="deidentify-chunk",
                              daemon=True)
    thread.start()
    while True:
        thread.join(timeout=1.0)
        if not thread.is_alive():
            break
        if _cancelled():
            hand.stop = True  # the client is gone or no longer wants it: finish the file in hand, no more
        held = hand.held
        if max_seconds and held is not None and time.monotonic() - held[1] > max_seconds:
            index = held[0]
            reason = f"over the limit: took longer than {max_seconds:g} s (its Dask worker was restarted)"
            return seal(secret, ChunkResult(hand.results[:index] + [setup.fail(tasks[index], reason)],
                                            tasks[index + 1:], _worker_address()))
    if hand.error is not None:
        raise RuntimeError(f"the chunk failed in its worker ({type(hand.error).__name__})")
    return seal(secret, ChunkResult(hand.results))


def _serve(run_id: str, setup: WorkerSetup, tasks: list[Any], hand: _Hand) -> None:
    try:
        with _one_at_a_time:
            if _active[0] != run_id:
                setup.init(*setup.init_args)
                _active[0] = run_id
            for index, task in enumerate(tasks):
                if hand.stop:
                    return
                hand.held = (index, time.monotonic())
                hand.results.append(setup.work(task))
            hand.held = None
    except BaseException as exc:  # said in the task's own thread, where Dask sees it (by type: no values)
        hand.error = exc


def _cancelled() -> bool:
    """Whether this task was released (its client died or cancelled it) while it ran."""
    try:
        from distributed.worker import get_worker, thread_state

        state = get_worker().state.tasks.get(thread_state.key)
    except Exception:
        return False
    return state is None or state.state in ("cancelled", "released", "forgotten")


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except Exception:
        return ""


@dataclass
class _Slot:
    chunk: list[Any]
    future: Any


class DaskExecutor:
    """:class:`~deidentify.batch.executors.base.Executor` on a Dask cluster: the scheduler ``spec``
    names, or a LocalCluster of ``workers`` processes on loopback (no dashboard, no port beyond
    127.0.0.1) that lives as long as this executor."""

    def __init__(self, spec: ExecutorSpec, workers: int, setup: WorkerSetup, *, memory_limit: int,
                 max_seconds: float, stop: Callable[[], bool] = lambda: False,
                 weigh: Callable[[Any], int] = lambda task: 0, scratch: Path) -> None:
        self.spec, self.setup, self.max_seconds, self.stop, self.weigh = spec, setup, max_seconds, stop, weigh
        self.run_id = secrets.token_hex(8)
        self.secret = secrets.token_bytes(32)
        self.secret_file = _write_secret(scratch, self.run_id, self.secret)
        self.cluster: LocalCluster | None = None
        self.submitted = 0
        try:
            if spec.kind == "dask-local":
                # Processes under a nanny (it restarts a worker that dies or passes its memory limit), one
                # thread each as the local pool's workers; loopback only and no dashboard: no port is
                # opened to the network.
                with dask.config.set({"distributed.scheduler.allowed-failures": 3}):
                    self.cluster = LocalCluster(
                        n_workers=max(1, workers), threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address=None, worker_dashboard_address=None,
                        memory_limit=memory_limit or memory_limit_per_worker(workers),
                        silence_logs=logging.ERROR)
                self.client = Client(self.cluster, set_as_default=False)
            else:
                self.client = Client(spec.scheduler, set_as_default=False)  # distributed.comm.timeouts.connect
        except (OSError, asyncio.TimeoutError, TimeoutError) as exc:
            self.close()
            raise RunError(f"cannot reach the Dask scheduler {spec.scheduler or '(local)'}: {exc}") from None
        if spec.kind == "dask":
            log.info("memory per worker: the Dask workers' own limit (dask worker --memory-limit, enforced by "
                     "their nanny); --max-memory-per-worker sets it only for the local pool and dask-local")
        self.client.register_plugin(RunPlugin(self.run_id, setup, self.secret, self.secret_file.resolve()),
                                    name=f"deidentify-{self.run_id}")
        self._threads = 1
        self._refreshed = -_REFRESH_SECONDS
        log.info("dask executor: scheduler %s, run %s", self.client.scheduler.address, self.run_id)

    def _window(self) -> int:
        now = time.monotonic()
        if now - self._refreshed >= _REFRESH_SECONDS:  # workers may come and go (adaptive clusters)
            self._refreshed = now
            with contextlib.suppress(Exception):
                self._threads = max(1, sum(self.client.nthreads().values()))
        return self._threads * _IN_FLIGHT

    def _cut(self, source: Iterator[Any]) -> list[Any]:
        chunk: list[Any] = []
        size = 0
        for task in source:
            chunk.append(task)
            size += self.weigh(task)
            if size >= self.spec.chunk_bytes or len(chunk) >= self.spec.chunk_files:
                break
        return chunk

    def _submit(self, chunk: list[Any]) -> _Slot:
        self.submitted += 1
        # The key names the run (a random id) and the chunk's number, nothing else.
        future = self.client.submit(run_chunk, self.run_id, seal(self.secret, chunk), self.max_seconds,
                                    key=f"deidentify-{self.run_id}-{self.submitted}", pure=False, retries=0)
        return _Slot(chunk, future)

    def map(self, tasks: Iterator[Any]) -> Iterator[Any]:
        """Results of ``tasks`` in their order."""
        pending: deque[_Slot] = deque()
        source: Iterator[Any] | None = iter(tasks)
        while True:
            if self.stop():
                return
            while source is not None and len(pending) < self._window():
                chunk = self._cut(source)
                if not chunk:
                    source = None
                    break
                pending.append(self._submit(chunk))
            if not pending:
                return
            head = pending[0]
            outcome: ChunkResult | None = None
            try:
                outcome = unseal(self.secret, head.future.result(timeout=1.0))
            except (asyncio.TimeoutError, TimeoutError) as exc:
                if not head.future.done():
                    continue  # still running: look at the stop flag, feed the window, wait again
                failure: BaseException = exc
            except (Exception, asyncio.CancelledError) as exc:
                failure = exc
            pending.popleft()
            head.future.release()
            if outcome is None:
                self._failed(head, failure, pending)
                yield from self._lost(head, failure)
                continue
            for result in outcome.results:
                yield result
                if self.stop():
                    return
            if outcome.redo:
                pending.appendleft(self._submit(outcome.redo))
            if outcome.restart:
                log.warning("restarting Dask worker %s: a file overran --max-seconds-per-file", outcome.restart)
                with contextlib.suppress(Exception):
                    self.client.restart_workers([outcome.restart], raise_for_error=False)

    def _failed(self, slot: _Slot, exc: BaseException, pending: deque[_Slot]) -> None:
        """A chunk whose task failed: split it so each of its inputs is retried alone."""
        if self.client.status not in ("running", "connecting"):
            raise RunStopped(f"lost the Dask scheduler ({type(exc).__name__})")
        if len(slot.chunk) > 1:
            log.warning("a Dask task of %d files failed (%s); retrying them one by one", len(slot.chunk),
                        type(exc).__name__)
            pending.extendleft(reversed([self._submit([task]) for task in slot.chunk]))

    def _lost(self, slot: _Slot, exc: BaseException) -> list[Any]:
        """The result of a single input whose task failed for good."""
        if len(slot.chunk) > 1:
            return []
        if isinstance(exc, KilledWorker):
            reason = f"its worker process died ({exc.allowed_failures + 1} Dask workers were lost running it)"
        else:
            reason = f"its Dask task failed ({type(exc).__name__})"
        return [self.setup.fail(slot.chunk[0], reason)]

    def close(self) -> None:
        """Forget the run on the cluster (its plugin, its tasks) and stop the LocalCluster if it is ours."""
        client = getattr(self, "client", None)
        if client is not None:
            with contextlib.suppress(Exception):
                client.unregister_worker_plugin(f"deidentify-{self.run_id}")
            with contextlib.suppress(Exception):
                client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()
            self.cluster = None
        self.secret_file.unlink(missing_ok=True)


def _write_secret(folder: Path, run_id: str, secret: bytes) -> Path:
    """The run's secret, in the state folder (0700; the run holds its lock): workers read it there.

    A secret a killed run left is removed first: no other run can be using this folder.
    """
    for stale in folder.glob(_SECRET_GLOB):
        stale.unlink(missing_ok=True)
    path = folder / _SECRET_GLOB.replace("*", run_id)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(secret)
    return path
