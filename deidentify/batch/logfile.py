"""run.log: one line per input (keyed id, status, seconds; the reason when not written) and the run's
own lines, as text or as JSON lines for a log collector.  No line names an input's path or value."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

#: The fields per-input lines carry (``extra=``), kept in JSON lines.
FIELDS = ("file_id", "status", "seconds", "reason")
LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")


@dataclass(frozen=True)
class LogSettings:
    """How run.log is written: from which level (``info`` lists every input), as ``text`` or ``json``."""

    level: str = "info"
    format: str = "text"


class LogFile(logging.FileHandler):
    """run.log; a line that cannot be written (full disk) is dropped without a traceback on stderr:
    the run itself stops on its next write to the same storage and says why."""

    def __init__(self, path: Path, settings: LogSettings) -> None:
        super().__init__(path)
        self.setLevel(settings.level.upper())
        self.setFormatter(_JsonLines() if settings.format == "json" else
                          logging.Formatter("%(asctime)s %(levelname)s %(message)s"))

    def handleError(self, record: logging.LogRecord) -> None:
        pass


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "message": record.getMessage()}
        line.update({name: getattr(record, name) for name in FIELDS if hasattr(record, name)})
        return json.dumps(line, ensure_ascii=False)
