"""Batch runs: a folder of studies in, a folder that can be shared out.

:func:`run` walks SRC once; a :class:`Runner` is what it and the folder watcher
feed paths to (the walk of SRC is the source stage's, :func:`deidentify.source.walk`).
The modules, by what they do: ``paths`` (the layouts refused), ``pool`` (the
supervised worker processes), ``worker`` (one file's work in a worker),
``executors`` (where that work runs: the pool, or a Dask cluster),
``verify`` (``--verify``'s check of each output), ``runner`` (outputs committed
in walk order, report and state), ``signals``, ``progress`` and ``malloc``.
"""

from .errors import RunError, RunStopped
from .executors import KINDS as EXECUTORS
from .executors import ExecutorSpec
from .paths import check_paths, default_state
from .pool import default_workers
from .progress import progress_mode
from .runner import DEFAULT_MAX_SECONDS, Runner, RunResult, run
from .worker import path_id_of

__all__ = [
    "DEFAULT_MAX_SECONDS",
    "EXECUTORS",
    "ExecutorSpec",
    "RunError",
    "RunResult",
    "RunStopped",
    "Runner",
    "check_paths",
    "default_state",
    "default_workers",
    "path_id_of",
    "progress_mode",
    "run",
]
