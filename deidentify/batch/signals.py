"""SIGINT and SIGTERM during a run: finish the files in hand, then stop."""

from __future__ import annotations

import signal
import threading
from typing import Any, Protocol


class _Stoppable(Protocol):
    def request_stop(self, signum: int) -> None: ...


class StopRunOnSignals:
    """While a run is on, SIGINT and SIGTERM ask it to stop instead of killing it mid-write.

    Only the main thread may install signal handlers; elsewhere this does nothing.
    """

    def __init__(self, runner: _Stoppable) -> None:
        self.runner = runner
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.previous[signum] = signal.signal(signum, lambda n, _f: self.runner.request_stop(n))

    def __exit__(self, *_: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
