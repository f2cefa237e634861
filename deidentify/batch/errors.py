"""Why a run cannot start, or stopped before its end."""

from __future__ import annotations

from ..errors import DeidentifyError


class RunError(DeidentifyError, ValueError):
    """Arguments that make a run impossible; nothing has been written."""


class RunStopped(DeidentifyError):
    """The run stopped before its end: a signal asked it to, or its storage failed."""

    def __init__(self, reason: str, signum: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.signum = signum
