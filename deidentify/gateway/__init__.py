"""The DICOM gateway (``deidentify serve``): receive studies over the network, de-identify them on
arrival, file them into DST or forward them to another DICOM node.

One module per part: ``scp`` (the C-STORE and C-ECHO service provider), ``spool``
(the durable inbound spool), ``intake`` (the spool fed to the same Runner as
``run`` and ``watch``), ``forward`` (the outbound queue and the C-STORE SCU with
retries), ``security`` (the allow-list and the TLS contexts), ``config`` (the
settings) and ``service`` (the whole, its threads, SIGTERM).
pynetdicom is imported only here: ``pip install 'deidentify[network]'``.
"""

from .config import GatewaySettings
from .forward import Destination, DestinationError, Forwarder
from .security import AllowList, SecurityError, client_context, server_context
from .service import Gateway, ServeResult, serve
from .spool import Spool, SpoolFull

__all__ = [
    "AllowList",
    "Destination",
    "DestinationError",
    "Forwarder",
    "Gateway",
    "GatewaySettings",
    "SecurityError",
    "ServeResult",
    "Spool",
    "SpoolFull",
    "client_context",
    "serve",
    "server_context",
]
