"""The interface every output sink implements."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePosixPath

from ..errors import DeidentifyError

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


@dataclass(frozen=True)
class OutputName:
    """Where an instance goes: a patient pseudonym and the (new) study, series and SOP instance UIDs."""

    patient: str
    study: str
    series: str
    instance: str

    @cached_property
    def path(self) -> PurePosixPath:
        parts = [self.patient, self.study, self.series, self.instance]
        for part in parts:
            if not _UID.match(part) and not part.isalnum():
                raise ValueError("an output name part is neither a UID nor a pseudonym")
        return PurePosixPath(*parts[:3], parts[3] + ".dcm")


class SinkConflict(DeidentifyError):
    """The sink already holds different content under this name."""


@dataclass(frozen=True)
class Staged:
    """An output handed to the sink but not yet visible: ``token`` is the sink's own (a temp file)."""

    name: OutputName
    token: str


class Sink(ABC):
    """Receives de-identified instances.

    Writing is two steps so worker processes can do the heavy part (:meth:`stage`)
    and the run can make outputs visible (:meth:`commit`) in the order of its walk.
    """

    @abstractmethod
    def stage(self, name: OutputName, data: bytes, token: str = "") -> Staged:
        """Hold ``data`` for ``name`` without making it visible; ``token`` tells inputs apart."""

    @abstractmethod
    def commit(self, staged: Staged) -> str:
        """Make a staged output visible; return where it went (relative, no PHI).

        Raises :class:`SinkConflict` when other content is already stored under the name.
        """

    def write(self, name: OutputName, data: bytes) -> str:
        return self.commit(self.stage(name, data))

    def close(self) -> None:  # noqa: B027 - a hook with a default, not an abstract method
        """Release what the sink holds (nothing by default)."""
