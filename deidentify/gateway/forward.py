"""The outbound queue: de-identified instances sent on by C-STORE, each removed only once acknowledged.

The pipeline writes its outputs into the outbound folder with ``run``'s layout
(whole files only: the sink renames them into place); the :class:`Forwarder`
sends what it finds there, oldest folder first, over one association per batch
whose presentation contexts are each instance's own SOP class and transfer
syntax (nothing is transcoded).  A file leaves the folder only when the peer
answered success (0x0000) or a warning (0x0001, 0xBxxx); a lost connection, a
rejected association or a peer that is down leaves it queued and the next try
comes after a back-off (1 s, doubling, at most ``backoff_max``).  A restart finds
the queue where it was.

Delivery is at least once: an instance the peer stored but whose answer was lost
with the connection is sent again, under the same SOP Instance UID, which DICOM
peers treat as the same instance (storescp overwrites its file, Orthanc keeps one).

A failure status (the peer refused that instance: 0xA7xx out of resources,
0xA9xx, 0xCxxx...) is retried like a lost connection; after ``max_refusals``
refusals of the same file, or when the peer accepts no presentation context for
it, the file moves to the ``rejected`` folder with a ``.reason.txt`` giving the
status, and the queue goes on.  Logs carry counts and statuses, never UIDs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pydicom.filereader import read_file_meta_info
from pynetdicom import AE

from ..errors import DeidentifyError
from .scp import quiet_pynetdicom

log = logging.getLogger("deidentify.gateway")

DEFAULT_BATCH = 64
MAX_CONTEXTS = 128  # presentation contexts one association may propose
DEFAULT_BACKOFF_MAX = 60.0
DEFAULT_MAX_REFUSALS = 5


class DestinationError(DeidentifyError):
    """A ``--forward`` destination that is not ``AE@HOST:PORT``."""


@dataclass(frozen=True)
class Destination:
    """The peer instances are forwarded to."""

    ae_title: str
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Destination:
        """``AE@HOST:PORT`` (``AE@[::1]:PORT`` for an IPv6 address)."""
        ae_title, at, address = text.rpartition("@")
        host, colon, port = address.rpartition(":")
        host = host.strip("[]")
        if not at or not colon or not ae_title.strip() or not host or not port.isdigit() or len(ae_title) > 16:
            raise DestinationError(f"a destination must be AE@HOST:PORT: {text!r}")
        if not 0 < int(port) < 65536:
            raise DestinationError(f"not a port: {port}")
        return cls(ae_title.strip(), host, int(port))

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"


def _is_acknowledged(status: int) -> bool:
    return status == 0x0000 or status == 0x0001 or 0xB000 <= status <= 0xBFFF


@dataclass
class ForwardCounts:
    """What the forwarder did since it started."""

    sent: int = 0
    bytes: int = 0
    rejected: int = 0
    attempts_failed: int = 0


class Forwarder:
    """Sends the outbound folder's files to ``destination``; :meth:`run` in a thread, :meth:`drain` at the end."""

    def __init__(self, outbound: Path, destination: Destination, rejected: Path, *, calling_ae: str,
                 ssl_context: ssl.SSLContext | None = None, batch: int = DEFAULT_BATCH,
                 backoff_max: float = DEFAULT_BACKOFF_MAX, max_refusals: int = DEFAULT_MAX_REFUSALS,
                 max_pdu: int = 0) -> None:
        self.outbound = outbound
        self.destination = destination
        self.rejected = rejected
        self.batch = batch
        self.backoff_max = backoff_max
        self.max_refusals = max_refusals
        self.counts = ForwardCounts()
        self.wake = threading.Event()
        """Set by the pipeline when it has written outputs; the forwarder looks at once."""
        self._ssl = ssl_context
        self._refusals: dict[Path, int] = {}
        self._backoff = 0.0
        quiet_pynetdicom()
        self._ae = AE(ae_title=calling_ae)
        self._ae.maximum_pdu_size = max_pdu
        self._ae.network_timeout = 60
        self._ae.acse_timeout = 30
        self._ae.dimse_timeout = 120
        self._ae.connection_timeout = 10

    # --- the queue --------------------------------------------------------------------------
    def queued(self, limit: int | None = None) -> list[Path]:
        """Files waiting, folder by folder in sorted order (hidden names, the sink's temporaries, left out)."""
        found: list[Path] = []
        for parent, dirs, files in os.walk(self.outbound):
            dirs[:] = sorted(name for name in dirs if not name.startswith("."))
            for name in sorted(files):
                if not name.startswith(".") and name.endswith(".dcm"):
                    found.append(Path(parent, name))
                    if limit is not None and len(found) >= limit:
                        return found
        return found

    # --- running ----------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Send until ``stop`` is set: whenever woken, or every few seconds, or after a back-off."""
        while not stop.is_set():
            self.wake.clear()
            try:
                progressed = self.send_batch()
            except Exception as exc:  # never let the thread die: log, back off, go on
                log.warning("forwarding failed (%s); retrying", type(exc).__name__)
                progressed = False
            if progressed is None:  # nothing queued
                self.wake.wait(5.0)
            elif not progressed:
                stop.wait(self._next_backoff())

    def drain(self, deadline: float) -> int:
        """Send what is queued until it is empty, a try fails or ``deadline`` (monotonic); returns what is left."""
        while time.monotonic() < deadline:
            try:
                progressed = self.send_batch()
            except Exception:
                break
            if not progressed:
                break
        return len(self.queued())

    def _next_backoff(self) -> float:
        self._backoff = min(max(self._backoff * 2, 1.0), self.backoff_max)
        return self._backoff

    def send_batch(self) -> bool | None:
        """One association: send up to ``batch`` queued files.

        Returns ``None`` when nothing is queued, ``True`` when at least one file was
        acknowledged (or set aside), ``False`` when the peer could not be reached or
        acknowledged nothing.
        """
        files = self.queued(self.batch)
        if not files:
            return None
        contexts: dict[tuple[str, str], None] = {}
        chosen: list[tuple[Path, tuple[str, str]]] = []
        for path in files:
            try:
                meta = read_file_meta_info(path)
                pair = (str(meta.MediaStorageSOPClassUID), str(meta.TransferSyntaxUID))
            except FileNotFoundError:
                continue
            except Exception:
                self._reject(path, "its file meta information cannot be read")
                continue
            if pair not in contexts and len(contexts) >= MAX_CONTEXTS:
                break
            contexts[pair] = None
            chosen.append((path, pair))
        if not chosen:
            return True
        requested: dict[str, list[str]] = {}
        for sop_class, syntax in contexts:
            requested.setdefault(sop_class, []).append(syntax)
        self._ae.requested_contexts = []
        for sop_class, syntaxes in requested.items():
            for syntax in syntaxes:  # one context per pair: the peer may accept one syntax and not another
                self._ae.add_requested_context(sop_class, syntax)
        assoc = self._ae.associate(self.destination.host, self.destination.port, ae_title=self.destination.ae_title,
                                   tls_args=(self._ssl, self.destination.host) if self._ssl is not None else None)
        if not assoc.is_established:
            self.counts.attempts_failed += 1
            how = "rejected the association" if assoc.is_rejected else "cannot be reached"
            log.warning("forwarding: the destination %s; %d instance(s) stay queued", how, len(self.queued()))
            return False
        acknowledged = 0
        lost = True  # until the loop ends normally: then the association is released, else aborted
        try:
            accepted = {(cx.abstract_syntax, cx.transfer_syntax[0]) for cx in assoc.accepted_contexts}
            for path, pair in chosen:
                if pair not in accepted:
                    self._reject(path, "the destination accepts no presentation context for its SOP class "
                                       "and transfer syntax")
                    acknowledged += 1
                    continue
                size = path.stat().st_size
                status = assoc.send_c_store(path)
                if not status or "Status" not in status:  # no answer: the connection is gone
                    break
                code = int(status.Status)
                if _is_acknowledged(code):
                    path.unlink(missing_ok=True)
                    self._refusals.pop(path, None)
                    self.counts.sent += 1
                    self.counts.bytes += size
                    acknowledged += 1
                else:
                    self._refused(path, code)
                if not assoc.is_established:
                    break
            else:
                lost = False
        finally:
            if lost:
                assoc.abort()  # a release would wait for an answer that is not coming
            elif assoc.is_established:
                assoc.release()
        if acknowledged:
            self._backoff = 0.0
            return True
        self.counts.attempts_failed += 1
        log.warning("forwarding: the destination acknowledged nothing; %d instance(s) stay queued",
                    len(self.queued()))
        return False

    def _refused(self, path: Path, code: int) -> None:
        count = self._refusals.get(path, 0) + 1
        self._refusals[path] = count
        log.warning("forwarding: the destination refused an instance with status 0x%04X (%d of %d)",
                    code, count, self.max_refusals)
        if count >= self.max_refusals:
            self._reject(path, f"the destination refused it {count} times, last with status 0x{code:04X}")

    def _reject(self, path: Path, reason: str) -> None:
        """Set a file aside in ``rejected`` with why, so the rest of the queue moves on."""
        self.rejected.mkdir(parents=True, exist_ok=True, mode=0o700)
        relative = path.relative_to(self.outbound)
        target = self.rejected / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
        self._refusals.pop(path, None)
        self.counts.rejected += 1
        log.warning("forwarding: an instance was set aside (%s)", reason)


def prune_empty_folders(root: Path) -> None:
    """Remove the empty folders sent files left under ``root``.

    Only while no Runner writes there: its sink remembers the folders it made.
    """
    for parent, _dirs, _files in os.walk(root, topdown=False):
        if parent != str(root):
            with contextlib.suppress(OSError):  # not empty
                os.rmdir(parent)
