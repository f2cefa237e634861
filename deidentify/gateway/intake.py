"""From the spool through the one pipeline: spooled instances fed to a :class:`~deidentify.batch.Runner`.

This is what ``deidentify watch INBOX DST --processed ...`` does with an inbox,
without the settle time: a spooled file is whole the moment it has its name.
Instances go to the Runner in batches of what is waiting (so ``--workers`` run
side by side), in arrival order; the Runner writes the outputs (``run``'s layout,
into DST or the outbound folder), the manifest, the report rows, the quarantine
and run.log.  Once the Runner has finished an instance it leaves the spool: a
written or filtered one is done, a withheld one or one in error has its copy in
the quarantine (made here if the Runner had none).  Killed between the two, the
next start finds the instance in the manifest, reports it without redoing it and
removes it then.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from ..batch import Runner, RunStopped, path_id_of
from ..outcome import Status
from ..state import Seen
from .spool import Spool

log = logging.getLogger("deidentify.gateway")

DEFAULT_BATCH = 64
_DONE = frozenset({Status.WRITTEN, Status.FILTERED})


class Intake:
    """Feeds the spool to ``runner``; :meth:`run` in a thread until stopped, or :meth:`drain`."""

    def __init__(self, spool: Spool, runner: Runner, *, batch: int = DEFAULT_BATCH,
                 on_output: Callable[[], None] = lambda: None) -> None:
        self.spool = spool
        self.runner = runner
        self.batch = batch
        self.on_output = on_output
        self.processed = 0
        self.stopped: RunStopped | None = None
        """Set when the Runner stopped (its storage failed): the gateway must stop."""
        # What the state folder finished before this session, for the report at the end.
        self.earlier: dict[str, Seen] = dict(runner.seen)

    def run(self, stop: threading.Event) -> None:
        """Process what arrives until ``stop`` is set (or the Runner stops, which sets it)."""
        while not stop.is_set():
            self.spool.arrived.clear()
            if not self.step():
                self.spool.arrived.wait(1.0)
            if self.stopped is not None:
                stop.set()

    def drain(self) -> None:
        """Process everything the spool holds now."""
        while self.stopped is None and self.step():
            pass

    def step(self) -> bool:
        """One batch; False when the spool was empty (or the Runner stopped)."""
        if self.stopped is not None:
            return False
        waiting = self.spool.pending()[: self.batch]
        if not waiting:
            return False
        try:
            self.runner.process(waiting)
        except RunStopped as stopped:
            log.error("the pipeline stopped: %s", stopped.reason)
            self.stopped = stopped
            return False
        for path in waiting:
            self._finished(path)
        self.on_output()
        return True

    def _finished(self, path: Path) -> None:
        path_id = path_id_of(path, self.runner.keyring)
        self.earlier.pop(path_id, None)
        seen = self.runner.seen.pop(path_id, None)  # the gateway never sees a spool name twice
        if seen is None:
            return  # not finished (cannot happen once process() returned): it stays for the next start
        row = seen.row
        status = str(row.get("status", ""))
        if status not in _DONE:
            output = str(row.get("output", ""))
            if not (output.startswith("quarantine/") and (self.runner.folder.path / output).exists()):
                self.runner.folder.hold(str(row.get("file_id", path_id)), status, str(row.get("reason", "")), path)
        self.spool.remove(path)
        self.processed += 1
