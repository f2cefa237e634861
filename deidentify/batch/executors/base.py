"""The one interface every executor implements, and what a run asks for."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

Task = TypeVar("Task", contravariant=True)
Result = TypeVar("Result", covariant=True)

#: The executors ``--executor`` names.
KINDS = ("local", "dask", "dask-local")

# A Dask task's inputs: close it at this many bytes or this many files, whichever comes first.
# Big enough that Dask's per-task cost (a few ms) is lost in the task's own work, small enough that
# a retried task redoes little and the last tasks of a run do not leave workers idle.
CHUNK_BYTES = 64 << 20
CHUNK_FILES = 256


class Executor(Protocol[Task, Result]):
    """Runs a :class:`~deidentify.batch.pool.WorkerSetup` over tasks: the local pool, a Dask cluster.

    :meth:`map` yields one result per task, in the order of the tasks, whatever order they
    finish in (the runner commits outputs in the order of its walk).  A task whose worker
    died yields the setup's ``fail`` result; no task stops the run.
    """

    def map(self, tasks: Iterator[Task]) -> Iterator[Result]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ExecutorSpec:
    """Where the work runs: ``local`` (the supervised pool of :mod:`~deidentify.batch.pool`), ``dask``
    (a running Dask scheduler at ``scheduler``) or ``dask-local`` (a LocalCluster of ``workers``
    processes on loopback, started and stopped by the run)."""

    kind: str = "local"
    scheduler: str = ""
    chunk_bytes: int = CHUNK_BYTES
    chunk_files: int = CHUNK_FILES

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"no executor {self.kind!r}; known: {', '.join(KINDS)}")

    @property
    def label(self) -> str:
        return f"dask at {self.scheduler}" if self.kind == "dask" else self.kind
