"""Progress of a run: a tqdm bar on a terminal, a log line every few seconds elsewhere, or nothing."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any

from ..outcome import Status

_LOG_EVERY_SECONDS = 10.0


class Progress:
    """Counts finished files and shows them as ``mode`` says (``bar``, ``log`` or ``none``)."""

    def __init__(self, mode: str, total: int | None) -> None:
        self.mode = mode
        self.files = 0
        self.bytes = 0
        self.withheld = 0
        self.started = time.perf_counter()
        self._last_line = self.started
        self._bar = None
        if mode == "bar":
            from tqdm import tqdm

            # No monitor thread: the run forks its workers, and a process that forks should run no threads.
            tqdm.monitor_interval = 0
            self._bar = tqdm(total=total, unit="file", desc="deidentify", dynamic_ncols=True)
        self.total = total

    def update(self, row: Mapping[str, Any]) -> None:
        self.files += 1
        self.bytes += int(row.get("bytes", 0) or 0)
        self.withheld += row.get("status") not in (Status.WRITTEN, Status.FILTERED)
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(MB=f"{self.bytes / 1e6:.0f}", withheld=self.withheld, refresh=False)
        elif self.mode == "log":
            now = time.perf_counter()
            if now - self._last_line >= _LOG_EVERY_SECONDS:
                self._last_line = now
                self._print_line(now)

    def _print_line(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        of = f"/{self.total}" if self.total else ""
        print(f"deidentify: {self.files}{of} files, {self.bytes / 1e6:.1f} MB, {self.files / elapsed:.0f} files/s,"
              f" {self.withheld} withheld", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def progress_mode(quiet: bool, stream: Any = sys.stderr) -> str:
    """``none`` when quiet, else ``bar`` on a terminal and ``log`` elsewhere."""
    if quiet:
        return "none"
    return "bar" if stream.isatty() else "log"
