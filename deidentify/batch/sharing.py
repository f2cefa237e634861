"""Parts of one long task done by the pool's other workers, through a board in shared memory.

A task that splits into parts (the frames of a cine, for the text detector) is
posted on the board by the worker that holds it, its *owner*; the owner works
through the parts itself, and every other worker takes parts too, between two of
its own tasks.  A cine that would take one worker's core for 13 s is read by
the whole pool as soon as the other workers finish the file in their hands,
instead of sharing the machine with them for its whole length.

A part is done by whoever takes it first, with the same code and models, so the
result does not depend on who did it.  What the helper cannot do (its input
changed, its result is too large for the board, it raised) it hands back, and
the owner does it; a helper that dies or is stopped mid-part has its part
handed back by the supervisor (:meth:`Board.forget`).

Shared memory and a record lock, not pipes and queues: a worker may be killed
at any instant (kill -9, its memory limit, its time limit).  A record lock dies
with the process holding it, where a lock of :mod:`multiprocessing` would stay
taken for ever; a result written into memory needs no reader to be alive; and
nothing can fill up and block a writer.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import mmap
import os
import pickle
import tempfile
import time
from collections.abc import Callable, Iterator
from enum import IntEnum
from typing import Any

#: Most parts one task is cut into; the helpers' results for all of them are held at once.
MAX_PARTS = 16
_SPEC_BYTES = 8192
_RESULT_BYTES = 64 * 1024
# How long an owner with nothing left to take waits between looks at its parts in other hands.
_POLL_SECONDS = 0.005


class Part(IntEnum):
    """Where a part of a posted task is."""

    FREE = 0
    POSTED = 1
    TAKEN = 2
    DONE = 3
    RETURNED = 4
    """Handed back by a helper that could not do it, or died doing it: only its owner takes it now."""


class Board:
    """The pool's board: per worker slot, the task it posted and the state and result of each part.

    Made by the supervisor before its workers are forked; every process uses the
    same memory and the same lock file.
    """

    def __init__(self, slots: int) -> None:
        self.slots = slots
        parts = slots * MAX_PARTS
        self._generation = (ctypes.c_int64 * slots).from_buffer(_shared(8 * slots))
        self._count = (ctypes.c_int32 * slots).from_buffer(_shared(4 * slots))
        self._spec_length = (ctypes.c_int32 * slots).from_buffer(_shared(4 * slots))
        self._spec = _shared(_SPEC_BYTES * slots)
        self._state = (ctypes.c_int8 * parts).from_buffer(_shared(parts))
        self._taker = (ctypes.c_int32 * parts).from_buffer(_shared(4 * parts))
        self._result_length = (ctypes.c_int32 * parts).from_buffer(_shared(4 * parts))
        self._results = _shared(_RESULT_BYTES * parts)
        # An unlinked file: its record lock is the board's lock, and the kernel drops it with the
        # process that held it.
        self._lock_file = tempfile.TemporaryFile()  # noqa: SIM115 (open for the board's life)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fcntl.lockf(self._lock_file.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.lockf(self._lock_file.fileno(), fcntl.LOCK_UN)

    # -- the owner's side --------------------------------------------------------------

    def share(self, slot: int, spec: bytes, count: int, do: Callable[[int], Any]) -> list[Any]:
        """The results of parts ``0..count-1`` of the task ``spec`` describes, in order.

        The owner (worker ``slot``) does parts with ``do`` while any is left to
        take, then waits for those in other hands.  An exception of ``do`` ends the
        sharing and is raised; parts in other hands are then dropped.
        """
        if not 0 < count <= MAX_PARTS or len(spec) > _SPEC_BYTES:
            return [do(part) for part in range(count)]
        first = slot * MAX_PARTS
        with self._locked():
            self._generation[slot] += 1
            self._spec[slot * _SPEC_BYTES : slot * _SPEC_BYTES + len(spec)] = spec
            self._spec_length[slot] = len(spec)
            self._count[slot] = count
            for index in range(first, first + count):
                self._state[index], self._taker[index] = Part.POSTED, 0
        results: dict[int, Any] = {}
        try:
            while len(results) < count:
                part = self._take_own(slot, count)
                if part is not None:
                    results[part] = do(part)
                    continue
                done = self._collect(slot, count, results)
                results.update(done)
                if not done and len(results) < count:
                    time.sleep(_POLL_SECONDS)
        finally:
            with self._locked():
                self._count[slot] = 0
                for index in range(first, first + MAX_PARTS):
                    self._state[index] = Part.FREE
        return [results[part] for part in range(count)]

    def _take_own(self, slot: int, count: int) -> int | None:
        """A part of the owner's task no one holds (posted, or handed back), now the owner's."""
        first = slot * MAX_PARTS
        with self._locked():
            for part in range(count):
                if self._state[first + part] in (Part.POSTED, Part.RETURNED):
                    self._state[first + part], self._taker[first + part] = Part.TAKEN, os.getpid()
                    return part
        return None

    def _collect(self, slot: int, count: int, results: dict[int, Any]) -> dict[int, Any]:
        """The results other workers finished since the last look."""
        first, done = slot * MAX_PARTS, {}
        with self._locked():
            for part in range(count):
                index = first + part
                if part not in results and self._state[index] == Part.DONE:
                    start = index * _RESULT_BYTES
                    done[part] = bytes(self._results[start : start + self._result_length[index]])
        return {part: pickle.loads(blob) for part, blob in done.items()}

    # -- the helpers' side -------------------------------------------------------------

    def help(self, slot: int, do: Callable[[bytes, int], Any], busy: Callable[[bool], None]) -> int:
        """Do parts of other workers' tasks (worker ``slot`` helping) until none is left to take.

        ``do(spec, part)`` gives a part's result; ``busy`` is told when a part
        is begun and ended (the supervisor's time limit applies to it).  Returns
        how many parts were done.
        """
        done = 0
        while self._posted_elsewhere(slot) and (taken := self._take_other(slot)) is not None:
            owner, part, generation, spec = taken
            busy(True)
            try:
                blob: bytes | None = pickle.dumps(do(spec, part), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # the owner does it again, and meets the failure itself
                blob = None
            finally:
                busy(False)
            index = owner * MAX_PARTS + part
            with self._locked():
                if (self._generation[owner] != generation or self._state[index] != Part.TAKEN
                        or self._taker[index] != os.getpid()):
                    continue  # the owner gave the task up (it failed, or died)
                if blob is None or len(blob) > _RESULT_BYTES:
                    self._state[index] = Part.RETURNED
                    continue
                start = index * _RESULT_BYTES
                self._results[start : start + len(blob)] = blob
                self._result_length[index] = len(blob)
                self._state[index] = Part.DONE
                done += 1
        return done

    def _posted_elsewhere(self, slot: int) -> bool:
        """Whether another worker may have posted a task: read without the lock, as every worker asks
        before each of its files, and the board is almost always empty."""
        return any(self._count[owner] for owner in range(self.slots) if owner != slot)

    def _take_other(self, slot: int) -> tuple[int, int, int, bytes] | None:
        """A posted part of another worker's task, now this worker's: (owner, part, generation, spec)."""
        with self._locked():
            for owner in range(self.slots):
                if owner == slot:
                    continue
                first = owner * MAX_PARTS
                for part in range(self._count[owner]):
                    if self._state[first + part] == Part.POSTED:
                        self._state[first + part], self._taker[first + part] = Part.TAKEN, os.getpid()
                        start = owner * _SPEC_BYTES
                        spec = bytes(self._spec[start : start + self._spec_length[owner]])
                        return owner, part, self._generation[owner], spec
        return None

    # -- the supervisor's side ---------------------------------------------------------

    def forget(self, slot: int, pid: int) -> None:
        """Worker ``slot`` (process ``pid``) is gone: its task is withdrawn, the parts it held are handed back."""
        with self._locked():
            self._generation[slot] += 1
            self._count[slot] = 0
            for index in range(self.slots * MAX_PARTS):
                if index // MAX_PARTS == slot:
                    self._state[index] = Part.FREE
                elif self._state[index] == Part.TAKEN and self._taker[index] == pid:
                    self._state[index] = Part.RETURNED


def _shared(size: int) -> mmap.mmap:
    """``size`` bytes of anonymous memory that forked processes share."""
    return mmap.mmap(-1, max(1, size), flags=mmap.MAP_SHARED)
