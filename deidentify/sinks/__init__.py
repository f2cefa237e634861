"""Output sinks: where de-identified instances go, one module per kind behind :class:`Sink`."""

from .base import OutputName, Sink, SinkConflict, Staged
from .folder import FolderSink, SinkLocked

__all__ = ["FolderSink", "OutputName", "Sink", "SinkConflict", "SinkLocked", "Staged"]
