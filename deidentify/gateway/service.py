"""The gateway as a whole: SCP → spool → the one pipeline → DST, or the outbound queue → the destination.

Its folders, all under the state folder (mode 0700; the first two hold PHI)::

    STATE/                 the Runner's state folder, as ``run``'s: report, manifest, run.log, quarantine/
    STATE/spool/           instances received and acknowledged, not yet de-identified
    STATE/outbound/        with --forward: de-identified instances not yet acknowledged by the destination
    STATE/rejected/        with --forward: instances the destination refused for good, each with its reason

Threads: pynetdicom's (one per association) store into the spool; the intake
thread feeds the spool to the Runner (whose workers are processes, started
before any thread so they are forked from a single-threaded process); with
``--forward`` the forwarder thread empties the outbound folder.  The main thread
waits for SIGTERM or SIGINT (each time: stop gracefully), then: the listening socket is closed, associations
in progress get ``drain_seconds`` to finish (then are aborted: what they had not
been told was stored stays with the sender), the spool is de-identified to the
last instance, the forwarder gets ``drain_seconds`` more to send what is queued,
the report is written and :meth:`Gateway.serve` returns 0.  Whatever is left in
the spool or the queue is picked up by the next start; so is everything after
``kill -9``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..batch import RunError, Runner, RunResult
from ..batch.paths import inside
from ..batch.signals import StopRunOnSignals
from ..limits import Limits
from ..profile import Profile
from .config import GatewaySettings
from .forward import Destination, Forwarder, prune_empty_folders
from .intake import Intake
from .scp import StoreSCP
from .security import AllowList, client_context, server_context
from .spool import Spool

log = logging.getLogger("deidentify.gateway")


@dataclass
class ServeResult:
    """How a gateway session ended."""

    run: RunResult
    received: int
    refused: int
    forwarded: int
    queued: int
    spooled: int

    @property
    def exit_code(self) -> int:
        """0 stopped as asked; 2 the pipeline's storage failed (the next start resumes)."""
        return 2 if self.run.stopped is not None else 0


class Gateway:
    """Opens the folders and locks; :meth:`serve` listens until :meth:`stop` (or a signal), then drains."""

    def __init__(self, settings: GatewaySettings, profile: Profile, key: bytes, *, limits: Limits = Limits(),
                 memory_limit: int | None = None, max_seconds: float | None = None) -> None:
        self.settings = settings
        state = settings.state
        self.destination = Destination.parse(settings.forward) if settings.forward else None
        if (settings.dst is None) == (self.destination is None):
            raise RunError("give either --dst DIR or --forward AE@HOST:PORT")
        if settings.dst is not None:
            dst, resolved = settings.dst, settings.dst.resolve()
            if inside(state.resolve(), resolved) or inside(resolved, state.resolve()):
                raise RunError("the state folder must be outside DST, and DST outside it")
            if dst.exists() and not dst.is_dir():
                raise RunError("DST exists and is not a folder")
        else:
            dst = state / "outbound"
        self.allow = AllowList(settings.allow)
        if not self.allow:
            raise RunError("no caller is allowed: give --allow CALLER_AE@HOST (HOST an address, a network or *) "
                           "for each sender")
        tls = (settings.tls_cert, settings.tls_key, settings.tls_ca)
        if any(tls) and not all(tls):
            raise RunError("TLS needs --tls-cert, --tls-key and --tls-ca together")
        self.ssl_context = server_context(*tls) if all(tls) else None  # type: ignore[arg-type]
        forward_ssl = None
        if settings.forward_tls_ca is not None:
            forward_ssl = client_context(settings.forward_tls_ca, settings.forward_tls_cert, settings.forward_tls_key)
        state.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(state, 0o700)
        if self.destination is not None:
            dst.mkdir(exist_ok=True, mode=0o700)
            prune_empty_folders(dst)  # before the Runner's sink makes (and remembers) folders there
        self.spool = Spool(state / "spool", settings.max_spool)
        options: dict[str, Any] = {"limits": limits, "memory_limit": memory_limit}
        if max_seconds is not None:
            options["max_seconds"] = max_seconds
        self.runner = Runner(dst, profile, key, state, workers=settings.workers, verify=settings.verify,
                             linkage=settings.linkage, remember=True, **options)
        try:
            self.forwarder = None
            if self.destination is not None:
                self.forwarder = Forwarder(dst, self.destination, state / "rejected", calling_ae=settings.ae_title,
                                           ssl_context=forward_ssl)
            self.intake = Intake(self.spool, self.runner,
                                 on_output=self.forwarder.wake.set if self.forwarder else lambda: None)
            self.scp = StoreSCP(self.spool, settings.ae_title, settings.bind, settings.port, self.allow,
                                ssl_context=self.ssl_context, max_associations=settings.max_associations,
                                max_pdu=settings.max_pdu)
        except BaseException:
            self.runner.close()
            raise
        self._stop = threading.Event()
        self.stopped_by_signal = False

    def stop(self) -> None:
        """Stop listening and drain; safe from any thread and from a signal handler."""
        self._stop.set()

    def request_stop(self, signum: int) -> None:
        """What SIGTERM and SIGINT call (from the signal handler: it only sets a flag)."""
        self.stopped_by_signal = True
        self._stop.set()

    def serve(self, ready: Any = None) -> ServeResult:
        """Listen until stopped; ``ready(port)`` is called once the port is open."""
        try:
            # Workers first, forked while this process has one thread; leftovers of a killed session next.
            self.runner.process([])
            self.intake.drain()
            try:
                self.scp.start()
            except OSError as exc:
                raise RunError(f"cannot listen on {self.settings.bind}:{self.settings.port} "
                               f"({exc.strerror or exc})") from None
        except BaseException:
            self.runner.close()
            raise
        log.info("gateway listening on port %d (%s), %s", self.scp.port, "TLS" if self.ssl_context else "plain",
                 "forwarding" if self.forwarder else "filing into DST")
        if ready is not None:
            ready(self.scp.port)
        threads = [threading.Thread(target=self.intake.run, args=(self._stop,), name="intake", daemon=True)]
        forwarding = threading.Event()
        if self.forwarder is not None:
            threads.append(threading.Thread(target=self.forwarder.run, args=(forwarding,), name="forward",
                                            daemon=True))
        for thread in threads:
            thread.start()
        try:
            while not self._stop.wait(0.5):
                pass
        finally:
            result = self._shut_down(threads, forwarding)
        return result

    def _shut_down(self, threads: list[threading.Thread], forwarding: threading.Event) -> ServeResult:
        drain = self.settings.drain_seconds
        self.scp.stop_accepting()
        if not self.scp.wait_idle(drain):
            log.warning("associations still open after %g s were aborted", drain)
        self.scp.abort_all()  # and connections that never associated
        self._stop.set()
        threads[0].join()  # the intake, after the batch in hand
        self.intake.drain()
        if self.forwarder is not None:
            forwarding.set()
            threads[1].join()
            self.forwarder.drain(time.monotonic() + drain)
        run = self.runner.finish(before=[seen.row for seen in self.intake.earlier.values()],
                                 stopped=self.intake.stopped)
        queued = 0
        if self.forwarder is not None:
            queued = len(self.forwarder.queued())
            prune_empty_folders(self.forwarder.outbound)
        counts = self.scp.counts
        result = ServeResult(run, counts.stored, counts.refused, self.forwarder.counts.sent if self.forwarder else 0,
                             queued, len(self.spool.pending()))
        log.info("gateway stopped: %d received, %d refused, %d forwarded, %d queued, %d left in the spool",
                 result.received, result.refused, result.forwarded, result.queued, result.spooled)
        return result


def serve(settings: GatewaySettings, profile: Profile, key: bytes, *, ready: Any = None,
          **options: Any) -> ServeResult:
    """Run a gateway until SIGTERM or SIGINT; ``ready(port)`` is called once it listens."""
    gateway = Gateway(settings, profile, key, **options)
    with StopRunOnSignals(gateway):
        return gateway.serve(ready)

