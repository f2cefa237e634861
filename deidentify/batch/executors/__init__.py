"""Where a run's per-file work runs: one module per executor behind :class:`Executor`.

``local`` is the supervised pool (:mod:`deidentify.batch.pool`); ``dask`` and ``dask-local``
run the same :class:`~deidentify.batch.pool.WorkerSetup` on a Dask cluster
(:mod:`.dask`; Dask is an optional dependency, ``pip install 'deidentify[dask]'``).
Every executor gives results in task order, so the runner commits, records and reports
exactly as it does with the local pool.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import RunError
from ..pool import WorkerSetup
from .base import KINDS, Executor, ExecutorSpec

__all__ = ["KINDS", "Executor", "ExecutorSpec", "open_executor"]


def open_executor(spec: ExecutorSpec, workers: int, setup: WorkerSetup, *, memory_limit: int, max_seconds: float,
                  close_fds: Sequence[int] = (), stop: Callable[[], bool] = lambda: False,
                  weigh: Callable[[Any], int] = lambda task: 0, scratch: Path | None = None) -> Executor[Any, Any]:
    """The executor ``spec`` names, started.  ``weigh`` gives a task's bytes (Dask cuts tasks by bytes);
    ``scratch`` is a private folder every worker sees (the state folder): Dask's run secret goes there.

    Raises :class:`RunError` when Dask is asked for but not installed or not reachable.
    """
    if spec.kind == "local":
        from .local import open_local

        return open_local(workers, setup, memory_limit=memory_limit, max_seconds=max_seconds, close_fds=close_fds,
                          stop=stop)
    try:
        from .dask import DaskExecutor
    except ImportError:
        raise RunError(f"--executor {spec.kind} needs Dask: pip install 'deidentify[dask]'") from None
    if scratch is None:
        raise RunError(f"--executor {spec.kind} needs a state folder that every worker sees")
    return DaskExecutor(spec, workers, setup, memory_limit=memory_limit, max_seconds=max_seconds, stop=stop,
                        weigh=weigh, scratch=scratch)
