"""The C-STORE and C-ECHO service provider: receives instances into the spool.

Every storage SOP class pynetdicom knows is accepted in every transfer syntax
it knows (compressed ones included: an instance is stored as it arrived, never
decoded here), plus Verification (C-ECHO).  An instance is acknowledged with
status 0x0000 only once :meth:`Spool.store` has it on disk; a full spool or a
failing storage answers 0xA700 (Refused: Out of Resources), and the sender
keeps the instance.

An association is rejected unless its calling AE title and the peer's address
match an :class:`~deidentify.gateway.security.AllowList` entry; over TLS the
peer must also present a certificate the CA signed.  Nothing identifying is
logged: per association, only how many instances were stored and refused; a
refused association is logged with its calling AE title and address (the
caller's, not a patient's), and pynetdicom's own logger, which prints UIDs at
INFO, is kept at WARNING.
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer

from .security import AllowList
from .spool import Spool, SpoolFull

log = logging.getLogger("deidentify.gateway")

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
#: pynetdicom's upper bound on PDUs it receives; larger ones mean fewer round trips for big images.
DEFAULT_MAX_PDU = 262_144
DEFAULT_MAX_ASSOCIATIONS = 10

_UID_LIKE = re.compile(r"\b\d+(?:\.\d+){3,}\b")


class _NoUids(logging.Filter):
    """Drop pynetdicom's records below WARNING and mask anything shaped like a UID in the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return False
        record.msg = _UID_LIKE.sub("<uid>", record.getMessage())
        record.args = None
        return True


def quiet_pynetdicom() -> None:
    """pynetdicom logs AE titles and UIDs at INFO: keep it at WARNING, UIDs masked."""
    logger = logging.getLogger("pynetdicom")
    logger.setLevel(logging.WARNING)
    if not any(isinstance(f, _NoUids) for f in logger.filters):
        logger.addFilter(_NoUids())


@dataclass
class Counts:
    """What the SCP did since it started (read from other threads; approximate while it runs)."""

    stored: int = 0
    refused: int = 0
    rejected_associations: int = 0
    bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **amounts: int) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)


class StoreSCP:
    """Listens on ``(host, port)`` as ``ae_title`` and spools what allowed callers send."""

    def __init__(self, spool: Spool, ae_title: str, host: str, port: int, allow: AllowList, *,
                 ssl_context: ssl.SSLContext | None = None,
                 max_associations: int = DEFAULT_MAX_ASSOCIATIONS, max_pdu: int = DEFAULT_MAX_PDU) -> None:
        self.spool = spool
        self.allow = allow
        self.address = (host, port)
        self.ssl_context = ssl_context
        self.counts = Counts()
        self._server: ThreadedAssociationServer | None = None
        quiet_pynetdicom()
        ae = AE(ae_title=ae_title)
        ae.maximum_associations = max_associations
        ae.maximum_pdu_size = max_pdu
        ae.network_timeout = 60
        ae.acse_timeout = 30
        ae.dimse_timeout = 60
        titles = allow.ae_titles
        if titles:
            ae.require_calling_aet = titles
        for context in AllStoragePresentationContexts:
            if context.abstract_syntax is not None:
                ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        self._ae = ae

    def start(self) -> None:
        """Start listening (in pynetdicom's threads); returns at once."""
        handlers: list[Any] = [(evt.EVT_REQUESTED, self._requested), (evt.EVT_C_STORE, self._store),
                    (evt.EVT_C_ECHO, self._echo)]
        self._server = self._ae.start_server(self.address, block=False, ssl_context=self.ssl_context,
                                             evt_handlers=handlers)

    @property
    def port(self) -> int:
        """The port listened on (the one the system chose when asked for port 0)."""
        assert self._server is not None
        return int(self._server.server_address[1])

    def stop_accepting(self) -> None:
        """Close the listening socket; associations in progress go on."""
        if self._server is not None:
            self._server.shutdown()

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the associations in progress to end; True when none is left.

        Connections not yet associated (a TLS handshake that failed, a caller that
        never sent its request) hold nothing acknowledged: they are not waited for.
        """
        deadline = time.monotonic() + timeout
        while any(assoc.is_established for assoc in self._ae.active_associations):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def abort_all(self) -> None:
        """Abort what is still associated (its instance in hand, unacknowledged, stays with the sender)."""
        for assoc in self._ae.active_associations:
            assoc.abort()

    # --- event handlers (pynetdicom's threads) ----------------------------------------------
    def _requested(self, event: Any) -> None:
        primitive = event.assoc.requestor.primitive
        calling = str(primitive.calling_ae_title).strip()
        address = str(event.assoc.requestor.address)
        if not self.allow.allows(calling, address):
            self.counts.add(rejected_associations=1)
            log.warning("association refused: calling AE %r from %s is not on the allow-list", calling, address)
            event.assoc.acse.send_reject(0x01, 0x01, 0x03)  # rejected permanent: calling AE title not recognised

    def _store(self, event: Any) -> int:
        try:
            data = event.encoded_dataset()
            self.spool.store(data)
        except SpoolFull as exc:
            self.counts.add(refused=1)
            log.warning("instance refused (0xA700): %s", exc)
            return OUT_OF_RESOURCES
        except OSError as exc:
            self.counts.add(refused=1)
            log.warning("instance refused (0xA700): the spool cannot be written (%s)",
                        exc.strerror or type(exc).__name__)
            return OUT_OF_RESOURCES
        except Exception as exc:  # anything else pynetdicom hands us: refuse the instance, never the node
            self.counts.add(refused=1)
            log.warning("instance refused (0xA700): %s", type(exc).__name__)
            return OUT_OF_RESOURCES
        self.counts.add(stored=1, bytes=len(data))
        return SUCCESS

    def _echo(self, event: Any) -> int:
        return SUCCESS
