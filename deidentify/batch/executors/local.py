"""The local executor: the supervised worker pool of :mod:`deidentify.batch.pool`, unchanged."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..pool import WorkerPool, WorkerSetup


def open_local(workers: int, setup: WorkerSetup, *, memory_limit: int, max_seconds: float,
               close_fds: Sequence[int], stop: Callable[[], bool]) -> WorkerPool[Any, Any]:
    return WorkerPool(workers, setup, memory_limit=memory_limit, max_seconds=max_seconds, close_fds=close_fds,
                      stop=stop)
